"""One grading job: one submission in its own folder and sandbox, the kernel reporting over a channel, the verdict
made by another process; and ``run``, the same job as an executor's unit of work (bytes in, a row and its files out),
so that a local pool and a Dask cluster produce identical results folders."""
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kit import intake, layout, sandbox, scratch, tampering
from kit.job import channel, decide, kernels, verdicts
from kit.job.folder import assignment_of, prepare_job, unpack_lab
from kit.records import Row, Status
from kit.version import version
from kit.watch import Run, run_limited

EXECUTE = Path(__file__).resolve().parent / "execute.py"
FIGURES = "figure-*.png"


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
    dest = layout.results_dir(out, submission.name)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    refused = intake.problem(submission, assignment_of(autograder), max_unzipped_mb)
    if refused:  # no job for a file that cannot be graded: the row says why
        row.status, row.message = Status.ERROR, refused
        return _saved(row, dest)
    started = time.monotonic()
    exempt = tampering.kit_cells() if exempt is None else exempt
    findings = tampering.scan(intake.read_notebook(submission, max_unzipped_mb), exempt)
    with tempfile.TemporaryDirectory(prefix=scratch.prefix("grade"), dir=workdir) as job, \
            tempfile.TemporaryDirectory(prefix=scratch.prefix("decide"), dir=workdir) as private:
        job, private = Path(job), Path(private)  # the job's folder, and the parent's own that the job never sees
        lab = unpack_lab(autograder, private / "lab")
        notebook = prepare_job(submission, lab, job / "work")
        sockets = Path(tempfile.mkdtemp(prefix=scratch.prefix("channel"), dir="/tmp"))  # a socket's path: 108 bytes
        listener = channel.Listener(sockets / "obs.sock", private / "observations.jsonl")
        env = dict(os.environ, TMPDIR=str(job), **_thread_env(threads))
        env.pop("TL_CHANNEL", None)
        cmd = [sys.executable, str(EXECUTE), str(notebook), str(sockets / "obs.sock"), str(job / "figures")]
        confined = sandbox.available()
        door = None
        if confined:
            cmd = sandbox.command(cmd, job, tmp_mb=tmp_mb, channel=[sockets])
            door = kernels.open_door(sockets / "kernel.sock", env)
            if door is not None:  # the kernel forked into the sandbox, TensorFlow already imported
                env[kernels.DOOR_ENV] = str(door.path)
        try:
            run = run_limited(cmd, job, env, timeout_s, memory_mb, dest / "otter.log", disk_mb=disk_mb,
                              disk_path=job, tmp_mb=tmp_mb if confined else None)
        finally:
            listener.close()
            if door is not None:
                door.close()
            shutil.rmtree(sockets, ignore_errors=True)
        figures = job / "figures"
        made_files = [*figures.glob(FIGURES), figures / "run.json"] if figures.is_dir() and not figures.is_symlink() else []
        for made in sorted(made_files):
            if made.is_file() and not made.is_symlink() and made.stat().st_size <= 4 * 2**20:
                shutil.copy(made, dest / made.name)  # never a link the graded code planted, nor a huge file
        decided = None
        if run.status is None:
            decided = verdicts.verdict(decide.command(private, submission, lab, exempt, confined), dest / "otter.log")
            for name in ("results.json", "cases.json", "evidence.json", "unjudged.json"):
                if (private / "verdict" / name).exists():
                    shutil.copy(private / "verdict" / name, dest / name)
    row.seconds, row.peak_mb = time.monotonic() - started, run.peak_mb
    if run.status is not None:
        row.status, row.message = run.status, _limits(run)
    elif decided is None or decided != 0 or not (dest / "results.json").exists():
        row.status = Status.ERROR
        row.message = f"la calificación terminó con código {decided if decided is not None else run.code}: " \
                      f"{_tail(dest / 'otter.log')}"
    else:
        data = json.loads((dest / "results.json").read_text())
        for test in data.get("tests", []):
            if test.get("name") in row.questions:
                row.questions[test["name"]] = float(test.get("score") or 0)
        row.score = sum(row.questions.values())
        row.unjudged = unjudged_of(dest)
        if row.unjudged:
            row.key = ""  # a check the grader could not run is graded again on the next run
        evidence = [tampering.Finding(**f) for f in json.loads((dest / "evidence.json").read_text())]
        if findings or evidence:  # graded all the same: the instructor judges the points with the lines in front
            row.status, row.message = Status.FLAGGED, tampering.summary(findings + evidence)
    return _saved(row, dest)


