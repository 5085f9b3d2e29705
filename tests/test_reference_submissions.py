"""Every reference submission, graded through the committed autograder, gets exactly its expected points."""
import csv

import pytest

from kit import grade, paths

with open(paths.EXPECTED_GRADES, newline="", encoding="utf-8") as f:
    EXPECTED = {row["submission"]: row for row in csv.DictReader(f)}
QUESTIONS = grade.questions_of(paths.AUTOGRADER_ZIP)


def test_every_bundled_submission_has_an_expectation():
    assert sorted(p.name for p in grade.discover(paths.SUBMISSIONS)) == sorted(EXPECTED)


def test_expectations_cover_every_question_and_mistake_family():
    for row in EXPECTED.values():
        assert all(row[q] != "" for q in QUESTIONS)
    prefixes = {name.split("_")[0] for name in EXPECTED}
    assert {"a1", "a6", "b1", "b5", "c1", "c3", "d1", "d3", "e1", "e3", "ok1", "ok5"} <= prefixes
    assert sum(name.startswith("x") for name in EXPECTED) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_submission_grade(name, tmp_path):
    row = grade.grade_one(paths.SUBMISSIONS / name, paths.AUTOGRADER_ZIP, tmp_path, timeout_s=600,
                          memory_mb=4096, questions=QUESTIONS, threads=1)
    expected = EXPECTED[name]
    got = {q: f"{row.questions[q]:g}" for q in QUESTIONS}
    want = {q: expected[q] for q in QUESTIONS}
    assert (row.status, got) == (expected["status"], want), row.message
