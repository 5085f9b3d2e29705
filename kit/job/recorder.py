"""The graded kernel's reporter: observations and tamper evidence leave the kernel as they happen.

Started by the kernel itself before any cell runs (``--IPKernelApp.exec_lines``), it connects
to the Unix socket that the job's parent opened (``TL_CHANNEL``) and then sends, one JSON line
each, sequence-numbered:

* what ``tl_audit`` records (fits, evaluations, data, the base), as it records it;
* a ``checkpoint`` at each ``grader.check(q)``: the variables the checks read and the figures;
* ``evidence``: events a lab answer never causes (PEP 578 audit hooks), written *before* the
  action goes on, with the student's line that caused it. A hook cannot be removed; switching
  the recorder off takes one of these events first, so the attempt itself is reported;
* ``final`` and ``end`` once the notebook has run (the runner asks for them).

It decides nothing: the parent rebuilds the records and applies the checks. Imports only the
standard library, ``tl_audit`` (from the job folder, still pristine at kernel start) and Otter.
"""
import json
import os
import socket
import sys
import sysconfig
import threading

VARIABLES = ("x_train", "y_train_cat", "accuracy_baseline", "accuracy_finetune", "improvement")
"""The notebook variables the checks read (as ``env``)."""

PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                  "os.forkpty", "os.kill", "os.killpg", "pty.spawn"}
SOCKET_EVENTS = {"socket.__new__", "socket.connect", "socket.bind", "socket.sendto"}
FILE_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.symlink", "os.link", "os.truncate", "os.chmod",
               "os.chown", "os.utime", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.rmtree",
               "shutil.move", "os.mkdir"}
INTROSPECTION_EVENTS = {"object.__getattr__", "object.__setattr__", "object.__delattr__", "sys._getframe",
                        "sys._current_frames", "sys.settrace", "sys.setprofile", "sys.addaudithook",
                        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "function.__new__",
                        "code.__new__", "sys.setrecursionlimit", "cpython._PySys_ClearAuditHooks"}
CODE_EVENTS = {"compile", "exec", "marshal.loads", "marshal.load"}
ANY_DEPTH = PROCESS_EVENTS | SOCKET_EVENTS | {"pickle.find_class"}
"""Reported whenever a cell is on the stack, however deep the library that raised them."""
RELEVANT = frozenset(ANY_DEPTH | FILE_EVENTS | INTROSPECTION_EVENTS | CODE_EVENTS
                     | {"open", "import", "os.listdir", "os.scandir"})
LIBRARY_HELPERS = {"fc-list", "dot", "nvidia-smi", "uname", "ldconfig", "lscpu"}
"""Programs libraries run on their own (fonts, graphviz, GPU and CPU queries): not reported when a library runs them."""
MACHINERY_MODULES = ("tl_checks", "tl_hidden_checks", "otter", "kit")