def unjudged_of(results: Path) -> list:
    """``question: check (why)`` for each check the verdict could not run (its ``unjudged.json``)."""
    try:
        found = json.loads((results / "unjudged.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [f"{u.get('question')}: {u.get('check')} ({u.get('reason')})" for u in found if isinstance(u, dict)]


def _saved(row: Row, dest: Path) -> Row:
    """Keep the row beside its results: a re-run reuses it while the submission and autograder are unchanged (a row
    the grader failed on has no key, so it is graded again)."""
    if row.status == Status.RETRY:
        row.key = ""
    (dest / "row.json").write_text(json.dumps(row.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return row


ALLOW_UNCONFINED = "TL_ALLOW_UNCONFINED"
"""Set to ``1`` in a worker's environment to let it grade without bubblewrap (the instructor's decision)."""


def _threads(given: int | None) -> int:
    """TensorFlow threads for one job: the batch's share locally; on a Dask worker, its machine's cores over all
    the job slots of the workers on that machine (several workers may share one)."""
    if given:
        return given
    try:
        from distributed import get_client, get_worker
        worker = get_worker()
        host = worker.address.rsplit(":", 1)[0]
        workers = get_client().scheduler_info(n_workers=-1)["workers"]
        slots = sum(w["nthreads"] for address, w in workers.items() if address.rsplit(":", 1)[0] == host)
    except Exception:  # not on a worker, or the scheduler cannot say: one slot
        slots = 1
    return max(1, (os.cpu_count() or 1) // max(1, slots))


def _refusal(options: dict) -> str:
    """Why this machine must not grade the batch's jobs (for the instructor, in English), or ""."""
    node = os.uname().nodename
    wanted = options.get("kit_version")
    if wanted and wanted != version():
        return (f"the grading machine {node} runs kit {version()}, this batch kit {wanted}: check out the same "
                "commit there and restart its worker (python -m kit worker SCHEDULER), then run the same command")
    if not sandbox.available() and not (options.get("allow_unconfined") or os.environ.get(ALLOW_UNCONFINED) == "1"):
        return (f"the grading machine {node} has no bubblewrap and does not grade unconfined: install it there "
                f"({sandbox.INSTALL_HINT}), or start its worker with --allow-unconfined, then run the same command")
    return ""


def run(name: str, submission: bytes, autograder: bytes, key: str, options: dict) -> dict:
    """One job as an executor's unit: the submission's and the autograder's bytes in; the row (as JSON) and the
    files of its results folder out. It touches nothing of the caller's, so any machine with the kit, its pinned
    requirements and bubblewrap can run it; one without bubblewrap refuses unless ``options["allow_unconfined"]``
    or its own ``TL_ALLOW_UNCONFINED=1`` says otherwise."""
    refused = _refusal(options)
    if refused:  # the grading machine's problem, not the notebook's: graded again on the next run
        row = Row(name, status=Status.RETRY, questions={q: 0.0 for q in options["questions"]},
                  max_score=sum(options["questions"].values()), message=refused)
        return {"row": row.to_dict(), "files": {}}
    workdir = Path(options["workdir"]) if options.get("workdir") else None
    with tempfile.TemporaryDirectory(prefix=scratch.prefix("task"), dir=workdir) as task:
        task = Path(task)
        for part in ("in", "ag"):
            (task / part).mkdir()
        (task / "in" / name).write_bytes(submission)
        (task / "ag" / "autograder.zip").write_bytes(autograder)
        row = grade_one(task / "in" / name, task / "ag" / "autograder.zip", task / "out", options["timeout_s"],
                        options["memory_mb"], options["questions"], _threads(options.get("threads")), workdir,
                        key=key, exempt=set(options["exempt"]), disk_mb=options["disk_mb"],
                        tmp_mb=options["tmp_mb"], max_unzipped_mb=options["max_unzipped_mb"])
        dest = layout.results_dir(task / "out", name)
        files = {f.name: f.read_bytes() for f in sorted(dest.iterdir()) if f.is_file() and f.name != "row.json"}
    return {"row": row.to_dict(), "files": files}


def save(result: dict, out: Path) -> Row:
    """Write a job's result into ``out`` as the job would have locally: its results folder, then its row."""
    row = Row.from_dict(result["row"])
    dest = layout.results_dir(out, row.submission)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name, data in result["files"].items():
        if "/" not in name and name not in ("", ".", ".."):
            (dest / name).write_bytes(data)
    return _saved(row, dest)
