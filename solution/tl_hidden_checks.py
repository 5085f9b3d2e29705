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


_public = runpy.run_path(str(Path(__file__).resolve().with_name("tl_checks.py")))
(ATOL, fail, expect, phase1, phase2, phase1_fits, phase2_fits, after_phase1, _judge_each, _base_layer_range, _bn,
 _as_fraction, _check_provenance, evaluated_accuracies, validation_accuracy, _matches, judged) = (
    _public[name] for name in (
        "ATOL", "fail", "expect", "phase1", "phase2", "phase1_fits", "phase2_fits", "after_phase1", "_judge_each",
        "_base_layer_range", "_bn", "_as_fraction", "_check_provenance", "evaluated_accuracies",
        "validation_accuracy", "_matches", "judged"))


# -- q2: phase 1 --------------------------------------------------------------------------

def check_phase1_changes():
    group = phase1_fits()

    def judge(fit, subject):
        during = "Durante la fase 1" if subject is None else "Durante " + subject
        changed = fit.base_changed()
        expect(not changed, f"{during} cambiaron pesos de {len(changed)} capas de la base: "
                            "en la extracción de características la base debe quedar intacta.")
        expect(fit.head_changed() or (subject is not None and not fit.epoch),  # a further call that trained nothing
               f"{during} no cambió ningún peso de la cabeza clasificadora.")

    _judge_each(group, group[0], "después de la fase 1", judge)


# -- q4: phase 2 --------------------------------------------------------------------------

def check_phase2_changes():
    group = phase2_fits()

    def judge(fit, subject):
        during = "Durante la fase 2" if subject is None else "Durante " + subject
        frozen, tuned = _base_layer_range(fit)
        moved = fit.base_changed(layers=set(frozen))
        expect(not moved, f"{during} cambiaron pesos de {len(moved)} de las primeras {len(frozen)} "
                          "capas de la base, que debían seguir congeladas.")
        if subject is not None and not fit.epoch:
            return  # a further call that trained no epoch: nothing more to judge of it (the named one must train)
        # BatchNormalization may be tuned or kept frozen (the Keras guide's advice): judge the rest.
        weighted = {i for i in tuned if fit.base_layer_has_weights[i] and not _bn(fit, i)}
        changed, total = fit.vars_changed_in(weighted)
        expect(total > 0 and changed >= 0.9 * total,
               f"{during} solo cambiaron {changed} de {total} pesos de las últimas 40 capas "
               "(sin contar BatchNormalization): el ajuste fino no los está entrenando.")
        head = [v for v in fit.changed.values() if v.part == "head" and v.trainable]
        expect(head and all(v.changed for v in head),
               f"{during} no cambiaron los pesos de la cabeza: en el ajuste fino la cabeza se entrena junto "
               "con las últimas 40 capas de la base.")

    _judge_each(group, group[-1], "antes de la fase 2", judge)


# -- q3: the baseline ---------------------------------------------------------------------

def check_baseline_value(env):
    raw = env.get("accuracy_baseline")
    value = _as_fraction(raw, "accuracy_baseline")
    done = after_phase1()
    if _check_provenance(raw, "accuracy_baseline", done):
        return
    found = evaluated_accuracies(done) + validation_accuracy(done)
    expect(_matches(value, found),
           f"`accuracy_baseline` = {value:.4f} no es la precisión en prueba tras la fase 1 "
           f"({', '.join(f'{a:.4f}' for a in found) or 'ninguna evaluación en prueba'}). ¿Evaluaste en "
           "el conjunto de prueba? ¿Tomaste (pérdida, precisión) en ese orden?")


# -- q6: the improvement ------------------------------------------------------------------

NAMES = ("accuracy_baseline", "accuracy_finetune")
PAIRS = ((0.25, 0.75), (0.75, 0.25), (0.5, 0.5), (0.70, 0.71), (0.71, 0.70), (0.05, 0.95), (0.95, 0.05),
         (0.1234, 0.5678))
"""(baseline, final) pairs the formula is run on: both signs of the difference, equal values, a small and a
large difference, and one with many decimals, so that every branch a formula can take (a condition, ``max``,
``abs``, rounding) is taken."""