_STDLIB = os.path.normpath(sysconfig.get_paths()["stdlib"]) + os.sep
_SITE = tuple(os.path.normpath(p) + os.sep for p in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
_SELF = os.path.normpath(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Recorder:
    """One connection to the parent; ``send`` writes a line before returning."""

    def __init__(self, path, workdir, protected):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lock = threading.RLock()
        self.seq = 0
        self.workdir = os.path.normpath(workdir) + os.sep
        self.protected = {os.path.normpath(p) for p in protected}
        self.cells = {}  # cell file name -> sent
        self.kinds = {}  # file name -> "cell", "stdlib", "dynamic", "written" or "library"
        self.busy = threading.local()
        self.cell_prefix = None

    def observe(self, kind, payload):
        """``tl_audit``'s observation, after the source of each cell it names (a fit's call, a training call outside
        one) so that the verdict can number that cell."""
        sites = [payload.get("site")] + [c.get("site") for c in payload.get("calls") or [] if isinstance(c, dict)] \
            if isinstance(payload, dict) else []
        cells = [(s[0], s[1]) for s in sites if isinstance(s, list) and len(s) >= 2 and isinstance(s[0], str)
                 and self._kind(s[0]) == "cell"]
        if cells:
            self._where(cells)
        self.send(kind, payload)

    def send(self, kind, payload):
        with self.lock:
            self.seq += 1
            line = json.dumps({"seq": self.seq, "kind": kind, "data": payload}, separators=(",", ":"))
            try:
                self.sock.sendall(line.encode() + b"\n")
            except OSError:
                pass  # the parent reads a channel that closed before ``end``: that is evidence too

    # -- where an event comes from ---------------------------------------------------------------
    def _kind(self, filename):
        kind = self.kinds.get(filename)
        if kind is None:
            kind = self.kinds[filename] = self._classify(filename)
        return kind

    def _classify(self, filename):
        if self.cell_prefix and filename.startswith(self.cell_prefix):
            return "cell"
        if filename.startswith("<frozen") or filename.startswith(_STDLIB) and not filename.startswith(_SITE):
            return "stdlib"
        if filename.startswith("<"):
            return "dynamic"  # code compiled at run time from a string
        if filename.startswith(_SELF) or filename.startswith(_SITE):
            return "library"
        path = os.path.normpath(os.path.abspath(filename))
        if path.startswith(self.workdir) and path not in self.protected:
            return "written"  # a module the notebook wrote and imported
        return "library"

    def _first(self, frame, skip_stdlib):
        """The kind of the innermost frame (or of the innermost one outside the standard library)."""
        while frame is not None:
            kind = self._kind(frame.f_code.co_filename)
            if not (skip_stdlib and kind == "stdlib"):
                return kind
            frame = frame.f_back
        return "library"

    def _importing(self, frame):
        """Whether the event happens inside an import started from a cell, of a module the notebook did not write."""
        while frame is not None:
            kind = self._kind(frame.f_code.co_filename)
            if kind in ("cell", "written"):
                return False
            if frame.f_code.co_filename == "<frozen importlib._bootstrap>":
                return True
            frame = frame.f_back
        return False

    def _cells(self, frame):
        """The innermost cell frames [(file, line)], at most 3."""
        out = []
        while frame is not None and len(out) < 3:
            if self._kind(frame.f_code.co_filename) == "cell":
                out.append((frame.f_code.co_filename, frame.f_lineno))
            frame = frame.f_back
        return out

    def _where(self, cells):
        """The cell frames as sent, each cell's source sent the first time it is seen."""
        for filename, _ in cells:
            if filename not in self.cells:
                import linecache

                self.cells[filename] = True
                self.send("cell", {"file": filename, "source": "".join(linecache.getlines(filename))})
        return [list(c) for c in cells]

    def hook(self, event, args):
        if event not in RELEVANT and not event.startswith("ctypes.") or self.busy.__dict__.get("on"):
            return
        self.busy.on = True
        try:
            self._judge(event, args)
        except Exception:
            pass
        finally:
            self.busy.on = False

    def _judge(self, event, args):
        frame = sys._getframe(2)  # _judge <- hook <- the code that raised the event
        student = ("cell", "dynamic", "written")
        detail = None
        if event in ANY_DEPTH:
            detail = _short(args)
        elif event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            writing = (isinstance(mode, str) and set(mode) & set("wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if writing and self._protected(path):
                detail = f"{path} ({mode or flags})"
        elif event in FILE_EVENTS:
            if any(self._protected(a) for a in args[:2]):
                detail = _short(args)
        elif event == "import":
            name = str(args[0]) if args else ""
            if name.split(".")[0] in MACHINERY_MODULES and self._first(frame, True) in student:
                detail = name
        elif event == "compile":
            filename = args[1] if len(args) > 1 else None
            if isinstance(filename, (str, bytes)) and self._kind(os.fsdecode(filename)) == "written":
                detail = f"código de {os.fsdecode(filename)}"
            elif self._first(frame, False) in student or (
                    isinstance(filename, str) and filename.startswith("<") and filename != "<string>"
                    and not filename.startswith("<frozen") and self._first(frame, True) in student):
                # direct, or through a standard module that runs source it is handed (timeit, code, doctest...)
                source = args[0]
                detail = (source.decode(errors="replace") if isinstance(source, bytes) else source
                          if isinstance(source, str) else "un objeto de código")
        elif event in CODE_EVENTS:
            if self._first(frame, False) in student:
                detail = _short(args)
        elif event in ("os.listdir", "os.scandir"):
            if str(args[0] if args else "").startswith("/proc") and self._first(frame, True) in student:
                detail = _short(args)
        elif self._first(frame, True) in student:  # introspection, ctypes
            detail = _short(args)
        if detail is None:
            return
        if event not in ("import", "compile") and self._importing(frame):
            return  # a library's own import-time work (TensorFlow probes a socket, Matplotlib runs fc-list)
        if event in PROCESS_EVENTS and _program(args) in LIBRARY_HELPERS and self._first(frame, True) == "library":
            return
        cells = self._cells(frame)
        if cells:  # no cell on the stack: the kernel's own work, Otter's, the runner's
            self.send("evidence", {"event": event, "detail": str(detail)[:2000], "where": self._where(cells)})

    def _protected(self, path):
        if isinstance(path, int) or path is None:
            return False
        try:
            full = os.path.normpath(os.path.abspath(os.fsdecode(path)))
        except (TypeError, ValueError):
            return False
        return full in self.protected or any(full.startswith(p + os.sep) for p in self.protected)


def _program(args):
    """The program a process event starts, by its base name."""
    try:
        first = args[0]
        first = first[0] if isinstance(first, (list, tuple)) else first
        return os.path.basename(os.fsdecode(first).split()[0])
    except Exception:
        return ""


def _short(args):
    try:
        return repr(args)[:300]
    except Exception:
        return "?"


_recorder = None


def _snapshot(namespace):
    import tl_audit

    settle = getattr(tl_audit.AUDIT, "settle", None)
    if settle is not None:
        settle()  # anything that trained the lab's model outside its fits is reported before the checks read it
    return {"variables": {name: tl_audit.describe_value(namespace.get(name)) for name in VARIABLES
                          if name in namespace},
            "figures": tl_audit.describe_figures(tl_audit.AUDIT.figures)}


def _checkpoint(self, question, global_env=None):
    """``grader.check`` while grading: a checkpoint for the parent, who runs the tests; nothing runs here."""
    namespace = global_env if global_env is not None else sys._getframe(1).f_globals
    _recorder.send("checkpoint", {"question": str(question), **_snapshot(namespace)})


def start(path, workdir, protected):
    """Connect, report every ``tl_audit`` record, enter Otter's grading mode and install the hook."""
    global _recorder
    import tl_audit
    from otter import Notebook

    _recorder = Recorder(path, workdir, protected)
    try:
        from ipykernel.compiler import get_tmp_directory
        _recorder.cell_prefix = os.path.normpath(get_tmp_directory()) + os.sep
    except Exception:
        _recorder.cell_prefix = "<ipython-input-"
    tl_audit.emitter = _recorder.observe
    Notebook.init_grading_mode("tests")
    Notebook.check = _checkpoint
    _recorder.send("hello", {"pid": os.getpid()})
    sys.addaudithook(_recorder.hook)


def finish():
    """The final state, then ``end``: the parent treats anything after it as evidence."""
    ip = get_ipython()  # noqa: F821 (inside IPython)
    _recorder.send("final", _snapshot(ip.user_ns))
    _recorder.send("end", {})
