"""Each grading job in a bubblewrap sandbox: no network, no view of the instructor's files.

A submission's code runs as the instructor's user. Inside ``bwrap`` it sees a read-only
system and virtual environment, its own writable job folder and ``/tmp``, and empty
folders where the instructor's home, the other submissions, the output and the kit's
repository (hidden tests included) would be. It has its own network namespace (loopback
only, nothing outside) and its own process namespace: when the job ends, every process it
started is killed with it.

Where ``bwrap`` is missing or cannot create namespaces (macOS, Windows, some
containers) the job runs unconfined, and ``warning()`` says what is lost.
"""
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from kit import paths

INSTALL_HINT = "sudo apt-get install bubblewrap"


@functools.cache
def available() -> bool:
    """Whether ``bwrap`` is installed and can create the namespaces a job needs, tried once per process."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    try:
        done = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-all", "--die-with-parent", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def warning() -> str:
    return ("WARNING: bubblewrap is not available, so submissions run UNCONFINED as your user: their code can "
            "read other submissions and your files, write wherever you can, use the network and leave "
            f"processes behind. Install it ({INSTALL_HINT}) on Linux, or grade in containers with --docker.")


def _existing(paths_):
    seen, out = set(), []
    for p in paths_:
        p = Path(p).resolve()
        if p.exists() and p not in seen:
            seen.add(p)
            out.append(p)
    return out


def interpreter_binds(extra=()) -> list:
    """bubblewrap's arguments that mount the running Python (its environment and the interpreter it was made
    from) and ``extra`` again, read-only: after an empty ``/tmp`` or home, a venv that lives there still runs."""
    args = []
    for folder in _existing([sys.prefix, sys.base_prefix, *extra]):
        args += ["--ro-bind", str(folder), str(folder)]
    return args


def command(cmd: list, job: Path, hide: list, tmp_mb: float = 1024, shared: list = ()) -> list:
    """``cmd`` wrapped to run in ``job``: ``hide`` (folders) and the user's home read as empty, the kit's
    code and the Python running it stay readable, and only ``job``, ``shared`` (the channel's socket) and a
    private ``/tmp`` and ``/dev/shm`` of ``tmp_mb`` each are writable."""
    size = str(int(tmp_mb * 2**20))
    args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm",
            "--proc", "/proc", "--size", size, "--tmpfs", "/tmp"]
    for folder in _existing([Path.home(), paths.ROOT, *hide]):
        args += ["--tmpfs", str(folder)]
    # Mounted after the empty folders, so they reappear inside them when they live there (a venv in the repo,
    # Keras' cache of real weights in the home folder: fast mode grades the same inside as outside).
    weights = [os.environ.get("KERAS_HOME") or Path.home() / ".keras", os.environ.get("LAB_WEIGHTS") or "/nonexistent"]
    args += interpreter_binds([paths.ROOT / "kit", *weights])
    job = Path(job).resolve()
    for folder in shared:
        args += ["--bind", str(folder), str(folder)]
    args += ["--bind", str(job), str(job), "--chdir", str(job), "--setenv", "HOME", str(job),
             "--unshare-all", "--die-with-parent", "--new-session", "--"]
    return args + [str(c) for c in cmd]


def confined() -> str:
    """How jobs run here, for the grader's log line."""
    return "sandboxed (bubblewrap)" if available() else "UNCONFINED (no bubblewrap)"


if __name__ == "__main__":  # a quick probe: python -m kit.sandbox
    print(confined())
    raise SystemExit(0 if available() else 1)
