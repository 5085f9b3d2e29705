"""The instructor's sheet and its record, with one writer.

    OUT/manual_grades.csv      the source of truth: points per discussion question, flag decisions, comments;
                               yours to edit in a spreadsheet too
    OUT/manual_review.json     beside it: which rubric items each student received, the items' points, the notes on
                               flag decisions, drafts of notes not yet decided

Every write of either file (``kit review``'s saves, ``kit grade``'s new rows) goes through ``ManualFiles.change``:
under one lock (``flock`` on ``.manual_grades.lock``, which every kit process on this ``--out`` takes), both files
are read fresh, changed, and written through a journal: the new contents of both go into ``.manual_journal.json``
(written whole, synced, renamed into place), then each file is replaced the same way, then the journal is removed.
A kill at any instant leaves the old pair, or a journal that the next access replays under the same lock, so no
reader ever sees the two disagree, and no write replaces a row it did not read. A file edited in a spreadsheet since
the journal was written is left as the instructor saved it. Temporary files a killed writer left are removed then too.
"""
import csv
import fcntl
import hashlib
import io
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kit import layout

RECORD = "manual_review.json"
LOCK = ".manual_grades.lock"
JOURNAL = ".manual_journal.json"
COMMENT = "comment"
"""The submission's overall comment, shown at the end of the student's page."""
ACCEPT = "accept_flagged"
"""Where the instructor decides a flagged submission: ``yes`` (its automatic points count), ``no`` (they do not);
empty while undecided."""


def comment_column(question: str) -> str:
    """The column of the comment on one discussion question, shown under that question on the student's page."""
    return f"{COMMENT}_{question}"


def fields_for(questions: list) -> list:
    """A new sheet's columns, for the manual questions' names."""
    return ["submission", "student", *questions, ACCEPT, COMMENT, *(comment_column(q) for q in questions)]


class Refused(ValueError):
    """A change that was not saved; the message says why, for the instructor."""


@dataclass
class Sheet:
    """``manual_grades.csv`` as read: its columns in order and its rows, every value the text it holds."""

    fields: list
    """The header, in order; a sheet made by an older kit keeps its own."""
    rows: list
    """One dict per row."""

    def row(self, submission: str) -> dict:
        found = [r for r in self.rows if r.get("submission") == submission]
        if len(found) != 1:
            raise Refused(f"{submission}: {'no row' if not found else f'{len(found)} rows'} in manual_grades.csv "
                          "for this submission (was the sheet edited?); nothing was saved. Fix the sheet, then "
                          "reload the page.")
        return found[0]

    def ensure_column(self, name: str) -> None:
        """Add ``name`` at the end of the header (its cells empty) when an older sheet lacks it."""
        if name not in self.fields:
            self.fields.append(name)

    def text(self) -> str:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=self.fields, extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue()


def parse_sheet(text: str) -> Sheet:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return Sheet(list(reader.fieldnames or []), list(reader))


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, synced, renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _sync_folder(path.parent)


class ManualFiles:
    """The two files of one ``--out`` and the lock that guards them."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.sheet_path = self.out / layout.MANUAL
        self.record_path = self.out / RECORD
        self.journal_path = self.out / JOURNAL

    @contextmanager
    def _locked(self):
        with open(self.out / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._recover()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _recover(self) -> None:
        """Finish what a killed writer began (its journal), and remove its temporary files. Under the lock."""
        journal = _read(self.journal_path)
        if journal is not None:
            try:
                entry = json.loads(journal)
            except ValueError:
                entry = {}
            for path, key in ((self.sheet_path, "sheet"), (self.record_path, "record")):
                new = entry.get(key)
                if new is None:
                    continue
                new = new.encode("utf-8")
                now = _digest(_read(path))
                if now in (entry.get(f"{key}_before"), _digest(new)):  # not edited by anyone since: finish it
                    replace(path, new)
            self.journal_path.unlink()
            _sync_folder(self.out)
        for name in (layout.MANUAL, RECORD, JOURNAL):
            for leftover in self.out.glob(f".{name}.*.tmp"):
                leftover.unlink(missing_ok=True)

    def _load(self) -> tuple:
        sheet_bytes = _read(self.sheet_path)
        sheet = parse_sheet(sheet_bytes.decode("utf-8-sig")) if sheet_bytes is not None else None
        record_bytes = _read(self.record_path)
        try:
            record = json.loads(record_bytes) if record_bytes is not None else {}
        except ValueError as exc:
            raise Refused(f"{self.record_path} is not valid JSON ({exc}); it was not overwritten") from None
        if not isinstance(record, dict):
            raise Refused(f"{self.record_path} does not hold a JSON object; it was not overwritten")
        for key in ("rubric", "items", "flags", "drafts"):
            record.setdefault(key, {})
        return sheet, record, _digest(sheet_bytes), _digest(record_bytes)

    def read(self) -> tuple:
        """(the sheet, or None when there is none yet; the record), as one consistent pair."""
        self.out.mkdir(parents=True, exist_ok=True)
        with self._locked():
            sheet, record, _, _ = self._load()
        return sheet, record

    def change(self, apply, create: list | None = None):
        """``apply(sheet, record)`` on both read fresh under the lock, then both written through the journal; returns
        what ``apply`` returned, and writes nothing when it raises. Without a sheet yet, ``sheet`` is a new one with
        the columns ``create``, or None."""
        self.out.mkdir(parents=True, exist_ok=True)
        with self._locked():
            sheet, record, sheet_before, record_before = self._load()
            if sheet is None and create is not None:
                sheet = Sheet(list(create), [])
            original = json.dumps(record, sort_keys=True)
            result = apply(sheet, record)
            unchanged = (sheet is None or _digest(sheet.text().encode("utf-8")) == sheet_before) and \
                json.dumps(record, sort_keys=True) == original
            if not unchanged:
                self._commit(sheet, record, sheet_before, record_before)
            return result

    def _commit(self, sheet: Sheet | None, record: dict, sheet_before, record_before) -> None:
        new_sheet = sheet.text() if sheet is not None else None
        new_record = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True)
        replace(self.journal_path, json.dumps({"sheet": new_sheet, "record": new_record, "sheet_before": sheet_before,
                                               "record_before": record_before}, ensure_ascii=False).encode("utf-8"))
        replace(self.record_path, new_record.encode("utf-8"))
        if new_sheet is not None:
            replace(self.sheet_path, new_sheet.encode("utf-8"))
        self.journal_path.unlink()
        _sync_folder(self.out)

    def add_rows(self, rows: list, fields: list) -> list:
        """Append ``rows`` (dicts) whose submission the sheet does not have yet, creating the sheet with ``fields``
        when there is none; returns the submissions added."""
        def apply(sheet, record):
            known = {r.get("submission") for r in sheet.rows}
            added = [r for r in rows if r["submission"] not in known]
            sheet.rows.extend(added)
            return [r["submission"] for r in added]

        return self.change(apply, create=fields)
