"""A helper process the grading process keeps warm (the kernel zygote, the verdict server): started with a socket
in a private folder under ``/tmp``, usable once it prints ``ready``, gone with the grading process."""
import shutil
import socket
import struct
import subprocess
import tempfile
from pathlib import Path

from kit import scratch

READY = b"ready"


class Helper:
    """One helper process listening at ``path`` (inside ``folder``, removed on ``close``)."""

    def __init__(self, socket_name: str):
        self.folder = Path(tempfile.mkdtemp(prefix=scratch.prefix("channel"), dir="/tmp"))  # a socket's path: 108 bytes
        self.path = self.folder / socket_name
        self.process = None
        self.ready = False

    def start(self, argv: list, *, cwd, env=None, stderr=subprocess.DEVNULL) -> None:
        """Run ``argv + [path]`` in a session of its own; ``ready`` once it said so (after its imports)."""
        self.process = subprocess.Popen([*argv, str(self.path)], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=stderr, start_new_session=True)
        self.ready = self.process.stdout.readline().strip() == READY  # nothing if it failed

    def running(self) -> bool:
        return self.ready and self.process is not None and self.process.poll() is None

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def peer_pid(conn: socket.socket) -> int:
    """The pid of the process at the other end of a Unix socket, as the kernel recorded it at connect."""
    pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return pid
