"""The grading jobs' scratch folders: named after the process that made them, so that a later run can sweep the
ones whose run is gone (a closed terminal, an OOM kill, a SIGKILL) and never another live run's.

    tl-grade-<pid>-<start>-XXXX    a job's folder (its notebook and files; up to --disk-mb)
    tl-decide-<pid>-<start>-XXXX   the parent's private folder (the autograder, the transcript)
    tl-task-<pid>-<start>-XXXX     an executor's unit (the bytes it was handed)
    tlc-<pid>-<start>-XXXX         the channel's socket (under /tmp: a socket's path has 108 bytes)

``<start>`` is the process's start time in centiseconds since the epoch, so a reused pid is not mistaken for it.
"""
import functools
import os
import re
import shutil
import tempfile
from pathlib import Path

import psutil

KINDS = ("grade", "decide", "task")
_NAME = re.compile(r"^tl(?:c|-(?:grade|decide|task))-(\d+)-(\d+)-")


def _start(pid: int) -> int | None:
    try:
        return int(psutil.Process(pid).create_time() * 100)
    except psutil.Error:
        return None


@functools.cache
def _own() -> str:
    return f"{os.getpid()}-{_start(os.getpid())}-"


def prefix(kind: str) -> str:
    """``tempfile``'s prefix for a folder of ``kind`` made by this process."""
    return ("tlc-" if kind == "channel" else f"tl-{kind}-") + _own()


def alive(pid: int, start: int) -> bool:
    """Whether the process that made a folder is still running (the same pid and the same start time)."""
    now = _start(pid)
    return now is not None and abs(now - start) <= 1


def sweep(*folders) -> list:
    """Remove the scratch folders under ``folders`` (default: the temp folder and /tmp) whose run is gone; returns
    what was removed. A folder of a live run, or one not named by this module, is never touched."""
    removed = []
    for folder in {Path(f) for f in (folders or (tempfile.gettempdir(), "/tmp"))}:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = _NAME.match(entry.name)
            if not match or not entry.is_dir(follow_symlinks=False) or alive(int(match[1]), int(match[2])):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed
