"""q4, fine-tuning: everything the seed trains must train (the head and the last 40 layers), at the rate that
really trained over the whole fit.

Rule: at the start of phase 2 every head variable is trainable and by its end each one changed (public and hidden
tests); the optimizer's rate is read as each epoch begins and ends (schedules, callbacks and assignments inside the
fit included) and the highest must be 1e-5: it may decay below it, never train above it.
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
LABELS = np.arange(64) % 10
IMAGES, ONE_HOT = X.astype(np.float32), np.eye(10, dtype=np.float32)[LABELS]
DATA = {"x": IMAGES, "y": ONE_HOT, "x_count": 64}


@pytest.fixture
def audit(monkeypatch):
    monkeypatch.setattr(tl_audit, "_installed", True)
    monkeypatch.setattr(AUDIT, "datasets", [{"train": (X, LABELS.reshape(-1, 1)), "test": (X[:8], LABELS[:8])}])

    def with_phase2(phase1=None, **fields):
        monkeypatch.setattr(AUDIT, "fits", [fits.phase1(**(phase1 or DATA)), fits.phase2(**{**DATA, **fields})])
    return with_phase2


def test_the_seeds_phase2_passes(audit):
    audit()
    tl_checks.check_phase2_layers()
    tl_checks.check_phase2_optimizer()
    tl_hidden_checks.check_phase2_changes()


def test_a_head_frozen_for_fine_tuning_fails_the_public_test(audit):
    audit(changed=fits.head_changes(trains=False, changes=False), head_trainable_count=0)
    with pytest.raises(AssertionError, match="2 de los 2 pesos de la cabeza .* no se entrenaban"):
        tl_checks.check_phase2_layers()


def test_a_head_frozen_for_fine_tuning_fails_the_hidden_test(audit):
    audit(changed=fits.head_changes(trains=False, changes=False), head_trainable_count=0)
    with pytest.raises(AssertionError, match="no cambiaron los pesos de la cabeza"):
        tl_hidden_checks.check_phase2_changes()


def test_a_trainable_head_that_did_not_change_fails_the_hidden_test(audit):
    audit(changed=fits.head_changes(trains=True, changes=False))
    tl_checks.check_phase2_layers()
    with pytest.raises(AssertionError, match="no cambiaron los pesos de la cabeza"):
        tl_hidden_checks.check_phase2_changes()


@pytest.mark.parametrize("rates", [
    [[e, 1e-5, 1e-5] for e in range(15, 25)],
    [[e, 1e-5 * 0.5 ** (e - 15), 1e-5 * 0.5 ** (e - 14)] for e in range(15, 25)],  # decays from 1e-5
    [[e, 9.9999997e-06, 9.9999997e-06] for e in range(15, 25)],  # float32
], ids=["constant", "decays from 1e-5", "float32"])
def test_a_fit_that_trained_at_1e5_passes(audit, rates):
    audit(rates=rates, learning_rate=1e-4)  # what the optimizer held before the fit does not matter
    tl_checks.check_phase2_optimizer()


@pytest.mark.parametrize("rates, said", [
    ([[e, 1e-3, 1e-3] for e in range(15, 25)], "de 0.001"),
    ([[15, 1e-5, 1e-5]] + [[e, 1e-3, 1e-3] for e in range(16, 25)], r"entre 1e-05 y 0.001 \(época 15: 1e-05; época 24: 0.001\)"),
    ([[e, 1e-6, 1e-6] for e in range(15, 25)], "de 1e-06"),
], ids=["raised by a callback", "raised after the first epoch", "too low throughout"])
def test_a_fit_that_trained_at_another_rate_fails_saying_which(audit, rates, said):
    audit(rates=rates, learning_rate=1e-5)
    with pytest.raises(AssertionError, match=f"La fase 2 entrenó con una tasa de aprendizaje {said}"):
        tl_checks.check_phase2_optimizer()


def test_without_epochs_the_rate_at_the_start_is_judged(audit):
    audit(rates=[], learning_rate=1e-3)
    with pytest.raises(AssertionError, match="de 0.001"):
        tl_checks.check_phase2_optimizer()


def test_the_kernel_reads_the_rate_a_callback_sets():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
    record = tl_audit.FitRecord(model, None, None, None, None)
    watch = tl_audit._rate_watch(record)
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3)
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=2, verbose=0, callbacks=[scheduler, watch])
    assert [round(r, 8) for _, begin, end in record.rates for r in (begin, end)] == [1e-3] * 4


# -- the rate the weights imply ------------------------------------------------------------------------------------

def moves(rate, steps=10, start=0):
    """A fast-mode phase 2 as the kernel measures it: one step an epoch, each moving some weight by ``rate``."""
    return [[15 + i, 0, start + i, start + i + 1, rate] for i in range(steps)]


def test_adams_bound_is_the_rate_on_the_first_step_and_never_more_than_7_3_times_it():
    bounds = [tl_checks.adam_step_bound(t) for t in range(1, 5000, 7)]
    assert bounds[0] == pytest.approx(1.0) and max(bounds) < 7.3
    assert tl_checks.adam_step_bound(1, 0.5, 0.9) == pytest.approx(1.0)  # with the optimizer's own betas too


@pytest.mark.parametrize("fields", [
    dict(moves=moves(0.99995e-5), iterations_end=10, max_move=6e-5),
    dict(moves=moves(1e-5 * 1.04), iterations_end=10, max_move=6e-5),  # float32's own rounding, inside the slack
    dict(moves=[], iterations_end=10, max_move=9e-5),  # the whole fit: 10 first steps move a weight 1.02e-4 at most
    dict(moves=[], iterations_end=None, max_move=None),  # nothing measured: the rate's reads decide
], ids=["one step moves by the rate", "float32 rounding", "whole fit within the bound", "not measured"])
def test_weights_that_moved_as_adam_at_1e5_can_pass(audit, fields):
    audit(**fields)
    tl_checks.check_phase2_optimizer()


@pytest.mark.parametrize("fields, said", [
    (dict(moves=moves(1e-3), iterations_end=10, max_move=1e-2),
     r"en el paso 1 de la época 16 un peso cambió 0.001, lo que implica una tasa de al menos 0.001"),
    (dict(moves=moves(1e-5)[:9] + [[24, 0, 9, 10, 1e-3]], iterations_end=10, max_move=1e-3),
     r"en el paso 1 de la época 25 un peso cambió 0.001"),
    (dict(moves=[], iterations_end=10, max_move=1e-2),
     r"en toda la fase 2 \(10 pasos\) un peso cambió 0.01, lo que implica una tasa de al menos 0.00098"),
], ids=["every step", "the last step only", "the whole fit"])
def test_weights_that_moved_more_than_adam_at_1e5_can_fail_naming_the_rate_and_where(audit, fields, said):
    audit(**fields)
    with pytest.raises(AssertionError, match="La tasa de aprendizaje decía 1e-05, pero los pesos se movieron más .*"
                                             + said):
        tl_checks.check_phase2_optimizer()


def _phase2(callbacks=(), rate=1e-5):
    """A real Keras fit, recorded by the audit: its steps as the kernel measures them."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="categorical_crossentropy")
    record = tl_audit.FitRecord(model, None, None, None, None)
    x, y = np.random.default_rng(0).random((64, 4)), np.eye(3)[np.arange(64) % 3]
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[*callbacks, tl_audit._rate_watch(record)])
    record.finish(None)
    return record


