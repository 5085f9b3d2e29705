"""What ``kit review`` shows, as JSON for its page: a graded class read once from ``--out`` and its submissions, and
the instructor's values read fresh from the sheet for every view.

Every student string goes out as text, except answers and rubrics, which go out as HTML rendered here from Markdown
with raw HTML off, links shown as text and images as their description (``kit.classwork.pages.markdown``).
"""
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from kit import intake, layout, paths, tampering
from kit.classwork import gradebook, manual, pages, rubric
from kit.classwork.review import ownrun
from kit.classwork.review.store import Refused, Store
from kit.records import Status


@dataclass
class Student:
    """One graded submission, as the page needs it."""

    submission: str
    student: str
    status: str
    score: float
    max_score: float
    message: str
    answers: dict = field(default_factory=dict)
    """{question: rendered HTML, or None where the answer is empty or the question is missing}."""
    states: dict = field(default_factory=dict)
    """{question: ``answered``, ``empty`` (the placeholder) or ``missing`` (no such question, or no notebook)}."""
    run: dict = field(default_factory=dict)
    """``ownrun.OwnRun`` as a dict, figures included."""
    evidence: list = field(default_factory=list)
    """For a flagged row: {cell, line, code, reason, source, seen} for each line found, before or while it ran."""


class Class:
    """A graded class under ``out``: read once when ``kit review`` starts."""

    def __init__(self, out: Path, submissions: Path, pattern: str | None = None,
                 template: Path = paths.STUDENT / paths.MASTER.name):
        self.out, self.submissions, self.pattern = Path(out), Path(submissions), pattern
        self.questions = manual.manual_questions()
        self.store = Store(self.out, self.questions, {q.name: rubric.items(q.model_answer) for q in self.questions})
        self.store.sheet()  # refuses at once when the class was never graded
        self.rows = self.graded_rows()
        blank = manual.placeholders(self.questions, template)
        exempt = tampering.kit_cells(template)
        self.students = {}
        texts = {q.name: {} for q in self.questions}
        for row in self.rows:
            student = Student(row.submission, gradebook.student_name(row.submission, pattern), row.status.value,
                              row.score, row.max_score, row.message)
            try:
                nb = intake.read_notebook(self.submissions / row.submission)
            except (intake.Unreadable, OSError):
                nb = None
            found = manual.answers_of(nb, self.questions) if nb is not None else {}
            for q in self.questions:
                answer = found.get(q.name)
                if answer is None:
                    student.states[q.name], student.answers[q.name] = "missing", None
                elif manual.is_empty(answer, blank.get(q.name)):
                    student.states[q.name], student.answers[q.name] = "empty", None
                else:
                    student.states[q.name], student.answers[q.name] = "answered", pages.markdown(answer)
                    texts[q.name][row.submission] = answer
            student.run = ownrun.read(nb).to_dict() if nb is not None else ownrun.OwnRun(
                verdict="The submitted file is not a readable notebook: nothing of the student's run to show.").to_dict()
            if row.status == Status.FLAGGED:
                student.evidence = evidence(self.out, row.submission, nb, exempt)
            self.students[row.submission] = student
        self.similar = {q.name: {} for q in self.questions}
        for q in self.questions:
            for a, b, score in manual.similar_pairs(texts[q.name], q):
                self.similar[q.name].setdefault(a, []).append({"other": b, "similarity": round(score, 2)})
                self.similar[q.name].setdefault(b, []).append({"other": a, "similarity": round(score, 2)})

    # -- views -----------------------------------------------------------------------------------------------------
    def overview(self) -> dict:
        sheet = self.store.sheet()
        values = {r.get("submission"): r for r in sheet.rows}
        current = self.store.rubric()
        questions = []
        for q in self.questions:
            done = sum(1 for s in self.students if (values.get(s, {}).get(q.name) or "").strip())
            questions.append({"name": q.name, "points": q.points, "prompt": pages.markdown(q.prompt),
                              "model": pages.markdown(q.model_answer), "graded": done, "total": len(self.students),
                              "rubric": [vars(i) for i in current[q.name]]})
        flagged = [s for s in self.students.values() if s.status == Status.FLAGGED.value]
        stray = sorted(set(values) - set(self.students))
        return {"questions": questions, "students": len(self.students), "flagged": len(flagged),
                "undecided": sum(1 for s in flagged if not gradebook.accepted(values.get(s.submission, {}))),
                "stray": stray, "out": str(self.out)}

    def question(self, name: str) -> dict:
        if name not in {q.name for q in self.questions}:
            raise Refused(f"{name!r} is not a question graded by hand")
        sheet, record = self.store.sheet(), self.store.record()
        values = {r.get("submission"): r for r in sheet.rows}
        current = {i.id: i for i in self.store.rubric(record)[name]}
        answers = []
        for sub, s in self.students.items():
            row = values.get(sub)
            text, value, problem = self.store.value(row, name) if row else ("", None, "no row in manual_grades.csv")
            items = [i for i in record["items"].get(sub, {}).get(name, []) if i in current]
            if row and text and items and f"{sum(current[i].points for i in items):g}" != f"{value:g}" \
                    and not problem:
                problem = f"the sheet says {text}; the items checked here give " \
                          f"{sum(current[i].points for i in items):g} (edited in the spreadsheet?)"
            answers.append({"submission": sub, "student": s.student, "status": s.status, "state": s.states[name],
                            "html": s.answers[name], "value": text, "items": items, "problem": problem,
                            "in_sheet": row is not None, "comment": (row or {}).get("comment", ""),
                            "similar": self.similar[name].get(sub, []), "run": _run_summary(s.run)})
        return {"question": name, "answers": answers}

    def run(self, submission: str) -> dict:
        if submission not in self.students:
            raise Refused(f"no graded submission {submission!r}")
        return self.students[submission].run

    def flags(self) -> dict:
        sheet, record = self.store.sheet(), self.store.record()
        values = {r.get("submission"): r for r in sheet.rows}
        queue = []
        for sub, s in self.students.items():
            if s.status != Status.FLAGGED.value:
                continue
            row = values.get(sub, {})
            queue.append({"submission": sub, "student": s.student, "score": s.score, "max_score": s.max_score,
                          "message": s.message, "evidence": s.evidence, "in_sheet": sub in values,
                          "accept": (row.get(gradebook.ACCEPT) or "").strip(), "accepted": gradebook.accepted(row),
                          "history": record["flags"].get(sub, [])})
        return {"flagged": queue}

    def graded_rows(self) -> list:
        """Every row of ``grades.csv`` as its grading job saved it, read now (a later ``kit grade`` run counts)."""
        with open(self.out / layout.GRADES, newline="", encoding="utf-8") as f:
            graded = [r["submission"] for r in csv.DictReader(f)]
        return [row for row in (layout.load_row(self.out, s) for s in graded) if row is not None]


def _run_summary(run: dict) -> dict:
    """What the list shows of a student's own run; the figures come with ``Class.run``."""
    return {k: run.get(k) for k in ("baseline", "finetune", "improvement", "kind", "verdict")} | \
        {"figures": len(run.get("figures", []))}


def evidence(out: Path, submission: str, nb, exempt: set) -> list:
    """Each line that flagged the row: the static scan's (re-read, nothing run) and the recorder's, with its cell."""
    found = []
    if nb is not None:
        found += [(f, "read before it ran") for f in tampering.scan(nb, exempt)]
    try:
        seen = json.loads((layout.results_dir(out, submission) / "evidence.json").read_text(encoding="utf-8"))
        found += [(tampering.Finding(**f), "seen while it ran") for f in seen]
    except (OSError, ValueError, TypeError):
        pass
    cells = nb.cells if nb is not None else []
    return [{"cell": f.cell, "line": f.line, "code": f.code, "reason": f.reason, "seen": how,
             "source": cells[f.cell].source if 0 <= f.cell < len(cells) else ""} for f, how in found]
