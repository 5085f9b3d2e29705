"""One grading run per ``--out`` at a time: a second one says which run holds it and stops, or waits its turn.

The lock is an ``flock`` on ``OUT/.grading.lock``: the kernel releases it when its run ends in any way (a SIGKILL
included), so a lock left by a dead run is simply taken over. The file says who holds it, for the message.
"""
import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path

LOCK = ".grading.lock"


class Busy(SystemExit):
    """Another live run holds ``--out``: exit code 2, and the message names it."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']}, started {info['started']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"


@contextlib.contextmanager
def held(out: Path, wait: bool = False, say=lambda text: print(text, file=sys.stderr)):
    """Hold ``out`` for this run; ``Busy`` when another live run holds it, unless ``wait``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            if not wait:
                raise Busy(f"{out} is being graded by another run ({holder}). Wait for it to end, or pass --wait "
                           "to start when it does.") from None
            say(f"waiting for the run that holds {out} ({holder})")
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                            "command": " ".join(["python -m kit", *sys.argv[1:]])}))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
