"""One run per ``--out`` (the lock is taken over from a dead run), and job folders swept only when their run is gone."""
import os
import subprocess
import sys
import time

import pytest

from kit import grade, runlock, scratch

HOLD = ("import sys, time; from pathlib import Path; from kit import runlock\n"
        "with runlock.held(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(60)\n")


def _holder(out):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_on_the_same_out_is_refused_naming_the_first(tmp_path, capsys):
    holder = _holder(tmp_path / "out")
    try:
        with pytest.raises(runlock.Busy) as busy:
            with runlock.held(tmp_path / "out"):
                pass
        assert busy.value.code == 2 and f"(pid {holder.pid}, started " in busy.value.message
        assert grade.main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
        assert f"is being graded by another run (pid {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path):
    holder = _holder(tmp_path / "out")
    holder.kill()  # SIGKILL: the lock file stays, its flock does not
    holder.wait()
    assert (tmp_path / "out" / runlock.LOCK).exists()
    with runlock.held(tmp_path / "out"):
        assert f'"pid": {os.getpid()}' in (tmp_path / "out" / runlock.LOCK).read_text()


def test_wait_takes_the_lock_when_the_other_run_ends(tmp_path):
    holder = _holder(tmp_path / "out")
    said = []
    started = time.monotonic()
    killer = subprocess.Popen(["sh", "-c", f"sleep 2; kill {holder.pid}"])
    with runlock.held(tmp_path / "out", wait=True, say=said.append):
        waited = time.monotonic() - started
    killer.wait()
    holder.wait()
    assert waited >= 1.5 and said and f"pid {holder.pid}" in said[0]


def test_only_the_folders_of_runs_that_are_gone_are_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = tmp_path / (scratch.prefix("grade") + "abc")
    gone = tmp_path / f"tl-grade-{dead.pid}-{int(time.time() * 100)}-abc"
    reused = tmp_path / f"tl-decide-{os.getpid()}-12345-abc"  # this pid, but another process's start time
    other = tmp_path / "tl-grade-not-ours"
    for folder in (mine, gone, reused, other):
        folder.mkdir()
    removed = scratch.sweep(tmp_path)
    assert sorted(p.name for p in removed) == sorted([gone.name, reused.name])
    assert mine.exists() and other.exists() and not gone.exists()
