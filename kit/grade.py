"""Grade a folder of submissions with the autograder, without Docker, and finish the class.

    python -m kit grade SUBMISSIONS [--out grades] [--jobs 2] [--timeout 600] [--memory-mb 4096] [--disk-mb 2048]
                                    [--tmp-mb 1024] [--max-unzipped-mb 200] [--force]

Each submission (``.ipynb`` or an Otter export ``.zip``) is copied into a private job
folder and run there in a fresh kernel (``kit.job.execute``) that reports what happens over
a channel this process opens first (``kit.job.channel``); the verdict is made afterwards by
``kit.job.decide``, a process that runs no student code. A broken, slow, memory- or
disk-hungry submission only ever costs its own row: a watcher kills the whole process tree
past the time limit, the memory limit (resident memory plus the job's RAM-backed files) or
the disk limit (its folder and its ``/tmp``).

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
import resource
import shutil
import signal
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
from kit.job import channel, decide
from kit.job.folder import points_of, prepare_job, unpack_lab
from kit.records import Row, Status

SUFFIXES = (".ipynb", ".zip")
POLL_S = 0.25
DISK_POLL_S = 1.0
MAX_PROCESSES = 256  # a kernel and its helpers need a handful; more is a fork bomb
MAX_FILES = 100_000  # walking more to size a folder is itself the attack
EXECUTE = Path(__file__).resolve().parent / "job" / "execute.py"
FIGURES = "figure-*.png"


def questions_of(autograder: Path) -> dict:
    """{question: points} from the autograder's test files, for rows that produced no results."""
    out = {}
    with zipfile.ZipFile(autograder) as zf:
        for name in sorted(zf.namelist()):
            if re.fullmatch(r"tests/[^/]+\.py", name):
                out[Path(name).stem] = points_of(zf.read(name).decode())
    return out


def discover(folder: Path) -> list:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


@dataclass
class Run:
    """How one limited process tree ended."""

    status: Status | None
    """``TIMEOUT``, ``MEMORY``, ``DISK`` or ``ERROR`` (too many processes) when the watcher stopped it, else None."""
    code: int
    """Its exit code."""
    seconds: float
    """Wall time."""
    peak_mb: float
    """Peak resident memory of the whole process tree."""
    peak_process_mb: float
    """Peak resident memory of its largest process (the notebook's kernel)."""
    detail: str = ""
    """Which limit, in Spanish, when one stopped it."""


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


def _ram_files(proc: psutil.Process, size_mb: float) -> int:
    """Bytes the job holds in its own RAM-backed file systems (the sandbox's ``/tmp`` and ``/dev/shm``).

    Read through a process inside the sandbox (another mount namespace than ours), and only from
    mounts of the job's own size: never the host's ``/tmp`` by mistake.
    """
    try:
        ours = os.readlink("/proc/self/ns/mnt")
    except OSError:
        return 0
    for child in proc.children(recursive=True):
        try:
            if os.readlink(f"/proc/{child.pid}/ns/mnt") == ours:
                continue
            held = 0
            for mount in ("tmp", "dev/shm"):
                st = os.statvfs(f"/proc/{child.pid}/root/{mount}")
                if st.f_blocks * st.f_frsize <= size_mb * 2**20 * 1.05:
                    held += (st.f_blocks - st.f_bfree) * st.f_frsize
            return held
        except OSError:
            continue
    return 0


