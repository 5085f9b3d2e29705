"""Canvas' gradebook CSV: "Export" writes it, "Import" takes the same file back.

The header holds ``Student, ID, SIS User ID, SIS Login ID, Section`` and one column per assignment named
``Title (assignment id)``; a ``Points Possible`` row (and on some courses more rows without a student id) follows.
Students are matched by ``ID``, the user id in "Download submissions" names (``lastfirst_12345_678_…``).
"""
from kit.lms import release, sheet


def assignment_column(header: list, name: str) -> int:
    """The column of the assignment called ``name`` (its title, or the whole header with its id)."""
    hits = [i for i, h in enumerate(header) if h.strip() == name or
            (h.strip().startswith(name + " (") and h.strip().endswith(")"))]
    if len(hits) != 1:
        assignments = [h for h in header if h.strip().endswith(")") and "(" in h]
        raise SystemExit(f"{'no' if not hits else 'more than one'} column for the assignment {name!r}; the "
                         f"gradebook's assignments are: {assignments}")
    return hits[0]


def points_possible(gradebook: sheet.Sheet, column: int) -> float:
    for row in range(1, len(gradebook.records)):
        cells = gradebook.values(row)
        if cells and cells[0].strip() == "Points Possible":
            try:
                return float(cells[column])
            except (IndexError, ValueError):
                break
    raise SystemExit("the gradebook has no number in the assignment's 'Points Possible' row")


def formatted(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fill(gradebook: sheet.Sheet, name: str, matches: dict) -> tuple:
    """Write each matched student's points into the assignment's column. Returns (rows filled, students in the
    gradebook with no submission, participants of ``matches`` absent from the gradebook)."""
    header = gradebook.values(0)
    if "ID" not in [h.strip() for h in header]:
        raise SystemExit(f"not a Canvas gradebook export: no 'ID' column among {header}")
    id_column = [h.strip() for h in header].index("ID")
    column = assignment_column(header, name)
    top = points_possible(gradebook, column)
    ids = []
    for row in range(1, len(gradebook.records)):
        cells = gradebook.values(row)
        who = cells[id_column].strip() if len(cells) > id_column else ""
        ids.append((row, who if who.isdigit() else None))  # Points Possible, Manual Posting, a test student: no id
    to_fill, without, absent = release.placed(ids, matches)
    for row, _, found in to_fill:
        gradebook.set(row, column, formatted(release.scaled(found.grade, top)))
    return [(who, found) for _, who, found in to_fill], without, absent
