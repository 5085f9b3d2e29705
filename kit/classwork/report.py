"""The class report: one self-contained page of where the class stands and where it struggled."""
from collections import Counter
from statistics import mean, median

from kit.classwork import pages
from kit.classwork.feedback import readable, student_message
from kit.classwork.pages import esc
from kit.records import Status


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def status_counts(rows) -> dict:
    counts = Counter(r.status for r in rows)
    return {s.value: counts.get(s, 0) for s in Status}


GRADED = (Status.OK, Status.FLAGGED)
"""Rows whose notebook ran and was judged: the class's means are theirs, the others are counted apart."""


def graded(rows) -> list:
    return [r for r in rows if r.status in GRADED]


def question_rates(rows, questions) -> dict:
    """{question: (mean points, share of graded submissions with full marks)} over the graded rows."""
    graded = [r for r in rows if r.status in GRADED]
    rates = {}
    for q, points in questions.items():
        got = [r.questions.get(q, 0) for r in graded]
        rates[q] = (mean(got) if got else 0.0, sum(g >= points for g in got) / len(got) if got else 0.0)
    return rates


def test_rates(cases_by_sub: dict) -> dict:
    """{(question, test, hidden): (passed, total)} over the submissions that produced test results."""
    tally = {}
    for cases in cases_by_sub.values():
        for c in cases:
            passed, total = tally.get((c.question, c.name, c.hidden), (0, 0))
            tally[(c.question, c.name, c.hidden)] = (passed + c.passed, total + 1)
    return tally


def common_failures(cases_by_sub: dict, top: int = 10) -> list:
    """[((question, hidden, message), submissions that got it)], most frequent first."""
    counts = Counter(message for cases in cases_by_sub.values()  # each submission counts a message once
                     for message in {(c.question, c.hidden, student_message(c)) for c in cases if not c.passed})
    return counts.most_common(top)


def _histogram(rows, max_score) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist([r.score for r in rows], bins=[b - 0.5 for b in range(int(max_score) + 2)], color="#4c72b0",
            edgecolor="white")
    ax.set_xlabel("automatic score")
    ax.set_ylabel("submissions")
    ax.set_xlim(-0.5, max_score + 0.5)
    return pages.figure(fig, "Score histogram")


def _question_chart(rates) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3))
    names = list(rates)
    ax.barh(names[::-1], [100 * rates[q][1] for q in names[::-1]], color="#55a868")
    ax.set_xlabel("% of graded submissions with full marks")
    ax.set_xlim(0, 100)
    return pages.figure(fig, "Full marks per question")


def _cost_chart(rows) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3))
    for status in Status:
        mine = [r for r in rows if r.status == status]
        if mine:
            ax.scatter([r.seconds for r in mine], [r.peak_mb for r in mine], label=status.value, s=18)
    ax.set_xlabel("seconds")
    ax.set_ylabel("peak MB (process tree)")
    ax.legend(loc="lower right", fontsize=8)
    return pages.figure(fig, "Seconds and peak memory per submission")


def _shown_status(row, decisions: dict) -> str:
    """A row's status as the gradebook has it: a flagged row the instructor decided reads as that decision."""
    decided = decisions.get(row.submission, "") if row.status == Status.FLAGGED else ""
    return f"{row.status.value} ({decided})" if decided else row.status.value


def _copies(found: dict, decided: dict) -> list:
    """The possible copies, each group with what its members share and the grader's decision."""
    groups = found.get("groups") or []
    if not groups and not found.get("not_evidence"):
        return []
    from kit.classwork.copies import DECISIONS

    body = [f"<h2>Possible copies ({len(groups)})</h2>",
            '<p class="muted">Found in the notebooks\' saved outputs and metadata (the same run, the account that ran '
            "them, the same words); nothing here changes a grade. Decide each group in <code>python -m kit review"
            "</code>.</p>"]
    for group in groups:
        decision = decided.get(group["id"], {})
        said = DECISIONS.get(decision.get("decision"), "to review")
        note = f": {esc(decision['note'])}" if decision.get("note") else ""
        items = "".join(f"<li>{esc(e['text'])} <span class=\"muted\">({esc(', '.join(e['members']))})</span></li>"
                        for e in group["evidence"])
        body.append(f'<div class="box{"" if decision else " warn"}"><strong>{esc(", ".join(group["members"]))}'
                    f"</strong> · {esc(group['id'])} · <strong>{esc(said)}</strong>{note}<ul>{items}</ul></div>")
    for item in found.get("not_evidence") or []:
        body.append(f'<p class="muted">Not evidence: {esc(item["text"])} ({esc(", ".join(item["members"]))}).</p>')
    return body


