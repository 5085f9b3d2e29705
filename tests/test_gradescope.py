"""The committed autograder zip is ready for Gradescope: lean setup, cached weights, pinned versions, a mode switch."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

from kit import gradescope, paths

ZIP = paths.AUTOGRADER_ZIP


def _read(name, zip_path=ZIP):
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name).decode()


def _pins(lines):
    """{package: version} of `name[extra]==version` lines."""
    pins = {}
    for line in lines:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s#]+)\s*", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def test_setup_installs_no_latex_pandoc_or_browser():
    setup = _read("setup.sh")
    for unneeded in ("texlive", "pandoc", "playwright", "chromium", "libgit2"):
        assert unneeded not in setup, unneeded
    assert 'env create -f "$SOURCE/environment.yml"' in setup


def test_setup_caches_the_weights_where_grading_reads_them():
    setup, entry = _read("setup.sh"), _read("run_autograder")
    assert re.search(r'KERAS_HOME="\$SOURCE/keras_home".*cache_assets\.py', setup, re.S)
    assert 'export KERAS_HOME="$SOURCE/keras_home"' in entry
    assert 'export LAB_MODE="$(cat "$SOURCE/lab_mode")"' in entry


def test_environment_is_python_311_with_exactly_the_projects_pins():
    env = yaml.safe_load(_read("environment.yml"))
    assert "python=3.11" in env["dependencies"]
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    zipped = _pins(pip)
    assert len(zipped) == len(pip), "every pip requirement is pinned"
    project = _pins((paths.ROOT / "requirements.txt").read_text().splitlines())
    assert zipped == {name: project[name] for name in zipped}
    assert "otter-grader[grading]==7.0.0" in pip  # not [plugins]: Google APIs are not needed to grade


def test_hidden_results_reach_students_only_after_publication():
    config = json.loads(_read("otter_config.json"))
    assert config["show_hidden"] is True and config.get("force_public_test_summary", True) is True
    assert config["pdf"] is False
    assert _read("lab_mode").strip() == "auto"


def test_real_mode_zip_differs_only_in_its_switch(tmp_path):
    out = tmp_path / "real.zip"
    assert gradescope.main(["--mode", "real", "--out", str(out)]) == 0
    with zipfile.ZipFile(ZIP) as a, zipfile.ZipFile(out) as b:
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
        assert set(a.namelist()) == set(b.namelist())
    assert changed == {"lab_mode"} and _read("lab_mode", out) == "real\n"


def test_weights_cache_fails_the_build_loudly_when_it_cannot_download(tmp_path):
    script = tmp_path / "cache_assets.py"
    script.write_text(_read("cache_assets.py"))
    no_network = {"KERAS_HOME": str(tmp_path / "keras"), "https_proxy": "http://127.0.0.1:9",
                  "HTTPS_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, str(script)], env={**os.environ, **no_network},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "cache_assets: could not cache the lab's assets" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("notebook, expected", [("solution.ipynb", {"q4_ajuste_fino": 3}),
                                                 ("b4_no_recompile.ipynb", {"q4_ajuste_fino": 1})])
def test_gradescope_entry_point_grades_a_submission(tmp_path, notebook, expected):
    """Gradescope's layout (source/, submission/, results/) and its call of /autograder/run_autograder."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    shutil.copy(paths.SUBMISSIONS / notebook, root / "submission" / notebook)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    env = {**os.environ, "OTTER_ENV": sys.prefix, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["Public Tests"]["visibility"] == "visible"
    questions = {name: t for name, t in tests.items() if name.startswith("q")}
    assert len(questions) == 7 and all(t["visibility"] == "after_published" for t in questions.values())
    for name, score in expected.items():
        assert questions[name]["score"] == score, questions[name]["output"]
