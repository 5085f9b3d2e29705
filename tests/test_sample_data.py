"""The shipped sample is bit-exact CIFAR-10, derived from the lossless dump in ../shared."""
from pathlib import Path

import numpy as np
import pytest

from kit import paths, sample

SHARED = paths.ROOT.parent / "shared" / "data" / "cifar10-sample"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared (the source dump) is not beside this clone")
def test_shipped_sample_equals_a_fresh_derivation(tmp_path):
    fresh = tmp_path / "sample.npz"
    sample.derive(SHARED, fresh)
    with np.load(fresh) as a, np.load(paths.SAMPLE_PATH) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_sample_is_small_and_attributed():
    assert paths.SAMPLE_PATH.stat().st_size < 2_000_000
    notice = (paths.ASSIGNMENT / "CIFAR10_SAMPLE.md").read_text()
    assert "Krizhevsky" in notice and "MIT" in notice
