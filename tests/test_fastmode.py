"""Fast mode: when it is on, and what it serves instead of the downloads."""
import hashlib

import numpy as np
import pytest

import tl_fastmode


@pytest.mark.parametrize("value, in_otter, expected", [
    (None, True, "fast"), (None, False, "real"), ("auto", True, "fast"), ("", False, "real"),
    ("fast", False, "fast"), ("FAST", False, "fast"), ("real", True, "real"),
])
def test_mode_follows_switch_then_otter(value, in_otter, expected):
    environ = {} if value is None else {"LAB_MODE": value}
    assert tl_fastmode.resolve_mode(environ, in_otter=in_otter) == expected


def test_unknown_mode_is_refused_in_spanish():
    with pytest.raises(ValueError, match="no es válido"):
        tl_fastmode.resolve_mode({"LAB_MODE": "rapido"}, in_otter=False)


def test_sample_has_keras_shapes_and_real_labels():
    (x_train, y_train), (x_test, y_test) = tl_fastmode.load_sample()
    assert x_train.shape == (tl_fastmode.DEFAULT_TRAIN, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (tl_fastmode.DEFAULT_TEST, 32, 32, 3)
    assert y_train.shape == (tl_fastmode.DEFAULT_TRAIN, 1) and y_train.dtype == np.uint8
    # First labels of data_batch_1 and test_batch, as published with CIFAR-10.
    assert y_train[:10, 0].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert y_test[:10, 0].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert 0 <= x_train.min() and x_train.max() == 255


def test_sample_size_is_configurable_and_bounded(monkeypatch):
    monkeypatch.setenv("LAB_FAST_TRAIN", "100")
    assert len(tl_fastmode.load_sample()[0][0]) == 100
    monkeypatch.setenv("LAB_FAST_TRAIN", "100000")
    with pytest.raises(ValueError, match="muestra incluida"):
        tl_fastmode.load_sample()


def test_weights_from_env_path(tmp_path):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"x")
    assert tl_fastmode.local_weights({"LAB_WEIGHTS": str(weights)}) == str(weights)
    with pytest.raises(FileNotFoundError):
        tl_fastmode.local_weights({"LAB_WEIGHTS": str(tmp_path / "missing.h5")})


def test_cached_weights_used_only_when_their_hash_matches(tmp_path, monkeypatch):
    cached = tmp_path / "models" / tl_fastmode.WEIGHTS_FILE
    cached.parent.mkdir()
    cached.write_bytes(b"not the real weights")
    assert tl_fastmode.local_weights({"KERAS_HOME": str(tmp_path)}) is None
    monkeypatch.setattr(tl_fastmode, "WEIGHTS_MD5", hashlib.md5(b"not the real weights").hexdigest())
    assert tl_fastmode.local_weights({"KERAS_HOME": str(tmp_path)}) == "imagenet"
    assert tl_fastmode.local_weights({"KERAS_HOME": str(tmp_path / "empty")}) is None


@pytest.mark.parametrize("found, said", [
    (None, "pesos ALEATORIOS"),
    ("imagenet", "Pesos reales de ImageNet, de la caché de Keras"),  # what Gradescope's cached weights print
    ("/data/w.h5", "Pesos reales de ImageNet leídos de /data/w.h5"),
])
def test_the_output_says_which_weights_the_base_got(monkeypatch, capsys, found, said):
    monkeypatch.setattr(tl_fastmode, "local_weights", lambda: found)
    calls = []
    base = tl_fastmode._fast_base(lambda *args, **kwargs: calls.append(kwargs))
    base(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    assert said in capsys.readouterr().out
    assert calls == [{"include_top": False, "weights": found, "input_shape": (32, 32, 3)}]
