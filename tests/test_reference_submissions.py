"""Every reference submission, graded through the committed autograder, gets exactly its expected points."""
import re

import pytest

from kit import grade, paths, variants
from test_probe_from_tmp_venv import PROBED

EXPECTED = grade.load_expected()
QUESTIONS = grade.questions_of(paths.AUTOGRADER_ZIP)


def test_every_bundled_submission_has_an_expectation():
    assert sorted(p.name for p in grade.discover(paths.SUBMISSIONS)) == sorted(EXPECTED)


def test_expectations_cover_every_question_and_mistake_family():
    for row in EXPECTED.values():
        assert all(row[q] != "" for q in QUESTIONS)
    prefixes = {name.split("_")[0] for name in EXPECTED}
    assert {"a1", "a6", "b1", "b5", "c1", "c3", "d1", "d3", "e1", "e3", "ok1", "ok5"} <= prefixes
    assert sum(name.startswith("x") for name in EXPECTED) >= 5
    tampering = [name for name in EXPECTED if name.startswith("t") and name[1].isdigit()]
    assert all(EXPECTED[name]["status"] == "flagged" for name in tampering)
    graded = {n[:-6] for n in tampering} - {variants.SHARED_TAMPERING} | set(variants.SHARED_ROUTES)
    assert graded == set(variants.TAMPERING)  # every static route in a graded run, alone or in the shared one


RUNTIME_FORGERIES = re.compile(r"r\d+_")
"""The run-time routes' shared notebook: graded by ``test_forgeries.py`` (through `kit grade` and Gradescope)."""
GRADED_ELSEWHERE = set(PROBED)
"""Graded from a virtual environment under /tmp by ``test_probe_from_tmp_venv.py``, against the same expectations."""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not RUNTIME_FORGERIES.match(n)
                                         and n not in GRADED_ELSEWHERE))
def test_reference_submission_grade(name, tmp_path):
    row = grade.grade_one(paths.SUBMISSIONS / name, paths.AUTOGRADER_ZIP, tmp_path, timeout_s=600,
                          memory_mb=4096, questions=QUESTIONS, threads=1)
    expected = EXPECTED[name]
    got = {"status": row.status, **{q: f"{row.questions[q]:g}" for q in QUESTIONS}}
    assert not grade.differs(row, expected, QUESTIONS), (got, expected, row.message)


@pytest.mark.parametrize("group", sorted(variants.EQUIVALENT_GROUPS))
def test_each_equivalent_group_holds_ways_that_touch_no_code_another_changes(group):
    """Applied in the opposite order, a group's ways give the same notebook: none edits what another one wrote."""
    members = variants.EQUIVALENT_GROUPS[group]
    forward, backward = variants.variant(group), variants.applied(reversed(members))
    assert [c.source for c in backward.cells] == [c.source for c in forward.cells]


def test_committed_references_equal_a_fresh_regeneration(tmp_path):
    written = variants.write_all(tmp_path)
    committed = sorted(p.name for p in paths.SUBMISSIONS.iterdir() if p.name != "expected_grades.csv")
    assert sorted(written) == committed
    assert [n for n in written if (tmp_path / n).read_bytes() != (paths.SUBMISSIONS / n).read_bytes()] == []
