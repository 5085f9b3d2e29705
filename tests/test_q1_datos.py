"""q1, data: images and labels judged by the values they hold, whatever container holds them.

Rule: the images are `load_data()`'s as float32 (a container with a dtype must say float32), either 0..255 or
rescaled to [-1, 1]; the labels are the one-hot of `y_train`, shape (N, 10). Messages say what was found.
"""
import numpy as np
import pytest

import tl_audit
import tl_checks
from tl_audit import AUDIT

RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
Y = np.array([3, 1, 4, 1, 5, 9], dtype=np.uint8).reshape(-1, 1)
ONE_HOT = np.eye(10, dtype=np.float32)[Y.ravel()]


@pytest.fixture(autouse=True)
def loaded(monkeypatch):
    """What the audit holds once `load_data()` ran and before any fit: the q1 check cell's moment."""
    monkeypatch.setattr(tl_audit, "_installed", True)
    monkeypatch.setattr(AUDIT, "datasets", [{"train": (X, Y), "test": (X, Y)}])
    monkeypatch.setattr(AUDIT, "fits", [])


@pytest.mark.parametrize("images", [X.astype("float32"), X.astype("float32") / 127.5 - 1,
                                    X.astype("float32").tolist()], ids=["0..255", "[-1, 1]", "list"])
def test_right_images_pass_in_any_container(images):
    tl_checks.check_images({"x_train": images})


def test_images_as_a_tensor_pass():
    tf = pytest.importorskip("tensorflow")
    tl_checks.check_images({"x_train": tf.constant(X.astype("float32"))})


@pytest.mark.parametrize("images, message", [
    (X.astype("float32") / 255, "llegan a 1.00: no las normalices"),
    (X, "son uint8; se esperaba float32"),
    (X.astype("float32")[:, :16], "tienen forma (6, 16, 32, 3); se esperaba (6, 32, 32, 3)"),
    (..., "pero no hay ningún valor (falta la variable o sigue con `...`)"),
])
def test_wrong_images_fail_saying_what_was_found(images, message):
    with pytest.raises(AssertionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tl_checks.check_images({"x_train": images})


@pytest.mark.parametrize("labels", [ONE_HOT, ONE_HOT.tolist()], ids=["array", "list"])
def test_one_hot_labels_pass_in_any_container(labels):
    tl_checks.check_labels({"y_train_cat": labels})


def test_one_hot_labels_as_a_tensor_pass():
    tf = pytest.importorskip("tensorflow")
    tl_checks.check_labels({"y_train_cat": tf.one_hot(Y.ravel(), 10)})


def test_integer_labels_fail_with_a_true_message():
    with pytest.raises(AssertionError) as failed:
        tl_checks.check_labels({"y_train_cat": Y})
    assert "pero hay un ndarray de forma (6, 1)" in str(failed.value)
    assert "de forma (6, 10)" in str(failed.value)


def test_one_hot_of_other_labels_fails():
    with pytest.raises(AssertionError, match="no son el one-hot de `y_train`"):
        tl_checks.check_labels({"y_train_cat": np.roll(ONE_HOT, 1, axis=0)})
