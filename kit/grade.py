"""Grade a folder of submissions with the autograder, without Docker, and finish the class.

    python -m kit grade SUBMISSIONS [--out grades] [--jobs 2] [--timeout 600] [--memory-mb 4096] [--force]

Each submission (``.ipynb`` or an Otter export ``.zip``) is copied into a private job
folder and graded there by Otter in its own process (``kit/run_job.py``), so a broken,
slow or memory-hungry submission only ever costs its own row. Otter has no limits of its
own: a watcher kills the whole process tree past the time or resident-memory limit.

Re-running into the same ``--out`` regrades only submissions whose content (or the
autograder) changed. Then ``kit.classwork`` writes the feedback pages, the discussion
page, the gradebook and the class report from what is in ``--out``.
"""
import argparse
import csv
import hashlib
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
from dataclasses import dataclass
from pathlib import Path

import psutil

from kit import intake, paths, sandbox, tampering
from kit.records import Row, Status

SUFFIXES = (".ipynb", ".zip")
POLL_S = 0.25
MAX_PROCESSES = 256  # a kernel and its helpers need a handful; more is a fork bomb
RUN_JOB = Path(__file__).resolve().with_name("run_job.py")
JOB_OUTPUTS = ("results.json", "cases.json", "figure-*.png")


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


@dataclass
class Run:
    """How one limited process tree ended."""

    status: Status | None
    """``TIMEOUT``, ``MEMORY`` or ``ERROR`` (too many processes) when the watcher stopped it, else None."""
    code: int
    """Its exit code."""
    seconds: float
    """Wall time."""
    peak_mb: float
    """Peak resident memory of the whole process tree."""
    peak_process_mb: float
    """Peak resident memory of its largest process (the notebook's kernel)."""


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
            if len(sizes) > MAX_PROCESSES:
                status = Status.ERROR
            elif peak > memory_mb * 2**20:
                status = Status.MEMORY
            elif time.monotonic() - start > timeout_s:
                status = Status.TIMEOUT
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


