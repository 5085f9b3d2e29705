"""Grade a folder of submissions with the autograder, without Docker, and finish the class.

    python -m kit grade SUBMISSIONS [--out grades] [--jobs auto] [--timeout 600] [--memory-mb 4096] [--disk-mb 2048]
                                    [--tmp-mb 1024] [--max-unzipped-mb 200] [--force]
                                    [--executor local|dask] [--scheduler tcp://HOST:8786] [--allow-unconfined]

This module is the batch: which submissions need grading, one job each (``kit.job.one.run``) on
the executor chosen (``kit.executors``: this machine's pool, or a Dask cluster), their rows
into ``grades.csv``. One job copies its submission into a private folder and runs it there in
a fresh kernel (``kit.job.execute``) that reports what happens over a channel its parent opens
first (``kit.job.channel``); the verdict is made afterwards by ``kit.job.decide``, a process that
runs no student code. A broken, slow, memory- or disk-hungry submission only ever costs its own
row: a watcher (``kit.watch``) kills the whole process tree past the time limit, the memory
limit (resident memory plus the job's RAM-backed files) or the disk limit (its folder and its
``/tmp``).

Re-running into the same ``--out`` regrades only submissions whose content (or the
autograder) changed. Then ``kit.classwork`` writes the feedback pages, the discussion
page, the gradebook and the class report from what is in ``--out``.
"""
import argparse
import errno
import hashlib
import os
import shlex
import sys
from concurrent.futures import as_completed
from pathlib import Path

from kit import cli, executors, intake, layout, paths, runlock, sandbox, scratch, tampering, watch
from kit.grades_table import differs, load_expected, table, write_csv  # noqa: F401 (the batch's CSV and its readers)
from kit.job.folder import assignment_of, questions_of  # noqa: F401 (the autograder's one reader)
from kit.job import one
from kit.job.one import content_key, grade_one  # noqa: F401 (one job, graded by the batch)
from kit.records import Row, Status
from kit.version import version

SUFFIXES = (".ipynb", ".zip")
MEMORY_MB = 4096
"""Each submission's memory limit unless ``--memory-mb`` says otherwise."""


class Interrupted(Exception):
    """The batch was stopped (Ctrl-C): what was graded is kept, the rest is graded by the same command again."""

    def __init__(self, kept: int, left: int):
        super().__init__(f"{kept} graded and kept, {left} not graded")
        self.kept, self.left = kept, left


class Refused(Exception):
    """The command cannot start as given: one line says why and what to do; nothing was done."""


