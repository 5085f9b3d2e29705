"""The ``--out`` folder's layout, owned here: every module that reads or writes a class's outputs asks this one.

    OUT/grades.csv                  automatic grades (one row per submission)
    OUT/results/<submission>/       row.json, results.json, cases.json, evidence.json, figures, run.json, otter.log
    OUT/feedback/<submission>.html  the student's page
    OUT/manual_grades.csv           the instructor's sheet
    OUT/final_grades.csv            the gradebook
    OUT/discussion.html, OUT/report.html
    OUT/lms/                        files for the LMS
"""
import json
from pathlib import Path

from kit.records import Row

GRADES = "grades.csv"
MANUAL = "manual_grades.csv"
FINAL = "final_grades.csv"
DISCUSSION = "discussion.html"
REPORT = "report.html"


def feedback_dir(out: Path) -> Path:
    return out / "feedback"


def feedback_page(out: Path, submission: str) -> Path:
    return feedback_dir(out) / f"{submission}.html"


def lms_dir(out: Path) -> Path:
    return out / "lms"


def results_dir(out: Path, submission: str) -> Path:
    return out / "results" / submission  # not the stem: ana.ipynb and ana.zip are two rows


def load_row(out: Path, submission: str) -> Row | None:
    try:
        return Row.from_dict(json.loads((results_dir(out, submission) / "row.json").read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None
