"""Grade a folder of submissions with the autograder, without Docker.

    python -m kit.grade SUBMISSIONS [--jobs 2] [--timeout 600] [--memory-mb 4096] [--out grades]

Each submission (``.ipynb`` or an Otter export ``.zip``) is copied into a private job
folder and graded there by ``otter run`` in its own process, so a broken, slow or
memory-hungry submission only ever costs its own row. ``otter run`` has no limits of
its own: a watcher kills the whole process tree past the time or resident-memory limit.
Writes ``grades.csv`` (one row per submission, with a status) and each ``results.json``.
"""
import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import psutil

from kit import paths

SUFFIXES = (".ipynb", ".zip")
POLL_S = 0.25


@dataclass
class Row:
    submission: str
    status: str = "ok"            # ok | error | timeout | memory
    score: float = 0.0
    max_score: float = 0.0
    questions: dict = field(default_factory=dict)
    seconds: float = 0.0
    peak_mb: float = 0.0
    message: str = ""


def questions_of(autograder: Path) -> dict:
    """{question: points} from the autograder's test files, for rows that produced no results."""
    out = {}
    with zipfile.ZipFile(autograder) as zf:
        for name in sorted(zf.namelist()):
            if re.fullmatch(r"tests/[^/]+\.py", name):
                text = zf.read(name).decode()
                points = re.search(r"^points = ([\d.]+)", text, re.M)
                out[Path(name).stem] = float(points.group(1)) if points else 0.0
    return out


def discover(folder: Path) -> list:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


class Run(NamedTuple):
    status: str | None    # None, "timeout" or "memory"
    code: int
    seconds: float
    peak_mb: float        # resident memory of the whole process tree
    peak_process_mb: float  # of its largest process (the notebook's kernel)


def _rss(proc: psutil.Process) -> list:
    sizes = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            sizes.append(p.memory_info().rss)
        except psutil.Error:
            pass
    return sizes


def _kill_tree(proc: psutil.Process) -> None:
    procs = [proc, *proc.children(recursive=True)]
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_limited(cmd, cwd, env, timeout_s, memory_mb, log_path) -> Run:
    """Run ``cmd`` in its own session under a time limit and a limit on the tree's resident memory."""
    start = time.monotonic()
    peak = peak_process = 0
    status = None
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        proc = psutil.Process(popen.pid)
        while popen.poll() is None:
            sizes = _rss(proc) or [0]
            peak, peak_process = max(peak, sum(sizes)), max(peak_process, max(sizes))
            if peak > memory_mb * 2**20:
                status = "memory"
            elif time.monotonic() - start > timeout_s:
                status = "timeout"
            if status:
                _kill_tree(proc)
                break
            time.sleep(POLL_S)
        code = popen.wait()
    return Run(status, code, time.monotonic() - start, peak / 2**20, peak_process / 2**20)


def _tail(path: Path, lines=3) -> str:
    text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return " | ".join(line.strip() for line in text[-lines:])[-500:]


def _thread_env(threads: int) -> dict:
    """Share the cores between parallel jobs instead of letting each TensorFlow take them all."""
    n = str(max(1, threads))
    return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n, "OMP_NUM_THREADS": n}


