"""The grading process's side of the kernel zygote (``kit.job.zygote``): one per thread setting, started on first
use, and a one-time door into it for each sandboxed job.

A job's runner (``kit.job.execute``, already inside bubblewrap) asks for its kernel through
``Door``: a socket in the job's own channel folder, which only that sandbox can reach, that
accepts one connection from a process in another PID namespace than ours, hands the request
on to the zygote with the runner's pid, and closes. The runner never reaches the zygote
itself. Where the zygote cannot start or refuses, the runner starts its kernel as before.
"""
import atexit
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from kit.job import warm
from kit.job.channel import DOOR_ENV

ZYGOTE = Path(__file__).resolve().with_name("zygote.py")
SWITCH = "TL_ZYGOTE"
"""``0`` in the grader's environment: every kernel started the usual way, every verdict a fresh process
(``kit.job.verdicts``): to compare, or to rule them out."""

_lock = threading.Lock()
_zygotes: dict = {}  # in the order last used
_started = 0


VOLATILE = ("TMPDIR", "HOME", "TL_CHANNEL", DOOR_ENV, "PYTEST_CURRENT_TEST")
"""Variables that name the calling job or test, not how the libraries load: no new zygote for them."""
KEEP = 2
"""Zygotes kept at once (each holds TensorFlow, several hundred MB): past it, the least recently used idle one goes."""


class Zygote(warm.Helper):
    """One zygote process, imported with ``env`` (the jobs' environment but for their folder)."""

    def __init__(self, env: dict):
        super().__init__("zygote.sock")
        home = self.folder / "home"
        home.mkdir()
        self.log = self.folder / "zygote.log"
        self.users = 0
        """Doors open on it: while there are, it stays."""
        env = {k: v for k, v in env.items() if k not in VOLATILE}  # what names one job is no zygote's
        with open(self.log, "wb") as log:
            self.start([sys.executable, str(ZYGOTE)], cwd=home, env=dict(env, HOME=str(home), TMPDIR=str(home)),
                       stderr=log)

    def enter(self, pid: int, request: bytes, stdio: list) -> bytes:
        """The zygote's answer to a runner's request (JSON: the kernel's pid in the sandbox, or an error)."""
        if not self.running():
            return json.dumps({"error": "the zygote is not running"}).encode()
        try:
            data = json.loads(request)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return json.dumps({"error": "the request is not a JSON object"}).encode()
        data["pid"] = pid
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.settimeout(60)
            try:
                conn.connect(str(self.path))
                socket.send_fds(conn, [json.dumps(data).encode()], stdio)
                return conn.recv(1 << 16)
            except OSError as exc:
                return json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()

    def why_not(self) -> str:
        return self.log.read_text(errors="replace").strip()[-500:] if self.log.exists() else ""


def key_of(env: dict) -> tuple:
    return tuple(sorted((k, v) for k, v in env.items() if k not in VOLATILE))


def _zygote(env: dict) -> Zygote | None:
    """The zygote for jobs with this environment (one per thread setting), started on first use and counted as
    used; None when it cannot run here. Called with ``_lock`` held."""
    global _started
    key = key_of(env)
    if key not in _zygotes:
        running = [k for k, z in _zygotes.items() if z is not None]
        idle = [k for k in running if _zygotes[k].users == 0]
        for old in idle[:max(0, len(running) + 1 - KEEP)]:  # the least recently used first
            _zygotes.pop(old).close()
        _started += 1
        found = Zygote(env)
        if not found.ready:
            print(f"kernel zygote unavailable, kernels start the usual way: {found.why_not()}", file=sys.stderr)
            found.close()
            found = None
        _zygotes[key] = found
    found = _zygotes[key] = _zygotes.pop(key)  # now the most recently used
    if found is not None:
        found.users += 1
    return found


def open_door(path: Path, env: dict) -> "Door | None":
    """A door at ``path`` into the zygote for jobs with ``env``; None when ``TL_ZYGOTE=0`` or there is none."""
    if os.environ.get(SWITCH) == "0":
        return None
    with _lock:
        found = _zygote(env)
    if found is None:
        return None
    try:
        return Door(path, found)
    except BaseException:
        with _lock:
            found.users -= 1
        raise


def started() -> int:
    """Zygotes this grading process has started so far."""
    return _started


def live() -> int:
    """Zygote processes running now."""
    with _lock:
        return sum(1 for z in _zygotes.values() if z is not None and z.running())


@atexit.register
def _close_all() -> None:
    for found in _zygotes.values():
        if found is not None:
            found.close()
    _zygotes.clear()


class Door:
    """One job's way to its kernel: a socket at ``path`` for one request from inside a sandbox."""

    def __init__(self, path: Path, zygote_: Zygote):
        self.path, self.zygote = Path(path), zygote_
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.server.bind(str(self.path))
        os.chmod(self.path, 0o777)  # the sandbox may map the job to another user
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        finally:
            self.server.close()  # one request: nothing in the sandbox gets a second kernel this way
        stdio = []
        with conn:
            try:
                pid = warm.peer_pid(conn)
                conn.settimeout(30)
                request, stdio, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                if os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid"):
                    answer = json.dumps({"error": "not asked from inside a sandbox"}).encode()
                elif len(stdio) != 3:
                    answer = json.dumps({"error": "stdio missing"}).encode()
                else:
                    answer = self.zygote.enter(pid, request, stdio)
                conn.sendall(answer)
            except Exception as exc:  # the runner's request, whatever it is, never ends the grading process's thread
                print(f"kernel door: {type(exc).__name__}: {exc}", file=sys.stderr)
            finally:
                for fd in stdio:
                    os.close(fd)

    def close(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the waiting accept
        except OSError:
            pass
        self.server.close()
        self.thread.join(timeout=5)
        with _lock:
            self.zygote.users -= 1
