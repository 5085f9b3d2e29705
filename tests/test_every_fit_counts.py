"""Honest grading, fourth round: every fit of the lab's model counts, in the phase it belongs to; phase 2 validates on
the test set as phase 1 does; the optimizer is judged by what its update rule does, and its message never
contradicts itself.

Rules: a fit between the two the lab names belongs to the phase whose optimizer it goes on training with, else to the
phase whose layers it trains, and is judged with that phase's rules, named by its place; the epochs are counted over
every fit; weights trained outside a fit after phase 1 began cost q4; validation data are judged by value, with q1's
rules, against the test set; Keras' Adam with clipping, or inside a LossScaleOptimizer, is Adam.
"""
import numpy as np
import pytest

import fits
import tl_audit
import tl_checks
import tl_hidden_checks
from tl_audit import AUDIT

keras = pytest.importorskip("keras")

X = fits.images(64)
TEST = fits.images(50, seed=1)
LABELS, TEST_LABELS = np.arange(64) % 10, np.arange(50) % 7
DATA = {"x": X.astype(np.float32), "y": np.eye(10, dtype=np.float32)[LABELS], "x_count": 64}
VALIDATION = {"validation": TEST.astype(np.float32), "validation_y": np.eye(10, dtype=np.float32)[TEST_LABELS],
              "validation_count": 50}


@pytest.fixture
def run(monkeypatch):
    monkeypatch.setattr(tl_audit, "_installed", True)
    monkeypatch.setattr(AUDIT, "datasets", [{"train": (X, LABELS.reshape(-1, 1)),
                                             "test": (TEST, TEST_LABELS.reshape(-1, 1))}])
    monkeypatch.setattr(AUDIT, "outside", [])

    def with_fits(*records):
        monkeypatch.setattr(AUDIT, "fits", list(records))
    return with_fits


def _phase1(**fields):
    return fits.phase1(**{**DATA, **VALIDATION, **fields})


def _phase2(**fields):
    return fits.phase2(**{**DATA, **VALIDATION, **fields})


def test_a_phase_split_in_two_fits_is_one_phase(run):
    first_half = _phase1(epoch=list(range(10)))
    rest = _phase1(epoch=list(range(10, 15)), optimizer=first_half.optimizer, iterations_start=10)
    tuning = _phase2(epoch=list(range(15, 20)))
    tuning_rest = _phase2(epoch=list(range(20, 25)), optimizer=tuning.optimizer, iterations_start=5)
    run(first_half, rest, tuning, tuning_rest)
    assert tl_checks.phases() == ([first_half, rest], [tuning, tuning_rest])
    tl_checks.check_phase1_frozen()
    tl_checks.check_phase2_layers()
    tl_checks.check_phase2_optimizer()
    tl_checks.check_phase1_epochs()
    tl_checks.check_phase2_epochs()
    tl_hidden_checks.check_phase2_changes()


def test_a_warm_up_at_the_default_rate_costs_q4_and_is_named(run):
    warm_up = _phase2(epoch=[0, 1], rates=[[0, 1e-3, 1e-3], [1, 1e-3, 1e-3]], site=["celda", 3, "model.fit(x, y)"])
    run(_phase1(), warm_up, _phase2())
    with pytest.raises(AssertionError, match=r"^Una llamada a `fit` más, en la línea 3: `model.fit\(x, y\)`, entrenó "
                                             r"las últimas 40 capas de la base y la cabeza 2 épocas con tasa 0.001 "
                                             r"antes de la fase 2: esa llamada entrenó con una tasa de aprendizaje de "
                                             r"0.001"):
        tl_checks.check_phase2_optimizer()
    with pytest.raises(AssertionError, match=r"La fase 2 entrenó las épocas 0 a 1 \(2\) y 15 a 24 \(10\) en 2 llamadas"):
        tl_checks.check_phase2_epochs()


def test_more_epochs_of_phase_1_are_counted(run):
    first = _phase1()
    run(first, _phase1(epoch=list(range(15, 20)), optimizer=first.optimizer), _phase2())
    tl_checks.check_phase1_frozen()  # it follows phase 1's rules: only its epochs are wrong
    with pytest.raises(AssertionError, match=r"La fase 1 entrenó las épocas 0 a 14 \(15\) y 15 a 19 \(5\)"):
        tl_checks.check_phase1_epochs()


def test_weights_trained_outside_a_fit_cost_q4(run, monkeypatch):
    run(_phase1(), _phase2())
    monkeypatch.setattr(AUDIT, "outside", [{"after_fits": 1, "base_layers": [45, 46], "head": True, "calls": [
        {"kind": "train_on_batch", "site": ["celda", 4, "model.train_on_batch(x, y)"], "count": 3,
         "optimizer": "Adam", "rate": 1e-3}]}])
    with pytest.raises(AssertionError, match=r"Los pesos de 2 capas de la base y la cabeza cambiaron fuera de los "
                                             r"`fit` del laboratorio, entre la fase 1 y la fase 2: `train_on_batch` 3 "
                                             r"veces en la línea 4: `model.train_on_batch\(x, y\)` con Adam a 0.001"):
        tl_checks.check_phase2_optimizer()


