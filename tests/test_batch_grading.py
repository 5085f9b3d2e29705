"""Batch grading: every submission gets a row, limits hold, and nothing is touched or aborted."""
import csv
import hashlib
import json
import shutil

import nbformat
import pytest

from kit import grade, paths
from kit.records import Status

BLANK = paths.SUBMISSIONS / "blank_template.ipynb"
BROKEN = paths.SUBMISSIONS / "broken_not_a_notebook.ipynb"


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_questions_and_points_come_from_the_autograder():
    questions = grade.questions_of(paths.AUTOGRADER_ZIP)
    assert list(questions) == ["q1_datos", "q2_extraccion", "q3_linea_base", "q4_ajuste_fino",
                               "q5_epocas", "q6_evaluacion", "q7_graficas"]
    assert sum(questions.values()) == 18


@pytest.mark.slow
def test_a_batch_survives_broken_slow_and_hungry_submissions(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(BROKEN, subs / "broken.ipynb")
    shutil.copy(BLANK, subs / "blank.ipynb")
    (subs / "notes.txt").write_text("not a submission")
    before = _digest(subs)

    rows = grade.grade_all(subs, out=tmp_path / "grades", jobs=2, timeout_s=300, memory_mb=4096)
    by_name = {r.submission: r for r in rows}
    assert set(by_name) == {"broken.ipynb", "blank.ipynb"}
    assert by_name["broken.ipynb"].status == Status.ERROR and "JSON" in by_name["broken.ipynb"].message
    assert by_name["blank.ipynb"].status == Status.OK and by_name["blank.ipynb"].score == 0
    assert _digest(subs) == before  # graded from private copies

    with open(tmp_path / "grades" / "grades.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["submission"] for r in table] == ["blank.ipynb", "broken.ipynb"]
    assert all(r["score"] == "0" and r["max_score"] == "18" for r in table)


@pytest.mark.slow
@pytest.mark.parametrize("limits, status", [({"timeout_s": 3}, Status.TIMEOUT), ({"memory_mb": 250}, Status.MEMORY)])
def test_limits_stop_one_submission_and_leave_nothing_behind(tmp_path, limits, status):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(BLANK, subs / "blank.ipynb")
    work = tmp_path / "work"
    work.mkdir()
    kwargs = {"timeout_s": 300, "memory_mb": 4096, **limits}
    (row,) = grade.grade_all(subs, out=tmp_path / "grades", jobs=1, workdir=work, **kwargs)
    assert row.status == status and row.score == 0 and row.message
    assert list(work.iterdir()) == []  # the killed job's folder, and what otter left in it, are gone


HOSTILE = '''import os, pathlib
# Plant links where the job's figures are written, pointing at a file of the instructor's.
results = pathlib.Path.cwd().parent / "figures"
results.mkdir(exist_ok=True)
for name in ("results.json", "cases.json", "figure-1.png", "figure-9.png"):
    os.symlink({victim!r}, results / name)
# Proof that this cell ran, through the one channel a sandboxed job has: a figure the grader keeps.
import matplotlib.pyplot as plt
plt.plot([1, 2])
plt.show()
'''


@pytest.mark.slow
def test_links_planted_by_the_graded_code_are_neither_written_through_nor_kept(tmp_path):
    victim = tmp_path / "instructor_file.txt"
    victim.write_text("do not touch")
    nb = nbformat.read(BLANK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(HOSTILE.format(victim=str(victim))))
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(nb, subs / "hostile.ipynb")

    (tmp_path / "work").mkdir()
    (row,) = grade.grade_all(subs, out=tmp_path / "grades", jobs=1, timeout_s=300, workdir=tmp_path / "work")
    kept = tmp_path / "grades" / "results" / "hostile.ipynb"
    figure = kept / "figure-2.png"  # the blank template's own q7 cell makes figure-1
    assert figure.read_bytes().startswith(b"\x89PNG") and not figure.is_symlink()  # the hostile cell did run
    assert victim.read_text() == "do not touch"
    assert row.status == Status.FLAGGED and row.score == 0 and "symlink" in row.message
    assert not any(p.is_symlink() for p in kept.iterdir()) and not (kept / "figure-9.png").exists()
    assert json.loads((kept / "cases.json").read_text())  # the decider's, never the job's
