"""The discussion questions graded by hand: read from the master, found in each submission, compared.

The questions, their points, prompts and model answers (with the rubric) come from the master
notebook's Otter markers, so editing the master is enough. A student's answer is the
markdown between the question's prompt and Otter's ``<!-- END QUESTION -->`` in their
notebook; one left as the template's placeholder counts as empty.
"""
import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import NamedTuple

import nbformat
import yaml

from kit import paths

SHINGLE = 3             # words per shingle
SIMILAR = 0.5           # Jaccard of shingles from which two answers are flagged
MIN_WORDS = 15          # shorter answers share too little to judge


@dataclass
class ManualQuestion:
    """One question graded by hand."""

    name: str
    """Its name in the master, e.g. ``q8_1_mejora``: the column of ``manual_grades.csv``."""
    points: float
    """Points possible."""
    prompt: str
    """The question as students read it (Markdown)."""
    model_answer: str
    """Model answer and rubric (Markdown), from the master's solution cell."""


class SimilarPair(NamedTuple):
    """Two submissions whose answers to one question are more alike than its wording explains."""

    first: str
    second: str
    similarity: float
    """Jaccard similarity of their word shingles, from 0 to 1."""


def manual_questions(master: Path = paths.MASTER) -> list:
    nb = nbformat.read(master, as_version=4)
    questions, current, in_solution = [], None, False
    for cell in nb.cells:
        text = cell.source.strip()
        if cell.cell_type == "raw" and text.startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(text.split("\n", 1)[1])
            current = ManualQuestion(config["name"], float(config.get("points", 0)), "", "") \
                if config.get("manual") else None
            if current:
                questions.append(current)
        elif cell.cell_type == "raw" and current is not None:
            if text.startswith("# BEGIN SOLUTION"):
                in_solution = True
            elif text.startswith(("# END SOLUTION", "# END QUESTION")):
                in_solution = False
                current = None if text.startswith("# END QUESTION") else current
        elif cell.cell_type == "markdown" and current is not None:
            if in_solution:
                current.model_answer = (current.model_answer + "\n\n" + text).strip()
            elif not current.prompt:
                current.prompt = text
    return questions


def _key(markdown: str) -> str:
    """A prompt's identity, robust to Otter's markers and whitespace."""
    text = re.sub(r"<!--.*?-->", " ", markdown)
    return " ".join(text.split())[:80]


def _answer_cells(cells, question) -> list | None:
    """Indices of the Markdown cells holding the answer to ``question``; None where its prompt is gone."""
    key = _key(question.prompt)
    start = next((i for i, c in enumerate(cells) if key and key in _key(c.source)), None)
    if start is None:
        return None
    found = []
    for i in range(start + 1, len(cells)):
        if "END QUESTION" in cells[i].source or "BEGIN QUESTION" in cells[i].source:
            break
        if cells[i].cell_type in ("markdown", "raw"):
            found.append(i)
    return found


def answers_of(nb, questions) -> dict:
    """{question name: the student's Markdown, or None where the question's prompt is gone}."""
    answers = {}
    for q in questions:
        cells = _answer_cells(nb.cells, q)
        answers[q.name] = None if cells is None else "\n\n".join(
            t for t in (nb.cells[i].source.strip() for i in cells) if t)
    return answers


def set_answers(nb, questions, answers: dict) -> None:
    """Write ``answers`` ({question name: Markdown}) into the notebook's answer cells, as a student would."""
    for q in questions:
        cells = _answer_cells(nb.cells, q)
        if q.name in answers and cells:
            nb.cells[cells[0]].source = answers[q.name]
            for i in reversed(cells[1:]):
                del nb.cells[i]


def placeholders(questions, template: Path = paths.STUDENT / paths.MASTER.name) -> dict:
    """{question name: the answer text students start from}."""
    return answers_of(nbformat.read(template, as_version=4), questions)


def is_empty(answer, placeholder) -> bool:
    return answer is None or not answer.strip() or " ".join(answer.split()) == " ".join((placeholder or "").split())


def _words(text: str, ignore: set) -> list:
    return [w for w in re.findall(r"\w+", text.lower()) if w not in ignore]


def similarity(a: str, b: str, ignore: set = frozenset()) -> float:
    """Jaccard similarity of word shingles, after dropping the words the question itself uses."""
    wa, wb = _words(a, ignore), _words(b, ignore)
    if min(len(wa), len(wb)) < MIN_WORDS:
        return 0.0
    sa = {tuple(wa[i:i + SHINGLE]) for i in range(len(wa) - SHINGLE + 1)}
    sb = {tuple(wb[i:i + SHINGLE]) for i in range(len(wb) - SHINGLE + 1)}
    return len(sa & sb) / len(sa | sb)


def similar_pairs(answers: dict, question: ManualQuestion, threshold: float = SIMILAR) -> list:
    """``SimilarPair`` records of answers more alike than the question's wording explains, most alike first."""
    ignore = set(re.findall(r"\w+", question.prompt.lower()))
    pairs = []
    for (a, ta), (b, tb) in combinations(sorted((s, t) for s, t in answers.items() if t), 2):
        score = similarity(ta, tb, ignore)
        if score >= threshold:
            pairs.append(SimilarPair(a, b, score))
    return sorted(pairs, key=lambda p: -p.similarity)
