"""Batch grading: every submission gets a row, limits hold, and nothing is touched or aborted."""
import csv
import hashlib
import shutil

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
