"""--executor dask: a real scheduler and two workers, started as the README starts them (``python -m kit scheduler``,
``python -m kit worker tcp://HOST:8786``, from the checkout, nothing else set), grade a small class; every output
equals the local executor's, a worker killed mid-batch costs no row, and a worker that cannot grade (Dask's own
console script, which cannot import the kit; a checkout of another kit version) gives ``retry`` rows that name the fix
and that the next run, with a good worker, grades."""
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from kit import cli, grade, paths

distributed = pytest.importorskip("distributed")

CLASS = {"ana.ipynb": "solution.ipynb", "elena.ipynb": "broken_not_a_notebook.ipynb"}  # one kernel, one refusal
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _start(command, log, cwd=paths.ROOT, env=CLEAN_ENV):
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc):
    try:
        tree = [proc, *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.Error:
        return
    for p in tree:
        try:
            p.kill()
        except (psutil.Error, ProcessLookupError):
            pass
    proc.wait(timeout=30)


def _scheduler(folder, log, *extra):
    """``python -m kit scheduler`` on a free port; its address, as it writes it."""
    proc = _start([sys.executable, "-m", "kit", "scheduler", "--host", "127.0.0.1", "--port", "0",
                   "--scheduler-file", str(folder / "scheduler.json"), *extra], log)
    deadline = time.monotonic() + 60
    while not (folder / "scheduler.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return proc, json.loads((folder / "scheduler.json").read_text())["address"]


def _worker(address, log, **where):
    """The README's line, exactly: ``python -m kit worker tcp://HOST:8786``."""
    return _start([sys.executable, "-m", "kit", "worker", address], log, **where)


def _wait_for_workers(address, n):
    with distributed.Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=120)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two one-slot workers on this machine, as a cluster's would run: separate processes."""
    folder = tmp_path_factory.mktemp("dask")
    log = open(folder / "dask.log", "wb")
    scheduler, address = _scheduler(folder, log)
    workers = [_worker(address, log) for _ in range(2)]
    _wait_for_workers(address, 2)
    yield {"address": address, "workers": workers, "folder": folder}
    for proc in [*workers, scheduler]:
        _stop(proc)
    log.close()


def _write_class(folder):
    folder.mkdir()
    for name, reference in CLASS.items():
        shutil.copy(paths.SUBMISSIONS / reference, folder / name)


@pytest.fixture(scope="module")
def both(cluster, tmp_path_factory):
    """The same class graded by the local pool and by the cluster."""
    root = tmp_path_factory.mktemp("class")
    _write_class(root / "subs")
    assert grade.main([str(root / "subs"), "--out", str(root / "local"), "--jobs", "2"]) == 0
    assert grade.main([str(root / "subs"), "--out", str(root / "dask"), "--executor", "dask",
                       "--scheduler", cluster["address"]]) == 0
    return root


def _rows(out):
    rows = {}
    for name in CLASS:
        row = json.loads((out / "results" / name / "row.json").read_text())
        rows[name] = {k: v for k, v in row.items() if k not in ("seconds", "peak_mb")}
    return rows


@pytest.mark.slow
def test_the_cluster_grades_every_row_as_the_local_pool_does(both):
    assert _rows(both / "dask") == _rows(both / "local")
    assert {r["status"] for r in _rows(both / "dask").values()} == {"ok", "error"}


@pytest.mark.slow
def test_the_cluster_writes_the_same_results_feedback_and_gradebook(both):
    for name in CLASS:
        for file in ("cases.json", "results.json", "evidence.json"):
            local, remote = both / "local" / "results" / name / file, both / "dask" / "results" / name / file
            assert local.exists() == remote.exists()
            if local.exists():
                assert local.read_bytes() == remote.read_bytes(), (name, file)
        assert (both / "local" / "feedback" / f"{name}.html").read_bytes() == \
            (both / "dask" / "feedback" / f"{name}.html").read_bytes(), name
    for file in ("final_grades.csv", "manual_grades.csv"):
        assert (both / "local" / file).read_bytes() == (both / "dask" / file).read_bytes()
    assert _grades(both / "local", keep_cost=False) == _grades(both / "dask", keep_cost=False)


@pytest.mark.slow
def test_a_re_run_on_the_cluster_grades_nothing_new(both, cluster, capsys):
    keys = {n: json.loads((both / "dask" / "results" / n / "row.json").read_text())["key"] for n in CLASS}
    started = time.monotonic()
    assert grade.main([str(both / "subs"), "--out", str(both / "dask"), "--executor", "dask",
                       "--scheduler", cluster["address"]]) == 0
    assert time.monotonic() - started < 60
    assert {n: json.loads((both / "dask" / "results" / n / "row.json").read_text())["key"] for n in CLASS} == keys


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_no_row(cluster, tmp_path):
    _write_class(tmp_path / "subs")
    done = {}
    batch = threading.Thread(target=lambda: done.setdefault("code", grade.main(
        [str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--executor", "dask",
         "--scheduler", cluster["address"]])))
    batch.start()
    with distributed.Client(cluster["address"], timeout="30s") as client:
        deadline, since, victim_address = time.monotonic() + 180, {}, None
        while victim_address is None and time.monotonic() < deadline:  # a worker busy for 5 s: inside a kernel run
            busy = {address for address, tasks in client.processing().items() if tasks}
            since = {address: since.get(address, time.monotonic()) for address in busy}
            victim_address = next((a for a, t in since.items() if time.monotonic() - t > 5), None)
            time.sleep(0.2)
        assert victim_address, "no job ran long enough to be interrupted"
        pid = client.run(os.getpid, workers=[victim_address])[victim_address]
    victim = next(p for p in cluster["workers"] if pid in {p.pid, *(c.pid for c in psutil.Process(p.pid).children(
        recursive=True))})
    _stop(victim)
    batch.join(timeout=600)
    assert done.get("code") == 0
    rows = {n: json.loads((tmp_path / "out" / "results" / n / "row.json").read_text()) for n in CLASS}
    assert {n: r["status"] for n, r in rows.items()} == {"ana.ipynb": "ok", "elena.ipynb": "error"}
    assert rows["ana.ipynb"]["score"] == 18


def _grades(out, keep_cost=None):
    """grades.csv by submission: (status, score, message), or every column but the cost (seconds, MB)."""
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if keep_cost is False:
        return {r["submission"]: {k: v for k, v in r.items() if k not in ("seconds", "peak_mb")} for r in rows}
    return {r["submission"]: (r["status"], r["score"], r["message"]) for r in rows}


@pytest.mark.slow
def test_workers_that_cannot_grade_give_retry_rows_naming_the_fix_and_a_good_one_grades_them(tmp_path):
    log = open(tmp_path / "dask.log", "wb")
    scheduler, address = _scheduler(tmp_path, log, "--no-workers-timeout", "10")
    _write_class(tmp_path / "subs")
    other = tmp_path / "other"  # a checkout of another kit version: one comment changed
    shutil.copytree(paths.ROOT / "kit", other / "kit", ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "kit" / "paths.py", "a", encoding="utf-8") as f:
        f.write("# another commit\n")
    try:
        # Dask's console script, from another folder: it cannot import the kit.
        bad = _start([str(Path(sys.executable).with_name("dask")), "worker", address, "--nthreads", "1"], log,
                     cwd=tmp_path)
        _wait_for_workers(address, 1)
        assert grade.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--executor", "dask",
                           "--scheduler", address]) == cli.RETRY  # finished, with rows to grade again
        rows = _grades(tmp_path / "out")
        assert {n: r[:2] for n, r in rows.items()} == {"ana.ipynb": ("retry", "0"), "elena.ipynb": ("retry", "0")}
        assert all("start each worker with `python -m kit worker tcp://HOST:8786`" in r[2] for r in rows.values()), rows
        _stop(bad)

        older = _worker(address, log, cwd=other)
        _wait_for_workers(address, 1)
        assert grade.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--executor", "dask",
                           "--scheduler", address]) == cli.RETRY
        rows = _grades(tmp_path / "out")
        assert {n: r[0] for n, r in rows.items()} == {"ana.ipynb": "retry", "elena.ipynb": "retry"}
        assert all("this batch kit" in r[2] and "check out the same commit" in r[2] for r in rows.values())
        _stop(older)

        good = _worker(address, log)
        _wait_for_workers(address, 1)
        assert grade.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--executor", "dask",
                           "--scheduler", address]) == 0
        rows = _grades(tmp_path / "out")
        assert {n: r[:2] for n, r in rows.items()} == {"ana.ipynb": ("ok", "18"), "elena.ipynb": ("error", "0")}
        _stop(good)
    finally:
        _stop(scheduler)
        log.close()