def grade_one(submission: Path, autograder: Path, out: Path, timeout_s: float, memory_mb: float,
              questions: dict, threads: int = 1) -> Row:
    row = Row(submission.name, questions={q: 0.0 for q in questions}, max_score=sum(questions.values()))
    dest = out / "results" / submission.name  # not the stem: ana.ipynb and ana.zip are two rows
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="tl-grade-") as job:
        job = Path(job)
        work = job / "submission"
        work.mkdir()
        copy = work / submission.name  # otter never sees, so never touches, the original
        shutil.copy(submission, copy)
        env = dict(os.environ, TMPDIR=str(job),  # what otter leaves behind when killed goes with the job
                   **_thread_env(threads))
        cmd = [sys.executable, "-m", "otter", "run", "-a", str(autograder.resolve()), str(copy),
               "-o", str(dest), "--no-logo"]
        status, code, row.seconds, row.peak_mb, _ = run_limited(cmd, job, env, timeout_s, memory_mb,
                                                                dest / "otter.log")
    results = dest / "results.json"
    if status == "timeout":
        row.status, row.message = status, f"más de {timeout_s:.0f} s: calificación detenida"
    elif status == "memory":
        row.status, row.message = status, f"más de {memory_mb:.0f} MB de memoria: calificación detenida"
    elif code != 0 or not results.exists():
        row.status, row.message = "error", f"otter run terminó con código {code}: {_tail(dest / 'otter.log')}"
    else:
        data = json.loads(results.read_text())
        for test in data.get("tests", []):
            if test.get("name") in row.questions:
                row.questions[test["name"]] = float(test.get("score") or 0)
        row.score = sum(row.questions.values())
    return row


def grade_all(folder: Path, autograder: Path = paths.AUTOGRADER_ZIP, out: Path = Path("grades"),
              jobs: int = 2, timeout_s: float = 600, memory_mb: float = 4096, progress=None) -> list:
    questions = questions_of(autograder)
    submissions = discover(folder)
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    out.mkdir(parents=True, exist_ok=True)

    def work(sub):
        try:
            row = grade_one(sub, autograder, out, timeout_s, memory_mb, questions, threads)
        except Exception as exc:  # a row, never an aborted batch
            row = Row(sub.name, status="error", questions={q: 0.0 for q in questions},
                      max_score=sum(questions.values()), message=f"{type(exc).__name__}: {exc}")
        if progress:
            progress(row)
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rows = list(pool.map(work, submissions))
    write_csv(rows, questions, out / "grades.csv")
    return rows


def write_csv(rows, questions, path: Path) -> None:
    fields = ["submission", "status", "score", "max_score", *questions, "seconds", "peak_mb", "message"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({"submission": r.submission, "status": r.status, "score": f"{r.score:g}",
                             "max_score": f"{r.max_score:g}", **{q: f"{v:g}" for q, v in r.questions.items()},
                             "seconds": f"{r.seconds:.1f}", "peak_mb": f"{r.peak_mb:.0f}", "message": r.message})


def load_expected(path: Path = paths.EXPECTED_GRADES) -> dict:
    """{submission: row} of a hand-written expected-grades CSV (status and points per question)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def differs(row: Row, expected: dict, questions) -> bool:
    return (expected is None or row.status != expected["status"]
            or any(f"{row.questions[q]:g}" != expected[q] for q in questions))


def table(rows, questions) -> str:
    short = [q.split("_")[0] for q in questions]
    width = max([len(r.submission) for r in rows] + [10])
    lines = [f"{'submission':<{width}}  {'status':<7} {'score':>6}  " + " ".join(f"{s:>4}" for s in short)
             + "  seconds  peak_MB"]
    for r in rows:
        lines.append(f"{r.submission:<{width}}  {r.status:<7} {r.score:>6g}  "
                     + " ".join(f"{r.questions.get(q, 0):>4g}" for q in questions)
                     + f"  {r.seconds:>7.1f}  {r.peak_mb:>7.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Grade every .ipynb/.zip in a folder with the autograder.")
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--autograder", type=Path, default=paths.AUTOGRADER_ZIP)
    parser.add_argument("--out", type=Path, default=Path("grades"))
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per submission")
    parser.add_argument("--memory-mb", type=float, default=4096, help="resident memory per submission")
    args = parser.parse_args(argv)
    rows = grade_all(args.submissions, args.autograder, args.out, args.jobs, args.timeout, args.memory_mb,
                     progress=lambda r: print(f"  {r.status:<7} {r.score:>5g}  {r.submission}", flush=True))
    print(table(rows, questions_of(args.autograder)))
    print(f"\n{len(rows)} submissions -> {args.out / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
