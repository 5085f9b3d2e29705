"""q4, fine-tuning: everything the seed trains must train (the head and the last 40 layers), at the rate that
really trained over the whole fit.

Rule: at the start of phase 2 every head variable is trainable and by its end each one changed (public and hidden
tests); the optimizer's rate is read as each epoch begins and ends (schedules, callbacks and assignments inside the
fit included) and the highest must be 1e-5: it may decay below it, never train above it.
"""
import pytest

import fits
import tl_audit
import tl_checks
import tl_hidden_checks
from tl_audit import AUDIT

keras = pytest.importorskip("keras")


@pytest.fixture
def audit(monkeypatch):
    monkeypatch.setattr(tl_audit, "_installed", True)

    def with_phase2(**fields):
        monkeypatch.setattr(AUDIT, "fits", [fits.phase1(), fits.phase2(**fields)])
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
    import numpy as np
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=2, verbose=0, callbacks=[scheduler, watch])
    assert [round(r, 8) for _, begin, end in record.rates for r in (begin, end)] == [1e-3] * 4
