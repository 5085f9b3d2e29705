"""Every process that runs a student's code, in a bubblewrap sandbox built from what it may see: an allowlist.

``allowlist`` is the one place that says what exists inside: every sandbox the kit starts (a
job's runner and its kernel, whether bubblewrap started it or the zygote forked it into the
runner's namespaces, and the verdict's improvement probe) is built from it. It starts from an
empty root and mounts, read-only, the system the lab needs (``/usr``, the loader's folders, a
few files of ``/etc``), the Python running the grader (its environment, the interpreter it was
made from, their site-packages), the cached ImageNet weights, and the kit's job code at a path
of its own (``KIT_MOUNT``); writable, only the job's folder and a private ``/tmp`` and
``/dev/shm`` of ``tmp_mb`` each (the root and ``/dev`` that bubblewrap builds are made
read-only). The channel's sockets are mounted read-only: a socket can be connected to there,
and nothing written. Nothing else exists inside: no home, no checkout, no
class folder, no ``--out``, no other job, wherever they live. Each sandbox has its own network
namespace (loopback only) and process namespace: when the job ends, every process it started
ends with it.

Where ``bwrap`` is missing or cannot create namespaces (macOS, Windows, some containers) the
job runs unconfined, and ``warning()`` says what is lost.
"""
import functools
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

from kit import paths

INSTALL_HINT = "sudo apt-get install bubblewrap"
KIT_MOUNT = Path("/opt/tl-kit")
"""Where the kit's code is inside a sandbox (read-only): its folder ``kit/`` alone, never the checkout around it."""
LOADER = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""The loader's and shell's folders beside ``/usr``: links into it on a merged-/usr system, bound where they are not."""
SYSTEM = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/timezone",
          "/etc/nsswitch.conf", "/etc/host.conf", "/etc/mime.types", "/etc/fonts", "/etc/matplotlibrc",
          "/var/cache/fontconfig", "/sys/devices/system/cpu")
"""The few files beside ``/usr`` that Python, TensorFlow and Matplotlib read (``strace -f -e trace=openat`` of a
graded notebook): the loader's cache, the time zone, fonts and their cache, the processors' count. No
``passwd`` nor ``group``: nothing the lab runs needs the machine's users, and HOME names the job's folder."""
DROPPED_ENV = ("PWD", "OLDPWD")
"""Variables that name the grader's working folder: nothing inside needs them."""


def _resolved(items) -> list:
    """Existing paths, each once, as given and (where links lead elsewhere) as resolved."""
    seen, out = set(), []
    for item in items:
        if not item:
            continue
        given = Path(os.path.abspath(item))
        for p in (given, given.resolve()):
            if p.exists() and p not in seen:
                seen.add(p)
                out.append(p)
    return out


def _outermost(folders: list, under: list) -> list:
    """``folders`` without those inside another one, or inside ``under`` (already mounted)."""
    kept = []
    for folder in sorted(folders, key=lambda p: len(p.parts)):
        if not any(folder == k or k in folder.parents for k in [*under, *kept]):
            kept.append(folder)
    return kept


def _python() -> list:
    """The folders the running Python imports from: its prefix, the interpreter it was made from, site-packages."""
    sites = [*site.getsitepackages(), site.getusersitepackages() if site.ENABLE_USER_SITE else None]
    inside = [p for p in sites if p and p in sys.path]
    return _resolved([sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *inside,
                      Path(sys.executable).parent])


def _weights() -> list:
    """The ImageNet weights the grader's environment names: ``$KERAS_HOME/models`` and ``LAB_WEIGHTS``. Keras' cache
    in the grader's home is not one of them: inside, HOME is the job's folder."""
    keras_home = os.environ.get("KERAS_HOME")
    return _resolved([Path(keras_home) / "models" if keras_home else None, os.environ.get("LAB_WEIGHTS")])


