"""A run that cannot finish says so in one line, with a documented exit code, and loses nothing: a full disk, an
``--out`` that cannot be written, a scheduler killed mid-batch. The same command then finishes the class."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit import cli, paths

pytestmark = pytest.mark.slow


def _kit(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "kit", *map(str, args)], cwd=paths.ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _one_line(done):
    said = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-2000:]
    return said[-1] if said else ""


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of its own, as a small disk (root only, which CI is)."""
    if os.getuid() != 0:
        pytest.skip("mounting a small file system for --out needs root (CI runs as root)")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], check=True)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _broken_class(folder: Path, n: int = 3) -> None:
    folder.mkdir()
    for i in range(n):
        (folder / f"alumno_{i}.ipynb").write_text("{ not a notebook")  # an error row at once: no kernel needed


def test_a_full_disk_ends_in_one_line_and_the_same_command_finishes(small_disk, tmp_path):
    _broken_class(tmp_path / "clase")
    out = small_disk / "grades"
    out.mkdir()
    filler = small_disk / "relleno"
    with open(filler, "wb") as f:  # all but about 60 KB: the rows fit, the class's pages and report do not
        f.write(b"\0" * (4 * 2**20 - 60 * 2**10))
    done = _kit("grade", tmp_path / "clase", "--out", out)
    assert done.returncode == cli.UNFINISHED
    line = _one_line(done)
    assert "the disk holding" in line and "is full" in line and "python -m kit grade" in line
    kept = {p.parent.name: p.read_bytes() for p in out.glob("results/*/row.json")}
    filler.unlink()
    again = _kit("grade", tmp_path / "clase", "--out", out)
    assert again.returncode == cli.OK, again.stderr[-2000:]
    assert {p.parent.name: p.read_bytes() for p in out.glob("results/*/row.json") if p.parent.name in kept} == kept
    assert (out / "report.html").exists() and len(list((out / "feedback").iterdir())) == 3


def test_an_out_that_cannot_be_written_ends_in_one_line(small_disk, tmp_path):
    _broken_class(tmp_path / "clase")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    done = _kit("grade", tmp_path / "clase", "--out", small_disk)
    assert done.returncode == cli.UNFINISHED
    assert "cannot write into" in _one_line(done) and "Read-only file system" in _one_line(done)


def test_a_scheduler_killed_mid_batch_gives_retry_rows_exit_3_and_the_same_command_finishes(tmp_path):
    import distributed

    (tmp_path / "clase").mkdir()
    shutil.copy(paths.SUBMISSIONS / "solution.ipynb", tmp_path / "clase" / "ana.ipynb")
    (tmp_path / "clase" / "elena.ipynb").write_text("{ not a notebook")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    log = open(tmp_path / "dask.log", "wb")

    def start(*args):
        return subprocess.Popen([sys.executable, "-m", "kit", *args], cwd=paths.ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=log, start_new_session=True, text=True)

    def cluster():
        scheduler = start("scheduler", "--host", "127.0.0.1", "--port", "0")
        address = scheduler.stdout.readline().strip()
        worker = start("worker", address, "--nthreads", "2")  # both at once: elena's row cannot wait behind ana's
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=120)
        return scheduler, worker, address

    def stop(*procs):
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    scheduler, worker, address = cluster()
    try:
        batch = subprocess.Popen([sys.executable, "-m", "kit", "grade", str(tmp_path / "clase"), "--out",
                                  str(tmp_path / "out"), "--executor", "dask", "--scheduler", address],
                                 cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while not (tmp_path / "out" / "results" / "elena.ipynb" / "row.json").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(5)  # ana's job is running on the worker
        assert not (tmp_path / "out" / "results" / "ana.ipynb" / "row.json").exists()
        stop(scheduler)
        out, err = batch.communicate(timeout=600)
        assert batch.returncode == cli.RETRY, err[-2000:]
        assert "Traceback" not in out + err
        assert "rows are 'retry'" in err.strip().splitlines()[-1] and "the same command grades them" in err
        with open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8") as f:
            rows = {r["submission"]: r for r in csv.DictReader(f)}
        assert (rows["ana.ipynb"]["status"], rows["elena.ipynb"]["status"]) == ("retry", "error")
        assert not (tmp_path / "out" / "results" / "ana.ipynb" / "row.json").exists()  # not kept: graded again
        stop(worker)
        scheduler, worker, address = cluster()
        again = _kit("grade", tmp_path / "clase", "--out", tmp_path / "out", "--executor", "dask", "--scheduler",
                     address)
        assert again.returncode == cli.OK, again.stderr[-2000:]
        done = json.loads((tmp_path / "out" / "results" / "ana.ipynb" / "row.json").read_text())
        assert (done["status"], done["score"]) == ("ok", 18)
    finally:
        stop(scheduler, worker)
        log.close()


def test_a_cluster_failure_is_said_in_one_line_without_the_remote_traceback():
    from kit import grade

    lost = OSError("Timed out trying to connect to tcp://127.0.0.1:1 after 30 s: Exception:\n\nTraceback (most "
                   "recent call last):\n  File \"core.py\", line 342, in connect\nOSError: [Errno 111] refused")
    assert grade.grader_failure(lost) == ("the grader or the cluster failed, not the notebook; run the same command "
                                          "again to grade it (OSError: Timed out trying to connect to "
                                          "tcp://127.0.0.1:1 after 30 s: Exception)")