@pytest.mark.parametrize("validation, said", [
    ({"validation": X.astype(np.float32), "validation_y": DATA["y"], "validation_count": 64},
     "están las imágenes de entrenamiento"),
    ({"validation_split": 0.2, "validation": None}, r"son un 20 % de los de entrenamiento \(`validation_split=0.2`\)"),
    ({**VALIDATION, "validation_y": np.eye(10, dtype=np.float32)[TEST_LABELS[::-1]]}, "no son el one-hot de `y_test`"),
    ({**VALIDATION, "validation": TEST.astype(np.float32) / 255}, "no las normalices"),
], ids=["the training set", "validation_split", "labels shuffled apart", "rescaled"])
def test_phase_2_validates_on_the_test_set(run, validation, said):
    run(_phase1(), _phase2(**validation))
    with pytest.raises(AssertionError, match=f"datos con que se validó la fase 2 {said}|{said}"):
        tl_checks.check_phase2_layers()


def test_the_test_set_in_another_order_and_a_mistake_phase_1_made_too_pass_q4(run):
    order = np.random.default_rng(0).permutation(50)
    run(_phase1(), _phase2(validation=TEST[order].astype(np.float32),
                           validation_y=np.eye(10, dtype=np.float32)[TEST_LABELS[order]]))
    tl_checks.check_phase2_layers()
    scaled = {**VALIDATION, "validation": TEST.astype(np.float32) / 255}
    run(_phase1(**scaled), _phase2(**scaled))  # charged once, in q2, where phase 1's validation is judged
    tl_checks.check_phase2_layers()


def _optimizer_fit(optimizer):
    return fits.phase2(optimizer_info=tl_audit.describe_optimizer(optimizer), optimizer_class=type(optimizer).__name__)


ADAM_LIKE = {
    "Adam": lambda: keras.optimizers.Adam(1e-5),
    "Adam clipnorm": lambda: keras.optimizers.Adam(1e-5, clipnorm=1.0),
    "Adam clipvalue": lambda: keras.optimizers.Adam(1e-5, clipvalue=0.01),
    "Adam global_clipnorm": lambda: keras.optimizers.Adam(1e-5, global_clipnorm=0.1),
    "LossScaleOptimizer(Adam)": lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-5)),
    "AdamW without decay": lambda: keras.optimizers.AdamW(1e-5, weight_decay=0.0),
    "Adam other betas": lambda: keras.optimizers.Adam(1e-5, beta_1=0.5),
    "Adam amsgrad": lambda: keras.optimizers.Adam(1e-5, amsgrad=True),  # divides by a larger moment: smaller steps
}


class AdamDoble(keras.optimizers.Adam):
    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, learning_rate * 2)


OTHER_RULES = {
    "SGD": (lambda: keras.optimizers.SGD(1e-5), "SGD, que no actualiza los pesos como Adam"),
    "RMSprop": (lambda: keras.optimizers.RMSprop(1e-5), "RMSprop, que no actualiza los pesos como Adam"),
    "AdamW with decay": (lambda: keras.optimizers.AdamW(1e-5), "AdamW(weight_decay=0.004), que a cada paso de Adam "
                                                               "le añade un decaimiento de los pesos"),
    "Adam with its own update": (lambda: AdamDoble(1e-5), "AdamDoble, una subclase de Adam que redefine cómo "
                                                          "actualiza los pesos"),
    "LossScaleOptimizer(SGD)": (lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(1e-5)),
                                "LossScaleOptimizer(SGD), que no actualiza los pesos como Adam"),
}


@pytest.mark.parametrize("name", ADAM_LIKE)
def test_adam_that_only_clips_or_is_wrapped_is_adam(name):
    assert tl_checks._is_adam(_optimizer_fit(ADAM_LIKE[name]()))


@pytest.mark.parametrize("name", OTHER_RULES)
def test_another_update_rule_fails_naming_what_differs_and_never_contradicts_itself(name):
    make, said = OTHER_RULES[name]
    fit = _optimizer_fit(make())
    assert not tl_checks._is_adam(fit)
    text = tl_checks._optimizer_text(fit)
    assert text.startswith(said), text
    shown = text.split(",")[0].split("(")[0]
    is_adam_kind = shown == "Adam" or "Adam" in fit.optimizer_info["classes"][1:]
    assert not (is_adam_kind and "no actualiza los pesos como Adam" in text), text
