"""Cost of grading one submission through the batch grader's job (``kit.job.one.grade_one``). A script, not a test.

    python benchmarks/bench_job.py [--repeat 5] [--submission submissions/solution.ipynb] [--threads 2]

Grades the same submission one job at a time, sandboxed when bubblewrap is there, and
prints each run and the median wall seconds and peak memory. Run it on two checkouts to
compare a change (the note of each change gives both figures).
"""
import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit import grade, paths, sandbox  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="gradings to take the median of")
    parser.add_argument("--submission", type=Path, default=paths.SUBMISSIONS / "solution.ipynb",
                        help="the notebook to grade")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads of the job")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{'sandboxed' if sandbox.available() else 'UNCONFINED'}, {args.submission.name}, {ROOT}")
    seconds, peaks = [], []
    questions = grade.questions_of(paths.AUTOGRADER_ZIP)
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="tl-bench-") as out:
            row = grade.grade_one(args.submission.resolve(), paths.AUTOGRADER_ZIP, Path(out), timeout_s=900,
                                  memory_mb=8192, questions=questions, threads=args.threads)
        if row.status.value not in ("ok", "flagged"):
            raise SystemExit(f"{args.submission.name}: {row.status} {row.message}")
        seconds.append(row.seconds)
        peaks.append(row.peak_mb)
        print(f"run {i + 1}: {row.seconds:6.1f} s, peak {row.peak_mb:5.0f} MB, {row.status.value} {row.score:g}")
    print(f"median {statistics.median(seconds):.1f} s, peak {statistics.median(peaks):.0f} MB over {args.repeat} runs")


if __name__ == "__main__":
    main()