class _Binder(ast.NodeVisitor):
    """Names a statement binds at its own level: assignments anywhere inside ``if``/``for``/``with``/``try``,
    a function's or class's own name, but not what a nested function binds for itself."""

    def __init__(self):
        self.names = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def visit_FunctionDef(self, node):
        self.names.add(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass


def _assigned(node):
    """Names a top-level statement binds (compound statements included)."""
    binder = _Binder()
    binder.visit(node)
    return binder.names


def _used(node):
    """Names a statement reads (an augmented assignment reads its target too)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} | (
        {node.target.id} if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) else set())


def improvement_slice(env):
    """The statements that compute ``improvement`` in the last cell that set it, minus the two accuracies' own
    assignments (the probe supplies them): whatever form the formula takes (a helper function, an intermediate
    variable, an ``if``, ``np.subtract``, ``round``...)."""
    for source in reversed(list(env.get("In") or [])):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        last = next((i for i in range(len(tree.body) - 1, -1, -1) if "improvement" in _assigned(tree.body[i])), None)
        if last is None:
            continue
        kept, needed = [], set()
        for node in reversed(tree.body[:last + 1]):
            bound = _assigned(node)
            if node is tree.body[last] or (bound & needed and not bound & set(NAMES)):
                kept.insert(0, node)
                needed |= _used(node)
        # A number typed in by hand, or one read from elsewhere, does not depend on the two accuracies.
        return ast.Module(body=kept, type_ignores=[]) if needed & set(NAMES) else None
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


PROGRAM = """
import json as _json
_results = []
for _pair in {pairs!r}:
    {names[0]}, {names[1]} = _pair
    improvement = _UNSET = object()
    try:
        pass  # the formula's statements go here
        _results.append(None if improvement is _UNSET else float(improvement))
    except Exception:
        _results.append(None)
print('TL-PROBE ' + _json.dumps(_results))
"""


def probe_program(env):
    """The program that runs the student's statements on every pair of ``PAIRS``, or None without a formula."""
    code = improvement_slice(env)
    if code is None:
        return None
    needed = {n.id for n in ast.walk(code) if isinstance(n, ast.Name)}
    program = ast.parse(PROGRAM.format(pairs=PAIRS, names=NAMES))
    attempt = program.body[2].body[2]  # the try inside the loop
    attempt.body[0:1] = code.body
    program.body[0:0] = _imports_needed(env, needed)
    return ast.unparse(ast.fix_missing_locations(program))


UNJUDGED = "__unjudged__"
"""Where a check that could not be judged says so, in the environment the verdict hands every test: the verdict
writes it beside the results, and the row tells the instructor which check to regrade."""


class GraderFailure(RuntimeError):
    """The grader could not run a check (its process did not start, was killed, or printed nothing): never the
    student's doing, and never a pass."""


def unjudged(env, question, check, reason):
    """Record that ``check`` of ``question`` could not be judged, and fail it: it is regraded, not passed."""
    env.setdefault(UNJUDGED, []).append({"question": question, "check": check, "reason": reason})
    fail(f"No se pudo comprobar {check} por un fallo del calificador, no de tu cuaderno ({reason}). El "
         "profesorado volverá a calificar esta pregunta.")


def probe_improvement(env):
    """``improvement`` recomputed by the student's own code for each pair of ``PAIRS`` (None where it raised or
    set nothing), or None when there is no formula to run, or when it cannot run apart from its cell (it reads
    what the probe does not supply): the student's code, judged by value alone.

    The statements run in a fresh Python process (``env["__probe_command__"]`` wraps it in the grader's
    sandbox), never in the process that decides the grade. ``GraderFailure`` when that process did not start,
    was killed, or printed no result line.
    """
    import json
    import subprocess
    import sys
    import tempfile

    program = probe_program(env)
    if program is None:
        return None
    with tempfile.TemporaryDirectory(prefix="tl-probe-") as folder:
        command = [*env.get("__probe_command__", []), sys.executable, "-I", "-c", program]
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=60,
                                  env={"PATH": "/usr/bin:/bin", "HOME": folder, "OMP_NUM_THREADS": "1"})
        except OSError as exc:
            raise GraderFailure(f"el proceso de la prueba no arrancó: {exc}") from None
        except subprocess.TimeoutExpired:
            raise GraderFailure("el proceso de la prueba no terminó en 60 s y se detuvo") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("TL-PROBE ")]
    if not lines:
        said = " ".join(done.stderr.split())[-240:] or "sin salida"
        raise GraderFailure(f"el proceso de la prueba terminó con código {done.returncode} sin resultado: {said}")
    try:  # each pair's statements run inside a try: what they raise is the student's, a None
        results = json.loads(lines[-1][len("TL-PROBE "):])
    except ValueError:
        raise GraderFailure("el proceso de la prueba escribió un resultado ilegible") from None
    if not isinstance(results, list) or len(results) != len(PAIRS) or all(r is None for r in results):
        return None
    return results


def _agrees(value, diff, scale):
    return value is not None and abs(value - scale * diff) <= (1e-3 if scale == 1 else 0.1)


def check_improvement(env):
    base = _as_fraction(env.get("accuracy_baseline"), "accuracy_baseline")
    final = _as_fraction(env.get("accuracy_finetune"), "accuracy_finetune")
    value = _as_fraction(env.get("improvement"), "improvement")
    # Judged against the student's own two numbers: their correctness is graded above.
    diff = final - base
    expect(abs(value - diff) <= ATOL or abs(value - 100 * diff) <= 100 * ATOL,
           f"`improvement` = {value:.4f}, pero la mejora es precisión tras el ajuste fino − línea base "
           f"= {diff:.4f} ({100 * diff:.2f} puntos porcentuales).")
    # One pair of accuracies (often equal in fast mode) cannot tell a formula with a branch from the right one:
    # run the student's own code again on pairs that take every branch, in one unit (fraction or points).
    try:
        results = probe_improvement(env)
    except GraderFailure as exc:
        unjudged(env, "q6_evaluacion", "tu fórmula de `improvement` con otros pares de precisiones", str(exc))
    if results is None:
        return
    for scale in (1, 100):
        if all(_agrees(r, f - b, scale) for r, (b, f) in zip(results, PAIRS)):
            return
    unit = 100 if abs(value) > 1 or (abs(diff) > ATOL and abs(value - 100 * diff) <= 100 * ATOL) else 1
    wrong = [(b, f, r) for r, (b, f) in zip(results, PAIRS) if not _agrees(r, f - b, unit)]
    shown = "; ".join(f"línea base {b:g} y final {f:g}: da {'ningún valor' if r is None else f'{r:g}'}, "
                      f"la mejora es {unit * (f - b):.4g}" for b, f, r in wrong[:3])
    fail(f"Tu fórmula de `improvement` no da la diferencia final − línea base en todos los casos ({shown}). "
         "Calcúlala igual para cualquier par de precisiones, también cuando la mejora es negativa o nula.")


for _name, _check in list(globals().items()):
    if _name.startswith("check_") and callable(_check):
        globals()[_name] = judged(_check)
