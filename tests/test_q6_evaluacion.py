"""The improvement check: the value, and the student's own code run again on accuracies that differ.

Rule: ``improvement`` must equal final − baseline (as a fraction or in points) for the student's own two
numbers; and the statements of the cell that computed it (helpers, intermediate variables, ``if`` blocks,
``round``, ``np.subtract`` included) must give final − baseline, in one unit, when re-run on every pair of
``PAIRS``: both signs of the difference, equal values, small and large differences.
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
    # branches that agree with the difference on every pair
    ("if accuracy_finetune >= accuracy_baseline:\n    improvement = accuracy_finetune - accuracy_baseline\n"
     "else:\n    improvement = -(accuracy_baseline - accuracy_finetune)", 0.0),
    ("improvement = round((accuracy_finetune - accuracy_baseline) * 100, 2)", 0.0),
    ("signo = 1 if accuracy_finetune > accuracy_baseline else -1\n"
     "improvement = signo * abs(accuracy_finetune - accuracy_baseline)", 0.0),
])
def test_right_formulas_pass_even_when_accuracies_are_equal(source, improvement):
    tl_hidden_checks.check_improvement(env_for(source, 0.06, 0.06, improvement))


@pytest.mark.parametrize("source, improvement, message", [
    ("improvement = accuracy_finetune - accuracy_finetune", 0.0, "final 0.75: da 0, la mejora es 0.5"),  # E3
    ("def mejora(base, final):\n    return final - base\nimprovement = mejora(accuracy_finetune, accuracy_baseline)",
     0.0, "da -0.5"),  # arguments swapped at the call
    ("d = accuracy_finetune - accuracy_finetune\nimprovement = d * 100", 0.0, "Tu fórmula"),
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


# Formulas that agree with final − baseline on 0.25 → 0.75 and took a branch elsewhere: (source, pair it misses).
BRANCHED = [
    ("improvement = abs(accuracy_finetune - accuracy_baseline)", "línea base 0.75 y final 0.25: da 0.5"),
    ("improvement = max(accuracy_finetune - accuracy_baseline, 0)", "línea base 0.75 y final 0.25: da 0"),
    ("loss_finetune, accuracy_finetune = model.evaluate(x_test, y_test_cat, verbose=0)\n"
     "improvement = abs(accuracy_finetune - accuracy_baseline)", "línea base 0.75 y final 0.25: da 0.5"),  # the seed's cell
    ("if accuracy_finetune > accuracy_baseline:\n    improvement = accuracy_finetune - accuracy_baseline\n"
     "else:\n    improvement = 0", "línea base 0.75 y final 0.25: da 0"),
    ("diferencia = accuracy_finetune - accuracy_baseline\n"
     "improvement = diferencia if abs(diferencia) > 0.05 else 0.05", "línea base 0.5 y final 0.5: da 0.05"),
    ("improvement = min(accuracy_finetune - accuracy_baseline, 0.6)", "línea base 0.05 y final 0.95: da 0.6"),
    ("improvement = round(accuracy_finetune - accuracy_baseline, 1)", "línea base 0.7 y final 0.71: da 0"),
    ("if accuracy_finetune == accuracy_baseline:\n    improvement = 1.0\n"
     "else:\n    improvement = accuracy_finetune - accuracy_baseline", "línea base 0.5 y final 0.5: da 1"),
]


@pytest.mark.parametrize("source, message", BRANCHED)
def test_a_formula_with_a_branch_fails_on_the_pair_that_takes_it(source, message):
    with pytest.raises(AssertionError, match=message):
        tl_hidden_checks.check_improvement(env_for(source, 0.25, 0.75, 0.5))


def test_every_pair_is_run_in_one_process():
    env = env_for("improvement = accuracy_finetune - accuracy_baseline", 0.25, 0.75, 0.5)
    results = tl_hidden_checks.probe_improvement(env)
    assert results == pytest.approx([f - b for b, f in tl_hidden_checks.PAIRS])


def test_a_formula_that_sets_nothing_on_one_branch_fails_there():
    source = "if accuracy_finetune > accuracy_baseline:\n    improvement = accuracy_finetune - accuracy_baseline"
    with pytest.raises(AssertionError, match="final 0.25: da ningún valor"):
        tl_hidden_checks.check_improvement(env_for(source, 0.25, 0.75, 0.5))


# -- a check that cannot run never passes ------------------------------------------------------------------------

@pytest.mark.parametrize("command, reason", [
    (["/nonexistent/sandbox"], "el proceso de la prueba no arrancó"),
    (["false"], "terminó con código 1 sin resultado"),
], ids=["could not start", "printed nothing"])
def test_a_probe_that_could_not_run_fails_and_says_which_check(command, reason):
    env = env_for("improvement = abs(accuracy_finetune - accuracy_baseline)", 0.25, 0.75, 0.5,
                  __probe_command__=command)
    with pytest.raises(AssertionError, match="No se pudo comprobar .* fallo del calificador, no de tu cuaderno"):
        tl_hidden_checks.check_improvement(env)
    [entry] = env[tl_hidden_checks.UNJUDGED]
    assert entry["question"] == "q6_evaluacion" and reason in entry["reason"]


def test_statements_that_read_what_the_probe_cannot_supply_are_the_students_and_judged_by_value():
    env = env_for("improvement = model.evaluate(x)[1] - accuracy_baseline", 0.06, 0.06, 0.0)
    tl_hidden_checks.check_improvement(env)
    assert tl_hidden_checks.UNJUDGED not in env
