"""Kernels forked from one zygote share nothing of one student's run with the next, and are confined exactly as
bubblewrap confines the job's own runner.

Two notebooks, ``x`` and ``y``, each first look for what any other student could have left (a module
attribute, a builtin, an imported module, an environment variable, files in the home, the job's folder, ``/tmp``
and ``/dev/shm``), then leave all of it themselves and check that they see their own. They are graded in one
process, in both orders (four kernels from one zygote). Each cell reports on the kernel's real stderr, which
the job keeps in ``otter.log``. The kernel also compares its own ``/proc`` entry with the runner's (pid 2 in
the sandbox, started by bubblewrap): capabilities, ``no_new_privs``, seccomp, signals, umask, user and groups and
every resource limit; the namespaces of both are compared from outside while they run.
"""
import json
import os
import shutil
import sys
import threading

import nbformat
import psutil
import pytest

from kit import grade, layout, paths, sandbox
from kit.job import kernels

pytestmark = pytest.mark.slow

LOOK = '''\
import sys
precargado = "tensorflow" in sys.modules  # before this kernel imports anything
import os, builtins, json, random
import numpy as np
import keras

def rastro():
    return sorted(
        [f"keras.{n}" for n in dir(keras) if n.startswith("tl_rastro")]
        + [f"builtins.{n}" for n in dir(builtins) if n.startswith("tl_rastro")]
        + [m for m in sys.modules if m == "tabnanny"]
        + [k for k in os.environ if k.startswith("TL_RASTRO")]
        + [f"{etiqueta}/{f}" for etiqueta, d in (("home", os.path.expanduser("~")), ("cwd", os.getcwd()),
                                                ("tmp", "/tmp"), ("shm", "/dev/shm"))
           for f in os.listdir(d) if f.startswith("tl_rastro")])

print("VISTO " + json.dumps({"otro": rastro(), "precargado": precargado,
                             "azar": [random.getrandbits(64), int(np.random.randint(2**31))]}), file=sys.__stderr__)
'''

LEAVE = '''\
import tabnanny
setattr(keras, "tl_rastro_{me}", 1)
setattr(builtins, "tl_rastro_{me}", 1)
os.environ["TL_RASTRO_{me}"] = "1"
for d in (os.path.expanduser("~"), os.getcwd(), "/tmp", "/dev/shm"):
    open(os.path.join(d, "tl_rastro_{me}"), "w").write("{me}")
print("DEJADO " + json.dumps(rastro()), file=sys.__stderr__)
'''

CONFINED = '''\
def estado(pid):
    campos = dict(l.split(":\\t", 1) for l in open(f"/proc/{pid}/status").read().splitlines() if ":\\t" in l)
    return {k: campos[k].strip() for k in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                                          "NoNewPrivs", "Seccomp", "Umask", "SigIgn", "SigBlk")}

runner = open("/proc/2/cmdline").read().split("\\0")
print("CONFINADO " + json.dumps({
    "runner": any(a.endswith("execute.py") for a in runner),
    "padre": os.getppid(),
    "estado": [k for k, v in estado("self").items() if estado(2)[k] != v],
    "limites": open("/proc/self/limits").read() == open("/proc/2/limits").read()}), file=sys.__stderr__)
'''


AS_USUAL = '''\
import atexit
import matplotlib.pyplot as plt
plt.plot([0, 1])  # shown by the inline backend at the cell's end, as in any kernel
atexit.register(lambda: print("SALIDA " + json.dumps(rastro()), file=sys.__stderr__, flush=True))
'''


def _notebook(me: str) -> nbformat.NotebookNode:
    blank = nbformat.read(paths.SUBMISSIONS / "blank_template.ipynb", as_version=4)
    cells = [LOOK, LEAVE.replace("{me}", me), CONFINED, AS_USUAL]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells], metadata=blank.metadata)


def _reports(out, name) -> dict:
    log = (layout.results_dir(out, name) / "otter.log").read_text(errors="replace")
    return {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in log.splitlines()
            if line.split(" ", 1)[0] in ("VISTO", "DEJADO", "CONFINADO", "SALIDA")}


