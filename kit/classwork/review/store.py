"""Every change ``kit review`` makes, saved at once: ``manual_grades.csv`` (still the source of truth, still yours to
edit in a spreadsheet) and, beside it, ``manual_review.json`` (which rubric items each student received, the items'
points, the notes on flagged rows).

Each change is a compare-and-set: the page sends the value it showed, and a cell that changed since (another tab,
another grader, the spreadsheet) is never overwritten; the change is refused with the value now there. Each file is
replaced whole (a temporary file, fsync, rename), under a lock that other ``kit review`` processes on the same
``--out`` respect, so a crash or a kill leaves the old file or the new one, never half of one.
"""
import csv
import fcntl
import io
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kit import layout
from kit.classwork import gradebook
from kit.classwork.rubric import Item, number

RECORD = "manual_review.json"
LOCK = ".manual_grades.lock"
ACCEPTED = "yes"


class Refused(ValueError):
    """A change that was not saved; the message says why, for the instructor."""


class Conflict(Refused):
    """The cell changed since the page showed it; ``now`` is what it holds."""

    def __init__(self, message: str, now):
        super().__init__(message)
        self.now = now


@dataclass
class Sheet:
    """``manual_grades.csv`` as read: its columns in order and its rows, every value the text it holds."""

    fields: list
    rows: list

    def row(self, submission: str) -> dict:
        found = [r for r in self.rows if r.get("submission") == submission]
        if len(found) != 1:
            raise Refused(f"{submission}: {'no row' if not found else f'{len(found)} rows'} in manual_grades.csv "
                          "for this submission (was the sheet edited?); nothing was saved. Fix the sheet, then "
                          "reload the page.")
        return found[0]


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)



class Store:
    """The class's manual grades under ``out``: read fresh for every change, written atomically."""

    def __init__(self, out: Path, questions: list, rubrics: dict):
        self.out = Path(out)
        self.sheet_path = self.out / layout.MANUAL
        self.record_path = self.out / RECORD
        self.questions = {q.name: q for q in questions}
        self.master = rubrics
        """{question: the master's ``Item`` list}."""

    # -- reading ---------------------------------------------------------------------------------------------------
    def sheet(self) -> Sheet:
        if not self.sheet_path.exists():
            raise Refused(f"{self.sheet_path} does not exist: grade the class first (python -m kit grade)")
        with open(self.sheet_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            return Sheet(list(reader.fieldnames or []), list(reader))

    def record(self) -> dict:
        try:
            data = json.loads(self.record_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except ValueError as exc:
            raise Refused(f"{self.record_path} is not valid JSON ({exc}); it was not overwritten") from None
        for key in ("rubric", "items", "flags"):
            data.setdefault(key, {})
        return data

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
    @contextmanager
    def _locked(self):
        with open(self.out / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write_sheet(self, sheet: Sheet) -> None:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=sheet.fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(sheet.rows)
        _replace(self.sheet_path, buffer.getvalue().encode("utf-8"))

    def _write_record(self, record: dict) -> None:
        _replace(self.record_path, json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))

    def _question(self, question: str):
        if question not in self.questions:
            raise Refused(f"{question!r} is not a question graded by hand")
        return self.questions[question]

    def _expect(self, row: dict, column: str, expected, what: str) -> None:
        now = (row.get(column) or "").strip() if column != "comment" else (row.get(column) or "")
        if expected is not None and now != (expected if column == "comment" else str(expected).strip()):
            raise Conflict(f"{row.get('submission')}: {what} changed since this page showed it (another tab, another "
                           f"grader or the spreadsheet): it is now {now!r}. Your change was not saved.", now)

    def set_items(self, submission: str, question: str, ids: list, expected: str | None) -> dict:
        """Give ``submission`` exactly the rubric items ``ids`` for ``question``; its points become their sum."""
        q = self._question(question)
        with self._locked():
            sheet, record = self.sheet(), self.record()
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
            self._write_record(record)
            self._write_sheet(sheet)
            return {"value": row[question], "items": record["items"][submission][question]}

    def set_value(self, submission: str, question: str, text: str, expected: str | None) -> dict:
        """Type ``question``'s points for ``submission`` (``1,5`` reads as 1.5; empty clears it)."""
        q = self._question(question)
        text = (text or "").strip()
        if text:
            text = f"{_points(text, q.points, f'for {question}'):g}"
        with self._locked():
            sheet, record = self.sheet(), self.record()
            row = sheet.row(submission)
            self._expect(row, question, expected, question)
            row[question] = text
            record["items"].get(submission, {}).pop(question, None)  # typed: no longer the sum of items
            self._write_record(record)
            self._write_sheet(sheet)
            return {"value": text, "items": []}

    def set_comment(self, submission: str, comment: str, expected: str | None) -> dict:
        with self._locked():
            sheet = self.sheet()
            if "comment" not in sheet.fields:
                raise Refused("manual_grades.csv has no 'comment' column")
            row = sheet.row(submission)
            self._expect(row, "comment", expected, "the comment")
            row["comment"] = comment
            self._write_sheet(sheet)
            return {"comment": comment}

    def decide_flag(self, submission: str, accept: bool, note: str, expected: str | None) -> dict:
        """Accept a flagged row (its points count) or keep it held, with a note for the record."""
        with self._locked():
            sheet, record = self.sheet(), self.record()
            if gradebook.ACCEPT not in sheet.fields:
                raise Refused(f"manual_grades.csv has no {gradebook.ACCEPT!r} column")
            row = sheet.row(submission)
            self._expect(row, gradebook.ACCEPT, expected, "the review decision")
            row[gradebook.ACCEPT] = ACCEPTED if accept else ""
            record["flags"].setdefault(submission, []).append(
                {"decision": "accept" if accept else "hold", "note": note, "at": time.strftime("%Y-%m-%d %H:%M:%S")})
            self._write_record(record)
            self._write_sheet(sheet)
            return {"accept": row[gradebook.ACCEPT], "history": record["flags"][submission]}

    def holders(self, question: str, item: str, record: dict | None = None) -> list:
        record = self.record() if record is None else record
        return sorted(s for s, qs in record["items"].items() if item in qs.get(question, []))

    def set_item_points(self, question: str, item: str, text: str, confirm: bool) -> dict:
        """Change an item's points and re-score every student who has it. Without ``confirm`` nothing is written:
        the answer says how many students it would re-score."""
        q = self._question(question)
        points = _points(text, q.points, f'for an item of {question}')
        with self._locked():
            sheet, record = self.sheet(), self.record()
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
            if not confirm:
                return {"affected": len(changes), "skipped": skipped, "saved": False}
            record["rubric"].setdefault(question, {}).setdefault("points", {})[item] = points
            for submission, value in changes.items():
                sheet.row(submission)[question] = value
            self._write_record(record)
            self._write_sheet(sheet)
            return {"affected": len(changes), "skipped": skipped, "saved": True}

    def add_item(self, question: str, text: str, points_text: str) -> dict:
        q = self._question(question)
        text = " ".join((text or "").split())
        if not text:
            raise Refused("a rubric item needs its text")
        points = _points(points_text, q.points, f'for an item of {question}')
        with self._locked():
            record = self.record()
            added = record["rubric"].setdefault(question, {}).setdefault("added", [])
            item = {"id": f"+{len(added) + 1}", "text": text, "points": points}
            added.append(item)
            self._write_record(record)
            return item


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
