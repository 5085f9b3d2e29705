"""Forgeries assembled at run time win no point, through ``python -m kit grade`` and through Gradescope.

``submissions/r1_run_time_routes_each_in_its_own_cell.ipynb`` is b5 (phase 2 trained at 1e-4: q4 loses a point) plus
twelve payloads, each only data until it runs, each by another route and in a code cell of its own. The verdict is
made outside the kernel, so none of them can pay; the recorder reports each route as it is taken, at its own cell, so
the row is flagged with the line that took it. One run each way, shared by the tests.
"""
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from kit import grade, intake, paths, tampering, variants
from kit.classwork.review import views
from kit.records import Status

ROUTES = {
    "r1_module_written_then_imported": "compila código en tiempo de ejecución (código de",
    "r2_subprocess_appends_to_checks": "crea un proceso",
    "r3_pickle_payload_in_npy": "carga un objeto serializado que trae código",
    "r4_timeit_runs_assembled_code": "compila código en tiempo de ejecución",
    "r5_os_open_appends_to_checks": "cambia un archivo del laboratorio o de la calificación",
    "r6_os_system_appends_to_checks": "crea un proceso",
    "r7_results_file_forged": "escribe un archivo de nombre calculado",
    "r8_channel_written_through_fd": "lee /proc",
    "r9_zipimport_of_written_archive": "compila código en tiempo de ejecución (código de",
    "r10_forked_child_appends_to_checks": "crea un proceso",
    "r11_thread_rewrites_checks_later": "cambia un archivo del laboratorio o de la calificación",
    "r12_atexit_rewrites_checks": "el canal de observación siguió tras el final",
}
"""What each route leaves among the row's lines, at its own cell: the evidence of the layer that caught it."""
EXPECTED = grade.load_expected()
QUESTIONS = grade.questions_of(paths.AUTOGRADER_ZIP)
SHARED = f"{variants.SHARED_FORGERY}.ipynb"
CELLS = variants.route_cells(variants.SHARED_FORGERY)


CHANNEL_LEVEL = {"r8_channel_written_through_fd", "r12_atexit_rewrites_checks"}
"""Routes the recorder sees on the channel itself (a descriptor forged, a report after the end): no cell to name."""


def _found_at_its_cell(name, lines):
    """Whether ``lines`` ({cell, reason}) report route ``name``'s evidence at the route's own cell."""
    cells = {CELLS[name.split("_")[0]]} | ({-1} if name in CHANNEL_LEVEL else set())
    return any(line["cell"] in cells and line["reason"].startswith(ROUTES[name]) for line in lines)


def _lines(out):
    """Every line the row was flagged for, as the instructor's review page lists them (the scan's and the run's)."""
    return views.evidence(out, SHARED, intake.read_notebook(paths.SUBMISSIONS / SHARED), tampering.kit_cells())


def test_every_runtime_route_is_in_the_shared_run_with_its_expected_grades():
    assert sorted(ROUTES) == sorted(variants.RUNTIME_TAMPERING) == sorted(variants.SHARED_FORGERY_ROUTES)
    assert (paths.SUBMISSIONS / SHARED).exists() and SHARED in EXPECTED


@pytest.fixture(scope="module")
def row(tmp_path_factory):
    root = tmp_path_factory.mktemp("forgeries")
    subs, out = root / "subs", root / "out"
    subs.mkdir()
    shutil.copy(paths.SUBMISSIONS / SHARED, subs)
    (graded,) = grade.grade_all(subs, out=out, workdir=root, jobs=1, timeout_s=600)
    return graded, _lines(out)


@pytest.mark.slow
def test_kit_grade_pays_no_forged_point_and_holds_the_row(row):
    row, _ = row
    assert not grade.differs(row, EXPECTED[SHARED], QUESTIONS), (row.status, row.questions, row.message)
    assert row.status == Status.FLAGGED and row.questions["q4_ajuste_fino"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_kit_grade_flags_each_route_at_its_own_cell(row, name):
    assert _found_at_its_cell(name, row[1]), row[1]


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory):
    """The same notebook through Gradescope's entry point, which runs the same job: its own parts are the entry
    point, the protected autograder folder and the held results."""
    root = tmp_path_factory.mktemp("gradescope-forgeries")
    with zipfile.ZipFile(paths.AUTOGRADER_ZIP) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    shutil.copy(paths.SUBMISSIONS / SHARED, root / "submission" / SHARED)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    env = {"PATH": "/usr/bin:/bin", "OTTER_ENV": sys.prefix, "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "HOME": str(root)}
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"]: t for t in results["tests"]}
    return results, tests.pop("Revisión de integridad (solo profesorado)"), tests


@pytest.mark.slow
def test_gradescope_holds_the_points(gradescope):
    results, review, tests = gradescope
    assert results["score"] == 0 and all(t["score"] == 0 for t in tests.values())
    assert "en revisión" in results["output"] and "en revisión" in tests["q4_ajuste_fino"]["output"]
    assert review["visibility"] == "hidden"
    withheld = json.loads(review["output"].rsplit("Puntos retenidos: ", 1)[1])
    assert withheld["q4_ajuste_fino"] == 2  # held, and no forged point among them


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_gradescope_tells_the_instructor_each_route_at_its_own_cell(gradescope, name):
    listed = [{"cell": int(m[1]), "reason": m[2]} for m in re.finditer(r"^celda (-?\d+), línea \d+: (.*)$",
                                                                        gradescope[1]["output"], re.MULTILINE)]
    assert _found_at_its_cell(name, listed), gradescope[1]["output"]
