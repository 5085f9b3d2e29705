"""The notebook is enough on its own: alone in an empty folder it unpacks the lab, checks and exports.

What a student has after opening it on Colab from a link, or after an LMS download: one
``.ipynb``. Each notebook is executed once by a real kernel (nbclient), in fast mode.
"""
import os
import re
import shutil
import sys
import zipfile
from unittest import mock

import nbformat
import pytest
from nbclient import NotebookClient

from kit import embed, paths

NOTEBOOK = paths.MASTER.name
NATIVE_NOISE = re.compile(r"oneDNN|cuda drivers|cuInit|absl::InitializeLog|without encryption|cpu_feature_guard")
pytestmark = pytest.mark.slow


def _execute(nb, folder, timeout=600):
    with mock.patch.dict(os.environ, LAB_MODE="fast"):  # the kernel inherits it
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _alone(tmp_path_factory, stage, keep_export=True):
    folder = tmp_path_factory.mktemp(stage)
    shutil.copy(paths.ROOT / stage / NOTEBOOK, folder / NOTEBOOK)
    nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    if not keep_export:
        nb.cells = [c for c in nb.cells if "tl_setup.submit" not in c.source]
    return folder, _execute(nb, folder)


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    return _alone(tmp_path_factory, "solution")


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    return _alone(tmp_path_factory, "student_template", keep_export=False)


def _check_outputs(nb):
    """{question: html} of every ``grader.check`` cell."""
    found = {}
    for cell in nb.cells:
        question = re.fullmatch(r'grader\.check\("(\w+)"\)', cell.source.strip())
        if question:
            found[question.group(1)] = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    return found


def _all_text(nb):
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            parts.append(o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values())
                         + "\n".join(o.get("traceback", [])))
    return "\n".join(parts)


def test_alone_it_creates_exactly_the_public_lab_files(solution):
    folder, _ = solution
    made = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    expected = {name for name in embed.unpack(_setup_source(paths.SOLUTION / NOTEBOOK))}
    assert expected <= made and "tl_hidden_checks.py" not in made
    assert {"tl_checks.py", "tl_fastmode.py", "tl_audit.py", "tl_setup.py", "tests/q4_ajuste_fino.py"} <= expected


def test_alone_every_public_check_of_the_solution_passes(solution):
    checks = _check_outputs(solution[1])
    assert len(checks) == 7
    assert {q: "✔" in html and "pasa" in html for q, html in checks.items()} == {q: True for q in checks}


def test_alone_the_export_writes_the_submission_zip(solution):
    folder, nb = solution
    (zip_path,) = folder.glob("transfer_learning_lab_*.zip")
    with zipfile.ZipFile(zip_path) as zf:
        assert NOTEBOOK in zf.namelist()
    export = next(c for c in nb.cells if "tl_setup.submit" in c.source)
    assert "Comprobando tu trabajo con las pruebas públicas" in _all_text(nbformat.v4.new_notebook(cells=[export]))


def test_alone_no_output_shows_native_log_lines(solution):
    assert NATIVE_NOISE.findall(_all_text(solution[1])) == []


def test_alone_the_blank_template_fails_every_check_in_spanish(blank):
    checks = _check_outputs(blank[1])
    assert len(checks) == 7
    for question, html in checks.items():
        assert "no pasan" in html and "Test case failed" not in html, (question, html)
    assert "No se ha entrenado ningún modelo" in checks["q4_ajuste_fino"]


def _setup_source(path):
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code" and "LAB_FILES" in c.source)


def test_running_the_set_up_twice_or_after_a_restart_is_harmless(tmp_path):
    setup = _setup_source(paths.STUDENT / NOTEBOOK)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(setup),
                                         nbformat.v4.new_code_cell("print(LAB_MODE, type(grader).__name__)")])
    _execute(nb, tmp_path)
    first = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.py")}
    _execute(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup)]), tmp_path)  # a new kernel
    assert [o for c in nb.cells for o in c.outputs if o.output_type == "error"] == []
    assert "fast Notebook" in nb.cells[2].outputs[0].text
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.py")} == first


def test_beside_the_folder_distribution_nothing_is_overwritten(tmp_path):
    shutil.copytree(paths.STUDENT, tmp_path / "lab")
    marker = tmp_path / "lab" / "tl_checks.py"
    marker.write_text(marker.read_text() + "\n# the instructor's own copy\n")
    _execute(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_setup_source(paths.STUDENT / NOTEBOOK))]),
             tmp_path / "lab")
    assert marker.read_text().endswith("# the instructor's own copy\n")


def test_embedded_sample_matches_fast_mode_defaults():
    import tl_fastmode

    assert (embed.FAST_TRAIN, embed.FAST_TEST) == (tl_fastmode.DEFAULT_TRAIN, tl_fastmode.DEFAULT_TEST)


def test_on_colab_submit_explains_the_ipynb_download_and_never_exports(monkeypatch, capsys):
    import tl_setup

    monkeypatch.setitem(sys.modules, "google.colab", object())

    class NoExport:
        def export(self, *args, **kwargs):
            raise AssertionError("export is disabled on Colab")

    tl_setup.submit(NoExport())
    out = capsys.readouterr().out
    assert "Archivo > Descargar > Descargar .ipynb" in out


def test_on_colab_only_the_pinned_otter_is_installed(monkeypatch):
    import subprocess

    import tl_setup

    calls = []
    monkeypatch.setitem(sys.modules, "otter", None)  # import otter raises ImportError, as on Colab
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    tl_setup.ensure_otter()
    (cmd,) = calls
    assert cmd[-1] == "otter-grader==7.0.0" and not any(w in " ".join(cmd) for w in ("tensorflow", "keras", "-U",
                                                                                    "--upgrade"))
