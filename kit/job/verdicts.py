"""One verdict process per grading process: Otter and the checks' machinery imported once, a fresh fork per verdict.

    python -m kit.job.verdicts SOCKET

``kit.job.decide`` runs no student code (the improvement probe starts its own sandboxed
process), so what a verdict costs that every verdict shares is the import of Otter and the
kit. This server imports them once and, for each request (the arguments of
``python -m kit.job.decide`` and a log file), forks a child that runs ``decide.main`` there
and answers with its exit code: each verdict in a process of its own, as a fresh one would
be, and nothing of one job's records left for the next (the lab's ``tl_audit`` is imported in
the child, from that job's own copy). Where the server cannot run, ``verdict`` starts the
module as its own process as before.
"""
import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from kit import paths
from kit.job import warm
from kit.job.kernels import SWITCH  # ``0``: each verdict a fresh process, as each kernel

_lock = threading.Lock()
_server = None


def _request(conn: socket.socket) -> dict:
    """The request, read in the verdict's own process: ``decide``'s arguments, a log file, a folder, an environment."""
    request = json.loads(conn.recv(1 << 20))
    if not (isinstance(request, dict) and isinstance(request.get("argv"), list)
            and all(isinstance(a, str) for a in request["argv"])
            and isinstance(request.get("log"), str) and isinstance(request.get("cwd"), str)
            and isinstance(request.get("env"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in request["env"].items())):
        raise ValueError("not a verdict's request")
    return request


def _child(conn: socket.socket) -> None:
    from kit.job import decide

    os.setpgid(0, 0)  # the verdict and the probes it starts: one group, killed together past the time limit
    try:
        request = _request(conn)
    except (OSError, ValueError) as exc:  # answered with no pid: the caller grades with a fresh process instead
        print(f"verdicts: request refused: {exc}", file=sys.stderr, flush=True)
        conn.sendall(json.dumps({"error": str(exc)}).encode())
        os._exit(0)
    conn.sendall(json.dumps({"pid": os.getpid()}).encode())
    os.environ.clear()
    os.environ.update(request["env"])  # the grading process's environment now, as a new process would have it
    with open(request["log"], "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    os.chdir(request["cwd"])
    try:
        code = decide.main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(json.dumps({"code": code}).encode())
    os._exit(0)


def serve(path: str) -> int:
    from kit.job import decide  # noqa: F401  what every verdict imports, once
    from otter.nbmeta_config import NBMetadataConfig  # noqa: F401
    from otter.run.run_autograder.autograder_config import AutograderConfig  # noqa: F401
    from otter.test_files import GradingResults, create_test_file  # noqa: F401

    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.bind(path)
    server.listen(16)
    print("ready", flush=True)
    while os.getppid() == parent:
        while True:  # reap the verdicts that have answered
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not select.select([server], [], [], 1.0)[0]:
            continue
        conn, _ = server.accept()
        try:  # the request is read in the verdict's fork, never here: no request can end this server
            if warm.peer_pid(conn) == parent and os.fork() == 0:
                server.close()
                _child(conn)
        except OSError as exc:
            print(f"verdicts: {exc}", file=sys.stderr, flush=True)
        finally:
            conn.close()
    return 0


class Server(warm.Helper):
    def __init__(self):
        super().__init__("verdicts.sock")
        self.log = self.folder / "verdicts.log"
        with open(self.log, "wb") as log:
            self.start([sys.executable, "-m", "kit.job.verdicts"], cwd=paths.ROOT, stderr=log)

    def run(self, argv: list, log: Path, timeout_s: float) -> int | None:
        """``decide.main(argv)``'s exit code (124 past ``timeout_s``, the verdict killed), its output appended to
        ``log``; None if the server could not take the request."""
        if not self.running():
            return None
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            try:
                conn.connect(str(self.path))
                conn.sendall(json.dumps({"argv": argv, "log": str(log), "cwd": str(paths.ROOT),
                                         "env": dict(os.environ)}).encode())
            except OSError:
                return None
            conn.settimeout(timeout_s)
            pid = None
            try:
                first = json.loads(conn.recv(1 << 16))
                if "pid" not in first:
                    return None  # refused: a fresh process instead
                pid = int(first["pid"])
                return int(json.loads(conn.recv(1 << 16))["code"])
            except TimeoutError:
                if pid is not None:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                return 124
            except (OSError, ValueError, KeyError):
                return 1  # the verdict's process died before answering: a grader's failure, said in the row


def verdict(command: list, log: Path, timeout_s: float = 600) -> int:
    """The exit code of ``python -m kit.job.decide …`` (``decide.command``'s list), run by the warm server or, where
    it cannot run, as its own process; its output appended to ``log``."""
    global _server
    server = None
    if os.environ.get(SWITCH) != "0":
        with _lock:
            if _server is None:
                _server = Server()
                atexit.register(_server.close)
            server = _server
    code = server.run(command[3:], log, timeout_s) if server is not None else None
    if code is None:
        with open(log, "ab") as out:
            try:
                code = subprocess.run(command, cwd=paths.ROOT, stdout=out, stderr=out, timeout=timeout_s).returncode
            except subprocess.TimeoutExpired:
                code = 124
    return code


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
