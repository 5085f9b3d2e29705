"""Where the batch's jobs run: a local pool (the default) or a Dask cluster, behind one ``concurrent.futures``
executor. A job is ``kit.job.one.run``: bytes in, a row and its files out, so the results are the same either way.

    python -m kit grade SUBS                                             # local: --jobs at once
    python -m kit grade SUBS --executor dask --scheduler tcp://HOST:8786 # a cluster: one job per worker slot

Dask's scheduler reschedules the jobs of a worker that dies; a job that kills workers repeatedly ends as an
``error`` row, never an aborted batch.
"""
import contextlib
from concurrent.futures import ThreadPoolExecutor

KINDS = ("local", "dask")


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
    from distributed import Client

    with Client(scheduler, timeout="30s") as client:
        yield client.get_executor(pure=False)
