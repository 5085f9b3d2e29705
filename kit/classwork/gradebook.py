"""The gradebook: students named from LMS download names, manual grades kept, one final CSV.

``manual_grades.csv`` belongs to the instructor: the kit creates it, later only appends rows for new submissions
(through its one writer, ``kit.classwork.sheet``, under the same lock as ``kit review``'s saves), and never rewrites
a value. An answer left as the template had it starts blank, like any other: it is graded 0 when someone says so.
``final_grades.csv`` is rebuilt from it and ``grades.csv`` on every run.
"""
import csv
import re
import sys
from pathlib import Path

from kit.classwork.sheet import ACCEPT, COMMENT, ManualFiles, comment_column, fields_for
from kit.records import Status

ACCEPTED, REJECTED = "yes", "no"
"""How the kit writes a flag decision in the sheet's ``accept_flagged`` column; a person may write ``sí``, ``1``…"""
FINAL_STATUS = {"accepted": "accepted", "rejected": "rejected"}
"""A flagged row's status in the gradebook once decided: ``accepted`` (its automatic points count) or ``rejected``
(they do not; its discussion points do). Undecided, it stays ``flagged``, with no total."""

# Moodle: "Ana López_123456_assignsubmission_file_lab.ipynb"; Canvas: "lopezana_12345_67890_lab.ipynb"
# (or "lopezana_LATE_12345_67890_lab.ipynb").
LMS_PATTERNS = (
    r"^(?P<student>.+?)_\d+_assignsubmission_(?:file|onlinetext)_",
    r"^(?P<student>[A-Za-z0-9-]+)(?:_LATE)?_\d+_\d+_",
)


def student_name(file_name: str, pattern: str | None = None) -> str:
    """Who submitted ``file_name``: the ``student`` group of ``pattern`` (or of an LMS's pattern), else the stem."""
    for candidate in ([pattern] if pattern else LMS_PATTERNS):
        match = re.search(candidate, file_name)
        if match and match.groupdict().get("student"):
            return match.group("student").strip()
    return Path(file_name).stem


def ensure_manual_grades(path: Path, rows: list, manual: list, pattern: str | None) -> list:
    """Create the instructor's sheet, or append rows for new submissions, every cell blank; returns the
    submissions added."""
    new = [{"submission": r.submission, "student": student_name(r.submission, pattern)} for r in rows]
    return ManualFiles(path.parent).add_rows(new, fields_for([q.name for q in manual]))


def decision(row: dict) -> str:
    """What a sheet's row says of its flagged submission: ``accepted`` (``yes``, ``sí``, ``1``…), ``rejected``
    (``no``, ``0``…) or "" while undecided."""
    text = (row.get(ACCEPT) or "").strip().lower()
    if text in ("yes", "y", "sí", "si", "1", "true"):
        return "accepted"
    if text in ("no", "n", "0", "false"):
        return "rejected"
    return ""


def accepted(row: dict) -> bool:
    """Whether a sheet's row says its flagged submission was reviewed and accepted."""
    return decision(row) == "accepted"


def read_manual_grades(path: Path, manual: list) -> dict:
    """{submission: {question: points or None}}; a value that is not a number within the question's points is
    reported and left out rather than trusted."""
    grades = {}
    if not path.exists():
        return grades
    limits = {q.name: q.points for q in manual}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            values = {}
            for name, top in limits.items():
                text = (r.get(name) or "").strip().replace(",", ".")
                try:
                    value = float(text) if text else None
                except ValueError:
                    value = None
                if text and (value is None or not 0 <= value <= top):
                    print(f"manual_grades.csv: {r.get('submission')}: {name}={text!r} is not a number from 0 to "
                          f"{top:g}; left out", file=sys.stderr)
                    value = None
                values[name] = value
            values[ACCEPT] = decision(r)
            grades[r.get("submission", "")] = values
    return grades


def read_comments(path: Path, manual: list = ()) -> dict:
    """{submission: {"": the overall comment, question: the comment on it}} from the manual sheet (an older sheet
    has the overall one only)."""
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        return {r.get("submission", ""): {"": (r.get(COMMENT) or "").strip(),
                                          **{q.name: (r.get(comment_column(q.name)) or "").strip() for q in manual}}
                for r in csv.DictReader(f)}


def write_final(path: Path, rows: list, questions: dict, manual: list, manual_grades: dict,
                pattern: str | None, copies: dict | None = None) -> list:
    """One row per submission: automatic and manual points, total, maximum, percent, and the manual questions still
    ungraded (``missing``: the total is then incomplete, never counted as if they were 0). Returns the rows written.

    A flagged submission's total stays empty until the instructor decides: accepted, its automatic points count;
    rejected, only its discussion points do. One the grader failed on (``retry``) has no total until it is graded.
    ``copies``: {submission: what the grader decided of the possible copy it is part of} (``copy_review``)."""
    max_total = sum(questions.values()) + sum(q.points for q in manual)
    fields = ["submission", "student", "status", *questions, *(q.name for q in manual), "total", "max_total",
              "percent", "missing", "copy_review"]
    written = []
    for r in rows:
        marks = manual_grades.get(r.submission, {})
        decided = marks.get(ACCEPT, "") if r.status == Status.FLAGGED else ""
        automatic = 0.0 if decided == "rejected" else r.score
        total = automatic + sum(marks[q.name] for q in manual if marks.get(q.name) is not None)
        held = (r.status == Status.FLAGGED and not decided) or r.status == Status.RETRY
        missing = [q.name for q in manual if marks.get(q.name) is None]
        written.append({"submission": r.submission, "student": student_name(r.submission, pattern),
                        "status": FINAL_STATUS.get(decided, r.status.value),
                        **{q: f"{r.questions.get(q, 0):g}" for q in questions},
                        **{q.name: "" if marks.get(q.name) is None else f"{marks[q.name]:g}" for q in manual},
                        "total": "" if held else f"{total:g}", "max_total": f"{max_total:g}",
                        "percent": "" if held else f"{100 * total / max_total:.1f}" if max_total else "0",
                        "missing": " ".join(missing), "copy_review": (copies or {}).get(r.submission, "")})
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(written)
    return written