def folder_bytes(folder: Path) -> int:
    """Disk blocks under ``folder`` (sparse files count what they really use); past ``MAX_FILES`` entries, infinite."""
    total, seen, stack = 0, 0, [str(folder)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                seen += 1
                if seen > MAX_FILES:
                    return 1 << 62
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    return total


def _file_cap(max_bytes):
    """In the child: no single file past the disk cap, and a write past it fails (EFBIG) instead of killing."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def run_limited(cmd, cwd, env, timeout_s, memory_mb, log_path, disk_mb=None, disk_path=None, tmp_mb=None) -> Run:
    """Run ``cmd`` in its own session under limits on time, on memory (the tree's resident memory plus its
    RAM-backed files), on the files in ``disk_path`` and on its private ``/tmp`` (``tmp_mb``)."""
    start = time.monotonic()
    peak = peak_process = 0
    status, detail, last_disk = None, "", 0.0
    cap = int(disk_mb * 2**20) if disk_mb else None
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, preexec_fn=_file_cap(cap) if cap else None)
        proc = psutil.Process(popen.pid)
        while popen.poll() is None:
            sizes = _rss(proc) or [0]
            ram_files = _ram_files(proc, tmp_mb) if tmp_mb else 0
            peak, peak_process = max(peak, sum(sizes) + ram_files), max(peak_process, max(sizes))
            if len(sizes) > MAX_PROCESSES:
                status, detail = Status.ERROR, f"más de {MAX_PROCESSES} procesos a la vez"
            elif peak > memory_mb * 2**20:
                status, detail = Status.MEMORY, f"más de {memory_mb:.0f} MB de memoria (contando sus archivos en RAM)"
            elif tmp_mb and ram_files >= 0.98 * tmp_mb * 2**20:
                status, detail = Status.DISK, f"llenó su /tmp ({tmp_mb:.0f} MB)"
            elif time.monotonic() - start > timeout_s:
                status, detail = Status.TIMEOUT, f"más de {timeout_s:.0f} s"
            elif cap and disk_path and time.monotonic() - last_disk >= DISK_POLL_S:
                last_disk = time.monotonic()
                if folder_bytes(disk_path) >= cap:
                    status, detail = Status.DISK, f"sus archivos llegaron a {disk_mb:.0f} MB en disco"
            if status:
                _kill_tree(proc)
                break
            time.sleep(POLL_S)
        code = popen.wait()
    if status is None and cap and disk_path and folder_bytes(disk_path) >= cap:
        status, detail = Status.DISK, f"sus archivos llegaron a {disk_mb:.0f} MB en disco"
    return Run(status, code, time.monotonic() - start, peak / 2**20, peak_process / 2**20, detail)


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


def _limits(run: Run) -> str:
    return f"{run.detail}: calificación detenida"


def grade_one(submission: Path, autograder: Path, out: Path, timeout_s: float, memory_mb: float,
              questions: dict, threads: int = 1, workdir: Path | None = None, key: str | None = None,
              exempt: set | None = None, disk_mb: float = 2048, tmp_mb: float = 1024,
              max_unzipped_mb: float = intake.MAX_UNZIPPED_MB) -> Row:
    """Grade one submission in a job of its own; ``exempt`` are the kit's own cells (``tampering.kit_cells``,
    of the student template by default)."""
    row = Row(submission.name, questions={q: 0.0 for q in questions}, max_score=sum(questions.values()),
              key=key or content_key(submission, _sha256(autograder)))
    dest = results_dir(out, submission.name)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    refused = intake.problem(submission, intake.assignment_of(autograder), max_unzipped_mb)
    if refused:  # no job for a file that cannot be graded: the row says why
        row.status, row.message = Status.ERROR, refused
        return _saved(row, dest)
    started = time.monotonic()
    exempt = tampering.kit_cells() if exempt is None else exempt
    findings = tampering.scan(intake.read_notebook(submission, max_unzipped_mb), exempt)
    with tempfile.TemporaryDirectory(prefix="tl-grade-", dir=workdir) as job, \
            tempfile.TemporaryDirectory(prefix="tl-decide-", dir=workdir) as private:
        job, private = Path(job), Path(private)  # the job's folder, and the parent's own that the job never sees
        lab = unpack_lab(autograder, private / "lab")
        notebook = prepare_job(submission, lab, job / "work")
        sockets = Path(tempfile.mkdtemp(prefix="tlc-", dir="/tmp"))  # short: a socket's path has 108 bytes
        listener = channel.Listener(sockets / "obs.sock", private / "observations.jsonl")
        env = dict(os.environ, TMPDIR=str(job), **_thread_env(threads))
        env.pop("TL_CHANNEL", None)
        cmd = [sys.executable, str(EXECUTE), str(notebook), str(sockets / "obs.sock"), str(job / "figures")]
        confined = sandbox.available()
        if confined:
            cmd = sandbox.command(cmd, job, hide=[submission.parent, out, autograder.parent, private], tmp_mb=tmp_mb,
                                  shared=[sockets])
        try:
            run = run_limited(cmd, job, env, timeout_s, memory_mb, dest / "otter.log", disk_mb=disk_mb,
                              disk_path=job, tmp_mb=tmp_mb if confined else None)
        finally:
            listener.close()
            shutil.rmtree(sockets, ignore_errors=True)
        figures = job / "figures"
        made_files = [*figures.glob(FIGURES), figures / "run.json"] if figures.is_dir() and not figures.is_symlink() else []
        for made in sorted(made_files):
            if made.is_file() and not made.is_symlink() and made.stat().st_size <= 4 * 2**20:
                shutil.copy(made, dest / made.name)  # never a link the graded code planted, nor a huge file
        decided = None
        if run.status is None:
            decided = subprocess.run(decide.command(private, submission, lab, exempt, confined),
                                     cwd=paths.ROOT, capture_output=True, text=True, timeout=600)
            with open(dest / "otter.log", "a", encoding="utf-8") as log:
                log.write(decided.stdout + decided.stderr)
            for name in ("results.json", "cases.json", "evidence.json"):
                if (private / "verdict" / name).exists():
                    shutil.copy(private / "verdict" / name, dest / name)
    row.seconds, row.peak_mb = time.monotonic() - started, run.peak_mb
    if run.status is not None:
        row.status, row.message = run.status, _limits(run)
    elif decided is None or decided.returncode != 0 or not (dest / "results.json").exists():
        row.status = Status.ERROR
        row.message = f"la calificación terminó con código {decided.returncode if decided else run.code}: " \
                      f"{_tail(dest / 'otter.log')}"
    else:
        data = json.loads((dest / "results.json").read_text())
        for test in data.get("tests", []):
            if test.get("name") in row.questions:
                row.questions[test["name"]] = float(test.get("score") or 0)
        row.score = sum(row.questions.values())
        evidence = [tampering.Finding(**f) for f in json.loads((dest / "evidence.json").read_text())]
        if findings or evidence:  # graded all the same: the instructor judges the points with the lines in front
            row.status, row.message = Status.FLAGGED, tampering.summary(findings + evidence)
    return _saved(row, dest)


def _saved(row: Row, dest: Path) -> Row:
    """Keep the row beside its results: a re-run reuses it while the submission and autograder are unchanged."""
    (dest / "row.json").write_text(json.dumps(row.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return row


def grade_all(folder: Path, autograder: Path = paths.AUTOGRADER_ZIP, out: Path = paths.DEFAULT_OUT,
              jobs: int = 2, timeout_s: float = 600, memory_mb: float = 4096, progress=None,
              force: bool = False, workdir: Path | None = None, on_start=None,
              template: Path = paths.STUDENT / paths.MASTER.name, disk_mb: float = 2048, tmp_mb: float = 1024,
              max_unzipped_mb: float = intake.MAX_UNZIPPED_MB) -> list:
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
                            exempt, disk_mb=disk_mb, tmp_mb=tmp_mb, max_unzipped_mb=max_unzipped_mb)
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
    p.add_argument("--memory-mb", type=float, default=4096,
                   help="memory per submission: the process tree's resident memory plus its RAM-backed files "
                        "(its private /tmp and /dev/shm); past it the row is 'memory'")
    p.add_argument("--disk-mb", type=float, default=2048,
                   help="files per submission on disk (its job folder; no single file larger); past it the row is "
                        "'disk'")
    p.add_argument("--tmp-mb", type=float, default=1024,
                   help="size of each submission's private /tmp and /dev/shm (RAM); filling it makes the row 'disk'")
    p.add_argument("--max-unzipped-mb", type=float, default=intake.MAX_UNZIPPED_MB,
                   help="an export zip that would expand past this is refused before extraction ('error')")
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
                                   timeout_s=args.timeout, memory_mb=args.memory_mb, force=args.force,
                                   disk_mb=args.disk_mb, tmp_mb=args.tmp_mb, max_unzipped_mb=args.max_unzipped_mb)
    questions = questions_of(args.autograder)
    made = classwork.finish(args.out, rows, questions, args.submissions, args.student_pattern)
    print(classwork.summary(rows, questions))
    print(made)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
