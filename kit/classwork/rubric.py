"""Each hand-graded question's rubric as items with points, read from the master's own rubric sentence.

The master writes a rubric once, in its model answer: ``**Rúbrica (2 puntos).** 1 punto: responde sí/no … 1 punto:
interpreta las curvas …`` (or the same items as a Markdown list). Each ``N punto(s):`` opens an item that runs to the
next one. Students' pages keep showing that sentence; ``kit review`` shows the items as buttons.
"""
import re
from dataclasses import dataclass

from kit.classwork.feedback import rubric as rubric_text

_ITEM = re.compile(r"(?:^|(?<=[\s.;(-]))(\d+(?:[.,]\d+)?)\s+puntos?\s*:\s*", re.IGNORECASE)


@dataclass
class Item:
    """One rubric item of a hand-graded question."""

    id: str
    """Stable key: ``"1"``, ``"2"``… in the master's order; ``"+1"``, ``"+2"``… for items added while grading."""
    points: float
    """Points a student with this item receives (the master's, or the instructor's change while grading)."""
    text: str
    """What earns them, as the master (or the instructor) wrote it."""
    added: bool = False
    """True for an item added while grading, not written in the master."""


def number(text: str) -> float:
    """A number as a Spanish spreadsheet or a person writes it: ``1,5`` is ``1.5``. Raises ``ValueError``."""
    cleaned = str(text).strip().replace(",", ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", cleaned):
        raise ValueError(f"{text!r} is not a number")
    return float(cleaned)


def items(model_answer: str) -> list:
    """The rubric items of one question's model answer, in the master's order; [] where it writes none."""
    text = rubric_text(model_answer)
    marks = list(_ITEM.finditer(text))
    found = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = " ".join(text[mark.end():end].split()).rstrip(" -*").strip()
        found.append(Item(str(i + 1), number(mark.group(1)), body))
    return found
