"""What the bubblewrap sandbox adds to grading one submission. A script, not a test.

    python benchmarks/bench_sandbox.py [--repeat 3] [--submission submissions/solution.ipynb]

Grades the same submission with ``kit.job.one.grade_one``, alternating sandboxed and
unconfined runs (unconfined by pretending bubblewrap is missing), one at a time, and
prints each run and the medians. Needs bubblewrap.
"""
import argparse
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit import grade, paths, sandbox  # noqa: E402


def one(submission: Path, confined: bool):
    available = sandbox.available
    if not confined:
        sandbox.available = lambda: False
    try:
        with tempfile.TemporaryDirectory(prefix="tl-bench-") as out:
            row = grade.grade_one(submission, paths.AUTOGRADER_ZIP, Path(out), timeout_s=900, memory_mb=8192,
                                  questions=grade.questions_of(paths.AUTOGRADER_ZIP), threads=2)
    finally:
        sandbox.available = available
    if row.status.value not in ("ok", "flagged"):
        raise SystemExit(f"{submission.name}: {row.status} {row.message}")
    return row.seconds, row.peak_mb, row.score


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--submission", type=Path, default=paths.SUBMISSIONS / "solution.ipynb")
    args = parser.parse_args()
    if not sandbox.available():
        raise SystemExit("bubblewrap is not available here")
    print(f"{platform.machine()}, {platform.python_version()}, {args.submission.name}")
    times = {True: [], False: []}
    for i in range(args.repeat):
        for confined in (True, False):
            seconds, peak, score = one(args.submission, confined)
            times[confined].append(seconds)
            print(f"run {i + 1} {'sandboxed ' if confined else 'unconfined'}: {seconds:6.1f} s, "
                  f"peak {peak:5.0f} MB, score {score:g}")
    a, b = statistics.median(times[True]), statistics.median(times[False])
    print(f"median sandboxed {a:.1f} s, unconfined {b:.1f} s: the sandbox adds {a - b:+.1f} s ({(a / b - 1) * 100:+.0f} %)")


if __name__ == "__main__":
    main()