def grader_failure(exc: BaseException) -> str:
    """What an exception around a job (the grader's or the cluster's, not the notebook's) says to the instructor."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, (ModuleNotFoundError, ImportError)) or "deserializ" in text.lower():
        hint = ("a worker could not load the kit's job: start each worker with `python -m kit worker "
                "tcp://HOST:8786` from the kit's checkout (the same commit as here)")
    elif type(exc).__name__ in ("NoWorkerError", "NoValidWorkerError"):
        hint = ("no worker was left to take the job (a worker that cannot load the kit leaves on its first job): "
                "start each worker with `python -m kit worker tcp://HOST:8786` from the kit's checkout")
    else:
        hint = "the grader or the cluster failed, not the notebook"
    # one line: Dask puts the remote side's traceback into the message it raises
    said = " ".join(str(exc).split("Traceback (most recent call last)")[0].split()).rstrip(":")
    return f"{hint}; run the same command again to grade it ({type(exc).__name__}{f': {said}' if said else ''})"[:400]


def discover(folder: Path) -> list:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def discover_class(folders) -> list:
    """Every submission of a class's folders (one folder, or a list); ``Refused`` when two share a file name (a row
    is named after its file)."""
    found, seen = [], {}
    for folder in folders if isinstance(folders, (list, tuple)) else [folders]:
        for path in discover(Path(folder)):
            if path.name in seen:
                raise Refused(f"{path.name} is in both {seen[path.name]} and {path.parent}: rename one (a row is named "
                              "after its file)")
            seen[path.name] = path.parent
            found.append(path)
    return sorted(found, key=lambda p: p.name)


def grade_all(folder: Path, autograder: Path = paths.AUTOGRADER_ZIP, out: Path = paths.DEFAULT_OUT,
              jobs: int | str = 2, timeout_s: float = 600, memory_mb: float = MEMORY_MB, progress=None,
              force: bool = False, workdir: Path | None = None, on_start=None,
              template: Path = paths.STUDENT / paths.MASTER.name, disk_mb: float = 2048, tmp_mb: float = 1024,
              max_unzipped_mb: float = intake.MAX_UNZIPPED_MB, executor: str = "local",
              scheduler: str | None = None, allow_unconfined: bool = False) -> list:
    """Grade every submission in ``folder`` (or in each of a list of folders, one class) that is new or changed since
    the last run into ``out``.

    Each job runs where ``executor`` says (``kit.executors``), ``jobs`` at once locally (a number, or ``auto``);
    ``on_start(n)`` is told how many will really be graded; ``progress(row)`` hears of each one done.
    """
    jobs = executors.resolved(jobs, memory_mb)
    if executor == "local" and not sandbox.available():
        print(sandbox.warning(), file=sys.stderr)
    if executor == "local":
        scratch.sweep(*([workdir] if workdir else []))  # what crashed runs left behind, never a live run's
    watch.STOP.clear()
    questions = questions_of(autograder)
    submissions = discover_class(folder)
    out.mkdir(parents=True, exist_ok=True)

    autograder_bytes = autograder.read_bytes()
    autograder_sha256 = hashlib.sha256(autograder_bytes).digest()
    keys = {sub.name: content_key(sub, autograder_sha256) for sub in submissions}
    kept, todo = {}, []
    for sub in submissions:
        old = None if force else layout.load_row(out, sub.name)
        if old is not None and old.key == keys[sub.name]:
            kept[sub.name] = old
        else:
            todo.append(sub)
    if on_start:
        on_start(len(todo))
    options = {"timeout_s": timeout_s, "memory_mb": memory_mb, "questions": questions, "disk_mb": disk_mb,
               "tmp_mb": tmp_mb, "max_unzipped_mb": max_unzipped_mb, "exempt": sorted(tampering.kit_cells(template)),
               "threads": max(1, (os.cpu_count() or 1) // max(1, jobs)) if executor == "local" else None,
               "allow_unconfined": allow_unconfined or executor == "local", "kit_version": version(),
               "workdir": str(workdir) if workdir and executor == "local" else None}  # a worker uses its own /tmp

    def failed(sub, exc) -> Row:  # a row, never an aborted batch; not kept, so the next run grades it
        return Row(sub.name, status=Status.RETRY, questions={q: 0.0 for q in questions},
                   max_score=sum(questions.values()), message=grader_failure(exc))

    graded = {}
    with executors.opened(executor, jobs, scheduler) as pool:
        futures = {pool.submit(one.run, sub.name, sub.read_bytes(), autograder_bytes, keys[sub.name], options): sub
                   for sub in todo}
        try:
            for future in as_completed(futures):
                sub = futures[future]
                try:
                    row = one.save(future.result(), out)
                except Exception as exc:
                    row = failed(sub, exc)
                graded[sub.name] = row
                if progress:
                    progress(row)
        except KeyboardInterrupt:
            watch.STOP.set()  # each running job's watcher kills its tree; the pool then closes in seconds
            for future in futures:
                future.cancel()
            raise Interrupted(len(graded), len(todo) - len(graded)) from None
    rows = [kept.get(sub.name) or graded[sub.name] for sub in submissions]
    write_csv(rows, questions, out / layout.GRADES)
    return rows


def grade_all_with_progress(folder: Path, autograder: Path, out: Path, **options) -> list:
    """``grade_all`` behind the kit's progress bar: what the command line shows while a class is graded."""
    from kit import progress

    with progress.Bar() as bar:
        return grade_all(folder, autograder, out, progress=bar.advance, on_start=bar.start, **options)


def parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m kit grade", "Grade every .ipynb/.zip in a folder, then write feedback, the discussion "
                   "page, the gradebook and the class report. Exit codes: 0 done; 2 refused (nothing done); 3 done, "
                   "but some rows are 'retry' (the grader or the cluster failed on them: run the same command again); "
                   "4 could not finish (a full disk, an --out that cannot be written): every graded row is kept; "
                   "130 interrupted.", "grading-a-class.md")
    p.add_argument("submissions", type=Path, help="folder of students' .ipynb or export .zip files")
    p.add_argument("--autograder", type=Path, default=paths.AUTOGRADER_ZIP, help="the autograder zip to grade with")
    p.add_argument("--out", type=Path, default=paths.DEFAULT_OUT,
                   help="where every output goes: one class per folder (see --add)")
    p.add_argument("--add", action="store_true",
                   help="SUBMISSIONS is one more folder of the class --out already holds (late submissions, a "
                        "second group): grade it into the same class")
    p.add_argument("--jobs", type=executors.jobs_option, default=executors.AUTO,
                   help="submissions graded at once on this machine: a number, or 'auto' (one more than the cores, "
                        "as far as free memory holds --memory-mb for each)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per submission")
    p.add_argument("--memory-mb", type=float, default=MEMORY_MB,
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
    p.add_argument("--wait", action="store_true",
                   help="when another run is grading into the same --out, wait for it to end instead of stopping")
    p.add_argument("--executor", choices=executors.KINDS, default="local",
                   help="where the jobs run: 'local' (--jobs at once on this machine) or 'dask' (a cluster's "
                        "workers; see --scheduler)")
    p.add_argument("--scheduler", default=None,
                   help="with --executor dask: the scheduler's address, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--allow-unconfined", action="store_true",
                   help="with --executor dask: let workers without bubblewrap grade, unconfined (they refuse "
                        "otherwise)")
    p.add_argument("--docker", action="store_true",
                   help="grade in Otter's own Docker containers instead (otter grade): needs a Docker engine; "
                        "writes Otter's final_grades.csv under --out, without the kit's feedback and report")
    p.add_argument("--student-pattern", default=None,
                   help="regex with a (?P<student>...) group, matched against each file name (none: Moodle's and "
                        "Canvas's download names, else the file's stem)")
    p.add_argument("--no-copies", action="store_true",
                   help="skip the class-level look for copied work (the same run, the same Colab account, the same "
                        "words across the class; see docs/grading-a-class.md, 'Possible copies')")
    return p


def class_of(out: Path, folder: Path, add: bool) -> list:
    """The submission folders a run on ``folder`` grades into ``out``: the class ``out`` holds (``class.json``), with
    ``folder`` added when ``add``; ``Refused`` when ``out`` holds another class."""
    folder = folder.resolve()
    known = [f for f in layout.class_folders(out) if f.is_dir()]
    if not known or folder in known:
        return known or [folder]
    if not add:
        raise Refused(f"{out} holds the class graded from {known[0]}, not {folder}: grade this one into a folder of "
                      f"its own (--out another-folder), or, if it is more of the same class (late submissions, "
                      f"a second group), add it to that class with --add")
    return [*known, folder]


def _cannot_finish(exc: OSError, out: Path, again: str) -> str:
    """One line for an ``OSError`` that stopped the run: what happened and what to do."""
    where = exc.filename or out
    if exc.errno == errno.ENOSPC:
        return (f"the disk holding {where} is full: free some space, then run the same command; every row graded "
                f"so far is kept in {out}: {again}")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write into {where} ({exc.strerror}): give an --out you can write to, or make it "
                f"writable, then run the same command: {again}")
    return f"could not finish ({exc.strerror or exc}: {where}); every row graded so far is kept in {out}: {again}"


def main(argv=None) -> int:
    from kit import classwork

    given = list(sys.argv[1:] if argv is None else argv)
    again = "python -m kit grade " + shlex.join(given)
    args = parser().parse_args(given)
    if not args.submissions.is_dir():
        parser().error(f"{args.submissions} is not a folder")
    if args.docker:
        from kit import containers

        jobs = executors.resolved(args.jobs, args.memory_mb)
        return containers.grade(args.submissions, args.autograder, args.out, jobs, args.timeout)
    try:
        folders = class_of(args.out, args.submissions, args.add)
        with runlock.held(args.out, args.wait):
            rows = grade_all_with_progress(folders, args.autograder, args.out, jobs=args.jobs,
                                           timeout_s=args.timeout, memory_mb=args.memory_mb, force=args.force,
                                           disk_mb=args.disk_mb, tmp_mb=args.tmp_mb,
                                           max_unzipped_mb=args.max_unzipped_mb, executor=args.executor,
                                           scheduler=args.scheduler, allow_unconfined=args.allow_unconfined)
            questions = questions_of(args.autograder)
            layout.write_origin(args.out, folders, args.autograder, args.student_pattern, not args.no_copies)
            made = classwork.finish(args.out, rows, questions, folders, args.student_pattern, not args.no_copies)
    except Refused as refused:
        print(f"python -m kit grade: {refused}", file=sys.stderr)
        return cli.REFUSED
    except runlock.Busy as busy:
        print(f"python -m kit grade: {busy.message}", file=sys.stderr)
        return cli.REFUSED
    except Interrupted as stop:
        print(f"python -m kit grade: interrupted: {stop.kept} graded and kept in {args.out}, {stop.left} not graded; "
              f"the same command grades the rest: {again}", file=sys.stderr)
        return cli.INTERRUPTED
    except KeyboardInterrupt:
        print(f"python -m kit grade: interrupted while finishing the class: every graded row is kept in {args.out}; "
              f"the same command finishes it: {again}", file=sys.stderr)
        return cli.INTERRUPTED
    except executors.Unreachable as lost:
        print(f"python -m kit grade: {lost}; nothing was graded: {again}", file=sys.stderr)
        return cli.UNFINISHED
    except OSError as exc:
        print(f"python -m kit grade: {_cannot_finish(exc, args.out, again)}", file=sys.stderr)
        return cli.UNFINISHED
    print(classwork.summary(rows, questions))
    print(made)
    retry = [r for r in rows if r.status == Status.RETRY]
    if retry:
        print(f"python -m kit grade: {len(retry)} of {len(rows)} rows are 'retry': the grader or the cluster failed on "
              f"them, not the students; the same command grades them: {again}", file=sys.stderr)
        return cli.RETRY
    return cli.OK


if __name__ == "__main__":
    raise SystemExit(main())
