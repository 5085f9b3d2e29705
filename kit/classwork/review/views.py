"""What ``kit review`` shows, as JSON for its page: a graded class read from ``--out`` and its submissions (once, then
again for each submission ``kit grade`` adds while the page is open), and the instructor's values read fresh from
the sheet for every view.

Every student string goes out as text with its invisible and direction-changing characters shown as their codes
(``pages.visible``); answers and rubrics go out as HTML rendered here from Markdown with raw HTML off, links shown as
text and images as their description (``kit.classwork.pages.markdown``). A submission's file name goes out twice: as
the key the page sends back (``submission``) and as the page shows it (``label``).
"""
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from kit import intake, layout, paths, tampering
from kit.classwork import gradebook, manual, pages, rubric
from kit.classwork.review import ownrun
from kit.classwork.review.store import Refused, Store
from kit.classwork.sheet import COMMENT, comment_column
from kit.records import Status

LONG = 20_000
"""An answer longer than this (characters of Markdown) is shown collapsed: its beginning, and its length said."""


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
    """{question: its Markdown, or None where the answer is empty or the question is missing}."""
    states: dict = field(default_factory=dict)
    """{question: ``answered``, ``empty`` (the placeholder: not answered) or ``missing`` (no such question, or no
    notebook)}."""
    shown: dict = field(default_factory=dict)
    """{question: the answer as HTML, collapsed to its first ``LONG`` characters when longer}."""
    run: dict = field(default_factory=dict)
    """``ownrun.OwnRun`` as a dict, figures included, its printed text made visible."""
    evidence: list = field(default_factory=list)
    """For a flagged row: {cell, line, code, reason, source, seen} for each line found, before or while it ran."""