class RaisedForEachStep(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(1e-3)

    def on_train_batch_end(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(1e-5)


def test_the_kernel_measures_a_rate_raised_for_each_step_that_every_read_misses():
    record = _phase2([RaisedForEachStep()])
    assert {round(r, 8) for _, begin, end in record.rates for r in (begin, end)} == {1e-5}
    implied, where = tl_checks.implied_rate(record)
    assert implied == pytest.approx(1e-3, rel=0.01) and "paso 1 de la época 1" in where


def test_the_kernel_measures_an_honest_fit_at_or_below_1e5():
    implied, _ = tl_checks.implied_rate(_phase2())
    assert 0.9e-5 < implied <= 1e-5 * (1 + tl_checks.RATE_SLACK)


# -- phase 2 consumes what phase 1 did ------------------------------------------------------------------------------

def test_phase1s_data_in_another_order_pass(audit):
    order = np.random.default_rng(3).permutation(64)
    audit(x=IMAGES[order], y=ONE_HOT[order])
    tl_checks.check_phase2_layers()


def test_the_labs_data_pass_when_phase1_trained_on_less(audit):
    audit(phase1={"x": IMAGES[:32], "y": ONE_HOT[:32], "x_count": 32})  # q2 takes the point for that
    tl_checks.check_phase2_layers()


@pytest.mark.parametrize("fields, message", [
    (dict(x=IMAGES[:8], y=ONE_HOT[:8], x_count=8), "en la fase 2 hay 8 imágenes; se esperaban las 64"),
    (dict(x=IMAGES[:32], y=ONE_HOT[:32], x_count=32), "en la fase 2 hay 32 imágenes; se esperaban las 64"),
    (dict(y=np.roll(ONE_HOT, 3, axis=0)), "en la fase 2 tienen la forma correcta, pero no son el one-hot"),
    (dict(x=IMAGES / 255), "en la fase 2 llegan a 1.00: no las normalices"),
], ids=["the test set's size", "half", "labels shuffled apart", "rescaled to [0, 1]"])
def test_phase2_data_that_differ_from_phase1s_are_judged_with_q1s_rules(audit, fields, message):
    audit(**fields)
    with pytest.raises(AssertionError, match=message):
        tl_checks.check_phase2_layers()


def test_the_same_mistake_in_both_phases_is_charged_once_in_q2(audit):
    # a pipeline that shuffles the labels apart anew each epoch: another permutation in each phase, one mistake
    first = {"x": IMAGES, "y": np.roll(ONE_HOT, 3, axis=0), "x_count": 64}
    audit(phase1=first, y=np.roll(ONE_HOT, 5, axis=0))
    tl_checks.check_phase2_layers()
