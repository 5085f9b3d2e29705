"""Every change ``kit review`` makes, saved at once through the sheet's one writer (``kit.classwork.sheet``):
``manual_grades.csv`` (still the source of truth, still yours to edit in a spreadsheet) and ``manual_review.json``.

Each change is a compare-and-set: the page sends the value it showed, and a cell that changed since (another tab,
another grader, the spreadsheet) is never overwritten; the change is refused with the value now there.
"""
import time

from kit.classwork import gradebook
from kit.classwork.rubric import Item, number
from kit.classwork.sheet import ACCEPT, COMMENT, ManualFiles, Refused, Sheet, comment_column  # noqa: F401

DECISIONS = {"accept": gradebook.ACCEPTED, "reject": gradebook.REJECTED}
"""A flag decision as the page sends it, and as the sheet's ``accept_flagged`` column holds it."""


class Conflict(Refused):
    """The cell changed since the page showed it; ``now`` is what it holds."""

    def __init__(self, message: str, now):
        super().__init__(message)
        self.now = now


class Store:
    """The class's manual grades under ``out``: read fresh for every change, written by ``ManualFiles``."""

    def __init__(self, out, questions: list, rubrics: dict):
        self.files = ManualFiles(out)
        self.out = self.files.out
        self.sheet_path = self.files.sheet_path
        self.record_path = self.files.record_path
        self.questions = {q.name: q for q in questions}
        self.master = rubrics
        """{question: the master's ``Item`` list}."""

    # -- reading ---------------------------------------------------------------------------------------------------
    def read(self) -> tuple:
        """(the sheet, the record), one consistent pair; ``Refused`` when the class was never graded."""
        sheet, record = self.files.read()
        if sheet is None:
            raise Refused(f"{self.sheet_path} does not exist: grade the class first (python -m kit grade)")
        return sheet, record

    def sheet(self) -> Sheet:
        return self.read()[0]

    def record(self) -> dict:
        return self.read()[1]

    def rubric(self, record: dict | None = None) -> dict:
        """{question: its current ``Item`` list}: the master's, with the points changed and the items added while
        grading."""
        record = self.record() if record is None else record
        current = {}
        for name in self.questions:
            changes = record["rubric"].get(name, {})
            points = changes.get("points", {})
            found = [Item(i.id, float(points.get(i.id, i.points)), i.text) for i in self.master.get(name, [])]
            found += [Item(a["id"], float(points.get(a["id"], a["points"])), a["text"], added=True)
                      for a in changes.get("added", [])]
            current[name] = found
        return current

    def value(self, row: dict, question: str):
        """(text as the sheet holds it, the number or None, a problem or "")."""
        text = (row.get(question) or "").strip()
        if not text:
            return text, None, ""
        try:
            value = number(text)
        except ValueError:
            return text, None, f"{text!r} in the sheet is not a number"
        top = self.questions[question].points
        if not 0 <= value <= top:
            return text, value, f"{text} in the sheet is outside 0 to {top:g}"
        return text, value, ""

    # -- writing ---------------------------------------------------------------------------------------------------
    def _change(self, apply):
        def guarded(sheet, record):
            if sheet is None:
                raise Refused(f"{self.sheet_path} does not exist: grade the class first (python -m kit grade)")
            return apply(sheet, record)

        return self.files.change(guarded)

    def _question(self, question: str):
        if question not in self.questions:
            raise Refused(f"{question!r} is not a question graded by hand")
        return self.questions[question]

    @staticmethod
    def _expect(row: dict, column: str, expected, what: str, exact: bool = False) -> None:
        now = (row.get(column) or "") if exact else (row.get(column) or "").strip()
        if expected is not None and now != (expected if exact else str(expected).strip()):
            raise Conflict(f"{row.get('submission')}: {what} changed since this page showed it (another tab, another "
                           f"grader or the spreadsheet): it is now {now!r}. Your change was not saved.", now)

    def set_items(self, submission: str, question: str, ids: list, expected: str | None) -> dict:
        """Give ``submission`` exactly the rubric items ``ids`` for ``question``; its points become their sum."""
        q = self._question(question)

        def apply(sheet, record):
            row = sheet.row(submission)
            self._expect(row, question, expected, question)
            known = {i.id: i for i in self.rubric(record)[question]}
            unknown = [i for i in ids if i not in known]
            if unknown:
                raise Refused(f"{question}: no rubric item {', '.join(unknown)}")
            total = sum(known[i].points for i in ids)
            if not 0 <= total <= q.points:
                raise Refused(f"{submission}: these items give {total:g} points, outside 0 to {q.points:g} for "
                              f"{question}; nothing was saved")
            row[question] = f"{total:g}"
            record["items"].setdefault(submission, {})[question] = sorted(set(ids), key=_order)
            return {"value": row[question], "items": record["items"][submission][question]}

        return self._change(apply)

    def set_value(self, submission: str, question: str, text: str, expected: str | None) -> dict:
        """Type ``question``'s points for ``submission`` (``1,5`` reads as 1.5; empty clears it)."""
        q = self._question(question)
        text = (text or "").strip()
        if text:
            text = f"{_points(text, q.points, f'for {question}'):g}"

        def apply(sheet, record):
            row = sheet.row(submission)
            self._expect(row, question, expected, question)
            row[question] = text
            record["items"].get(submission, {}).pop(question, None)  # typed: no longer the sum of items
            return {"value": text, "items": []}

        return self._change(apply)

    def zero_unanswered(self, question: str, submissions: list) -> dict:
        """0 points for each of ``submissions`` (answers the page showed as not answered) whose cell is still empty;
        a cell filled meanwhile is left as it is."""
        self._question(question)

        def apply(sheet, record):
            given, kept = [], []
            for submission in submissions:
                row = sheet.row(submission)
                if (row.get(question) or "").strip():
                    kept.append(submission)
                    continue
                row[question] = "0"
                record["items"].get(submission, {}).pop(question, None)
                given.append(submission)
            return {"zeroed": given, "kept": kept}

        return self._change(apply)

    def set_comment(self, submission: str, question: str, comment: str, expected: str | None) -> dict:
        """The comment on ``question`` (shown under it on the student's page), or with ``question`` "" the
        submission's overall comment. An older sheet gains the question's column."""
        if question:
            self._question(question)
        column = comment_column(question) if question else COMMENT

        def apply(sheet, record):
            sheet.ensure_column(column)
            row = sheet.row(submission)
            self._expect(row, column, expected, "the comment", exact=True)
            row[column] = comment
            return {"comment": comment, "question": question}

        return self._change(apply)

    def save_draft(self, submission: str, note: str) -> dict:
        """A note typed for a flagged row and not yet decided: kept until a decision takes it."""
        def apply(sheet, record):
            sheet.row(submission)
            if note.strip():
                record["drafts"][submission] = note
            else:
                record["drafts"].pop(submission, None)
            return {"draft": note}

        return self._change(apply)

    def decide_flag(self, submission: str, decision: str, note: str, expected: str | None) -> dict:
        """Accept a flagged row (its automatic points count) or reject it (they do not; the discussion's do), with a
        note for the record; the draft note goes with the decision."""
        if decision not in DECISIONS:
            raise Refused(f"a flag decision is one of {', '.join(DECISIONS)}, not {decision!r}")

        def apply(sheet, record):
            if ACCEPT not in sheet.fields:
                raise Refused(f"manual_grades.csv has no {ACCEPT!r} column")
            row = sheet.row(submission)
            self._expect(row, ACCEPT, expected, "the review decision")
            row[ACCEPT] = DECISIONS[decision]
            record["flags"].setdefault(submission, []).append(
                {"decision": decision, "note": note, "at": time.strftime("%Y-%m-%d %H:%M:%S")})
            record["drafts"].pop(submission, None)
            return {"accept": row[ACCEPT], "history": record["flags"][submission]}

        return self._change(apply)

    def decide_copy(self, group: str, decision: str, note: str, expected: str | None) -> dict:
        """The grader's decision on a group of possible copies (``copy`` or ``not``), with a note for the record.
        Nothing changes a grade: the gradebook and the class report show it."""
        from kit.classwork import copies

        if decision not in copies.DECISIONS:
            raise Refused(f"a decision on a possible copy is one of {', '.join(copies.DECISIONS)}, not {decision!r}")
        if group not in {g["id"] for g in copies.read(self.out).get("groups") or []}:
            raise Refused(f"no group of possible copies {group!r} in this class (kit grade finds them)")

        def apply(sheet, record):
            history = record.setdefault("copies", {}).setdefault(group, [])
            now = history[-1]["decision"] if history else ""
            if expected is not None and now != expected:
                raise Conflict(f"{group}: the decision changed since this page showed it (another tab or another "
                               f"grader): it is now {now or 'undecided'!r}. Your change was not saved.", now)
            history.append({"decision": decision, "note": note, "at": time.strftime("%Y-%m-%d %H:%M:%S")})
            return {"decision": decision, "history": history}

        return self._change(apply)

    def holders(self, question: str, item: str, record: dict | None = None) -> list:
        record = self.record() if record is None else record
        return sorted(s for s, qs in record["items"].items() if item in qs.get(question, []))

    def set_item_points(self, question: str, item: str, text: str, confirm: bool) -> dict:
        """Change an item's points and re-score every student who has it. Without ``confirm`` nothing is written:
        the answer says how many students it would re-score."""
        q = self._question(question)
        points = _points(text, q.points, f'for an item of {question}')

        def apply(sheet, record):
            items = {i.id: i for i in self.rubric(record)[question]}
            if item not in items:
                raise Refused(f"{question}: no rubric item {item}")
            old = {i: x.points for i, x in items.items()}
            new = dict(old, **{item: points})
            changes, skipped = {}, []
            for submission in self.holders(question, item, record):
                ids = record["items"][submission][question]
                try:
                    row = sheet.row(submission)
                except Refused:
                    skipped.append(submission)
                    continue
                if (row.get(question) or "").strip() != f"{sum(old[i] for i in ids):g}":
                    skipped.append(submission)  # typed in the sheet since: left as the instructor wrote it
                    continue
                total = sum(new[i] for i in ids)
                if total > q.points:
                    raise Refused(f"{submission} would get {total:g} of {q.points:g} points for {question}; "
                                  "nothing was changed")
                changes[submission] = f"{total:g}"
            if confirm:
                record["rubric"].setdefault(question, {}).setdefault("points", {})[item] = points
                for submission, value in changes.items():
                    sheet.row(submission)[question] = value
            return {"affected": len(changes), "skipped": skipped, "saved": confirm}

        return self._change(apply)

    def add_item(self, question: str, text: str, points_text: str) -> dict:
        self._question(question)
        text = " ".join((text or "").split())
        if not text:
            raise Refused("a rubric item needs its text")
        points = _points(points_text, self.questions[question].points, f'for an item of {question}')

        def apply(sheet, record):
            added = record["rubric"].setdefault(question, {}).setdefault("added", [])
            item = {"id": f"+{len(added) + 1}", "text": text, "points": points}
            added.append(item)
            return item

        return self._change(apply)


def _points(text: str, top: float, what: str) -> float:
    """Points typed by a person (``1,5`` is 1.5), from 0 to ``top``, or ``Refused`` saying why."""
    try:
        value = number(text)
    except ValueError:
        raise Refused(f"{text!r} is not a number; nothing was saved") from None
    if not 0 <= value <= top:
        raise Refused(f"{text} is outside 0 to {top:g} {what}; nothing was saved")
    return value


def _order(item_id: str):
    return (item_id.startswith("+"), int(item_id.lstrip("+")) if item_id.lstrip("+").isdigit() else 0, item_id)
