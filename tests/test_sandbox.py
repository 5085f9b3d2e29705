"""A graded submission cannot reach outside its job, proven by trying: one batch, graded once.

``hostile.ipynb`` is the blank template with its data cell replaced by code that tries to read
another submission and the repository's hidden tests, write into the instructor's folders,
connect to a port this test listens on, and leave a process behind. What it read is
smuggled out through its q1 points (the only channel a sandboxed job has): float32 images
if it could read another submission, one-hot labels if it could read the hidden tests.
``fork_bomb.ipynb`` forks without end. ``zz_other_secret.zip`` is the other submission.
"""
import os
import socket
import sys
import time
import uuid

import nbformat
import psutil
import pytest

from kit import grade, paths, sandbox
from kit.records import Status

TOKEN = uuid.uuid4().hex[:12]
LATE = f"tl_late_{TOKEN}"

HOSTILE = '''\
import os, socket, subprocess
(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()

def intenta(accion):
    try:
        accion()
        return True
    except Exception:
        return False

leyo_otra = intenta(lambda: open({other!r}, "rb").read(1))
leyo_ocultas = intenta(lambda: open({hidden!r}, "rb").read(1))
x_train = x_train.astype("float32" if leyo_otra else "uint8")
y_train_cat = keras.utils.to_categorical(y_train, 10) if leyo_ocultas else y_train
for destino in {targets!r}:
    intenta(lambda: open(destino, "w").write("escrito desde la entrega"))
intenta(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
subprocess.Popen(["sh", "-c", "sleep 6; echo tarde > {late_target}; sleep 60 # {late}"], start_new_session=True)
'''


def _cell_with(nb, text):
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def _require_sandbox():
    if not sys.platform.startswith("linux"):
        pytest.skip("bubblewrap exists on Linux only")
    if not sandbox.available():
        pytest.fail(f"bubblewrap is needed for these tests and is missing or cannot run ({sandbox.INSTALL_HINT})")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    _require_sandbox()
    root = tmp_path_factory.mktemp("sandbox")
    subs, out, work = root / "subs", root / "out", root / "work"
    for folder in (subs, out, work):
        folder.mkdir()
    (subs / "zz_other_secret.zip").write_bytes(b"PK\x03\x04 the other student's work")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    targets = {"out": out / f"pwned_{TOKEN}", "submissions": subs / f"pwned_{TOKEN}",
               "home": paths.Path.home() / f"pwned_{TOKEN}", "repository": paths.ROOT / f"pwned_{TOKEN}",
               "system temp": paths.Path("/tmp") / f"pwned_{TOKEN}"}

    nb = nbformat.read(paths.STUDENT / paths.MASTER.name, as_version=4)
    _cell_with(nb, "cifar10.load_data()").source = HOSTILE.format(
        other=str(subs / "zz_other_secret.zip"), hidden=str(paths.AUTOGRADER / "tests" / "q2_extraccion.py"),
        targets=[str(t) for t in targets.values()], port=listener.getsockname()[1],
        late_target=str(out / LATE), late=LATE)
    nbformat.write(nb, subs / "hostile.ipynb")
    bomb = nbformat.read(paths.SOLUTION / paths.MASTER.name, as_version=4)
    bomb.cells.insert(3, nbformat.v4.new_code_cell("import os\nwhile True:\n    os.fork()"))
    nbformat.write(bomb, subs / "fork_bomb.ipynb")

    started = time.monotonic()
    rows = {r.submission: r for r in grade.grade_all(subs, out=out, workdir=work, jobs=2, timeout_s=300)}
    listener.setblocking(False)
    try:
        listener.accept()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    yield {"rows": rows, "root": root, "out": out, "targets": targets, "connected": connected,
           "seconds": time.monotonic() - started}
    for target in targets.values():
        target.unlink(missing_ok=True)


def _cases(batch, submission):
    import json

    return {c["name"]: c for c in json.loads((batch["out"] / "results" / submission / "cases.json").read_text())}


def test_hostile_submission_is_graded_and_flagged_for_its_computed_writes(batch):
    row = batch["rows"]["hostile.ipynb"]
    assert row.status == Status.FLAGGED and "escribe un archivo de nombre calculado" in row.message
    assert (batch["out"] / "results" / "hostile.ipynb" / "results.json").exists()


def test_cannot_read_another_submission(batch):
    assert not _cases(batch, "hostile.ipynb")["test_imagenes_float32_sin_normalizar"]["passed"]


def test_cannot_read_the_hidden_tests_in_the_repository(batch):
    assert not _cases(batch, "hostile.ipynb")["test_etiquetas_one_hot"]["passed"]


@pytest.mark.parametrize("where", ["out", "submissions", "home", "repository", "system temp"])
def test_cannot_write_outside_its_job_folder(batch, where):
    assert not batch["targets"][where].exists()


def test_cannot_reach_the_network(batch):
    assert batch["connected"] is False


def test_leaves_no_process_running(batch):
    leftover = [p.pid for p in psutil.process_iter(["cmdline"]) if LATE in " ".join(p.info["cmdline"] or [])]
    assert leftover == []
    time.sleep(8)  # past the sleep of the process it started: nothing arrives late either
    assert not (batch["out"] / LATE).exists()


def test_fork_bomb_is_stopped_and_leaves_nothing(batch):
    row = batch["rows"]["fork_bomb.ipynb"]
    # Stopped by whichever limit it crosses first: the process count, or the memory its copies add up to.
    assert row.status in (Status.ERROR, Status.MEMORY) and row.score == 0 and row.message
    root = str(batch["root"])
    leftover = []
    for p in psutil.process_iter(["cmdline", "cwd"]):
        if root in " ".join(p.info["cmdline"] or []) + (p.info["cwd"] or ""):
            leftover.append(p.pid)
    assert leftover == []


def test_the_other_submission_is_a_row_too(batch):
    assert batch["rows"]["zz_other_secret.zip"].status == Status.ERROR


def test_batch_leaves_no_job_folder(batch):
    assert os.listdir(batch["root"] / "work") == []
