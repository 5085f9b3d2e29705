"""The Dask scheduler of a grading cluster: ``python -m kit scheduler``, from the kit's checkout.

Dask's scheduler unpacks the batch's task graph, so, like each worker (``python -m kit worker``), it must be able to
import the kit: this is ``dask scheduler`` with the checkout importable. It prints the address the workers and
``python -m kit grade --executor dask --scheduler ADDRESS`` take.
"""
import argparse
import sys

from kit.version import version
from kit.worker import importable


NO_WORKERS_S = 120
"""How long a job waits for a worker before it fails, so that a batch whose workers all left never hangs."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kit scheduler",
                                description="Start the Dask scheduler of a grading cluster (then python -m kit worker "
                                            "ADDRESS on each grading machine).")
    p.add_argument("--host", default=None, help="the address to listen on (default: Dask's, every interface)")
    p.add_argument("--port", type=int, default=8786, help="the port (default 8786; 0 for a free one)")
    p.add_argument("--scheduler-file", default=None, help="also write the address to this JSON file (Dask's format)")
    p.add_argument("--no-workers-timeout", type=float, default=NO_WORKERS_S,
                   help=f"seconds a job may wait while no worker can take it before it fails as a 'retry' row "
                        f"(default {NO_WORKERS_S:g}; a worker that cannot load the kit leaves on its first job)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    root = importable()
    print(f"python -m kit scheduler: kit {version()} from {root}", file=sys.stderr, flush=True)
    import dask
    from distributed.cli.dask_scheduler import main as dask_scheduler

    dask.config.set({"distributed.scheduler.no-workers-timeout": f"{args.no_workers_timeout}s"})

    options = ["--port", str(args.port), "--no-dashboard"]
    options += ["--host", args.host] if args.host else []
    options += ["--scheduler-file", args.scheduler_file] if args.scheduler_file else []
    return dask_scheduler.main(args=options, prog_name="python -m kit scheduler", standalone_mode=False) or 0