class Namespaces(threading.Thread):
    """From outside, while the class is graded: each kernel of this process's jobs beside its runner (both children
    of the sandbox's init), and the namespaces where they differ. The kernel itself may not read its runner's
    namespaces: its Landlock domain refuses it every ptrace-checked look at a process outside (``kit.job.confine``)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.differ, self.done = {}, threading.Event()

    def _look(self) -> None:
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if proc.pid in self.differ or "ipykernel_launcher" not in " ".join(proc.info["cmdline"] or []) \
                        or os.getpid() not in [p.pid for p in proc.parents()]:
                    continue
                runner = next(c for c in proc.parent().children()
                              if any(a.endswith("execute.py") for a in c.cmdline()))
                self.differ[proc.pid] = [n for n in sorted(os.listdir(f"/proc/{proc.pid}/ns"))
                                         if os.readlink(f"/proc/{proc.pid}/ns/{n}") != os.readlink(
                                             f"/proc/{runner.pid}/ns/{n}")]
            except (StopIteration, psutil.Error, OSError):
                continue

    def run(self) -> None:
        while not self.done.wait(0.1):
            self._look()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not sys.platform.startswith("linux") or not sandbox.available():
        pytest.fail(f"bubblewrap is needed for these tests ({sandbox.INSTALL_HINT})")
    if os.environ.get("TL_ZYGOTE") == "0":
        pytest.fail("TL_ZYGOTE=0 in the environment: these tests are about the zygote's kernels")
    base = tmp_path_factory.mktemp("share")
    before = kernels.started()
    runs = {}
    watcher = Namespaces()
    watcher.start()
    for order in (("x", "y"), ("y", "x")):
        subs = base / "".join(order)
        subs.mkdir()
        for i, me in enumerate(order):
            nbformat.write(_notebook(me), subs / f"{i}_{me}.ipynb")
        out = base / f"out-{''.join(order)}"
        rows = grade.grade_all(subs, paths.AUTOGRADER_ZIP, out, jobs=1, force=True)
        runs[order] = {r.submission.split("_", 1)[1].removesuffix(".ipynb"): (r, _reports(out, r.submission),
                                                       layout.results_dir(out, r.submission) / "cases.json")
                       for r in rows}
    runs["zygotes"] = kernels.started() - before  # 0 if an earlier test's is still there
    watcher.done.set()
    watcher.join()
    runs["namespaces"] = watcher.differ
    yield runs
    shutil.rmtree(base, ignore_errors=True)


def _students(graded):
    return {order: students for order, students in graded.items() if order not in ("zygotes", "namespaces")}


def test_each_kernel_comes_from_the_zygote(graded):
    assert graded["zygotes"] <= 1  # one for the whole class
    for order, students in _students(graded).items():
        for me, (_, reports, _) in students.items():
            assert reports["VISTO"]["precargado"] is True, (order, me)


def test_a_student_sees_their_own_traces(graded):
    for order, students in _students(graded).items():
        for me, (_, reports, _) in students.items():
            assert reports["DEJADO"] == sorted(
                [f"keras.tl_rastro_{me}", f"builtins.tl_rastro_{me}", "tabnanny", f"TL_RASTRO_{me}"]
                + [f"{d}/tl_rastro_{me}" for d in ("home", "cwd", "tmp", "shm")]), (order, me)


def test_the_next_student_sees_none_of_them(graded):
    for order, students in _students(graded).items():
        for me, (_, reports, _) in students.items():
            assert reports["VISTO"]["otro"] == [], (order, me)


def test_every_kernel_draws_its_own_randomness(graded):
    draws = [reports["VISTO"]["azar"] for students in _students(graded).values() for _, reports, _ in students.values()]
    for source in (0, 1):  # Python's random, NumPy's global generator
        assert len({d[source] for d in draws}) == len(draws) == 4, source


def test_the_kernel_is_confined_as_the_runner_bubblewrap_started(graded):
    for order, students in _students(graded).items():
        for me, (_, reports, _) in students.items():
            assert reports["CONFINADO"] == {"runner": True, "padre": 1, "estado": [], "limites": True}, (order, me)


def test_the_kernel_joined_every_namespace_of_its_runner(graded):
    assert len(graded["namespaces"]) == 4  # every kernel of the class was seen beside its runner
    assert list(graded["namespaces"].values()) == [[]] * 4


def test_both_orders_grade_alike(graded):
    first, second = graded[("x", "y")], graded[("y", "x")]
    for me in ("x", "y"):
        (row_a, _, cases_a), (row_b, _, cases_b) = first[me], second[me]
        assert (row_a.status, row_a.questions, row_a.message) == (row_b.status, row_b.questions, row_b.message)
        assert cases_a.read_text() == cases_b.read_text()


def test_a_forked_kernel_shows_its_figures_and_ends_as_a_python_process(graded):
    for order, students in _students(graded).items():
        for me, (row, reports, cases) in students.items():
            assert [p.name for p in cases.parent.glob("figure-*.png")] == ["figure-1.png"], (order, me)
            assert reports["SALIDA"] == reports["DEJADO"], (order, me)  # its atexit functions ran, at its end
