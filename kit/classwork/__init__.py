"""Finish a graded class: feedback pages, discussion page, gradebook, report and a one-screen summary.

Everything is rebuilt from what ``--out`` holds (``results/<submission>/``) and from the
instructor's ``manual_grades.csv``, so it is cheap to re-run after editing the sheet.
"""
import shutil
from collections import Counter
from pathlib import Path

from kit import layout
from kit.classwork import copies, discussion, feedback, gradebook, manual, report
from kit.classwork.sheet import ManualFiles
from kit.records import Status


def finish(out: Path, rows: list, questions: dict, submissions, pattern: str | None = None,
           look_for_copies: bool = True) -> str:
    """Write every class output under ``out`` (``submissions``: the class's folder, or its folders); returns where
    each one is, for the instructor. ``look_for_copies``: the class-level pass for copied work (``copies``)."""
    cases = {r.submission: feedback.load_cases(layout.results_dir(out, r.submission)) for r in rows}
    manual_questions = manual.manual_questions()
    answers = discussion.collect(submissions, rows, manual_questions)
    empty = discussion.empties(answers, manual_questions)
    (out / layout.DISCUSSION).write_text(discussion.render(answers, manual_questions, empty, pattern),
                                         encoding="utf-8")
    sheet = out / layout.MANUAL
    gradebook.ensure_manual_grades(sheet, rows, manual_questions, pattern)
    marks = gradebook.read_manual_grades(sheet, manual_questions)
    if look_for_copies:
        found = copies.scan(out, rows, submissions, pattern)
    else:  # off: no page may show groups an earlier run found (the decisions stay in manual_review.json)
        found = {"groups": [], "not_evidence": []}
        shutil.rmtree(out / copies.FOLDER, ignore_errors=True)
    record = ManualFiles(out).read()[1]  # the grader's decisions on possible copies, read once
    reviewed = copies.per_submission(out, record) if look_for_copies else {}
    final = gradebook.write_final(out / layout.FINAL, rows, questions, manual_questions, marks, pattern, reviewed)
    # Each student's page shows the whole grade, as the gradebook just wrote it.
    comments = gradebook.read_comments(sheet, manual_questions)
    wholes = {f["submission"]: feedback.WholeGrade(
        f["total"], f["max_total"], f["percent"], {q.name: f[q.name] for q in manual_questions},
        comments.get(f["submission"], {}), marks.get(f["submission"], {}).get(gradebook.ACCEPT, ""))
        for f in final}
    feedback_dir = feedback.write_all(out, rows, questions, cases, wholes, manual_questions, pattern)

    decisions = {sub: m.get(gradebook.ACCEPT, "") for sub, m in marks.items()}
    (out / layout.REPORT).write_text(report.render(rows, questions, cases, decisions, found, copies.decisions(record)),
                                     encoding="utf-8")
    return "\n".join([
        f"  class report      {out / 'report.html'}",
        f"  feedback pages    {feedback_dir}/<submission>.html",
        f"  discussion page   {out / 'discussion.html'}",
        f"  manual grades     {sheet}  (yours to edit; re-run to update the gradebook)",
        f"  gradebook         {out / 'final_grades.csv'}",
        f"  automatic grades  {out / 'grades.csv'}",
    ])


def summary(rows: list, questions: dict) -> str:
    """Status counts, mean score (over the graded rows, the others counted apart) and the weakest question, on one
    screen."""
    counts = Counter(r.status for r in rows)
    statuses = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
    max_score = sum(questions.values())
    graded = report.graded(rows)
    mean = sum(r.score for r in graded) / len(graded) if graded else 0.0
    rates = report.question_rates(rows, questions)
    apart = len(rows) - len(graded)
    lines = [f"{len(rows)} submissions: {statuses or 'none'}",
             f"mean automatic score {mean:.2f} / {max_score:g} over the {len(graded)} graded"
             + (f" ({apart} not graded: no notebook that ran, or stopped by a limit, or to grade again)" if apart else "")]
    retry = [r for r in rows if r.status == Status.RETRY]
    if retry:
        lines.append(f"{len(retry)} retry: the grader failed on them, not the students (no points, never published); "
                     f"run the same command again. First: {retry[0].submission}: {retry[0].message}")
    unjudged = [r.submission for r in rows if r.unjudged]
    if unjudged:
        lines.append(f"{len(unjudged)} with checks the grader could not run (not the students' doing; graded again "
                     f"on the next run): {', '.join(unjudged[:5])}{' ...' if len(unjudged) > 5 else ''}")
    if graded:
        weakest = min(rates, key=lambda q: (rates[q][0] / questions[q] if questions[q] else 1, q))
        lines.append(f"weakest question: {weakest} (mean {rates[weakest][0]:.2f} / {questions[weakest]:g}, "
                     f"full marks in {100 * rates[weakest][1]:.0f}% of graded submissions)")
    return "\n".join(lines)
