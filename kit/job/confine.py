"""What a process that runs a student's code does to itself first: a Landlock domain of its own.

    python confine.py PROGRAM [ARG ...]     # confined, then PROGRAM in its place (execv)

Standard library only: the kernel zygote loads it too. Once a process is in a Landlock
domain, the kernel refuses it ``ptrace``, ``/proc/PID/mem`` and every other ptrace-checked
access to any process outside that domain (the sandbox's init, the job's runner), and, from
Landlock's sixth version on, signals to them; its own children inherit the domain, so the
student's own processes stay reachable. The domain restricts nothing else: no file access
is handled on the sixth version and later, and on earlier ones every file right is granted
beneath ``/``. Where Landlock is missing (an older Linux, a container that filters its
system calls) nothing is restricted and ``restrict_self`` says why.
"""
import ctypes
import os
import struct
import sys

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same numbers on every architecture
PR_SET_NO_NEW_PRIVS = 38
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
SCOPE_SIGNAL = 1 << 1
FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
"""Every file right each version knows (execute … make_sym, then refer, truncate, ioctl_dev)."""

_libc = ctypes.CDLL(None, use_errno=True)


def abi() -> int:
    """Landlock's version here, 0 where it is missing."""
    version = _libc.syscall(CREATE_RULESET, None, 0, CREATE_RULESET_VERSION)
    return max(0, version)


def _ruleset(version: int) -> int:
    if version >= 6:  # a domain that handles no file right, only signals out of it
        attr = struct.pack("QQQ", 0, 0, SCOPE_SIGNAL)
        return _libc.syscall(CREATE_RULESET, ctypes.c_char_p(attr), len(attr), 0)
    rights = FS_RIGHTS[min(version, 5)]
    attr = struct.pack("Q", rights)
    fd = _libc.syscall(CREATE_RULESET, ctypes.c_char_p(attr), len(attr), 0)
    if fd < 0:
        return fd
    root = os.open("/", os.O_PATH | os.O_DIRECTORY)
    try:  # struct landlock_path_beneath_attr: u64 allowed_access; s32 parent_fd (packed)
        rule = struct.pack("=Qi", rights, root)
        if _libc.syscall(ADD_RULE, fd, RULE_PATH_BENEATH, ctypes.c_char_p(rule), 0) != 0:
            os.close(fd)
            return -1
    finally:
        os.close(root)
    return fd


def restrict_self(version: int | None = None) -> str:
    """Enter a Landlock domain of this process's own; "" once done, else why not. It sets ``no_new_privs``, which
    Landlock needs and bubblewrap's sandbox has already set."""
    version = abi() if version is None else version
    if version < 1:
        return "Landlock is not available here"
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"no_new_privs: {os.strerror(ctypes.get_errno())}"
    fd = _ruleset(version)
    if fd < 0:
        return f"Landlock refused a ruleset: {os.strerror(ctypes.get_errno())}"
    try:
        if _libc.syscall(RESTRICT_SELF, fd, 0) != 0:
            return f"Landlock refused the domain: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(fd)
    return ""


def main(argv: list) -> None:
    why = restrict_self()
    if why:
        print(f"confine: {why}; the kernel runs without it", file=sys.stderr, flush=True)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
