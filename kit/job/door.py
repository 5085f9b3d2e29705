"""The runner's kernel manager: the kernel confined before it runs anything (``kit.job.confine``), and forked into
this sandbox by the grading process's zygote (``kit.job.kernels``) when there is a door to it, else started as a new
Python (as Jupyter starts it, through ``confine.py``, which enters its Landlock domain and becomes the kernel).

A forked kernel is not this process's child but the sandbox init's, so it is watched through a pidfd.
"""
import json
import os
import select
import signal
import socket
import sys
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

class Forked:
    """What ``LocalProvisioner`` needs of a ``Popen``, for a process that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None
        self.fd = os.pidfd_open(pid)

    def poll(self):
        if self.returncode is None and select.select([self.fd], [], [], 0)[0]:
            self.returncode = 0  # another process's child: its exit status cannot be read, and nothing needs it
            os.close(self.fd)
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            select.select([self.fd], [], [], timeout)
        return self.poll()

    def send_signal(self, signum):
        if self.returncode is None:
            signal.pidfd_send_signal(self.fd, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def ask(door: str, cmd: list, env: dict, cwd: str) -> int:
    """The kernel's pid in this sandbox, forked by the zygote with these stdio; ``RuntimeError`` if refused."""
    read, write = os.pipe()  # stdin: a pipe closed at the other end, as jupyter_client gives a kernel
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.settimeout(120)
            conn.connect(door)
            request = json.dumps({"argv": cmd, "env": env, "cwd": str(cwd)}).encode()
            socket.send_fds(conn, [request], [read, sys.stdout.fileno(), sys.stderr.fileno()])
            answer = json.loads(conn.recv(1 << 16) or b"{}")
    finally:
        os.close(read)
        os.close(write)
    if "pid" not in answer:
        raise RuntimeError(answer.get("error", "no answer"))
    return int(answer["pid"])


CONFINE = Path(__file__).resolve().with_name("confine.py")


class DoorProvisioner(LocalProvisioner):
    async def launch_kernel(self, cmd, **kwargs):
        door = self.parent.door
        if door:
            try:
                pid = ask(door, cmd, kwargs.get("env") or dict(os.environ), kwargs.get("cwd") or os.getcwd())
            except (OSError, ValueError, RuntimeError) as exc:
                print(f"kernel started the usual way ({exc})", file=sys.stderr, flush=True)
            else:
                self.process = Forked(pid)
                self.pid = self.pgid = pid  # it is a session leader: its group is its pid
                self.cwd = kwargs.get("cwd", os.getcwd())
                return self.connection_info
        return await super().launch_kernel([sys.executable, str(CONFINE), *cmd], **kwargs)


class DoorKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` with ``DoorProvisioner``."""

    door = ""
    """The door's socket (``kit.job.kernels.Door``), set by the runner; "" for none."""

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = DoorProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)
