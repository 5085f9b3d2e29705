"""The ``--out`` folder's layout, owned here: every module that reads or writes a class's outputs asks this one.

    OUT/grades.csv                  automatic grades (one row per submission)
    OUT/results/<submission>/       row.json, results.json, cases.json, evidence.json, figures, run.json, otter.log
    OUT/feedback/<submission>.html  the student's page
    OUT/manual_grades.csv           the instructor's sheet
    OUT/final_grades.csv            the gradebook
    OUT/discussion.html, OUT/report.html
    OUT/lms/                        files for the LMS
    OUT/class.json                  where the class came from (its submissions, autograder, student pattern)
"""
import json
from pathlib import Path

from kit.records import Row

GRADES = "grades.csv"
MANUAL = "manual_grades.csv"
FINAL = "final_grades.csv"
DISCUSSION = "discussion.html"
REPORT = "report.html"
CLASS = "class.json"


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


def write_origin(out: Path, submissions, autograder: Path, pattern: str | None, look_for_copies: bool = True) -> None:
    """Remember where the class graded into ``out`` came from (its submissions folder, or folders), for the commands
    that finish it later and for ``kit grade``, which never mixes two classes in one ``out``; and whether it looks
    for copied work (``kit review``'s publish then does as ``kit grade`` did)."""
    folders = [str(Path(f).resolve()) for f in (submissions if isinstance(submissions, (list, tuple)) else [submissions])]
    (out / CLASS).write_text(json.dumps({"submissions": folders[0], "folders": folders,
                                         "autograder": str(Path(autograder).resolve()),
                                         "student_pattern": pattern, "look_for_copies": look_for_copies}, indent=1),
                           encoding="utf-8")


def class_folders(out: Path) -> list:
    """The submissions folders of the class graded into ``out``; [] for none yet."""
    origin = read_origin(out)
    folders = origin.get("folders") or ([origin["submissions"]] if origin.get("submissions") else [])
    return [Path(f) for f in folders if isinstance(f, str)]


def locate(submissions, name: str) -> Path:
    """Where the submission ``name`` is, in a class's folder or folders (the first that holds it)."""
    folders = [Path(f) for f in (submissions if isinstance(submissions, (list, tuple)) else [submissions])]
    return next((f / name for f in folders if (f / name).exists()), folders[0] / name)


def read_origin(out: Path) -> dict:
    """What ``write_origin`` remembered; {} for a class graded by an older kit."""
    try:
        data = json.loads((out / CLASS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
