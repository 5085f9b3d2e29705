"""--executor dask: a real Dask scheduler and two workers, started as processes (``dask scheduler``, ``dask worker``),
grade a small class; every output equals the local executor's, and a worker killed mid-batch costs no row."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import psutil
import pytest

from kit import grade, paths

distributed = pytest.importorskip("distributed")

CLASS = {"ana.ipynb": "solution.ipynb", "elena.ipynb": "broken_not_a_notebook.ipynb"}  # one kernel, one refusal


def _dask(*args, log):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(paths.ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=paths.ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two one-slot workers on this machine, as a cluster's would run: separate processes."""
    folder = tmp_path_factory.mktemp("dask")
    log = open(folder / "dask.log", "wb")
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                      "--scheduler-file", str(folder / "scheduler.json"), log=log)
    deadline = time.monotonic() + 60
    while not (folder / "scheduler.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    address = json.loads((folder / "scheduler.json").read_text())["address"]
    workers = [_dask("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}",
                     "--local-directory", str(folder / f"w{i}"), log=log) for i in range(2)]
    with distributed.Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=90)
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
    strip = lambda path: [line.split(",")[:-3] for line in path.read_text().splitlines()]  # noqa: E731 (time, MB)
    assert strip(both / "local" / "grades.csv") == strip(both / "dask" / "grades.csv")


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
        name = client.scheduler_info(n_workers=-1)["workers"][victim_address]["name"]
    victim = next(p for p, n in zip(cluster["workers"], ("w0", "w1")) if n == name)
    _stop(victim)
    batch.join(timeout=600)
    assert done.get("code") == 0
    rows = {n: json.loads((tmp_path / "out" / "results" / n / "row.json").read_text()) for n in CLASS}
    assert {n: r["status"] for n, r in rows.items()} == {"ana.ipynb": "ok", "elena.ipynb": "error"}
    assert rows["ana.ipynb"]["score"] == 18