class Class:
    """A graded class under ``out``: read when ``kit review`` starts, and again for each submission graded since."""

    def __init__(self, out: Path, submissions: Path, pattern: str | None = None,
                 template: Path = paths.STUDENT / paths.MASTER.name):
        self.out, self.pattern = Path(out), pattern
        self.submissions = [Path(f) for f in submissions] if isinstance(submissions, (list, tuple)) else Path(submissions)
        self.questions = manual.manual_questions()
        self.store = Store(self.out, self.questions, {q.name: rubric.items(q.model_answer) for q in self.questions})
        self.store.sheet()  # refuses at once when the class was never graded
        self.blank = manual.placeholders(self.questions, template)
        self.exempt = tampering.kit_cells(template)
        self.students, self.arrived = {}, []
        self.similar = {q.name: {} for q in self.questions}
        self._graded_mark = None
        self.refresh()
        self.arrived = []  # those read at start did not arrive while the page was open

    # -- reading the class -----------------------------------------------------------------------------------------
    def refresh(self) -> list:
        """Read the submissions ``grades.csv`` holds and this class does not yet (``kit grade`` ran beside the page);
        returns them. Cheap when nothing changed: ``grades.csv``'s modification time is compared first."""
        try:
            stat = (self.out / layout.GRADES).stat()
            mark = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            return []
        if mark == self._graded_mark:
            return []
        self._graded_mark = mark
        new = [row for row in self.graded_rows() if row.submission not in self.students]
        for row in new:
            self.students[row.submission] = self._student(row)
        if new:
            self._compare(set(r.submission for r in new))
            self.arrived += [r.submission for r in new]
        return [r.submission for r in new]

    def _student(self, row) -> Student:
        student = Student(row.submission, gradebook.student_name(row.submission, self.pattern), row.status.value,
                          row.score, row.max_score, row.message)
        try:
            nb = intake.read_notebook(layout.locate(self.submissions, row.submission))
        except (intake.Unreadable, OSError):
            nb = None
        found = manual.answers_of(nb, self.questions) if nb is not None else {}
        for q in self.questions:
            answer = found.get(q.name)
            if answer is None:
                student.states[q.name], student.answers[q.name] = "missing", None
            elif manual.is_empty(answer, self.blank.get(q.name)):
                student.states[q.name], student.answers[q.name] = "empty", None
            else:
                student.states[q.name], student.answers[q.name] = "answered", answer
                student.shown[q.name] = pages.markdown(answer[:LONG])
        run = ownrun.read(nb) if nb is not None else ownrun.OwnRun(
            verdict="The submitted file is not a readable notebook: nothing of the student's run to show.")
        run.lines = [pages.visible(line) for line in run.lines]
        for key in ("baseline", "finetune", "improvement"):
            setattr(run, key, pages.visible(getattr(run, key)))
        student.run = run.to_dict()
        if row.status == Status.FLAGGED:
            student.evidence = evidence(self.out, row.submission, nb, self.exempt)
        return student

    def _compare(self, new: set) -> None:
        """Near-identical answers: each new submission's against every other one (old pairs stay as found)."""
        for q in self.questions:
            ignore = set(re.findall(r"\w+", q.prompt.lower()))
            texts = {s: st.answers[q.name] for s, st in self.students.items() if st.answers.get(q.name)}
            for a in sorted(new & set(texts)):
                for b in sorted(texts):
                    if b == a or (b in new and b < a):
                        continue
                    score = manual.similarity(texts[a], texts[b], ignore)
                    if score >= manual.SIMILAR:
                        self.similar[q.name].setdefault(a, []).append({"other": b, "similarity": round(score, 2)})
                        self.similar[q.name].setdefault(b, []).append({"other": a, "similarity": round(score, 2)})
            for alike in self.similar[q.name].values():
                alike.sort(key=lambda x: (-x["similarity"], x["other"]))

    def graded_rows(self) -> list:
        """Every row of ``grades.csv`` as its grading job saved it, read now (a later ``kit grade`` run counts)."""
        with open(self.out / layout.GRADES, newline="", encoding="utf-8") as f:
            graded = [r["submission"] for r in csv.DictReader(f)]
        return [row for row in (layout.load_row(self.out, s) for s in graded) if row is not None]

    def _label(self, submission: str) -> dict:
        s = self.students[submission]
        return {"submission": submission, "label": pages.visible(submission), "student": pages.visible(s.student)}

    # -- views -----------------------------------------------------------------------------------------------------
    def overview(self) -> dict:
        self.refresh()
        sheet, record = self.store.read()
        values = {r.get("submission"): r for r in sheet.rows}
        current = self.store.rubric(record)
        questions = []
        for q in self.questions:
            done = sum(1 for s in self.students if (values.get(s, {}).get(q.name) or "").strip())
            unanswered = sum(1 for s, st in self.students.items() if st.states[q.name] != "answered"
                             and not (values.get(s, {}).get(q.name) or "").strip())
            questions.append({"name": q.name, "points": q.points, "prompt": pages.markdown(q.prompt),
                              "model": pages.markdown(q.model_answer), "graded": done, "total": len(self.students),
                              "unanswered": unanswered, "rubric": [vars(i) for i in current[q.name]]})
        flagged = [s for s in self.students.values() if s.status == Status.FLAGGED.value]
        stray = sorted(set(values) - set(self.students))
        from kit.classwork import copies

        groups = copies.read(self.out).get("groups") or []
        decided = copies.decisions(record)
        return {"questions": questions, "students": len(self.students), "flagged": len(flagged),
                "undecided": sum(1 for s in flagged if not gradebook.decision(values.get(s.submission, {}))),
                "stray": [pages.visible(s) for s in stray], "arrived": [self._label(s) for s in self.arrived],
                "copies": len(groups), "copies_undecided": sum(1 for g in groups if g["id"] not in decided),
                "out": str(self.out)}

    def question(self, name: str) -> dict:
        if name not in {q.name for q in self.questions}:
            raise Refused(f"{name!r} is not a question graded by hand")
        self.refresh()
        sheet, record = self.store.read()
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
            answer = s.answers[name] or ""
            answers.append({**self._label(sub), "status": s.status, "state": s.states[name],
                            "html": s.shown.get(name), "length": len(answer), "collapsed": len(answer) > LONG,
                            "value": text, "items": items, "problem": problem, "in_sheet": row is not None,
                            "comment": (row or {}).get(comment_column(name), ""),
                            "overall": (row or {}).get(COMMENT, ""),
                            "similar": [dict(x, label=pages.visible(x["other"]))
                                        for x in self.similar[name].get(sub, [])],
                            "run": _run_summary(s.run)})
        return {"question": name, "answers": answers}

    def answer(self, submission: str, question: str) -> dict:
        """The whole of a collapsed answer, rendered."""
        if submission not in self.students or question not in self.students[submission].answers:
            raise Refused(f"no answer of {submission!r} to {question!r}")
        return {"html": pages.markdown(self.students[submission].answers[question] or "")}

    def run(self, submission: str) -> dict:
        if submission not in self.students:
            raise Refused(f"no graded submission {submission!r}")
        return self.students[submission].run

    def flags(self) -> dict:
        self.refresh()
        sheet, record = self.store.read()
        values = {r.get("submission"): r for r in sheet.rows}
        queue = []
        for sub, s in self.students.items():
            if s.status != Status.FLAGGED.value:
                continue
            row = values.get(sub, {})
            queue.append({**self._label(sub), "score": s.score, "max_score": s.max_score,
                          "message": pages.visible(s.message), "evidence": s.evidence, "in_sheet": sub in values,
                          "accept": (row.get(gradebook.ACCEPT) or "").strip(), "decision": gradebook.decision(row),
                          "draft": record["drafts"].get(sub, ""), "history": record["flags"].get(sub, [])})
        return {"flagged": queue}

    def copies(self) -> dict:
        """The possible copies ``kit grade`` found, each group with its members side by side (their printed numbers
        and first figure), what they share, and the decisions so far."""
        from kit.classwork import copies

        found, (_, record) = copies.read(self.out), self.store.read()
        decided = record.get("copies") or {}
        groups = []
        for group in found.get("groups") or []:
            members = []
            for name in group["members"]:
                student = self.students.get(name)
                run = student.run if student else {}
                members.append({"submission": name, "label": pages.visible(name),
                                "student": pages.visible(student.student if student else name),
                                "numbers": {k: run.get(k, "") for k in ("baseline", "finetune", "improvement")},
                                "verdict": run.get("verdict", ""), "figure": (run.get("figures") or [""])[0]})
            history = decided.get(group["id"], [])
            groups.append({"id": group["id"], "members": members,
                           "evidence": [{"kind": e["kind"], "text": pages.visible(e["text"]),
                                         "members": [pages.visible(m) for m in e["members"]]}
                                        for e in group["evidence"]],
                           "decision": history[-1]["decision"] if history else "", "history": history})
        not_evidence = [f"{pages.visible(e['text'])} ({', '.join(map(pages.visible, e['members']))})"
                        for e in found.get("not_evidence") or []]
        return {"groups": groups, "not_evidence": not_evidence}

    def pending(self) -> dict:
        """What publishing now would leave undecided: blank discussion points, undecided flags, rows to regrade,
        possible copies nobody looked at (listed only: they change no grade)."""
        sheet, record = self.store.read()
        values = {r.get("submission"): r for r in sheet.rows}
        blank = {q.name: [self._label(s) for s in self.students if not (values.get(s, {}).get(q.name) or "").strip()]
                 for q in self.questions}
        flags = [self._label(s) for s, st in self.students.items()
                 if st.status == Status.FLAGGED.value and not gradebook.decision(values.get(s, {}))]
        retry = [self._label(s) for s, st in self.students.items() if st.status == Status.RETRY.value]
        from kit.classwork import copies

        decided = copies.decisions(record)
        undecided = [[self._label(m) for m in g["members"]] for g in copies.read(self.out).get("groups") or []
                     if g["id"] not in decided]
        return {"blank": {q: b for q, b in blank.items() if b}, "flags": flags, "retry": retry, "copies": undecided,
                "any": bool(flags or retry or undecided or any(blank.values()))}


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
    return [{"cell": f.cell, "line": f.line, "code": pages.visible(f.code), "reason": pages.visible(f.reason),
             "seen": how, "source": pages.visible(cells[f.cell].source) if 0 <= f.cell < len(cells) else ""}
            for f, how in found]

