"""The gradebook: students named from LMS download names, manual grades kept, one final CSV.

``manual_grades.csv`` belongs to the instructor: the kit creates it, later only appends
rows for new submissions, and never rewrites a value. ``final_grades.csv`` is rebuilt
from it and ``grades.csv`` on every run.
"""
import csv
import re
import sys
from pathlib import Path

from kit.records import Status

ACCEPT = "accept_flagged"
"""The sheet's column where the instructor writes ``yes`` once a flagged submission's code has been reviewed."""

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


def ensure_manual_grades(path: Path, rows: list, manual: list, empty: dict, pattern: str | None) -> None:
    """Create the instructor's sheet, or append rows for new submissions. Empty answers start at 0."""
    fields = ["submission", "student", *(q.name for q in manual), ACCEPT, "comment"]
    existing = set()
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            existing = {r["submission"] for r in reader}
            fields = reader.fieldnames or fields  # a sheet made by an older kit keeps its own columns
    new = [r for r in rows if r.submission not in existing]
    if path.exists() and not new:
        return
    with open(path, "a" if path.exists() else "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        if not existing and f.tell() == 0:
            writer.writeheader()
        for r in new:
            writer.writerow({"submission": r.submission, "student": student_name(r.submission, pattern),
                             **{q.name: "0" if empty.get(r.submission, {}).get(q.name) else "" for q in manual},
                             ACCEPT: "", "comment": ""})


def accepted(row: dict) -> bool:
    """Whether a sheet's row says its flagged submission was reviewed and accepted (``yes``, ``sí``, ``1``...)."""
    return (row.get(ACCEPT) or "").strip().lower() in ("yes", "y", "sí", "si", "1", "true")


def read_manual_grades(path: Path, manual: list) -> dict:
    """{submission: {question: points or None}}; a value that is not a number within the question's points is
    reported and left out rather than trusted."""
    grades = {}
    if not path.exists():
        return grades
    limits = {q.name: q.points for q in manual}
    with open(path, newline="", encoding="utf-8") as f:
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
            values[ACCEPT] = accepted(r)
            grades[r.get("submission", "")] = values
    return grades


def read_comments(path: Path) -> dict:
    """{submission: the instructor's comment} from the manual sheet."""
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {r.get("submission", ""): (r.get("comment") or "").strip() for r in csv.DictReader(f)}


def write_final(path: Path, rows: list, questions: dict, manual: list, manual_grades: dict,
                pattern: str | None) -> list:
    """One row per submission: automatic and manual points, total, maximum, percent. Returns the rows written.

    A flagged submission's total stays empty until the instructor accepts it in the manual sheet; one the grader
    failed on (``retry``) has no total until it is graded."""
    max_total = sum(questions.values()) + sum(q.points for q in manual)
    fields = ["submission", "student", "status", *questions, *(q.name for q in manual), "total", "max_total",
              "percent"]
    written = []
    for r in rows:
        marks = manual_grades.get(r.submission, {})
        total = r.score + sum(marks[q.name] for q in manual if marks.get(q.name) is not None)
        held = (r.status == Status.FLAGGED and not marks.get(ACCEPT, False)) or r.status == Status.RETRY
        written.append({"submission": r.submission, "student": student_name(r.submission, pattern),
                        "status": r.status.value, **{q: f"{r.questions.get(q, 0):g}" for q in questions},
                        **{q.name: "" if marks.get(q.name) is None else f"{marks[q.name]:g}" for q in manual},
                        "total": "" if held else f"{total:g}", "max_total": f"{max_total:g}",
                        "percent": "" if held else f"{100 * total / max_total:.1f}" if max_total else "0"})
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(written)
    return written
