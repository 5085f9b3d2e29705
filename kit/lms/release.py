"""What may be published, and whose it is: the class's grades read from ``--out``, the rows that hold the release
back, and each submission matched to an LMS participant by the id in its download name (never by a name)."""
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from kit import layout
from kit.classwork import gradebook, manual

MOODLE_ID = r"_(?P<id>\d+)_assignsubmission_"
"""Moodle's "Download all submissions": ``Full Name_12345_assignsubmission_file_lab.ipynb``."""
CANVAS_ID = r"^[^_]+_(?:LATE_)?(?P<id>\d+)_(?P<order>\d+)_"
"""Canvas' "Download submissions": ``lastfirst_12345_678_lab.ipynb`` (``lastfirst_LATE_…`` when late); the second
number is the submission's file id, larger for a later upload."""


@dataclass
class Grade:
    """One submission's grade as the class's files hold it after grading and manual grading."""

    submission: str
    """The graded file's name."""
    status: str
    """How grading ended (``ok``, ``flagged``, ``error``...)."""
    total: float | None
    """Automatic plus manual points, as ``final_grades.csv`` has them; None while held (a flagged row)."""
    max_total: float
    """Points possible, automatic and manual."""
    percent: str
    """The percentage exactly as ``final_grades.csv`` writes it."""
    comment: str = ""
    """The instructor's comments in ``manual_grades.csv``: the overall one, then each question's, labelled."""
    held: list = field(default_factory=list)
    """Why it cannot be published yet (flagged and not accepted, manual grades missing); empty when it can."""


def read_class(out: Path) -> list:
    """Every graded submission's ``Grade``, from ``out/final_grades.csv`` and ``out/manual_grades.csv``."""
    final = out / layout.FINAL
    if not final.exists():
        raise SystemExit(f"{final} does not exist: grade the class first (python -m kit grade FOLDER --out {out})")
    manual_questions = manual.manual_questions()
    questions = [q.name for q in manual_questions]
    comments = gradebook.read_comments(out / layout.MANUAL, manual_questions)
    grades = []
    with open(final, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            held = []
            if r["status"] == "retry":
                held.append("the grader failed on it, not the student (status retry): run kit grade again")
            elif r["status"] == "flagged" and not r["total"]:
                held.append(f"flagged for review and not accepted ({gradebook.ACCEPT} in manual_grades.csv)")
            missing = [q for q in questions if not (r.get(q) or "").strip()]
            if missing:
                held.append(f"manual grades missing: {', '.join(missing)}")
            said = comments.get(r["submission"], {})
            text = " ".join([said.get("", ""), *(f"{q}: {said[q]}" for q in questions if said.get(q))]).strip()
            grades.append(Grade(r["submission"], r["status"], float(r["total"]) if r["total"] else None,
                                float(r["max_total"]), r["percent"], text, held))
    return grades


@dataclass
class Match:
    """The submission published for one LMS participant."""

    participant: str
    """The LMS's id for the student (Moodle's participant number, Canvas' user id)."""
    grade: Grade
    """The submission chosen for them."""
    note: str = ""
    """How it was chosen when the student had several submissions."""


def read_mapping(path: Path) -> dict:
    """{submission: participant id} from a CSV with the columns ``submission`` and ``id``."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return {r["submission"].strip(): r["id"].strip() for r in csv.DictReader(f)}


def match(grades: list, system_pattern: str, pattern: str | None = None, mapping: dict | None = None,
          chosen: set = frozenset(), submissions: Path | None = None) -> tuple:
    """(matches {participant: Match}, unmatched submission names, notes for the instructor).

    The id comes from ``mapping``, else the ``id`` group of ``pattern``, else the LMS's own naming. A student with
    several submissions gets the one in ``chosen``, else the latest by the LMS's order (Canvas' file id, or the
    files' times in ``submissions`` as unzipped from Moodle's download); when no order is known, none is guessed.
    """
    ids, orders, unmatched = {}, {}, []
    for g in grades:
        found = (mapping or {}).get(g.submission)
        order = None
        if found is None:
            hit = re.search(pattern or system_pattern, g.submission)
            found = hit.group("id") if hit and hit.groupdict().get("id") else None
            order = int(hit.group("order")) if hit and hit.groupdict().get("order") else None
        if found is None:
            unmatched.append(g.submission)
            continue
        if order is None and submissions is not None and (submissions / g.submission).exists():
            order = (submissions / g.submission).stat().st_mtime
        ids.setdefault(found, []).append(g)
        orders[g.submission] = order
    matches, notes = {}, []
    for participant, mine in ids.items():
        if len(mine) == 1:
            matches[participant] = Match(participant, mine[0])
            continue
        names = ", ".join(g.submission for g in mine)
        picked = [g for g in mine if g.submission in chosen]
        if len(picked) == 1:
            matches[participant] = Match(participant, picked[0], f"named by the instructor among {names}")
        elif all(orders[g.submission] is not None for g in mine):
            latest = max(mine, key=lambda g: orders[g.submission])
            matches[participant] = Match(participant, latest, f"the latest of {names} by the LMS's order")
        else:
            notes.append(f"participant {participant} has {len(mine)} submissions ({names}) and no order to choose "
                         "by: name one with --use, or give --submissions; left out")
            continue
        notes.append(f"participant {participant}: {matches[participant].note}: {matches[participant].grade.submission}")
    return matches, unmatched, notes


def holding(matches: dict) -> list:
    """Lines naming every matched submission that holds the release back, and why."""
    return [f"{m.grade.submission}: {'; '.join(m.grade.held)}" for m in matches.values() if m.grade.held]


def scaled(grade: Grade, maximum: float) -> float:
    """The grade on the LMS's scale (a course may grade out of 10 or 100)."""
    return grade.total / grade.max_total * maximum if grade.max_total else 0.0


def comment_text(grade: Grade) -> str:
    """What the student reads beside the grade in the LMS (Spanish)."""
    text = f"Laboratorio de transfer learning: {grade.total:g} de {grade.max_total:g} puntos ({grade.percent} %)."
    if grade.status == "rejected":
        text += (" Tras revisar tu código, los puntos automáticos no se aceptaron: cuentan los de las preguntas de "
                 "discusión.")
    return f"{text} {grade.comment}" if grade.comment else text


def placed(participants, matches: dict) -> tuple:
    """Walk the LMS file's rows: ``participants`` is [(row, participant id or None)]. Returns (the rows to fill as
    (row, id, Match), the ids in the file with no submission, the matched ids absent from the file). A held match
    (only reached with --allow-incomplete) is neither filled nor missing: its cells stay as the LMS wrote them."""
    to_fill, without, seen = [], [], set()
    for row, who in participants:
        if who is None:
            continue
        seen.add(who)
        found = matches.get(who)
        if found is None:
            without.append(who)
        elif not found.grade.held:
            to_fill.append((row, who, found))
    return to_fill, without, sorted(set(matches) - seen)
