"""Grading a class of 40: wall time, seconds per submission, peak memory, and a re-run with nothing new.

    python benchmarks/bench_class.py [--size 40] [--jobs auto] [--out DIR]
    python benchmarks/bench_class.py --before REV [--size 40] [--jobs N]
    python benchmarks/bench_class.py --size 8 --full --floor

The class is drawn from the reference submissions (correct, flawed and broken ones; the
solution, the blank template and the broken file always among them) and graded with
``python -m kit grade``'s own functions, then finished (feedback, discussion, gradebook,
report). Targets on a 2-core machine: <= 15 minutes for the 40, a re-run in <= 20 s.

With ``--before REV`` it grades the same class twice in one run, with the kit as of git
revision REV (a temporary worktree, its own committed autograder) and with this checkout,
each through ``python -m kit grade --force``, and compares: throughput (submissions an hour,
from the command's wall time), median and p95 seconds per submission, peak memory of one
submission's process tree, and whether every row kept its grade (between the two, and
against ``submissions/expected_grades.csv``).
With ``--full`` the class is ``--size`` copies of the solution (every submission runs both fits);
with ``--floor`` the same run then times the lab's own floor beside the grader:
``benchmarks/floor_two_fits.py --prebuilt`` once per submission, one per core at once, and
prints both throughputs and their ratio (the grader's over the floor's).
A script, not a test: it prints its measurements.
"""
import argparse
import concurrent.futures
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit import classwork, executors, grade, grades_table, layout, paths  # noqa: E402

ALWAYS = ("solution.ipynb", "blank_template.ipynb", "broken_not_a_notebook.ipynb")


def draw_class(folder: Path, size: int) -> list:
    """``size`` reference submissions: the three above, then the others in name order, cycling if needed."""
    others = [p.name for p in grade.discover(paths.SUBMISSIONS) if p.name not in ALWAYS]
    names = list(ALWAYS) + [others[i % len(others)] for i in range(max(0, size - len(ALWAYS)))]
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names[:size]):
        shutil.copy(paths.SUBMISSIONS / name, folder / f"{i:02d}_{name}")
    return names[:size]


def draw_full(folder: Path, size: int) -> list:
    """``size`` copies of the solution: full submissions, both fits run."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i:02d}_solution.ipynb" for i in range(size)]
    for name in names:
        shutil.copy(paths.SUBMISSIONS / "solution.ipynb", folder / name)
    return names


FLOOR = ROOT / "benchmarks" / "floor_two_fits.py"


def floor_run(size: int) -> float:
    """Wall seconds of ``size`` floors (the two fits alone, a fresh process each), one per core at once."""
    def one(_):
        subprocess.run([sys.executable, str(FLOOR), "--prebuilt"], cwd=ROOT, check=True, capture_output=True)

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(one, range(size)))
    return time.monotonic() - start


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def graded_by(tree: Path, subs: Path, out: Path, jobs) -> tuple:
    """(wall seconds, rows) of ``python -m kit grade`` as the kit in ``tree`` runs it, with its own autograder and,
    unless ``jobs`` is given, its own default ``--jobs``."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kit", "grade", str(subs), "--out", str(out), "--force",
                           *(["--jobs", str(jobs)] if jobs else [])], cwd=tree, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"python -m kit grade failed in {tree}:\n{done.stderr[-2000:]}")
    return wall, [layout.load_row(out, p.name) for p in sorted(subs.iterdir())]


def side(name: str, wall: float, rows: list) -> str:
    seconds = [r.seconds for r in rows]
    peaks = [r.peak_mb for r in rows]
    return (f"| {name} | {len(rows) / wall * 3600:.0f} | {wall:.0f} | {statistics.median(seconds):.1f} | "
            f"{percentile(seconds, 0.95):.1f} | {max(peaks):.0f} | {statistics.median(peaks):.0f} |")


def moved(before: list, after: list) -> list:
    """Rows whose status or points differ between the two graders, or from the reference's expected grades."""
    expected = grades_table.load_expected()
    found = []
    for old, new in zip(before, after):
        reference = re.sub(r"^\d+_", "", new.submission)
        if (old.status, old.questions) != (new.status, new.questions):
            found.append(f"{new.submission}: {old.status.value} {old.score:g} before, {new.status.value} "
                         f"{new.score:g} after")
        if grades_table.differs(new, expected.get(reference), list(new.questions)):
            found.append(f"{new.submission}: not its expected grade ({new.status.value} {new.score:g})")
    return found


