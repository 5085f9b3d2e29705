"""The grader run from a virtual environment under /tmp, as a CI runner or a container often has it.

The improvement probe runs in a sandbox whose /tmp is empty: it once lost sight of its own interpreter there, returned
nothing, and the formulas only the probe tells apart (``x34``-``x36``) got full marks without a word. Here they are
graded from such a venv (this checkout's own, copied under /tmp with hard links) and must get their expected grades;
``test_reference_submissions.py`` leaves them to this test.
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kit import grade, paths

PROBED = ("x34_improvement_np_clip.ipynb", "x35_improvement_sqrt_of_square.ipynb",
          "x36_improvement_where_positive.ipynb")


@pytest.fixture(scope="module")
def tmp_venv():
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests run outside a virtual environment: there is none to copy under /tmp")
    root = Path(tempfile.mkdtemp(prefix="tl-venv-", dir="/tmp"))
    venv = root / "venv"
    linked = subprocess.run(["cp", "-al", sys.prefix, str(venv)], capture_output=True)
    if linked.returncode != 0:  # another file system: a plain copy
        shutil.rmtree(venv, ignore_errors=True)
        shutil.copytree(sys.prefix, venv, symlinks=True)
    python = venv / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import sys, tensorflow; print(sys.prefix)"], capture_output=True,
                           text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert where.stdout.strip() == str(venv), where.stderr[-2000:]
    yield python
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_formulas_only_the_probe_tells_apart_lose_their_point_from_a_venv_under_tmp(tmp_venv, tmp_path):
    if not shutil.which("bwrap"):
        pytest.fail("bubblewrap is needed (.ci/run installs it)") if os.environ.get("CI") else \
            pytest.skip("bubblewrap is not installed: the probe runs unconfined")
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in PROBED:
        shutil.copy(paths.SUBMISSIONS / name, subs / name)
    done = subprocess.run([str(tmp_venv), "-m", "kit", "grade", str(subs), "--out", str(tmp_path / "out"),
                           "--jobs", "3"], cwd=paths.ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    expected, questions = grade.load_expected(), grade.questions_of(paths.AUTOGRADER_ZIP)
    with open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    got = {name: [rows[name]["status"], *(rows[name][q] for q in questions), rows[name]["unjudged"]] for name in PROBED}
    assert got == {name: [expected[name]["status"], *(expected[name][q] for q in questions), ""] for name in PROBED}
    assert all(expected[name]["q6_evaluacion"] == "1" for name in PROBED)
