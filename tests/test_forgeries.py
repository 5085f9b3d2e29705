"""Forgeries assembled at run time win no point, through ``python -m kit grade`` and through Gradescope.

Each ``submissions/r*_…`` notebook is b5 (phase 2 trained at 1e-4: q4 loses a point) plus a
payload that is only data until it runs, each by another route. The verdict is made outside
the kernel, so none of them can pay; the recorder reports each route as it is taken, so each
row is flagged with the line that took it. One batch each way, shared by the tests.
"""
import json
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from kit import grade, paths, variants
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
"""What each route leaves in the row's message: the evidence of the layer that caught it."""
EXPECTED = grade.load_expected()
QUESTIONS = grade.questions_of(paths.AUTOGRADER_ZIP)


def test_every_runtime_route_is_a_reference_with_its_expected_grades():
    assert sorted(ROUTES) == sorted(variants.RUNTIME_TAMPERING)
    assert all((paths.SUBMISSIONS / f"{name}.ipynb").exists() and f"{name}.ipynb" in EXPECTED for name in ROUTES)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("forgeries")
    subs, out = root / "subs", root / "out"
    subs.mkdir()
    for name in ROUTES:
        shutil.copy(paths.SUBMISSIONS / f"{name}.ipynb", subs)
    return {r.submission: r for r in grade.grade_all(subs, out=out, workdir=root, jobs=2, timeout_s=600)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_kit_grade_pays_no_forged_point_and_flags_the_route(batch, name):
    row = batch[f"{name}.ipynb"]
    assert not grade.differs(row, EXPECTED[f"{name}.ipynb"], QUESTIONS), (row.status, row.questions, row.message)
    assert row.status == Status.FLAGGED and row.questions["q4_ajuste_fino"] == 2
    assert ROUTES[name] in row.message, row.message


def _gradescope(notebook, root):
    with zipfile.ZipFile(paths.AUTOGRADER_ZIP) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    shutil.copy(notebook, root / "submission" / notebook.name)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    env = {"PATH": "/usr/bin:/bin", "OTTER_ENV": sys.prefix, "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "HOME": str(root)}
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


GRADESCOPE_ROUTES = ("r2_subprocess_appends_to_checks", "r3_pickle_payload_in_npy", "r5_os_open_appends_to_checks",
                     "r8_channel_written_through_fd", "r12_atexit_rewrites_checks")
"""Gradescope runs the same job as the batch above, which grades every route; one route of each layer (a process,
a pickle, a lab file written, the channel forged, the channel after its end) covers Gradescope's own parts: the
entry point, the protected autograder folder, the held results."""


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradescope-forgeries")
    names = sorted(GRADESCOPE_ROUTES)
    with ThreadPoolExecutor(2) as pool:
        results = pool.map(lambda n: _gradescope(paths.SUBMISSIONS / f"{n}.ipynb", root / n), names)
    return dict(zip(names, results))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GRADESCOPE_ROUTES))
def test_gradescope_holds_the_points_and_tells_the_instructor_which_route(gradescope, name):
    results = gradescope[name]
    tests = {t["name"]: t for t in results["tests"]}
    review = tests.pop("Revisión de integridad (solo profesorado)")
    assert results["score"] == 0 and all(t["score"] == 0 for t in tests.values())
    assert "en revisión" in results["output"] and "en revisión" in tests["q4_ajuste_fino"]["output"]
    assert review["visibility"] == "hidden" and ROUTES[name] in review["output"]
    withheld = json.loads(review["output"].rsplit("Puntos retenidos: ", 1)[1])
    assert withheld["q4_ajuste_fino"] == 2  # held, and no forged point among them
