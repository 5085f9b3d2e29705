"""`python -m kit.realrun`: the lab at any size, on real or substituted data, ending with its summary line."""
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from kit import paths, realrun

SUMMARY = re.compile(r"^realrun: phase1 [\d.]+ s, phase2 [\d.]+ s, baseline [\d.]+, finetune [\d.]+, "
                     r"peak MB \d+ MB \(data: (real|substituted), weights: (imagenet|random)\)$")


def _write_cifar_python(folder, sample):
    """The shipped sample in CIFAR-10's own python format (rows of 3072 channel-first bytes)."""
    folder.mkdir()
    for name, x, y in (("data_batch_1", sample["x_train"], sample["y_train"]),
                       ("test_batch", sample["x_test"], sample["y_test"])):
        rows = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rows, b"labels": [int(v) for v in y.ravel()]}, f)
    return folder


def test_reads_a_local_cifar10_copy_exactly(tmp_path):
    with np.load(paths.SAMPLE_PATH) as sample:
        sample = dict(sample)
    _write_cifar_python(tmp_path / "cifar-10-batches-py", sample)
    (x_train, y_train), (x_test, y_test) = realrun.read_cifar_folder(tmp_path)  # the folder above it works too
    assert np.array_equal(x_train, sample["x_train"]) and np.array_equal(x_test, sample["x_test"])
    assert np.array_equal(y_train, sample["y_train"]) and y_test.shape == (len(sample["x_test"]), 1)


def test_missing_data_is_substituted_at_the_requested_size_and_said(tmp_path, capsys):
    (train, test), data = realrun.load_data(tmp_path / "nowhere", 40, 12, seed=0)
    assert data == "substituted"
    assert train[0].shape == (40, 32, 32, 3) and train[0].dtype == np.uint8 and test[1].shape == (12, 1)
    assert "SUBSTITUTED" in capsys.readouterr().out


def test_more_images_than_the_copy_has_is_an_error(tmp_path):
    with np.load(paths.SAMPLE_PATH) as sample:
        _write_cifar_python(tmp_path / "cifar", dict(sample))
    with pytest.raises(ValueError, match="asked for"):
        realrun.load_data(tmp_path / "cifar", 100_000, 10, seed=0)


def test_epochs_option_rejects_a_single_number():
    with pytest.raises(SystemExit):
        realrun.parser().parse_args(["--epochs", "15"])


@pytest.mark.slow
def test_a_short_run_on_real_images_ends_with_the_summary_line(tmp_path):
    with np.load(paths.SAMPLE_PATH) as sample:
        data = _write_cifar_python(tmp_path / "cifar-10-batches-py", dict(sample))
    weights_absent = {"KERAS_HOME": str(tmp_path / "keras")}  # no cached weights: offline they are random
    done = subprocess.run([sys.executable, "-m", "kit.realrun", "--data", str(data), "--train", "64",
                           "--test", "32", "--epochs", "1,1", "--verbose", "0"],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **weights_absent})
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, last
    assert match.group(1) == "real"
    assert "phase 2 (fine-tuning the last 40 base layers): epochs 1..1" in done.stdout
