"""The process watcher: run one command in its own session under limits on time, memory (its whole process tree
plus its RAM-backed files), processes and disk, and say how it ended."""
import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from kit.records import Status

STOP = threading.Event()
"""Set when the batch is interrupted (Ctrl-C): every watcher in this process kills its process tree at once."""
POLL_S = 0.25
DISK_POLL_S = 1.0
MAX_PROCESSES = 256  # a kernel and its helpers need a handful; more is a fork bomb
MAX_FILES = 100_000  # walking more to size a folder is itself the attack


@dataclass
class Run:
    """How one limited process tree ended."""

    status: Status | None
    """``TIMEOUT``, ``MEMORY``, ``DISK`` or ``ERROR`` (too many processes) when the watcher stopped it, else None."""
    code: int
    """Its exit code."""
    seconds: float
    """Wall time."""
    peak_mb: float
    """Peak resident memory of the whole process tree."""
    peak_process_mb: float
    """Peak resident memory of its largest process (the notebook's kernel)."""
    detail: str = ""
    """Which limit, in Spanish, when one stopped it."""


def _rss(proc: psutil.Process) -> list:
    sizes = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            sizes.append(p.memory_info().rss)
        except psutil.Error:
            pass
    return sizes


def _kill_tree(proc: psutil.Process) -> None:
    procs = [proc, *proc.children(recursive=True)]
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


def _ram_files(proc: psutil.Process, size_mb: float) -> int:
    """Bytes the job holds in its own RAM-backed file systems (the sandbox's ``/tmp`` and ``/dev/shm``).

    Read through a process inside the sandbox (another mount namespace than ours), and only from
    mounts of the job's own size: never the host's ``/tmp`` by mistake.
    """
    try:
        ours = os.readlink("/proc/self/ns/mnt")
    except OSError:
        return 0
    for child in proc.children(recursive=True):
        try:
            if os.readlink(f"/proc/{child.pid}/ns/mnt") == ours:
                continue
            held = 0
            for mount in ("tmp", "dev/shm"):
                st = os.statvfs(f"/proc/{child.pid}/root/{mount}")
                if st.f_blocks * st.f_frsize <= size_mb * 2**20 * 1.05:
                    held += (st.f_blocks - st.f_bfree) * st.f_frsize
            return held
        except OSError:
            continue
    return 0


def folder_bytes(folder: Path) -> int:
    """Disk blocks under ``folder`` (sparse files count what they really use); past ``MAX_FILES`` entries, infinite."""
    total, seen, stack = 0, 0, [str(folder)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                seen += 1
                if seen > MAX_FILES:
                    return 1 << 62
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    return total


def _file_cap(max_bytes):
    """In the child: no single file past the disk cap, and a write past it fails (EFBIG) instead of killing."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def run_limited(cmd, cwd, env, timeout_s, memory_mb, log_path, disk_mb=None, disk_path=None, tmp_mb=None) -> Run:
    """Run ``cmd`` in its own session under limits on time, on memory (the tree's resident memory plus its
    RAM-backed files), on the files in ``disk_path`` and on its private ``/tmp`` (``tmp_mb``)."""
    start = time.monotonic()
    peak = peak_process = 0
    status, detail, last_disk = None, "", 0.0
    cap = int(disk_mb * 2**20) if disk_mb else None
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, preexec_fn=_file_cap(cap) if cap else None)
        proc = psutil.Process(popen.pid)
        while popen.poll() is None:
            sizes = _rss(proc) or [0]
            ram_files = _ram_files(proc, tmp_mb) if tmp_mb else 0
            peak, peak_process = max(peak, sum(sizes) + ram_files), max(peak_process, max(sizes))
            if len(sizes) > MAX_PROCESSES:
                status, detail = Status.ERROR, f"más de {MAX_PROCESSES} procesos a la vez"
            elif peak > memory_mb * 2**20:
                status, detail = Status.MEMORY, f"más de {memory_mb:.0f} MB de memoria (contando sus archivos en RAM)"
            elif tmp_mb and ram_files >= 0.98 * tmp_mb * 2**20:
                status, detail = Status.DISK, f"llenó su /tmp ({tmp_mb:.0f} MB)"
            elif STOP.is_set():
                status, detail = Status.RETRY, "la calificación se interrumpió (Ctrl-C)"
            elif time.monotonic() - start > timeout_s:
                status, detail = Status.TIMEOUT, f"más de {timeout_s:.0f} s"
            elif cap and disk_path and time.monotonic() - last_disk >= DISK_POLL_S:
                last_disk = time.monotonic()
                if folder_bytes(disk_path) >= cap:
                    status, detail = Status.DISK, f"sus archivos llegaron a {disk_mb:.0f} MB en disco"
            if status:
                _kill_tree(proc)
                break
            time.sleep(POLL_S)
        code = popen.wait()
    if status is None and cap and disk_path and folder_bytes(disk_path) >= cap:
        status, detail = Status.DISK, f"sus archivos llegaron a {disk_mb:.0f} MB en disco"
    return Run(status, code, time.monotonic() - start, peak / 2**20, peak_process / 2**20, detail)
