"""Grading cost of one submission against the floor of its two fits. A script, not a test.

    python benchmarks/bench_grading.py [--repeat 3] [--submission submissions/solution.ipynb] [--autograder ZIP]

Each measurement runs in a fresh process under the batch grader's own watcher
(``kit.watch.run_limited``): wall seconds, and peak resident memory summed over the
process tree (``otter run`` and its kernel). Targets: grading <= 1.5x the floor, <= 1.2 GB.
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

from kit import paths, watch  # noqa: E402

FLOOR = Path(__file__).resolve().with_name("floor_two_fits.py")


def measure(cmd, cwd):
    with tempfile.TemporaryDirectory(prefix="tl-bench-") as tmp:
        run = watch.run_limited(cmd, cwd or tmp, dict(os.environ, TMPDIR=tmp), timeout_s=900, memory_mb=16384,
                                log_path=Path(tmp) / "log")
        if run.status or run.code:
            raise SystemExit(f"{cmd[:4]} failed ({run.status or run.code}): {(Path(tmp) / 'log').read_text()[-2000:]}")
    return run.seconds, run.peak_mb, run.peak_process_mb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--submission", type=Path, default=paths.SUBMISSIONS / "solution.ipynb")
    parser.add_argument("--autograder", type=Path, default=paths.AUTOGRADER_ZIP,
                        help="the autograder to grade with (an earlier one, from git show REV:autograder/autograder.zip, "
                             "to compare)")
    args = parser.parse_args()

    runs = {"floor (fits + validation)": [sys.executable, str(FLOOR)],
            "floor (fits only)": [sys.executable, str(FLOOR), "--no-validation"]}
    results = {name: [] for name in [*runs, "grading (otter run)"]}
    for _ in range(args.repeat):
        for name, cmd in runs.items():
            results[name].append(measure(cmd, None))
        with tempfile.TemporaryDirectory(prefix="tl-bench-out-") as out:
            cmd = [sys.executable, "-m", "otter", "run", "-a", str(args.autograder.resolve()),
                   str(args.submission.resolve()), "-o", out, "--no-logo"]
            results["grading (otter run)"].append(measure(cmd, out))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.repeat}")
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in results.items()}
    for name, (seconds, mb, process_mb) in med.items():
        print(f"  {name:<28} {seconds:6.1f} s  {mb:6.0f} MB peak RSS (tree)  {process_mb:6.0f} MB (largest process)")
    g_s, g_mb, g_process = med["grading (otter run)"]
    for name in runs:
        f_s, f_mb, _ = med[name]
        print(f"  grading / {name:<26} {g_s / f_s:5.2f}x time  {g_mb / f_mb:5.2f}x memory")
    strict = med["floor (fits only)"][0]
    print(f"  target time <= 1.5x the fits-only floor: {'met' if g_s <= 1.5 * strict else 'MISSED'}; "
          f"target <= 1200 MB: tree {'met' if g_mb <= 1200 else 'MISSED'}, "
          f"kernel {'met' if g_process <= 1200 else 'MISSED'}")

if __name__ == "__main__":
    main()
