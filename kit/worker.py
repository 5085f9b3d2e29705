"""A Dask worker that can grade the kit's jobs: ``python -m kit worker tcp://HOST:8786``, from the kit's checkout.

Dask's own ``dask worker`` and ``dask scheduler`` console scripts put their script's folder on ``sys.path``, not the
checkout, and both unpickle the batch's jobs (Dask 2025's scheduler unpacks the task graph too), so every row came
back as Dask's "Error during deserialization of the task graph". This command (and ``kit.scheduler``) is Dask's worker with the checkout importable (in this process and in the ones its nanny starts), after the
checks a grading machine needs before it accepts a job: bubblewrap (or ``--allow-unconfined``, the instructor's
decision), and it says which kit version it runs. A job from a batch of another kit version is refused with a
``retry`` row that names both versions. TensorFlow's threads are shared per job from the machine's cores and the
job slots of the workers on it (``kit.job.one``).
"""
import argparse
import os
import sys

from kit import cli, paths, sandbox
from kit.job.one import ALLOW_UNCONFINED
from kit.version import version


def importable() -> str:
    """Make the checkout importable here and in every process this one starts (Dask's nanny spawns the worker);
    returns the checkout's path."""
    root = str(paths.ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return root


def parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m kit worker", "Start a Dask worker that grades this kit's jobs (python -m kit grade "
                   "--executor dask --scheduler SCHEDULER).", "cluster.md")
    p.add_argument("scheduler", nargs="?", default=None,
                   help="the scheduler's address: the first line 'python -m kit scheduler' prints, e.g. "
                        "tcp://10.0.0.5:8786 (none: Dask's DASK_SCHEDULER_ADDRESS); any other option is handed to "
                        "Dask's worker as it is")
    p.add_argument("--nthreads", type=int, default=1,
                   help="jobs this worker grades at once (the machine's cores are shared between them)")
    p.add_argument("--name", default=None, help="the worker's name in the scheduler (none: Dask's)")
    p.add_argument("--local-directory", default=None, help="Dask's scratch folder (none: Dask's)")
    p.add_argument("--no-nanny", action="store_true", help="run the worker in this process, without Dask's nanny")
    p.add_argument("--allow-unconfined", action="store_true",
                   help="grade without bubblewrap on this machine (submissions then run unconfined as your user)")
    return p


def reachable(address: str) -> str:
    """Why a worker could not join the scheduler at ``address`` (the documentation's placeholder, a host name that does
    not resolve, nothing listening), or ""."""
    import socket
    from urllib.parse import urlsplit

    if "HOST" in address:
        return (f"{address} is the documentation's placeholder: give the address python -m kit scheduler printed as "
                "its first line (e.g. tcp://10.0.0.5:8786)")
    try:
        where = urlsplit(address if "://" in address else f"tcp://{address}")
        with socket.create_connection((where.hostname, where.port or 8786), timeout=10):
            return ""
    except (OSError, ValueError) as exc:
        return (f"cannot reach the scheduler at {address} ({exc}): is python -m kit scheduler running there? Its "
                "first line is its address")


def main(argv=None) -> int:
    args, rest = parser().parse_known_args(argv)  # Dask's own options too: a drop-in for 'dask worker'
    why = reachable(args.scheduler) if args.scheduler else ""
    if why:
        print(f"python -m kit worker: {why}", file=sys.stderr)
        return cli.REFUSED
    if not sandbox.available():
        if not args.allow_unconfined:
            print(f"python -m kit worker: this machine has no working bubblewrap, so it would grade submissions "
                  f"unconfined. Install it ({sandbox.INSTALL_HINT}), or pass --allow-unconfined to accept that.",
                  file=sys.stderr)
            return 2
        os.environ[ALLOW_UNCONFINED] = "1"
        print(sandbox.warning(), file=sys.stderr)
    root = importable()
    print(f"python -m kit worker: kit {version()} from {root}, {sandbox.confined()}, {args.nthreads} job(s) at "
          f"once, scheduler {args.scheduler or 'from DASK_SCHEDULER_ADDRESS'}", file=sys.stderr, flush=True)
    from distributed.cli.dask_worker import main as dask_worker

    options = [*([args.scheduler] if args.scheduler else []), "--nthreads", str(args.nthreads), *rest]
    options += ["--name", args.name] if args.name else []
    options += ["--local-directory", args.local_directory] if args.local_directory else []
    options += ["--no-nanny"] if args.no_nanny else []
    return dask_worker.main(args=options, prog_name="python -m kit worker", standalone_mode=False) or 0
