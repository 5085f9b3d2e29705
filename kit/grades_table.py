"""``grades.csv`` and the expected-grades CSV: writing one, reading the other, comparing, printing a table."""
import csv
from pathlib import Path

from kit import paths
from kit.records import Row


def write_csv(rows, questions, path: Path) -> None:
    fields = ["submission", "status", "score", "max_score", *questions, "seconds", "peak_mb", "unjudged", "message"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({"submission": r.submission, "status": r.status.value, "score": f"{r.score:g}",
                             "max_score": f"{r.max_score:g}", **{q: f"{v:g}" for q, v in r.questions.items()},
                             "seconds": f"{r.seconds:.1f}", "peak_mb": f"{r.peak_mb:.0f}",
                             "unjudged": "; ".join(r.unjudged), "message": r.message})


def load_expected(path: Path = paths.EXPECTED_GRADES) -> dict:
    """{submission: row} of a hand-written expected-grades CSV (status and points per question)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def differs(row: Row, expected: dict, questions) -> bool:
    return (expected is None or row.status.value != expected["status"]
            or any(f"{row.questions[q]:g}" != expected[q] for q in questions))


def table(rows, questions) -> str:
    short = [q.split("_")[0] for q in questions]
    width = max([len(r.submission) for r in rows] + [10])
    lines = [f"{'submission':<{width}}  {'status':<7} {'score':>6}  " + " ".join(f"{s:>4}" for s in short)
             + "  seconds  peak_MB"]
    for r in rows:
        lines.append(f"{r.submission:<{width}}  {r.status.value:<7} {r.score:>6g}  "
                     + " ".join(f"{r.questions.get(q, 0):>4g}" for q in questions)
                     + f"  {r.seconds:>7.1f}  {r.peak_mb:>7.0f}")
    return "\n".join(lines)
