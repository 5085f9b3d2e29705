"""A class graded for real and interrupted: a SIGKILL (a closed terminal, an OOM kill), then Ctrl-C, then the same
command again. Nothing is lost or left behind, and one ``--out`` takes one run at a time."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from kit import paths

CLASS = {"ana.ipynb": "solution.ipynb", "elena.ipynb": "broken_not_a_notebook.ipynb"}
# The instructor's sheet, written before the run: accents, a decimal comma, quotes and commas in a comment.
SHEET = ('submission,student,q8_1_mejora,q8_2_tasa_aprendizaje,q8_3_escenarios,accept_flagged,comment\r\n'
         'ana.ipynb,ana,"1,5",2,0,,"Muy bien, Ana: «análisis» con ""comillas"", ñ"\r\n'
         'elena.ipynb,elena,0,0,0,,Archivo dañado\r\n')


def _grader(subs, out, env, *extra):
    return subprocess.Popen([sys.executable, "-m", "kit", "grade", str(subs), "--out", str(out), "--jobs", "2",
                             *extra], cwd=paths.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _scratch(folder, pid):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(("tl-grade-", "tl-decide-", "tl-task-"))
                  and f"-{pid}-" in p.name)


def _kernel_started(folder, pid, timeout=180):
    """Wait until a job of ``pid`` runs a kernel (its folder exists and a few seconds have passed)."""
    deadline = time.monotonic() + timeout
    while not _scratch(folder, pid):
        assert time.monotonic() < deadline, "no job started"
        time.sleep(0.2)
    time.sleep(5)


def _left(tmp):
    """Processes of any grading job under ``tmp`` still alive."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(tmp) in part for part in proc.info["cmdline"] or []):
                found.append(proc.info["cmdline"][:3])
        except psutil.Error:
            pass
    return found


@pytest.mark.slow
def test_a_killed_then_interrupted_class_regrades_to_the_same_rows_and_leaves_nothing(tmp_path):
    if not shutil.which("bwrap"):
        pytest.fail("bubblewrap is needed (.ci/run installs it)") if os.environ.get("CI") else \
            pytest.skip("bubblewrap is not installed")
    subs, out, tmp = tmp_path / "subs", tmp_path / "out", tmp_path / "tmp"
    for folder in (subs, out, tmp):
        folder.mkdir()
    for name, reference in CLASS.items():
        shutil.copy(paths.SUBMISSIONS / reference, subs / name)
    (out / "manual_grades.csv").write_bytes(SHEET.encode("utf-8"))
    env = dict(os.environ, TMPDIR=str(tmp))

    killed = _grader(subs, out, env)
    _kernel_started(tmp, killed.pid)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert _scratch(tmp, killed.pid), "a SIGKILLed run leaves its job folders (swept by the next run)"

    stopped = _grader(subs, out, env)
    _kernel_started(tmp, stopped.pid)
    assert _scratch(tmp, killed.pid) == []  # swept: its run is gone
    os.killpg(stopped.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground process group
    started = time.monotonic()
    _, err = stopped.communicate(timeout=120)
    assert stopped.returncode == 130 and time.monotonic() - started < 60
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("python -m kit grade: interrupted: ")
    assert f"the same command grades the rest: python -m kit grade {subs} --out {out} --jobs 2" in err
    assert _scratch(tmp, stopped.pid) == [] and _left(tmp) == []

    final = _grader(subs, out, env)
    _kernel_started(tmp, final.pid)
    second = _grader(subs, out, env)  # the instructor runs it again in another terminal
    _, said = second.communicate(timeout=60)
    assert second.returncode == 2
    assert f"is being graded by another run (pid {final.pid}, started " in said and "--wait" in said
    waiting = _grader(subs, out, env, "--wait")
    final.communicate(timeout=600)
    assert final.returncode == 0
    waited, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0 and "2 submissions" in waited

    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {r["submission"]: (r["status"], r["score"]) for r in csv.DictReader(f)}
    assert rows == {"ana.ipynb": ("ok", "18"), "elena.ipynb": ("error", "0")}
    assert (out / "manual_grades.csv").read_bytes() == SHEET.encode("utf-8")
    assert [p.name for p in tmp.iterdir() if p.name.startswith(("tl-", "tlc-"))] == []
    assert [p.name for p in (paths.Path("/tmp")).iterdir()
            if p.name.startswith("tlc-") and any(f"-{pid}-" in p.name for pid in (killed.pid, stopped.pid,
                                                                                   final.pid))] == []
    assert _left(tmp) == []
