"""The Dask scheduler of a grading cluster: ``python -m kit scheduler``, from the kit's checkout.

Dask's scheduler unpacks the batch's task graph, so, like each worker (``python -m kit worker``), it must be able to
import the kit: this is ``dask scheduler`` with the checkout importable. It prints the address the workers and
``python -m kit grade --executor dask --scheduler ADDRESS`` take, alone on the first line of its standard output
(Dask's own log goes to standard error).
"""
import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path

from kit import cli
from kit.version import version
from kit.worker import importable


NO_WORKERS_S = 120
"""How long a job waits for a worker before it fails, so that a batch whose workers all left never hangs."""


def parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m kit scheduler", "Start the Dask scheduler of a grading cluster; its first line on "
                   "standard output is its address (then python -m kit worker ADDRESS on each grading machine).",
                   "cluster.md")
    p.add_argument("--host", default=None, help="the address to listen on (none: Dask's, every interface)")
    p.add_argument("--port", type=int, default=8786, help="the port (0 for a free one)")
    p.add_argument("--scheduler-file", default=None, help="also write the address to this JSON file (Dask's format)")
    p.add_argument("--no-workers-timeout", type=float, default=NO_WORKERS_S,
                   help="seconds a job may wait while no worker can take it before it fails as a 'retry' row (a "
                        "worker that cannot load the kit leaves on its first job)")
    return p


def _say_address(scheduler_file: Path, stop: threading.Event) -> None:
    """Print the scheduler's address on standard output, alone on the first line, once Dask has written it."""
    while not stop.wait(0.1):
        try:
            address = json.loads(scheduler_file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            continue
        print(address, flush=True)
        print(f"python -m kit scheduler: listening at {address}; on each grading machine: python -m kit worker "
              f"{address}", file=sys.stderr, flush=True)
        return


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    root = importable()
    print(f"python -m kit scheduler: kit {version()} from {root}", file=sys.stderr, flush=True)
    import dask
    from distributed.cli.dask_scheduler import main as dask_scheduler

    dask.config.set({"distributed.scheduler.no-workers-timeout": f"{args.no_workers_timeout}s"})
    with tempfile.TemporaryDirectory(prefix="tl-scheduler-") as folder:
        scheduler_file = Path(args.scheduler_file or Path(folder) / "scheduler.json")
        scheduler_file.unlink(missing_ok=True)
        stop = threading.Event()
        threading.Thread(target=_say_address, args=(scheduler_file, stop), daemon=True).start()
        options = ["--port", str(args.port), "--no-dashboard", "--scheduler-file", str(scheduler_file)]
        options += ["--host", args.host] if args.host else []
        try:
            return dask_scheduler.main(args=options, prog_name="python -m kit scheduler", standalone_mode=False) or 0
        finally:
            stop.set()
