"""Where the batch's jobs run: a local pool (the default) or a Dask cluster, behind one ``concurrent.futures``
executor. A job is ``kit.job.one.run``: bytes in, a row and its files out, so the results are the same either way.

    python -m kit grade SUBS                                             # local: --jobs at once
    python -m kit grade SUBS --executor dask --scheduler tcp://HOST:8786 # a cluster: one job per worker slot

Dask's scheduler reschedules the jobs of a worker that dies; a job that kills workers repeatedly ends as an
``error`` row, never an aborted batch.
"""
import argparse
import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

KINDS = ("local", "dask")
AUTO = "auto"


def local_slots(memory_mb: float, cores: int | None = None, available_mb: float | None = None) -> int:
    """How many jobs ``--jobs auto`` runs at once here: one more than the cores, since a job leaves its core idle
    while its processes start and while its verdict waits (on 2 cores, 3 jobs graded a class of 10 in 229 s, 2 jobs
    in 253 s), but never more than free memory holds at each job's limit (Submitty and PrairieLearn cap so too)."""
    import psutil

    cores = cores or os.cpu_count() or 1
    available_mb = psutil.virtual_memory().available / 2**20 if available_mb is None else available_mb
    return max(1, min(cores + 1, int(available_mb // max(1.0, memory_mb))))


def jobs_option(text: str) -> str | int:
    """``--jobs``: ``auto`` or a positive number."""
    if text == AUTO:
        return AUTO
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected '{AUTO}' or a whole number of at least 1, got {text!r}")
    return value


def resolved(jobs: str | int, memory_mb: float) -> int:
    return local_slots(memory_mb) if jobs == AUTO else max(1, int(jobs))


@contextlib.contextmanager
def opened(kind: str, jobs: int, scheduler: str | None = None):
    """An executor for ``kind``; the Dask client (and its connection) is closed on exit."""
    if kind == "local":
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            yield pool
        return
    if kind != "dask":
        raise ValueError(f"unknown executor {kind!r}: one of {KINDS}")
    if not scheduler:
        raise SystemExit("--executor dask needs --scheduler tcp://HOST:PORT (the address 'dask scheduler' prints)")
    import logging

    from distributed import Client

    # Dask logs a lost connection with its traceback; the kit says it in one line (the jobs' rows are 'retry')
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.split(".")[0] == "distributed":
            logging.getLogger(name).setLevel(logging.CRITICAL)

    if "HOST" in scheduler:
        raise Unreachable(f"{scheduler} is the documentation's placeholder: give the address that python -m kit "
                          "scheduler printed as its first line (e.g. tcp://10.0.0.5:8786)")
    try:
        client = Client(scheduler, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise Unreachable(f"cannot reach the scheduler at {scheduler} ({type(exc).__name__}): is python -m kit "
                          "scheduler running there? Its first line is its address") from None
    with client:
        yield client.get_executor(pure=False)


class Unreachable(Exception):
    """The cluster named by ``--scheduler`` cannot be reached: nothing was graded."""
