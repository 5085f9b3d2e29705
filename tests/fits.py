"""Fit records as the audit holds them, built by hand for the checks' unit tests (no Keras run needed).

``phase1()`` and ``phase2()`` are a correct lab's; tests change one field to make one mistake.
"""
import numpy as np

import tl_audit
from tl_audit import VariableChange

N_LAYERS = 50  # the checks take "the last 40" of whatever base the model has
HEAD = [["GlobalAveragePooling2D", None, None], ["Dropout", None, None], ["Dense", 10, "softmax"]]


def adam_info():
    """What ``describe_optimizer`` reports for a fresh Keras Adam (its steps computed by the checks' own NumPy)."""
    import tl_checks
    config = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    return {"classes": ["Adam", "Optimizer"], "config": config, "steps": tl_checks._adam_steps(config).tolist()}


def cce_info():
    import tl_checks
    return {"name": "CategoricalCrossentropy", "from_logits": False, "repr": "CategoricalCrossentropy()",
            "probe": tl_checks._cce(False)}


def _changes(base_trains, base_changed, head_trains=True, head_changed=True):
    changed = {}
    for i in range(N_LAYERS):
        changed[len(changed)] = VariableChange("base", i, base_trains(i), base_changed(i))
    for _ in range(2):  # the Dense layer's kernel and bias
        changed[len(changed)] = VariableChange("head", None, head_trains, head_changed)
    return changed


def _fit(**fields):
    record = tl_audit.FitRecord.__new__(tl_audit.FitRecord)  # the real class: its questions (base_changed...)
    record.__dict__.update(
        model="modelo", base="base", error=None, finished=True, optimizer=object(), optimizer_class="Adam",
        optimizer_info=adam_info(), learning_rate=1e-3, rates=[], iterations_start=0, loss_info=cce_info(),
        head=[list(h) for h in HEAD], output_probe=tl_audit.probe_softmax().tolist(), base_kwargs={
            "include_top": False, "weights": "imagenet"}, base_input_shape=[32, 32, 3],
        base_layer_count=N_LAYERS, base_layer_kinds=["Conv2D"] * N_LAYERS, base_layer_has_weights=[True] * N_LAYERS,
        x=None, y=None, x_step=1, x_count=None, validation=None, validation_step=1, validation_count=None,
        history=None, epoch=[], _tee=None)
    record.__dict__.update(fields)
    return record


def phase1(**fields):
    values = dict(base_flags=[False] * N_LAYERS, base_layer_trains=[False] * N_LAYERS, head_trainable_count=2,
                  changed=_changes(lambda i: False, lambda i: False), epoch=list(range(15)))
    values.update(fields)
    return _fit(**values)


def phase2(**fields):
    tuned = lambda i: i >= N_LAYERS - 40  # noqa: E731
    values = dict(base_flags=[tuned(i) for i in range(N_LAYERS)], base_layer_trains=[tuned(i) for i in range(N_LAYERS)],
                  head_trainable_count=2, changed=_changes(tuned, tuned), epoch=list(range(15, 25)),
                  learning_rate=1e-5, rates=[[e, 1e-5, 1e-5] for e in range(15, 25)], optimizer=object())
    values.update(fields)
    return _fit(**values)


def head_changes(trains, changes):
    """The changes of a correct phase 2 whose head's variables were ``trains`` / ``changes``."""
    tuned = lambda i: i >= N_LAYERS - 40  # noqa: E731
    return _changes(tuned, tuned, trains, changes)


def images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
