"""Bad inputs end as rows with a status, a score of 0 and a message that says what was found; the batch finishes."""
import zipfile

import nbformat
import pytest

from kit import grade, intake, paths
from kit.job import folder
from kit.records import Status

SOLUTION = paths.SUBMISSIONS / "solution.ipynb"
ASSIGNMENT = folder.assignment_of(paths.AUTOGRADER_ZIP)


def _solution():
    return nbformat.read(SOLUTION, as_version=4)


def _write_bad_inputs(folder):
    """Each file a student could really hand in that no grading job can do anything with: {name: expected words}."""
    folder.mkdir()
    (folder / "corrupt.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with zipfile.ZipFile(folder / "no_notebook.zip", "w") as zf:
        zf.writestr("notas.txt", "hola")
    with zipfile.ZipFile(folder / "two_notebooks.zip", "w") as zf:
        zf.writestr("a.ipynb", nbformat.writes(_solution()))
        zf.writestr("b.ipynb", nbformat.writes(_solution()))
    (folder / "invalid_json.ipynb").write_text('{"cells": [')
    nbformat.write(nbformat.v4.new_notebook(), folder / "zero_cells.ipynb")
    other = _solution()
    other.metadata["otter"] = {"assignment_name": "otra_tarea"}
    nbformat.write(other, folder / "other_assignment.ipynb")
    bare = _solution()
    del bare.metadata["otter"]
    nbformat.write(bare, folder / "new_notebook_not_the_template.ipynb")
    return {"corrupt.zip": "dañado o no es un zip", "no_notebook.zip": "contiene 0 cuadernos",
            "two_notebooks.zip": "contiene 2 cuadernos", "invalid_json.ipynb": "no es un cuaderno legible",
            "zero_cells.ipynb": "no tiene ninguna celda", "other_assignment.ipynb": "es de la tarea 'otra_tarea'",
            "new_notebook_not_the_template.ipynb": "no lleva los metadatos de ninguna tarea"}


def test_each_bad_input_is_refused_with_what_was_found(tmp_path):
    expected = _write_bad_inputs(tmp_path / "subs")
    for name, words in expected.items():
        message = intake.problem(tmp_path / "subs" / name, ASSIGNMENT)
        assert message and message.startswith("Entrega no calificable") and words in message, (name, message)


@pytest.mark.parametrize("name", ["solution.ipynb", "blank_template.ipynb", "ok_export_zip.zip",
                                  "ok_renamed Copia de lab (1).ipynb"])
def test_gradable_submissions_are_not_refused(name):
    assert intake.problem(paths.SUBMISSIONS / name, ASSIGNMENT) is None


def test_a_batch_of_bad_inputs_finishes_with_a_row_each_and_spends_no_job(tmp_path):
    expected = _write_bad_inputs(tmp_path / "subs")
    (tmp_path / "work").mkdir()
    rows = grade.grade_all(tmp_path / "subs", out=tmp_path / "out", workdir=tmp_path / "work")
    assert sorted(r.submission for r in rows) == sorted(expected)
    for r in rows:
        assert (r.status, r.score, r.seconds) == (Status.ERROR, 0, 0) and expected[r.submission] in r.message
    assert list((tmp_path / "work").iterdir()) == []


HOSTILE_CELLS = {
    "while_true": ("while True:\n    pass", {"timeout_s": 45}, Status.TIMEOUT),
    "memory_bomb": ("hog = []\nwhile True:\n    hog.append(bytearray(100 * 2**20))", {"memory_mb": 2500}, Status.MEMORY),
    "print_100_mb": ("for _ in range(100):\n    print('x' * 2**20)", {}, Status.OK),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE_CELLS))
def test_a_hostile_cell_costs_only_its_own_row(tmp_path, name):
    code, limits, status = HOSTILE_CELLS[name]
    nb = _solution()
    nb.cells.insert(3, nbformat.v4.new_code_cell(code))  # right after the set-up and imports
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(nb, subs / f"{name}.ipynb")
    (row,) = grade.grade_all(subs, out=tmp_path / "out", jobs=1, **{"timeout_s": 300, "memory_mb": 4096, **limits})
    assert row.status == status
    if status == Status.OK:  # the output is the student's business: graded in full, nothing kept of it
        assert row.score == 18
        kept = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
        assert kept < 2 * 2**20
    else:
        assert row.score == 0 and row.message


@pytest.mark.slow
def test_a_deleted_set_up_cell_scores_0_with_a_message_that_says_so(tmp_path):
    nb = _solution()
    nb.cells = [c for c in nb.cells if "LAB_FILES" not in c.source]
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(nb, subs / "no_set_up.ipynb")
    (row,) = grade.grade_all(subs, out=tmp_path / "out", jobs=1, timeout_s=300)
    assert (row.status, row.score) == (Status.OK, 0)
    cases = (tmp_path / "out" / "results" / "no_set_up.ipynb" / "cases.json").read_text(encoding="utf-8")
    assert "ejecuta (y no borres) la celda de configuración" in cases