def _sha256(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def content_key(submission: Path, autograder_sha256: bytes) -> str:
    """What a grade depends on: the submission's bytes and the autograder's (hashed once per batch)."""
    return hashlib.sha256(autograder_sha256 + _sha256(submission)).hexdigest()


def results_dir(out: Path, submission: str) -> Path:
    return out / "results" / submission  # not the stem: ana.ipynb and ana.zip are two rows


def load_row(out: Path, submission: str) -> Row | None:
    try:
        return Row.from_dict(json.loads((results_dir(out, submission) / "row.json").read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def grade_one(submission: Path, autograder: Path, out: Path, timeout_s: float, memory_mb: float,
              questions: dict, threads: int = 1, workdir: Path | None = None, key: str | None = None,
              exempt: set | None = None) -> Row:
    """Grade one submission in a job of its own; ``exempt`` are the kit's own cells (``tampering.kit_cells``,
    of the student template by default)."""
    row = Row(submission.name, questions={q: 0.0 for q in questions}, max_score=sum(questions.values()),
              key=key or content_key(submission, _sha256(autograder)))
    dest = results_dir(out, submission.name)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    refused = intake.problem(submission, intake.assignment_of(autograder))
    if refused:  # no job for a file that cannot be graded: the row says why
        row.status, row.message = Status.ERROR, refused
        return _saved(row, dest)
    findings = tampering.scan(intake.read_notebook(submission), tampering.kit_cells() if exempt is None else exempt)
    with tempfile.TemporaryDirectory(prefix="tl-grade-", dir=workdir) as job:
        job = Path(job)
        work, results = job / "submission", job / "results"
        work.mkdir()
        copy = work / submission.name  # otter never sees, so never touches, the original
        shutil.copy(submission, copy)
        shutil.copy(autograder, job / "autograder.zip")  # the sandbox hides the autograder's own folder
        env = dict(os.environ, TMPDIR=str(job),  # what otter leaves behind when killed goes with the job
                   **_thread_env(threads))
        cmd = [sys.executable, str(RUN_JOB), str(copy), str(job / "autograder.zip"), str(results)]
        if sandbox.available():
            cmd = sandbox.command(cmd, job, hide=[submission.parent, out, autograder.parent])
        run = run_limited(cmd, job, env, timeout_s, memory_mb, dest / "otter.log")
        for pattern in JOB_OUTPUTS:  # the job writes only inside its folder; keep what it made
            for made in sorted(results.glob(pattern)) if results.is_dir() and not results.is_symlink() else []:
                if made.is_file() and not made.is_symlink():  # never a link the graded code planted
                    shutil.copy(made, dest / made.name)
    row.seconds, row.peak_mb = run.seconds, run.peak_mb
    if run.status == Status.TIMEOUT:
        row.status, row.message = run.status, f"más de {timeout_s:.0f} s: calificación detenida"
    elif run.status == Status.ERROR:
        row.status, row.message = run.status, f"más de {MAX_PROCESSES} procesos a la vez: calificación detenida"
    elif run.status == Status.MEMORY:
        row.status, row.message = run.status, f"más de {memory_mb:.0f} MB de memoria: calificación detenida"
    elif run.code != 0 or not (dest / "results.json").exists():
        row.status = Status.ERROR
        row.message = f"otter run terminó con código {run.code}: {_tail(dest / 'otter.log')}"
    else:
        data = json.loads((dest / "results.json").read_text())
        for test in data.get("tests", []):
            if test.get("name") in row.questions:
                row.questions[test["name"]] = float(test.get("score") or 0)
        row.score = sum(row.questions.values())
        if findings:  # graded all the same: the instructor judges the points with the lines in front of them
            row.status, row.message = Status.FLAGGED, tampering.summary(findings)
    return _saved(row, dest)


def _saved(row: Row, dest: Path) -> Row:
    """Keep the row beside its results: a re-run reuses it while the submission and autograder are unchanged."""
    (dest / "row.json").write_text(json.dumps(row.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return row


def grade_all(folder: Path, autograder: Path = paths.AUTOGRADER_ZIP, out: Path = paths.DEFAULT_OUT,
              jobs: int = 2, timeout_s: float = 600, memory_mb: float = 4096, progress=None,
              force: bool = False, workdir: Path | None = None, on_start=None,
              template: Path = paths.STUDENT / paths.MASTER.name) -> list:
    """Grade every submission in ``folder`` that is new or changed since the last run into ``out``.

    ``on_start(n)`` is told how many will really be graded; ``progress(row)`` hears of each one done.
    """
    if not sandbox.available():
        print(sandbox.warning(), file=sys.stderr)
    questions = questions_of(autograder)
    exempt = tampering.kit_cells(template)
    submissions = discover(folder)
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    out.mkdir(parents=True, exist_ok=True)

    autograder_sha256 = _sha256(autograder)
    keys = {sub.name: content_key(sub, autograder_sha256) for sub in submissions}
    kept, todo = {}, []
    for sub in submissions:
        old = None if force else load_row(out, sub.name)
        if old is not None and old.key == keys[sub.name]:
            kept[sub.name] = old
        else:
            todo.append(sub)
    if on_start:
        on_start(len(todo))

    def work(sub):
        try:
            row = grade_one(sub, autograder, out, timeout_s, memory_mb, questions, threads, workdir, keys[sub.name],
                            exempt)
        except Exception as exc:  # a row, never an aborted batch
            row = Row(sub.name, status=Status.ERROR, questions={q: 0.0 for q in questions},
                      max_score=sum(questions.values()), message=f"{type(exc).__name__}: {exc}")
        if progress:
            progress(row)
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        graded = {row.submission: row for row in pool.map(work, todo)}
    rows = [kept.get(sub.name) or graded[sub.name] for sub in submissions]
    write_csv(rows, questions, out / "grades.csv")
    return rows


def grade_all_with_progress(folder: Path, autograder: Path, out: Path, **options) -> list:
    """``grade_all`` behind the kit's progress bar: what the command line shows while a class is graded."""
    from kit import progress

    with progress.Bar() as bar:
        return grade_all(folder, autograder, out, progress=bar.advance, on_start=bar.start, **options)


def write_csv(rows, questions, path: Path) -> None:
    fields = ["submission", "status", "score", "max_score", *questions, "seconds", "peak_mb", "message"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({"submission": r.submission, "status": r.status.value, "score": f"{r.score:g}",
                             "max_score": f"{r.max_score:g}", **{q: f"{v:g}" for q, v in r.questions.items()},
                             "seconds": f"{r.seconds:.1f}", "peak_mb": f"{r.peak_mb:.0f}", "message": r.message})


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kit grade",
                                description="Grade every .ipynb/.zip in a folder, then write feedback, the "
                                            "discussion page, the gradebook and the class report.")
    p.add_argument("submissions", type=Path, help="folder of students' .ipynb or export .zip files")
    p.add_argument("--autograder", type=Path, default=paths.AUTOGRADER_ZIP, help="the autograder zip to grade with")
    p.add_argument("--out", type=Path, default=paths.DEFAULT_OUT, help="where every output goes (default: grades)")
    p.add_argument("--jobs", type=int, default=2, help="submissions graded at once")
    p.add_argument("--timeout", type=float, default=600, help="seconds per submission")
    p.add_argument("--memory-mb", type=float, default=4096, help="resident memory per submission, whole process tree")
    p.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    p.add_argument("--docker", action="store_true",
                   help="grade in Otter's own Docker containers instead (otter grade): needs a Docker engine; "
                        "writes Otter's final_grades.csv under --out, without the kit's feedback and report")
    p.add_argument("--student-pattern", default=None,
                   help="regex with a (?P<student>...) group, matched against each file name; default: "
                        "Moodle's and Canvas's download names, else the file's stem")
    return p


def main(argv=None) -> int:
    from kit import classwork

    args = parser().parse_args(argv)
    if not args.submissions.is_dir():
        parser().error(f"{args.submissions} is not a folder")
    if args.docker:
        from kit import containers

        return containers.grade(args.submissions, args.autograder, args.out, args.jobs, args.timeout)
    rows = grade_all_with_progress(args.submissions, args.autograder, args.out, jobs=args.jobs,
                                   timeout_s=args.timeout, memory_mb=args.memory_mb, force=args.force)
    questions = questions_of(args.autograder)
    made = classwork.finish(args.out, rows, questions, args.submissions, args.student_pattern)
    print(classwork.summary(rows, questions))
    print(made)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
