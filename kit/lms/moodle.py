"""Moodle's assignment "offline grading worksheet" and its "feedback files" zip.

The worksheet (Grading action "Download grading worksheet") has a row per participant: ``Identifier`` is
"Participant 12345" (translated with the site's language), the same number as in "Download all submissions"
(``Full Name_12345_assignsubmission_file_…``). "Upload grading worksheet" reads ``Grade`` and ``Feedback comments``
back; "Upload multiple feedback files in a zip" takes files named ``Full Name_12345_assignsubmission_file_NAME``.
"""
import re
import zipfile
from pathlib import Path

from kit.lms import release, sheet

COLUMNS = {
    "identifier": ("identifier", "identificador"),
    "name": ("full name", "nombre completo", "nombre"),
    "grade": ("grade", "calificación"),
    "maximum": ("maximum grade", "calificación máxima"),
    "comments": ("feedback comments", "comentarios de retroalimentación", "comentarios de retroalimentacion"),
}
"""Each column the kit reads or fills, by its header in English or Spanish (Moodle writes the site's language)."""
FEEDBACK_FILE = "retroalimentacion.html"


def columns(header: list) -> dict:
    """{role: column index}; a worksheet without one of them is refused with its headers named."""
    found = {}
    lowered = [h.strip().lower() for h in header]
    for role, names in COLUMNS.items():
        hit = next((i for i, h in enumerate(lowered) if h in names), None)
        if hit is None and role != "name":
            raise SystemExit(f"not a Moodle grading worksheet: no {names[0]!r} column among {header}")
        found[role] = hit
    return found


def participant(identifier: str) -> str | None:
    """``Participant 12345`` (or ``Participante 12345``) -> ``12345``."""
    hit = re.search(r"(\d+)\s*$", identifier)
    return hit.group(1) if hit else None


def number_style(text: str) -> tuple:
    """(decimals, separator) of a number as the worksheet writes it: ``10.00`` -> (2, '.'), ``10,00`` -> (2, ',')."""
    hit = re.fullmatch(r"\s*\d+(?:([.,])(\d+))?\s*", text)
    if not hit:
        return 2, "."
    return (len(hit.group(2)), hit.group(1)) if hit.group(1) else (0, ".")


def formatted(value: float, style: tuple) -> str:
    decimals, separator = style
    return f"{value:.{decimals}f}".replace(".", separator)


def fill(worksheet: sheet.Sheet, matches: dict) -> tuple:
    """Write grade and comments into each matched participant's row. Returns (rows filled, participants in the
    worksheet with no submission, participants of ``matches`` absent from the worksheet)."""
    where = columns(worksheet.values(0))
    ids = []
    for row in range(1, len(worksheet.records)):
        cells = worksheet.values(row)
        ids.append((row, participant(cells[where["identifier"]]) if len(cells) > where["identifier"] else None))
    to_fill, without, absent = release.placed(ids, matches)
    for row, who, found in to_fill:
        maximum = worksheet.value(row, where["maximum"])
        try:
            top = float(maximum.replace(",", "."))
        except ValueError:
            raise SystemExit(f"row of participant {who}: Maximum Grade {maximum!r} is not a number") from None
        worksheet.set(row, where["grade"], formatted(release.scaled(found.grade, top), number_style(maximum)))
        worksheet.set(row, where["comments"], release.comment_text(found.grade))
    return [(who, found) for _, who, found in to_fill], without, absent


def full_names(worksheet: sheet.Sheet) -> dict:
    """{participant: full name} of every row, read once (underscores become spaces: Moodle splits names on them)."""
    where = columns(worksheet.values(0))
    names = {}
    for row in range(1, len(worksheet.records)):
        cells = worksheet.values(row)
        who = participant(cells[where["identifier"]]) if len(cells) > where["identifier"] else None
        name = cells[where["name"]] if where["name"] is not None and len(cells) > where["name"] else ""
        if who is not None:
            names[who] = name.replace("_", " ").strip() or f"Participant {who}"
    return names


def feedback_zip(path: Path, worksheet: sheet.Sheet, filled: list, pages: Path) -> list:
    """The zip "Upload multiple feedback files in a zip" takes: each filled student's feedback page, named as
    Moodle names that student's submission files. Returns the names written."""
    names, full = [], full_names(worksheet)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for who, found in filled:
            page = pages / f"{found.grade.submission}.html"  # layout.feedback_page's name
            if not page.exists():
                continue
            name = f"{full[who]}_{who}_assignsubmission_file_{FEEDBACK_FILE}"
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), page.read_bytes())
            names.append(name)
    return names
