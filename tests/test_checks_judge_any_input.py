"""Every check ends in its own verdict: on any record the lab can produce it passes or fails with a Spanish
message, never with a Python exception (before, a fit fed a pipeline ended in ``TypeError: len() of unsized
object``)."""
import inspect

import numpy as np
import pytest

import fits
import tl_audit
import tl_checks
import tl_hidden_checks
from tl_audit import AUDIT

CHECKS = sorted({(module.__name__, name): getattr(module, name) for module in (tl_checks, tl_hidden_checks)
                 for name in dir(module) if name.startswith("check_")}.items())

ODD_FITS = {
    "a pipeline's object where arrays were": dict(x=np.array(object()), y=np.array(object()),
                                                   validation=np.array(object())),
    "nothing read": dict(x=None, y=None, x_count=None, validation=None),
    "empty head and unknown settings": dict(head=[], loss_info={}, optimizer_info=None, output_probe=None,
                                            base_kwargs={}, base_input_shape=None),
    "garbage probes": dict(output_probe=[["a"]], optimizer_info={"steps": [[1]], "config": {"beta_1": "x"}},
                           loss_info={"probe": "x", "string": None}),
    "rates without values": dict(rates=[[15, None, None]], learning_rate=None),
    "a tiny base": dict(base_layer_count=3, base_flags=[True] * 3, base_layer_trains=[True] * 3),
    "odd history": dict(history={"val_loss": [None], "val_accuracy": []}, epoch=[None]),
    "images of another shape": dict(x=np.zeros((5, 8, 8, 3), np.float32), y=np.zeros((5, 3)), x_count=5),
}

ODD_ENVS = [{}, {"x_train": "texto", "y_train_cat": {"a": 1}, "accuracy_baseline": "0.5",
                 "accuracy_finetune": [0.5], "improvement": np.nan, "In": ["improvement = (", None]}]


def run(check, env):
    wants_env = inspect.signature(inspect.unwrap(check)).parameters
    return check(env) if wants_env else check()


@pytest.mark.parametrize("odd", ODD_FITS, ids=list(ODD_FITS))
@pytest.mark.parametrize("module, name", [key for key, _ in CHECKS], ids=[f"{m}.{n}" for (m, n), _ in CHECKS])
def test_a_check_fails_or_passes_on_odd_records(monkeypatch, module, name, odd):
    monkeypatch.setattr(tl_audit, "_installed", True)
    monkeypatch.setattr(AUDIT, "fits", [fits.phase1(**ODD_FITS[odd]), fits.phase2(**ODD_FITS[odd])])
    monkeypatch.setattr(AUDIT, "datasets", [{"train": (fits.images(4), np.arange(4).reshape(-1, 1)),
                                            "test": (fits.images(4, 1), np.arange(4))}])
    monkeypatch.setattr(AUDIT, "evaluations", [])
    monkeypatch.setattr(AUDIT, "figures", [])
    check = dict(CHECKS)[(module, name)]
    for env in ODD_ENVS:
        try:
            run(check, env)
        except AssertionError as failed:
            assert str(failed).strip(), "a failure must say why"


def test_an_unforeseen_error_becomes_a_failure_with_a_message(monkeypatch):
    monkeypatch.setattr(tl_audit, "_installed", True)
    monkeypatch.setattr(AUDIT, "fits", [fits.phase1()])

    def broken(fit):
        raise TypeError("len() of unsized object")
    monkeypatch.setitem(tl_checks.check_head.__wrapped__.__globals__, "_ends_in_softmax", broken)
    with pytest.raises(AssertionError, match=r"no pudo interpretar .*\(TypeError: len\(\) of unsized object\)"):
        tl_checks.check_head()


def test_every_check_is_wrapped():
    assert all(getattr(check, "judged", False) for _, check in CHECKS)
