"""The lab's files packed into its notebook, so that the notebook alone is enough (Colab, a lone download).

The set-up cell carries ``LAB_FILES``: a base64 zip of the student's runtime modules, the
public tests, the data sample's licence note and a sample cut down to what fast mode
uses by default. Unpacked, it creates only the files that are missing, so beside the
folder distribution, or inside the autograder's own files when grading, it changes
nothing. The zip is written with fixed dates and sorted names: a rebuild is identical.
"""
import base64
import io
import re
import zipfile
from pathlib import Path

import numpy as np

PLACEHOLDER = 'LAB_FILES = ""'
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
SAMPLE_NAME = "tl_cifar10_sample.npz"
FAST_TRAIN, FAST_TEST = 64, 50  # tl_fastmode's DEFAULT_TRAIN and DEFAULT_TEST (a test keeps them equal)


def small_sample(npz: Path, n_train: int, n_test: int) -> bytes:
    """The first ``n_train``/``n_test`` images of the shipped sample, as an ``.npz`` with fixed dates."""
    buffer = io.BytesIO()
    with np.load(npz) as data, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(data.files):
            part = data[key][:n_train] if key.endswith("train") else data[key][:n_test]
            array = io.BytesIO()
            np.save(array, part)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", FIXED_DATE), array.getvalue(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def pack(folder: Path, names: list, sample: bytes) -> str:
    """base64 of a zip holding ``names`` (relative to ``folder``; folders included whole) and the sample."""
    files = {}
    for name in names:
        path = folder / name
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file() and "__pycache__" not in f.parts:
                files[f.relative_to(folder).as_posix()] = f.read_bytes()
    files[SAMPLE_NAME] = sample
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files):
            zf.writestr(zipfile.ZipInfo(name, FIXED_DATE), files[name], zipfile.ZIP_DEFLATED, 9)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def fill(source: str, payload: str) -> str:
    """The set-up cell's source with ``LAB_FILES`` set; raises if the master lost its placeholder."""
    if source.count(PLACEHOLDER) != 1:
        raise ValueError(f"the set-up cell must hold {PLACEHOLDER!r} exactly once")
    return source.replace(PLACEHOLDER, f'LAB_FILES = "{payload}"')


def blank(source: str) -> str:
    """The set-up cell with an empty ``LAB_FILES``: what the master holds, and what a lean copy may hold."""
    return re.sub(r'^LAB_FILES = "[A-Za-z0-9+/=]*"', PLACEHOLDER, source, flags=re.M)


def unpack(source: str) -> dict:
    """{name: bytes} carried by a filled set-up cell (what the notebook would create)."""
    found = re.search(r'^LAB_FILES = "([A-Za-z0-9+/=]*)"', source, re.M)
    if not found or not found.group(1):
        return {}
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(found.group(1)))) as zf:
        return {name: zf.read(name) for name in zf.namelist()}
