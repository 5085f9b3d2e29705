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
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from kit import scratch

ZYGOTE = Path(__file__).resolve().with_name("zygote.py")
DOOR_ENV = "TL_KERNEL_DOOR"
"""The runner's environment: where its door is (absent: it starts its kernel itself)."""
SWITCH = "TL_ZYGOTE"
"""``0`` in the grader's environment: every kernel started the usual way, every verdict a fresh process
(``kit.job.verdicts``): to compare, or to rule them out."""

_lock = threading.Lock()
_zygotes: dict = {}


class Zygote:
    """One zygote process, imported with ``env`` (the jobs' environment but for their folder)."""

    def __init__(self, env: dict):
        self.folder = Path(tempfile.mkdtemp(prefix=scratch.prefix("channel"), dir="/tmp"))
        home = self.folder / "home"
        home.mkdir()
        self.path = self.folder / "zygote.sock"
        self.log = self.folder / "zygote.log"
        env = dict(env, HOME=str(home), TMPDIR=str(home))
        env.pop("TL_CHANNEL", None)
        env.pop(DOOR_ENV, None)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, str(ZYGOTE), str(self.path)], cwd=home, env=env,
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                            start_new_session=True)
        ready = self.process.stdout.readline()  # after the imports; nothing if it failed
        self.ready = ready.strip() == b"ready"

    def enter(self, pid: int, request: bytes, stdio: list) -> bytes:
        """The zygote's answer to a runner's request (JSON: the kernel's pid in the sandbox, or an error)."""
        if not self.ready or self.process.poll() is not None:
            return json.dumps({"error": "the zygote is not running"}).encode()
        data = json.loads(request)
        data["pid"] = pid
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.settimeout(60)
            try:
                conn.connect(str(self.path))
                socket.send_fds(conn, [json.dumps(data).encode()], stdio)
                return conn.recv(1 << 16)
            except OSError as exc:
                return json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def why_not(self) -> str:
        return self.log.read_text(errors="replace").strip()[-500:] if self.log.exists() else ""


def zygote(env: dict) -> Zygote | None:
    """The zygote for jobs with this environment (one per thread setting), started on first use; None when it
    cannot run here or ``TL_ZYGOTE=0``."""
    if os.environ.get(SWITCH) == "0":
        return None
    key = tuple(sorted((k, v) for k, v in env.items() if k not in ("TMPDIR", "HOME")))
    with _lock:
        if key not in _zygotes:
            found = Zygote(env)
            if not found.ready:
                print(f"kernel zygote unavailable, kernels start the usual way: {found.why_not()}", file=sys.stderr)
                found.close()
                found = None
            _zygotes[key] = found
        return _zygotes[key]


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
                pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
                conn.settimeout(30)
                request, stdio, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                if os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid"):
                    answer = json.dumps({"error": "not asked from inside a sandbox"}).encode()
                elif len(stdio) != 3:
                    answer = json.dumps({"error": "stdio missing"}).encode()
                else:
                    answer = self.zygote.enter(pid, request, stdio)
                conn.sendall(answer)
            except (OSError, ValueError, struct.error):
                pass
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
