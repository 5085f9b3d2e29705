"""Derive the small CIFAR-10 sample that ships with the lab from the lossless PNG dump.

The PNG dump (one image per row, see its README) lives outside the project; a fresh
clone only has the derived ``.npz``, so this runs once, by hand, when the sample changes:

    python -m kit sample ../shared/data/cifar10-sample
"""
import argparse
import hashlib
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from kit import cli
from kit.paths import SAMPLE_PATH

N_TRAIN = 256
N_TEST = 128
TEST_LABEL_OFFSET = 50_000  # labels.js: 0..49999 train, 50000.. test


def _rows(png: Path, n: int) -> np.ndarray:
    rows = np.asarray(Image.open(png).convert("RGB"), dtype=np.uint8)[:n]
    return rows.reshape(n, 32, 32, 3)


def derive(src: Path, out: Path = SAMPLE_PATH) -> dict:
    labels = json.loads(re.search(r"\[.*\]", (src / "cifar10_labels.js").read_text(), re.S).group(0))
    x_train = _rows(src / "cifar10_batch_0.png", N_TRAIN)
    x_test = _rows(src / "cifar10_batch_50.png", N_TEST)
    # Same dtypes and shapes as keras.datasets.cifar10.load_data(): labels are (N, 1) uint8.
    y_train = np.asarray(labels[:N_TRAIN], dtype=np.uint8).reshape(-1, 1)
    y_test = np.asarray(labels[TEST_LABEL_OFFSET:TEST_LABEL_OFFSET + N_TEST], dtype=np.uint8).reshape(-1, 1)
    np.savez_compressed(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return {"path": str(out), "bytes": out.stat().st_size,
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}


def main(argv=None) -> int:
    parser = cli.parser("python -m kit sample", __doc__.splitlines()[0], "grading-rules.md")
    parser.add_argument("src", type=Path, help="folder with cifar10_batch_*.png and cifar10_labels.js")
    print(derive(parser.parse_args(argv).src))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