def render(rows, questions: dict, cases_by_sub: dict, decisions: dict | None = None, copies: dict | None = None,
           copy_decisions: dict | None = None) -> str:
    """``decisions``: {submission: ``accepted``, ``rejected`` or ""} from the manual sheet, for flagged rows;
    ``copies``: the possible copies found (``kit.classwork.copies``), ``copy_decisions`` the grader's on them."""
    decisions = decisions or {}
    max_score = sum(questions.values())
    scores = [r.score for r in graded(rows)]
    apart = len(rows) - len(scores)
    body = [f"<p>{len(rows)} submissions · mean automatic score {mean(scores) if scores else 0:.2f} / "
            f"{max_score:g} · median {median(scores) if scores else 0:g}, over the {len(scores)} graded"
            + (f" ({apart} not graded, counted apart)" if apart else "") + "</p>"]

    body.append("<h2>Status</h2>")
    body.append(pages.table(["status", "submissions"], [[esc(s), n] for s, n in status_counts(rows).items()],
                            numeric=("submissions",)))
    flagged = [r for r in rows if r.status == Status.FLAGGED]
    if flagged:
        told = Counter(decisions.get(r.submission, "") or "undecided" for r in flagged)
        body.append(f'<p>Flagged: {told["accepted"]} accepted (their automatic points count), {told["rejected"]} '
                    f'rejected (only their discussion points count), {told["undecided"]} undecided (no total '
                    "yet).</p>")
    retry = [r for r in rows if r.status == Status.RETRY]
    if retry:
        body.append(f'<div class="box warn"><strong>{len(retry)} submission(s) the grader failed on</strong> (status '
                    "<code>retry</code>: the grader's or the cluster's failure, not the student's): no points, never "
                    "published, graded again by the same <code>kit grade</code> command."
                    + pages.table(["submission", "what failed"], [[esc(r.submission), esc(r.message)] for r in retry])
                    + "</div>")
    unjudged = [r for r in rows if r.unjudged]
    if unjudged:
        body.append(f'<div class="box warn"><strong>{len(unjudged)} submission(s) with checks the grader could not '
                    "run</strong> (the grader's failure, not the student's): those checks failed rather than pass, "
                    "and these rows are graded again on the next <code>kit grade</code> run."
                    + pages.table(["submission", "could not be judged"],
                                  [[esc(r.submission), esc("; ".join(r.unjudged))] for r in unjudged]) + "</div>")

    body.extend(_copies(copies or {}, copy_decisions or {}))

    body.append("<h2>Score histogram</h2>" + _histogram(rows, max_score))

    rates = question_rates(rows, questions)
    body.append("<h2>Per question</h2>" + _question_chart(rates))
    body.append(pages.table(["question", "points", "mean points", "full marks"],
                            [[esc(q), f"{questions[q]:g}", f"{m:.2f}", f"{100 * full:.0f}%"]
                             for q, (m, full) in rates.items()],
                            numeric=("points", "mean points", "full marks")))

    body.append("<h2>Per test</h2>")
    body.append(pages.table(["question", "test", "hidden", "passed", "pass rate"],
                            [[esc(q), esc(readable(t)), "yes" if h else "", f"{p}/{n}", f"{100 * p / n:.0f}%"]
                             for (q, t, h), (p, n) in test_rates(cases_by_sub).items()],
                            numeric=("passed", "pass rate")))

    body.append("<h2>Most common failure messages</h2>")
    body.append(pages.table(["submissions", "question", "hidden", "message"],
                            [[n, esc(q), "yes" if h else "", esc(m)] for (q, h, m), n in common_failures(cases_by_sub)],
                            numeric=("submissions",)))

    body.append("<h2>Grading cost per submission</h2>" + _cost_chart(rows))
    body.append(pages.table(["submission", "status", "score", "seconds", "peak MB", "message"],
                            [[esc(r.submission), esc(_shown_status(r, decisions)), f"{r.score:g}", f"{r.seconds:.1f}",
                              f"{r.peak_mb:.0f}", esc(r.message[:200])] for r in rows],
                            numeric=("score", "seconds", "peak MB")))
    return pages.page("Class report: transfer learning lab", "\n".join(body), lang="en")
