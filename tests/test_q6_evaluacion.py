"""The improvement check: the value, and the student's own code run again on accuracies that differ.

Rule: ``improvement`` must equal final − baseline (as a fraction or in points) for the student's own two
numbers; and the statements of the cell that computed it (helpers, intermediate variables, ``round``,
``np.subtract`` included) must give 0.5 or 50 when re-run with a baseline of 0.25 and a final 0.75.
"""
import numpy as np
import pytest

import tl_hidden_checks


def env_for(source, base, final, improvement, **more):
    return {"In": ["", "x = 1", source], "accuracy_baseline": base, "accuracy_finetune": final,
            "improvement": improvement, "np": np, **more}


@pytest.mark.parametrize("source, improvement", [
    ("improvement = accuracy_finetune - accuracy_baseline", 0.0),
    ("improvement = (accuracy_finetune - accuracy_baseline) * 100", 0.0),
    ("improvement = -(accuracy_baseline - accuracy_finetune)", 0.0),
    ("improvement = model.evaluate(x)[1] - accuracy_baseline", 0.0),  # cannot run apart: value only
    ("diferencia = accuracy_finetune - accuracy_baseline\nimprovement = round(diferencia * 100, 2)", 0.0),
    ("improvement = np.subtract(accuracy_finetune, accuracy_baseline)", 0.0),
    ("def mejora(base, final):\n    return final - base\nimprovement = mejora(accuracy_baseline, accuracy_finetune)", 0.0),
    ("loss_finetune, accuracy_finetune = evaluar()\nimprovement = accuracy_finetune - accuracy_baseline", 0.0),
])
def test_right_formulas_pass_even_when_accuracies_are_equal(source, improvement):
    tl_hidden_checks.check_improvement(env_for(source, 0.06, 0.06, improvement))


@pytest.mark.parametrize("source, improvement, message", [
    ("improvement = accuracy_finetune - accuracy_finetune", 0.0, "tu fórmula"),  # E3, hidden by equal accuracies
    ("def mejora(base, final):\n    return final - base\nimprovement = mejora(accuracy_finetune, accuracy_baseline)",
     0.0, "da -0.5"),  # arguments swapped at the call
    ("d = accuracy_finetune - accuracy_finetune\nimprovement = d * 100", 0.0, "tu fórmula"),
    ("improvement = accuracy_finetune / accuracy_baseline", 1.0, "la mejora es"),
    ("improvement = accuracy_finetune / accuracy_baseline", 1.5, "la mejora es"),
])
def test_wrong_formulas_fail(source, improvement, message):
    with pytest.raises(AssertionError, match=message):
        tl_hidden_checks.check_improvement(env_for(source, 0.4, 0.6 if improvement == 1.5 else 0.4, improvement))


def test_value_must_match_the_two_accuracies():
    tl_hidden_checks.check_improvement(env_for("improvement = 0.02", 0.50, 0.52, 0.02))
    with pytest.raises(AssertionError, match="la mejora es"):
        tl_hidden_checks.check_improvement(env_for("improvement = 0.02", 0.50, 0.55, 0.02))


def test_missing_numbers_are_named():
    with pytest.raises(AssertionError, match="accuracy_finetune"):
        tl_hidden_checks.check_improvement({"accuracy_baseline": 0.1, "accuracy_finetune": ..., "improvement": 0.0})
