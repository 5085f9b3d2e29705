"""The hidden checks: in the autograder only, never shipped to students.

Same contract as ``tl_checks`` (each ``check_*`` raises ``AssertionError`` with a Spanish
message); they judge what a student cannot see from the public tests: which weights each
fit really changed, where the baseline came from, and the improvement's formula. The
public helpers are read from ``tl_checks.py``'s file beside this one, never from
``sys.modules``, where a submission could have left a module of its own.
"""
import ast
import runpy
from pathlib import Path

import numpy as np

_public = runpy.run_path(str(Path(__file__).resolve().with_name("tl_checks.py")))
(ATOL, fail, expect, phase1, phase2, _base_layer_range, _bn, _as_fraction, _check_provenance,
 evaluated_accuracies, validation_accuracy, _matches) = (_public[name] for name in (
    "ATOL", "fail", "expect", "phase1", "phase2", "_base_layer_range", "_bn", "_as_fraction",
    "_check_provenance", "evaluated_accuracies", "validation_accuracy", "_matches"))


# -- q2: phase 1 --------------------------------------------------------------------------

def check_phase1_changes():
    fit = phase1()
    changed = fit.base_changed()
    expect(not changed, f"Durante la fase 1 cambiaron pesos de {len(changed)} capas de la base: "
                        "en la extracción de características la base debe quedar intacta.")
    expect(fit.head_changed(), "Durante la fase 1 no cambió ningún peso de la cabeza clasificadora.")


# -- q4: phase 2 --------------------------------------------------------------------------

def check_phase2_changes():
    fit = phase2()
    frozen, tuned = _base_layer_range(fit)
    moved = fit.base_changed(layers=set(frozen))
    expect(not moved, f"Durante la fase 2 cambiaron pesos de {len(moved)} de las primeras {len(frozen)} "
                      "capas de la base, que debían seguir congeladas.")
    # BatchNormalization may be tuned or kept frozen (the Keras guide's advice): judge the rest.
    weighted = {i for i in tuned if fit.base_layer_has_weights[i] and not _bn(fit, i)}
    changed, total = fit.vars_changed_in(weighted)
    expect(total > 0 and changed >= 0.9 * total,
           f"Durante la fase 2 solo cambiaron {changed} de {total} pesos de las últimas 40 capas "
           "(sin contar BatchNormalization): el ajuste fino no los está entrenando.")


# -- q3: the baseline ---------------------------------------------------------------------

def check_baseline_value(env):
    raw = env.get("accuracy_baseline")
    value = _as_fraction(raw, "accuracy_baseline")
    if _check_provenance(raw, "accuracy_baseline", 1):
        return
    found = evaluated_accuracies(1) + validation_accuracy(1)
    expect(_matches(value, found),
           f"`accuracy_baseline` = {value:.4f} no es la precisión en prueba tras la fase 1 "
           f"({', '.join(f'{a:.4f}' for a in found) or 'ninguna evaluación en prueba'}). ¿Evaluaste en "
           "el conjunto de prueba? ¿Tomaste (pérdida, precisión) en ese orden?")


# -- q6: the improvement ------------------------------------------------------------------

PROBE = {"accuracy_baseline": 0.25, "accuracy_finetune": 0.75}


def _assigned(node):
    """Names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
        node, (ast.AugAssign, ast.AnnAssign)) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _used(node):
    value = node.value if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) else node
    names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)} if value is not None else set()
    return names | ({node.target.id} if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) else set())


def improvement_slice(env):
    """The statements that compute ``improvement`` in the last cell that set it, minus the two accuracies' own
    assignments (the probe supplies them): whatever form the formula takes (a helper function, an intermediate
    variable, ``np.subtract``, ``round``...)."""
    for source in reversed(list(env.get("In") or [])):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        last = next((i for i in range(len(tree.body) - 1, -1, -1) if "improvement" in _assigned(tree.body[i])), None)
        if last is None:
            continue
        kept, needed = [tree.body[last]], _used(tree.body[last])
        for node in reversed(tree.body[:last]):
            bound = _assigned(node)
            if bound & needed and not bound & PROBE.keys():
                kept.insert(0, node)
                needed |= _used(node)
        # A number typed in by hand, or one read from elsewhere, does not depend on the two accuracies.
        return ast.Module(body=kept, type_ignores=[]) if needed & PROBE.keys() else None
    return None


def _imports_needed(env, needed):
    """The notebook's own top-level imports that bind a name the formula reads (``np``, ``math``...)."""
    kept = []
    for source in list(env.get("In") or []):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        kept += [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)) and _assigned_import(node)
                 & needed]
    return kept


def _assigned_import(node):
    return {(alias.asname or alias.name).split(".")[0] for alias in node.names}


def probe_improvement(env):
    """``improvement`` recomputed by the student's own code with a baseline of 0.25 and a final 0.75, or None.

    The statements run in a fresh Python process (``env["__probe_command__"]`` wraps it in the grader's
    sandbox), never in the process that decides the grade.
    """
    import json
    import subprocess
    import sys
    import tempfile

    code = improvement_slice(env)
    if code is None:
        return None
    needed = {n.id for n in ast.walk(code) if isinstance(n, ast.Name)}
    body = _imports_needed(env, needed) + [ast.parse(f"{k} = {v!r}").body[0] for k, v in PROBE.items()] + code.body
    program = (ast.unparse(ast.Module(body=body, type_ignores=[]))
               + "\nimport json as _j\nprint('TL-PROBE ' + _j.dumps(float(improvement)))\n")
    with tempfile.TemporaryDirectory(prefix="tl-probe-") as folder:
        command = [*env.get("__probe_command__", []), sys.executable, "-I", "-c", program]
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=60,
                                  env={"PATH": "/usr/bin:/bin", "HOME": folder, "OMP_NUM_THREADS": "1"})
        except (OSError, subprocess.TimeoutExpired):
            return None
    lines = [line for line in done.stdout.splitlines() if line.startswith("TL-PROBE ")]
    try:  # a formula that cannot run apart from its cell is judged by value alone
        return float(json.loads(lines[-1][len("TL-PROBE "):])) if done.returncode == 0 and lines else None
    except ValueError:
        return None


def check_improvement(env):
    base = _as_fraction(env.get("accuracy_baseline"), "accuracy_baseline")
    final = _as_fraction(env.get("accuracy_finetune"), "accuracy_finetune")
    value = _as_fraction(env.get("improvement"), "improvement")
    # Judged against the student's own two numbers: their correctness is graded above.
    diff = final - base
    expect(abs(value - diff) <= ATOL or abs(value - 100 * diff) <= 100 * ATOL,
           f"`improvement` = {value:.4f}, pero la mejora es precisión tras el ajuste fino − línea base "
           f"= {diff:.4f} ({100 * diff:.2f} puntos porcentuales).")
    # When both accuracies happen to be equal (frequent in fast mode), any formula giving 0 matches:
    # run the student's own code again on two accuracies that differ.
    probe = probe_improvement(env)
    want = PROBE["accuracy_finetune"] - PROBE["accuracy_baseline"]
    if probe is not None and not (np.isclose(probe, want, atol=1e-3) or np.isclose(probe, 100 * want, atol=0.1)):
        fail(f"Con una línea base de 0.25 y una precisión final de 0.75, tu fórmula de `improvement` da {probe:g}; "
             f"la mejora es la diferencia, {want:g} (o {100 * want:g} puntos porcentuales).")
