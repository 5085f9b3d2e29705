"""A student's code sees the system, its own job and nothing else, wherever the class and ``--out`` live.

The class and ``--out`` are under ``/var/tmp/<random>``, a path none of the kit's names covers. The class:

* ``a_recorre.ipynb``, the solution with cells that walk every readable folder from ``/``, try to write in each,
  and try to fill the channel's folder; its ``improvement`` formula walks the class folder, ``--out``, the home and
  the checkout again from the verdict's probe, and says what it found in the only way out a probe has (its error
  output, which becomes q6's message);
* ``b_memoria.ipynb``, graded next by the same zygote, which searches its kernel's memory for another job's folder
  name, prints its command line and environment, and tries to trace its sandbox's init, its runner and a child of
  its own;
* ``zz_companera_<token>.ipynb``, a classmate's file that nobody may read.

Each kernel reports on its real stderr, which the job keeps in ``otter.log``.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from kit import grade, layout, paths, sandbox
from kit.job import kernels

pytestmark = pytest.mark.slow

TOKEN = uuid.uuid4().hex[:10]

WALK = '''\
import os, sys, json
PYTHON = tuple(set(p.rstrip("/") + "/" for p in (sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix),
                                                os.path.realpath(sys.base_prefix))))
archivos, escribibles = [], []

def prueba_escribir(carpeta):
    ruta = os.path.join(carpeta, "tl_rastro_{token}")
    try:
        with open(ruta, "x") as f:
            f.write("x")
    except OSError:
        return
    escribibles.append(carpeta)
    os.remove(ruta)

for raiz, carpetas, ficheros in os.walk("/"):
    r = raiz.rstrip("/") + "/"
    if r.startswith(("/proc/", "/sys/")):
        carpetas[:] = []
        continue
    prueba_escribir(raiz)
    if not r.startswith(PYTHON + ("/usr/", "/dev/")):
        archivos += [os.path.join(raiz, f) for f in ficheros]
prohibidas = {{p: sorted(os.listdir(p)) if os.path.isdir(p) else None for p in {forbidden!r}}}
print("RECORRIDO " + json.dumps({{"archivos": sorted(archivos), "escribibles": sorted(escribibles),
                                 "prohibidas": prohibidas, "python": list(PYTHON)}}), file=sys.__stderr__)
'''

FILL_CHANNEL = '''\
runner = open("/proc/2/cmdline").read().split("\\0")
canal = os.path.dirname(runner[3])  # execute.py NOTEBOOK CHANNEL OUT
try:
    with open(os.path.join(canal, "relleno"), "wb") as f:
        for _ in range(64):
            f.write(os.urandom(2**20))
    lleno = "escrito"
except OSError as exc:
    lleno = exc.strerror
print("CANAL " + json.dumps({{"carpeta": canal, "resultado": lleno}}), file=sys.__stderr__)
'''

FORMULA = '''\
loss_finetune, accuracy_finetune = model.evaluate(x_test, y_test_cat, verbose=0)

def _mejora(base, final):
    import os, sys
    vistos, escritos = [], []
    for raiz_prohibida in {forbidden!r}:
        for raiz, carpetas, ficheros in os.walk(raiz_prohibida):
            if raiz.startswith((sys.prefix, sys.base_prefix)):
                carpetas[:] = []
                continue
            vistos += [os.path.join(raiz, f) for f in ficheros]
    for carpeta in ["/", "/var/tmp", "/etc", "/usr", *{forbidden!r}]:
        try:
            with open(os.path.join(carpeta, "tl_rastro_{token}"), "x") as f:
                f.write("x")
            escritos.append(carpeta)
            os.remove(os.path.join(carpeta, "tl_rastro_{token}"))
        except OSError:
            pass
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    traza = "rastreado" if libc.ptrace(0x4206, 1, 0, 0) == 0 else os.strerror(ctypes.get_errno())
    rastro = f"RASTRO {{len(vistos)}} {{len(escritos)}} {{traza}}: {{(vistos + escritos + [''])[0][:120]}}"
    if "JPY_PARENT_PID" not in os.environ:  # the verdict's probe: its error output is its only way out
        print(rastro, file=sys.stderr)
        os._exit(3)
    print(rastro, file=sys.__stderr__)
    return final - base

improvement = _mejora(accuracy_baseline, accuracy_finetune)
'''

MEMORY = '''\
import os, re, sys, json
propia = os.path.basename(os.path.dirname(os.getcwd()))  # the job's folder: its notebook runs in work/
patron = re.compile(rb"tl-grade-[0-9]+-[0-9]+-[A-Za-z0-9_]+")
hallados, leido = set(), 0
with open("/proc/self/maps") as mapas, open("/proc/self/mem", "rb", 0) as memoria:
    for linea in mapas:
        partes = linea.split()
        desde, hasta = (int(x, 16) for x in partes[0].split("-"))
        if not partes[1].startswith("rw"):
            continue
        for trozo in range(desde, hasta, 64 * 2**20):
            try:
                memoria.seek(trozo)
                datos = memoria.read(min(hasta, trozo + 64 * 2**20 + 256) - trozo)
            except (OSError, OverflowError, ValueError):
                continue
            leido += len(datos)
            hallados.update(m.group().decode() for m in patron.finditer(datos))
hallados.discard(propia)
print("MEMORIA " + json.dumps({"ajenos": sorted(hallados), "leido": leido, "propia": propia}), file=sys.__stderr__)
print("INICIO " + json.dumps({"cmdline": open("/proc/self/cmdline", "rb").read().decode(errors="replace"),
                              "environ": open("/proc/self/environ", "rb").read().decode(errors="replace")}),
      file=sys.__stderr__)
'''

TRACE = '''\
import ctypes, os, subprocess, sys, json
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_SEIZE = 0x4206

def traza(pid):
    if libc.ptrace(PTRACE_SEIZE, pid, 0, 0) == 0:
        return "rastreado"
    return os.strerror(ctypes.get_errno())

def abre(ruta):
    try:
        open(ruta, "rb").close()
        return "abierto"
    except OSError as exc:
        return exc.strerror

def senal(pid):
    try:
        os.kill(pid, 0)
        return "enviada"
    except OSError as exc:
        return exc.strerror

hijo = subprocess.Popen(["sleep", "30"])
print("TRAZA " + json.dumps({"init": traza(1), "runner": traza(2), "hijo": traza(hijo.pid),
                             "mem_runner": abre("/proc/2/mem"), "senal_runner": senal(2), "senal_init": senal(1),
                             "senal_hijo": senal(hijo.pid)}), file=sys.__stderr__)
hijo.kill()
'''


def _require_sandbox():
    if not sys.platform.startswith("linux") or not sandbox.available():
        pytest.fail(f"bubblewrap is needed for these tests and is missing or cannot run ({sandbox.INSTALL_HINT})")


def _reports(out, name) -> dict:
    log = (layout.results_dir(out, name) / "otter.log").read_text(errors="replace")
    found = {}
    for line in log.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in ("RECORRIDO", "CANAL", "MEMORIA", "INICIO", "TRAZA", "AJUSTES"):
            found[tag] = json.loads(rest)
        elif tag == "RASTRO":
            found[tag] = line
    return found


def _small(cells) -> nbformat.NotebookNode:
    blank = nbformat.read(paths.SUBMISSIONS / "blank_template.ipynb", as_version=4)
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells], metadata=blank.metadata)


@pytest.fixture(scope="module")
def place():
    """The class and ``--out`` under /var/tmp/<random>: a path none of the kit's names covers."""
    root = Path(f"/var/tmp/tl-aislado-{TOKEN}")
    (root / "class").mkdir(parents=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _forbidden(place) -> list:
    return [str(place / "class"), str(place / "out"), str(Path.home()), str(paths.ROOT)]


@pytest.fixture(scope="module")
def graded(place):
    _require_sandbox()
    if os.environ.get(kernels.SWITCH) == "0":
        pytest.fail("TL_ZYGOTE=0 in the environment: the memory test is about the zygote's kernels")
    subs, out = place / "class", place / "out"
    forbidden = _forbidden(place)
    nb = nbformat.read(paths.SOLUTION / paths.MASTER.name, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "improvement = " in c.source)
    cell.source = FORMULA.format(forbidden=forbidden, token=TOKEN)
    nb.cells += [nbformat.v4.new_code_cell(WALK.format(forbidden=forbidden, token=TOKEN)),
                 nbformat.v4.new_code_cell(FILL_CHANNEL.format())]
    nbformat.write(nb, subs / "a_recorre.ipynb")
    nbformat.write(_small([MEMORY, TRACE]), subs / "b_memoria.ipynb")
    (subs / f"zz_companera_{TOKEN}.ipynb").write_text(json.dumps({"secreto": TOKEN}))
    rows = {r.submission: r for r in grade.grade_all(subs, paths.AUTOGRADER_ZIP, out, jobs=1, force=True)}
    zygotes = [z for z in kernels._zygotes.values() if z is not None and z.running()]
    return {"rows": rows, "out": out, "zygotes": [str(z.folder) for z in zygotes], "walk": _reports(out, "a_recorre.ipynb"),
            "memory": _reports(out, "b_memoria.ipynb"), "zygote_memory": [_job_names(z.process.pid) for z in zygotes]}


def _job_names(pid: int) -> set:
    """Every job folder's name in a process's writable memory (read from outside, as its parent may)."""
    pattern, found = re.compile(rb"tl-grade-[0-9]+-[0-9]+-[A-Za-z0-9_]+"), set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as memory:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if not fields[1].startswith("rw"):
                continue
            for chunk in range(start, end, 64 * 2**20):
                try:
                    memory.seek(chunk)
                    data = memory.read(min(end, chunk + 64 * 2**20 + 256) - chunk)
                except (OSError, OverflowError, ValueError):
                    continue
                found.update(m.group().decode() for m in pattern.finditer(data))
    return found


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def test_the_kernel_finds_no_file_outside_the_system_and_its_job(graded):
    walk = graded["walk"]["RECORRIDO"]
    allowed = ["/tmp", "/dev/shm", "/opt/tl-kit/kit", "/etc/fonts", "/var/cache/fontconfig", "/etc/ld.so.conf.d"]
    single = {"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/timezone", "/etc/nsswitch.conf",
              "/etc/host.conf", "/etc/mime.types"}
    stray = [f for f in walk["archivos"] if not _under(f, allowed) and f not in single]
    assert stray == []
    assert any(f.endswith("/work/a_recorre.ipynb") for f in walk["archivos"])  # it did see its own job


def test_no_class_folder_out_home_or_checkout_inside(graded, place):
    walk = graded["walk"]["RECORRIDO"]
    python = [p.rstrip("/") for p in walk["python"]]
    seen = [f for f in walk["archivos"] if _under(f, _forbidden(place)) and not _under(f, python)]
    assert seen == []
    listed = walk["prohibidas"]
    assert listed[str(place / "class")] is None and listed[str(place / "out")] is None
    for root in (str(Path.home()), str(paths.ROOT)):  # at most the folders that lead to the Python running it
        leading = {Path(p).relative_to(root).parts[0] for p in python if _under(p, [root]) and p != root}
        assert set(listed[root] or []) <= leading, root


def test_the_kernel_writes_nowhere_but_its_job_tmp_and_shm(graded):
    written = graded["walk"]["RECORRIDO"]["escribibles"]
    assert written and all(_under(w, ["/tmp", "/dev/shm"]) for w in written), written
    channel = graded["walk"]["CANAL"]
    assert channel["carpeta"] not in written
    assert channel["resultado"] == "Read-only file system"


def test_the_improvement_probe_finds_nothing_and_writes_nothing(graded):
    from kit.job import one

    cases = json.loads((layout.results_dir(graded["out"], "a_recorre.ipynb") / "cases.json").read_text())
    message = next(c for c in cases if c["name"] == "test_mejora_es_final_menos_linea_base")["message"]
    assert "RASTRO 0 0 Operation not permitted:" in message  # the probe said what it saw on its way out
    assert graded["walk"]["RASTRO"].startswith("RASTRO 0 0 Operation not permitted:")  # and so did the kernel
    assert one.unjudged_of(layout.results_dir(graded["out"], "a_recorre.ipynb"))  # its exit is the grader's failure


def test_nothing_was_written_outside_the_jobs(graded, place):
    leftovers = [str(p) for root in [*_forbidden(place), "/tmp", "/var/tmp"]
                 for p in Path(root).glob(f"**/tl_rastro_{TOKEN}") if not _under(str(p), [str(paths.ROOT / ".venv")])]
    assert leftovers == []


def test_the_zygote_holds_no_request_it_served(graded):
    assert graded["zygote_memory"] and graded["zygote_memory"] == [set()] * len(graded["zygote_memory"])


def test_the_next_kernel_holds_nothing_of_the_previous_request(graded):
    memory = graded["memory"]["MEMORIA"]
    assert memory["leido"] > 100 * 2**20  # it really read its memory
    assert memory["ajenos"] == []


def test_the_kernel_starts_with_nothing_of_the_zygote(graded):
    start = graded["memory"]["INICIO"]
    assert "ipykernel_launcher" in start["cmdline"] and "zygote" not in start["cmdline"]
    for folder in graded["zygotes"]:
        assert folder not in start["cmdline"] and folder not in start["environ"]


def test_the_kernel_traces_and_signals_only_its_own_processes(graded):
    assert graded["memory"]["TRAZA"] == {
        "init": "Operation not permitted", "runner": "Operation not permitted", "hijo": "rastreado",
        "mem_runner": "Permission denied", "senal_runner": "Operation not permitted",
        "senal_init": "Operation not permitted", "senal_hijo": "enviada"}


def test_a_kernel_started_by_bubblewrap_is_confined_alike(tmp_path, monkeypatch):
    _require_sandbox()
    monkeypatch.setenv(kernels.SWITCH, "0")
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(_small([TRACE]), subs / "traza.ipynb")
    grade.grade_all(subs, paths.AUTOGRADER_ZIP, tmp_path / "out", jobs=1)
    assert _reports(tmp_path / "out", "traza.ipynb")["TRAZA"] == {
        "init": "Operation not permitted", "runner": "Operation not permitted", "hijo": "rastreado",
        "mem_runner": "Permission denied", "senal_runner": "Operation not permitted",
        "senal_init": "Operation not permitted", "senal_hijo": "enviada"}


SETTINGS = '''\
import os, json, sys

def ajustes(pid):
    estado = dict(l.split(":\\t", 1) for l in open(f"/proc/{pid}/status").read().splitlines() if ":\\t" in l)
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return {"nice": int(stat[19 - 3]), "oom": int(open(f"/proc/{pid}/oom_score_adj").read()),
            "cgroup": open(f"/proc/{pid}/cgroup").read(), "SigBlk": estado["SigBlk"].strip(),
            "SigIgn": estado["SigIgn"].strip(), "afinidad": sorted(os.sched_getaffinity(0 if pid == "self" else pid))}

propios, runner = ajustes("self"), ajustes(2)
print("AJUSTES " + json.dumps({"propios": propios, "distintos": [k for k in propios if propios[k] != runner[k]]}),
      file=sys.__stderr__)
'''

CHANGED_GRADER = '''\
import json, os, signal, sys
from pathlib import Path
from kit import grade, paths
root, cgroup = Path(sys.argv[1]), sys.argv[2]
grade.grade_all(root / "uno", paths.AUTOGRADER_ZIP, root / "out-uno", jobs=1)  # the zygote starts as the grader is
os.nice(3)  # then the grader's threads change: each job's runner inherits this, the zygote does not
with open("/proc/self/oom_score_adj", "w") as f:
    f.write(str(int(open("/proc/self/oom_score_adj").read()) + 111))
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
if cgroup:
    (Path(cgroup) / "cgroup.procs").write_text(str(os.getpid()))
grade.grade_all(root / "dos", paths.AUTOGRADER_ZIP, root / "out-dos", jobs=1)
'''


def _cgroup_for_the_test() -> Path | None:
    """A cgroup of its own in the pids hierarchy, where this machine lets the test make one (CI runs as root)."""
    folder = Path(f"/sys/fs/cgroup/pids/tl-prueba-{TOKEN}")
    try:
        folder.mkdir()
    except OSError:
        return None
    return folder


def test_the_kernel_takes_the_runners_cgroup_nice_oom_score_signals_and_processors(tmp_path):
    _require_sandbox()
    for name in ("uno", "dos"):
        (tmp_path / name).mkdir()
        nbformat.write(_small([SETTINGS]), tmp_path / name / f"{name}.ipynb")
    cgroup = _cgroup_for_the_test()
    try:
        env = {k: v for k, v in os.environ.items() if k != kernels.SWITCH}
        done = subprocess.run([sys.executable, "-c", CHANGED_GRADER, str(tmp_path), str(cgroup or "")], env=env,
                              cwd=paths.ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        if cgroup is not None:
            cgroup.rmdir()
    first = _reports(tmp_path / "out-uno", "uno.ipynb")["AJUSTES"]
    second = _reports(tmp_path / "out-dos", "dos.ipynb")["AJUSTES"]
    assert first["distintos"] == [] and second["distintos"] == []
    mine = second["propios"]
    assert mine["nice"] == first["propios"]["nice"] + 3
    assert mine["oom"] == first["propios"]["oom"] + 111
    assert int(mine["SigBlk"], 16) >> (signal.SIGUSR2 - 1) & 1
    assert int(mine["SigIgn"], 16) >> (signal.SIGUSR1 - 1) & 1
    assert len(mine["afinidad"]) == 1
    # The sandbox's cgroup namespace is rooted at the runner's cgroup: a kernel left in the zygote's would read
    # ``/..`` there, and ``distintos`` would name it.
