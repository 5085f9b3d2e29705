"""A CSV file kept as its exact bytes: records of raw fields, so that some cells can be replaced and nothing
else moves (byte order mark, quoting, separators, line ends, the order of everything)."""
import re
from dataclasses import dataclass, field
from pathlib import Path

BOM = "\ufeff"


@dataclass
class Sheet:
    """A CSV file as its raw parts."""

    records: list
    """Each record as its raw fields: the text between separators, quotes included, exactly as in the file."""
    ends: list
    """Each record's line end as written (``\\r\\n``, ``\\n``, or ``""`` for a last record without one)."""
    delimiter: str = ","
    """The field separator the file uses."""
    bom: bool = False
    """Whether the file starts with a UTF-8 byte order mark."""
    quote_spaces: bool = False
    """Whether the writer quoted fields with a space (PHP's ``fputcsv``, as Moodle writes): new cells do too."""
    changed: set = field(default_factory=set)
    """(record, field) positions replaced so far."""

    def value(self, row: int, column: int) -> str:
        raw = self.records[row][column] if column < len(self.records[row]) else ""
        return unquote(raw)

    def values(self, row: int) -> list:
        return [unquote(raw) for raw in self.records[row]]

    def set(self, row: int, column: int, value: str) -> None:
        """Replace one cell, quoted the way this file quotes such a value."""
        fields = self.records[row]
        while len(fields) <= column:  # a short record (trailing empty cells left out)
            fields.append("")
        fields[column] = self.quoted(value)
        self.changed.add((row, column))

    def quoted(self, value: str) -> str:
        special = self.delimiter in value or '"' in value or "\n" in value or "\r" in value
        if special or (self.quote_spaces and (" " in value or "\t" in value)):
            return '"' + value.replace('"', '""') + '"'
        return value

    def text(self) -> str:
        body = "".join(self.delimiter.join(fields) + end for fields, end in zip(self.records, self.ends))
        return (BOM if self.bom else "") + body


def unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1].replace('""', '"')
    return raw


def parse(text: str, delimiter: str | None = None) -> Sheet:
    """Split ``text`` into records of raw fields; quoted fields may hold separators, quotes and line breaks."""
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t"), key=first.count)
    records, ends, fields = [], [], []
    start, i, quoted, n = 0, 0, False, len(text)
    while i < n:
        ch = text[i]
        if quoted:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 2
                    continue
                quoted = False
            i += 1
            continue
        if ch == '"' and i == start:
            quoted = True
        elif ch == delimiter:
            fields.append(text[start:i])
            start = i + 1
        elif ch in "\r\n":
            end = "\r\n" if text.startswith("\r\n", i) else ch
            fields.append(text[start:i])
            records.append(fields)
            ends.append(end)
            fields = []
            i += len(end)
            start = i
            continue
        i += 1
    if start < n or fields:
        fields.append(text[start:n])
        records.append(fields)
        ends.append("")
    spaced_quoted = any(f.startswith('"') and " " in f and not re.search(r'[",\r\n;\t]', unquote(f))
                        for r in records for f in r)
    spaced_bare = any(not f.startswith('"') and " " in f for r in records for f in r)
    return Sheet(records, ends, delimiter, bom, spaced_quoted and not spaced_bare)


def read(path: Path) -> Sheet:
    """The file at ``path``; its bytes must be UTF-8 (what Moodle and Canvas write)."""
    return parse(path.read_bytes().decode("utf-8"))


def write(sheet: Sheet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sheet.text().encode("utf-8"))