def allowlist(tmp_mb: float = 1024, writable=(), channel=(), kit: bool = False) -> list:
    """bubblewrap's arguments for a sandbox's file system: the read-only system and Python, ``channel`` (the
    sockets' folders, read-only), the kit's code at ``KIT_MOUNT`` when ``kit``, ``writable`` folders, and a private
    ``/tmp`` and ``/dev/shm`` of ``tmp_mb`` each; nothing else."""
    size = str(int(tmp_mb * 2**20))
    args = ["--ro-bind", "/usr", "/usr"]
    for top in LOADER:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in SYSTEM:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm", "--proc", "/proc",
             "--size", size, "--tmpfs", "/tmp"]
    for folder in _outermost(_python() + _weights(), under=[Path("/usr")]):  # after the empty /tmp: a venv
        args += ["--ro-bind", str(folder), str(folder)]                      # that lives there still runs
    if kit:
        args += ["--ro-bind", str(paths.ROOT / "kit"), str(KIT_MOUNT / "kit")]
    for folder in _resolved(channel):
        args += ["--ro-bind", str(folder), str(folder)]
    for folder in _resolved(writable):
        args += ["--bind", str(folder), str(folder)]
    # bubblewrap builds its root and /dev on tmpfs, writable and counted by no limit: read-only once all is mounted
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    for name in DROPPED_ENV:
        args += ["--unsetenv", name]
    return ["bwrap", *args]


CONFINE = ["--unshare-all", "--die-with-parent", "--new-session"]
"""No network but loopback, its own processes, IPC and host name; killed with its parent; no terminal to steal."""


def inside(arg) -> str:
    """A command's argument as a sandbox with the kit sees it: a path into the kit's folder moves to ``KIT_MOUNT``."""
    text, kit = str(arg), str(paths.ROOT / "kit")
    return str(KIT_MOUNT) + text[len(str(paths.ROOT)):] if text == kit or text.startswith(kit + os.sep) else text


def command(cmd: list, job: Path, tmp_mb: float = 1024, channel: list = ()) -> list:
    """``cmd`` wrapped to run in ``job`` (its folder, writable, and HOME), with the kit's code and ``channel``."""
    job = Path(job).resolve()
    return [*allowlist(tmp_mb, writable=[job], channel=channel, kit=True), "--chdir", str(job),
            "--setenv", "HOME", str(job), *CONFINE, "--", *(inside(c) for c in cmd)]


CONFINE_SELF = KIT_MOUNT / "kit" / "job" / "confine.py"
"""Inside a sandbox: enters a Landlock domain of its own, then becomes the command that follows it."""


def probe_command(tmp_mb: float = 64) -> list:
    """The prefix that runs a command (the verdict's improvement probe) with nothing writable but its ``/tmp``, in
    a Landlock domain of its own (no ptrace of the sandbox's init)."""
    return [*allowlist(tmp_mb, kit=True), "--chdir", "/tmp", "--setenv", "HOME", "/tmp", *CONFINE, "--",
            sys.executable, "-I", str(CONFINE_SELF)]


@functools.cache
def available() -> bool:
    """Whether ``bwrap`` is installed and can build this sandbox here, tried once per process."""
    if not shutil.which("bwrap"):
        return False
    try:
        done = subprocess.run([*allowlist(), *CONFINE, "--", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def warning() -> str:
    return ("WARNING: bubblewrap is not available, so submissions run UNCONFINED as your user: their code can "
            "read other submissions and your files, write wherever you can, use the network and leave "
            f"processes behind. Install it ({INSTALL_HINT}) on Linux, or grade in containers with --docker.")


def confined() -> str:
    """How jobs run here, for the grader's log line."""
    return "sandboxed (bubblewrap)" if available() else "UNCONFINED (no bubblewrap)"


if __name__ == "__main__":  # a quick probe: python -m kit.sandbox
    print(confined())
    raise SystemExit(0 if available() else 1)
