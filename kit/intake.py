"""Reading a submission, and refusing one that cannot be graded before a grading job is spent on it.

A submission is an ``.ipynb`` or an Otter export ``.zip`` holding exactly one notebook. The
messages reach the student's feedback page, so they are in Spanish and say what was found.
"""
import json
import zipfile
from pathlib import Path

import nbformat
import nbformat.v4


MAX_UNZIPPED_MB = 200
"""Default cap on what an export zip may expand to: the lab's notebook is well under 10 MB."""


class Unreadable(ValueError):
    """The file holds no single readable notebook; the message says what was found, in Spanish."""


def read_notebook(path: Path, max_unzipped_mb: float = MAX_UNZIPPED_MB, validate: bool = True):
    """The submitted notebook: an ``.ipynb`` or the one notebook inside an export zip. Raises ``Unreadable``.

    A zip is judged by its directory before anything is extracted: one that would expand past
    ``max_unzipped_mb`` is refused (zipfile never reads past a member's declared size). ``validate=False`` skips
    nbformat's schema check (most of the time a read takes), for readers of saved outputs that grade nothing.
    """
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                total = sum(info.file_size for info in zf.infolist())
                if total > max_unzipped_mb * 2**20:
                    raise Unreadable(f"el zip se expandiría a {total / 2**20:,.0f} MB, más que el límite de "
                                     f"{max_unzipped_mb:,.0f} MB (¿una bomba de compresión?); no se ha extraído")
                names = [n for n in zf.namelist() if n.endswith(".ipynb") and not n.startswith("__MACOSX")]
                if len(names) != 1:
                    raise Unreadable(f"el zip contiene {len(names)} cuadernos .ipynb (se esperaba 1)")
                return _parse(zf.read(names[0]).decode("utf-8"), validate)
        return _parse(path.read_text(encoding="utf-8"), validate)
    except Unreadable:
        raise
    except zipfile.BadZipFile:
        raise Unreadable("el archivo .zip está dañado o no es un zip") from None
    except Exception as exc:  # not JSON, not UTF-8, not a notebook...
        raise Unreadable(f"no es un cuaderno legible: {type(exc).__name__}: {exc}") from None


def _parse(text: str, validate: bool):
    if not validate:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("nbformat") == 4 and isinstance(data.get("cells"), list):
            return nbformat.v4.to_notebook_json(data)  # what nbformat.reads does, less the schema check
    return nbformat.reads(text, as_version=4)


def problem(submission: Path, assignment: str | None, max_unzipped_mb: float = MAX_UNZIPPED_MB) -> str | None:
    """Why ``submission`` cannot be graded as this assignment, or None when it can."""
    try:
        nb = read_notebook(submission, max_unzipped_mb)
    except Unreadable as exc:
        return f"Entrega no calificable: {exc}."
    if not nb.cells:
        return "Entrega no calificable: el cuaderno no tiene ninguna celda."
    found = nb.metadata.get("otter", {}).get("assignment_name")
    if assignment and found != assignment:
        seen = f"es de la tarea {found!r}" if found else "no lleva los metadatos de ninguna tarea"
        return (f"Entrega no calificable: el cuaderno {seen}, no de {assignment!r}. Parte de la plantilla del "
                "laboratorio (se puede renombrar el archivo).")
    return None
