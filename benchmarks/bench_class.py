"""Grading a class of 40: wall time, seconds per submission, peak memory, and a re-run with nothing new.

    python benchmarks/bench_class.py [--size 40] [--jobs 2] [--out DIR]

The class is drawn from the reference submissions (correct, flawed and broken ones; the
solution, the blank template and the broken file always among them) and graded with
``python -m kit grade``'s own functions, then finished (feedback, discussion, gradebook,
report). Targets on a 2-core machine: <= 15 minutes for the 40, a re-run in <= 20 s.
A script, not a test: it prints its measurements.
"""
import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit import classwork, grade, paths  # noqa: E402

ALWAYS = ("solution.ipynb", "blank_template.ipynb", "broken_not_a_notebook.ipynb")


def draw_class(folder: Path, size: int) -> list:
    """``size`` reference submissions: the three above, then the others in name order, cycling if needed."""
    others = [p.name for p in grade.discover(paths.SUBMISSIONS) if p.name not in ALWAYS]
    names = list(ALWAYS) + [others[i % len(others)] for i in range(max(0, size - len(ALWAYS)))]
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names[:size]):
        shutil.copy(paths.SUBMISSIONS / name, folder / f"{i:02d}_{name}")
    return names[:size]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40, help="submissions in the class")
    parser.add_argument("--jobs", type=int, default=2, help="graded at once, as python -m kit grade --jobs")
    parser.add_argument("--out", type=Path, default=None, help="keep the outputs here (default: a temp folder)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tl-bench-class-") as tmp:
        out = args.out or Path(tmp) / "out"
        subs = Path(tmp) / "class"
        draw_class(subs, args.size)
        questions = grade.questions_of(paths.AUTOGRADER_ZIP)

        start = time.monotonic()
        rows = grade.grade_all(subs, paths.AUTOGRADER_ZIP, out, jobs=args.jobs, force=True)
        graded_s = time.monotonic() - start
        classwork.finish(out, rows, questions, subs)
        first_s = time.monotonic() - start

        start = time.monotonic()
        counted = []
        again = grade.grade_all(subs, paths.AUTOGRADER_ZIP, out, jobs=args.jobs, on_start=counted.append)
        classwork.finish(out, again, questions, subs)
        rerun_s = time.monotonic() - start

    seconds = [r.seconds for r in rows]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"class: {len(rows)} submissions, --jobs {args.jobs}; statuses: "
          + ", ".join(f"{s}={sum(r.status.value == s for r in rows)}" for s in ("ok", "error", "timeout", "memory")))
    print(f"first run: {first_s:.0f} s wall ({graded_s:.0f} s grading + {first_s - graded_s:.1f} s finishing); "
          f"target <= 900 s: {'met' if first_s <= 900 else 'MISSED'}")
    print(f"per submission: median {statistics.median(seconds):.1f} s, p95 {percentile(seconds, 0.95):.1f} s, "
          f"max {max(seconds):.1f} s")
    print(f"peak memory of one submission's process tree: {max(r.peak_mb for r in rows):.0f} MB "
          f"(median {statistics.median(r.peak_mb for r in rows):.0f} MB; {args.jobs} run at once)")
    print(f"re-run with nothing new: {rerun_s:.1f} s, {counted[0]} regraded; target <= 20 s: "
          f"{'met' if rerun_s <= 20 and counted[0] == 0 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