def compare(before_rev: str, size: int, jobs: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="tl-bench-compare-") as tmp:
        tmp = Path(tmp)
        subs = tmp / "class"
        draw_class(subs, size)
        old_tree = tmp / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(old_tree), before_rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            old_wall, old_rows = graded_by(old_tree, subs, tmp / "out-before", jobs)
            new_wall, new_rows = graded_by(ROOT, subs, tmp / "out-after", jobs)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, capture_output=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"class of {size}, --jobs {jobs or 'as each grader defaults'}, graded by 'python -m kit grade --force' "
          "(grading and finishing)")
    print("| grader | submissions an hour | wall s | median s | p95 s | peak MB (max) | peak MB (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(side(f"before ({before_rev})", old_wall, old_rows))
    print(side(f"after ({commit.stdout.strip()}, working tree)", new_wall, new_rows))
    print(f"throughput: {old_wall / new_wall:.2f}x the old")
    changes = moved(old_rows, new_rows)
    print("grades: every row unchanged and as expected" if not changes else "grades MOVED:\n  " + "\n  ".join(changes))
    return 1 if changes else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40, help="submissions in the class")
    parser.add_argument("--jobs", type=executors.jobs_option, default=None,
                        help="graded at once, as python -m kit grade --jobs (default: auto; with --before, each "
                             "grader's own default)")
    parser.add_argument("--out", type=Path, default=None, help="keep the outputs here (default: a temp folder)")
    parser.add_argument("--full", action="store_true",
                        help="the class is --size copies of the solution instead of the reference mix")
    parser.add_argument("--floor", action="store_true",
                        help="also time the two-fit floor once per submission, one per core at once, and print "
                             "the grader's throughput over the floor's")
    parser.add_argument("--before", metavar="REV", default=None,
                        help="also grade the class with the kit as of this git revision, and compare")
    args = parser.parse_args(argv)
    if args.before:
        return compare(args.before, args.size, args.jobs)

    with tempfile.TemporaryDirectory(prefix="tl-bench-class-") as tmp:
        out = args.out or Path(tmp) / "out"
        subs = Path(tmp) / "class"
        (draw_full if args.full else draw_class)(subs, args.size)
        questions = grade.questions_of(paths.AUTOGRADER_ZIP)

        start = time.monotonic()
        jobs = executors.resolved(args.jobs or executors.AUTO, grade.MEMORY_MB)
        rows = grade.grade_all(subs, paths.AUTOGRADER_ZIP, out, jobs=jobs, force=True)
        graded_s = time.monotonic() - start
        classwork.finish(out, rows, questions, subs)
        first_s = time.monotonic() - start

        start = time.monotonic()
        counted = []
        again = grade.grade_all(subs, paths.AUTOGRADER_ZIP, out, jobs=jobs, on_start=counted.append)
        classwork.finish(out, again, questions, subs)
        rerun_s = time.monotonic() - start
        floor_s = floor_run(args.size) if args.floor else None

    seconds = [r.seconds for r in rows]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"class: {len(rows)} submissions, --jobs {jobs}; statuses: "
          + ", ".join(f"{s}={sum(r.status.value == s for r in rows)}" for s in ("ok", "error", "timeout", "memory")))
    print(f"first run: {first_s:.0f} s wall ({graded_s:.0f} s grading + {first_s - graded_s:.1f} s finishing); "
          f"target <= 900 s: {'met' if first_s <= 900 else 'MISSED'}")
    print(f"per submission: median {statistics.median(seconds):.1f} s, p95 {percentile(seconds, 0.95):.1f} s, "
          f"max {max(seconds):.1f} s")
    print(f"peak memory of one submission's process tree: {max(r.peak_mb for r in rows):.0f} MB "
          f"(median {statistics.median(r.peak_mb for r in rows):.0f} MB; {jobs} run at once)")
    print(f"re-run with nothing new: {rerun_s:.1f} s, {counted[0]} regraded; target <= 20 s: "
          f"{'met' if rerun_s <= 20 and counted[0] == 0 else 'MISSED'}")
    if floor_s is not None:
        graded_rate, floor_rate = len(rows) / graded_s * 3600, args.size / floor_s * 3600
        print(f"grader: {graded_rate:.0f} submissions an hour ({graded_s:.0f} s grading, --jobs {jobs}); floor "
              f"(floor_two_fits.py --prebuilt, {os.cpu_count()} at once): {floor_rate:.0f} an hour ({floor_s:.0f} s); "
              f"grader / floor: {graded_rate / floor_rate:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
