"""The discussion page: each hand-graded question with its rubric, then every student's answer.

Answers left as the template's placeholder are marked empty; answers more alike than the
question's wording explains are shown side by side with their similarity.
"""
from pathlib import Path

from kit import intake, layout
from kit.classwork import manual, pages
from kit.classwork.gradebook import student_name
from kit.classwork.pages import esc


def collect(submissions, rows: list, questions: list) -> dict:
    """{submission: {question: Markdown answer, or None where it cannot be found}}; ``submissions`` is the class's
    folder, or its folders."""
    answers = {}
    for row in rows:
        try:
            nb = intake.read_notebook(layout.locate(submissions, row.submission))
            answers[row.submission] = manual.answers_of(nb, questions)
        except (intake.Unreadable, OSError):
            answers[row.submission] = {q.name: None for q in questions}
    return answers


def empties(answers: dict, questions: list) -> dict:
    """{submission: {question: True where the answer is empty or missing}}."""
    blank = manual.placeholders(questions)
    return {sub: {q.name: manual.is_empty(a.get(q.name), blank.get(q.name)) for q in questions}
            for sub, a in answers.items()}


def render(answers: dict, questions: list, empty: dict, pattern: str | None) -> str:
    body = ['<p class="muted">Answers are the students\' Markdown, rendered with raw HTML disabled (links and images '
            "shown as text). Grade them with <code>python -m kit review --out OUT</code> (rubric items, the keyboard, "
            "each student's own run), or in <code>manual_grades.csv</code> (every cell starts blank, empty answers "
            "too: a blank is not graded, never a silent 0) and then re-run the same <code>python -m kit grade</code> command to update <code>final_grades.csv</code>.</p>"]
    for q in questions:
        body.append(f'<h2 id="{esc(q.name)}">{esc(q.name)} ({q.points:g} points)</h2>')
        body.append(f'<div class="box">{pages.markdown(q.prompt)}</div>')
        body.append(f'<details open><summary>Model answer and rubric</summary><div class="box">'
                    f"{pages.markdown(q.model_answer)}</div></details>")
        texts = {s: a[q.name] for s, a in answers.items() if not empty[s][q.name]}
        pairs = manual.similar_pairs(texts, q)
        if pairs:
            body.append(f"<h3>Near-identical answers ({len(pairs)})</h3>")
            for a, b, score in pairs:
                body.append(f'<div class="box flag"><strong>{score:.0%} similar</strong> (word 3-grams, the '
                            f'question\'s own words left out)<div class="pair"><div><em>{esc(a)}</em>'
                            f"{pages.markdown(texts[a])}</div><div><em>{esc(b)}</em>{pages.markdown(texts[b])}"
                            "</div></div></div>")
        body.append("<h3>Answers</h3>")
        for sub in sorted(answers):
            who = f"<strong>{esc(student_name(sub, pattern))}</strong> <span class=\"muted\">{esc(sub)}</span>"
            answer = answers[sub][q.name]
            if answer is None:
                body.append(f'<div class="box empty">{who}: question not found in the notebook (deleted, or the '
                            "file could not be read). Pre-filled 0.</div>")
            elif empty[sub][q.name]:
                body.append(f'<div class="box empty">{who}: empty (placeholder left as it was). Not graded until you give it its points (0).</div>')
            else:
                body.append(f'<div class="box">{who}{pages.markdown(answer)}</div>')
    return pages.page("Discussion questions: answers to grade by hand", "\n".join(body), lang="en")
