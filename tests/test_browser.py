"""A student's work in a real browser: JupyterLab on loopback, the lone template, headless Chromium.

The answers are entered through the page (each answer cell's editor is selected and the
solution's code inserted, as a paste would), the notebook is run top to bottom in fast
mode, and the page must show every ``grader.check`` verdict and the export's zip. The
final page is saved as ``test-artifacts/browser-final-page.png`` (not committed).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from kit import paths

NOTEBOOK = paths.MASTER.name
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = paths.ROOT / "test-artifacts"
NATIVE_NOISE = re.compile(r"oneDNN|cuda drivers|cuInit|absl::InitializeLog|without encryption|cpu_feature_guard")
pytestmark = pytest.mark.slow


def _need(condition, what):
    if not condition:
        message = f"{what} is needed for the browser test (.ci/run installs it)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder):
    """Every cell in the page (no windowing), and no news pop-up over the notebook."""
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _need(os.path.exists(CHROMIUM), "Debian's chromium")
    _need(shutil.which("jupyter-lab") or (paths.Path(sys.executable).parent / "jupyter-lab").exists(), "JupyterLab")
    pytest.importorskip("playwright")
    root = tmp_path_factory.mktemp("browser")
    work, settings = root / "student", root / "settings"
    work.mkdir()
    shutil.copy(paths.STUDENT / NOTEBOOK, work / NOTEBOOK)  # the notebook alone, as a student downloads it
    _settings(settings)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={work}",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={root / 'workspaces'}"],
        env=dict(os.environ, LAB_MODE="fast", JUPYTER_CONFIG_DIR=str(root / "config")),
        stdout=open(root / "server.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if server.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start: " + (root / "server.log").read_text()[-2000:])
    yield url, work
    server.terminate()
    server.wait(timeout=30)


def _solution_answers():
    """The solution's code for each of the template's answer cells, in order."""
    template = nbformat.read(paths.STUDENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(paths.SOLUTION / NOTEBOOK, as_version=4)
    t_code = [c for c in template.cells if c.cell_type == "code"]
    s_code = [c for c in solution.cells if c.cell_type == "code"]
    assert len(t_code) == len(s_code)
    answers = {}
    code_index = -1
    for i, cell in enumerate(template.cells):
        if cell.cell_type == "code":
            code_index += 1
            if "otter_answer_cell" in cell.metadata.get("tags", []):
                answers[i] = s_code[code_index].source
    return answers


def _first_written_answer():
    template = nbformat.read(paths.STUDENT / NOTEBOOK, as_version=4)
    return next(i for i, c in enumerate(template.cells)
                if c.cell_type == "markdown" and "otter_answer_cell" in c.metadata.get("tags", []))


@pytest.fixture(scope="module")
def page_after_run(lab):
    from playwright.sync_api import sync_playwright

    url, work = lab
    answers = _solution_answers()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{NOTEBOOK}")
        cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        cells.first.wait_for(timeout=120_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
        for index, code in answers.items():
            editor = cells.nth(index).locator(".cm-content")
            editor.click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text(code)
            page.keyboard.press("Escape")
        answer = cells.nth(_first_written_answer())  # Markdown: select the cell, Enter edits it
        answer.click()
        page.keyboard.press("Enter")
        answer.locator(".cm-content").wait_for()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text("Sí: la precisión de validación sube tras la línea discontinua.")
        page.keyboard.press("Control+Enter")  # renders it and stays (Shift+Enter at the end adds a cell)
        page.keyboard.press("Control+s")
        page.locator(".jp-mod-current.jp-mod-dirty").wait_for(state="detached", timeout=30_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        submit = cells.filter(has_text="tl_setup.submit(grader)")
        try:
            submit.locator(".jp-OutputArea", has_text=re.compile("Listo:|No se pudo|no está guardado")).wait_for(
                timeout=480_000)
        finally:
            submit.locator(".jp-OutputArea").last.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-final-page.png"), full_page=False)
        outputs = [cells.nth(i).locator(".jp-OutputArea").all_inner_texts() for i in range(cells.count())]
        sources = [" ".join(cells.nth(i).locator(".jp-InputArea").all_inner_texts()) for i in range(cells.count())]
        browser.close()
    return {"outputs": outputs, "sources": sources, "work": work}


def test_each_check_shows_its_verdict_in_the_page(page_after_run):
    verdicts = {src.strip(): " ".join(out) for src, out in zip(page_after_run["sources"], page_after_run["outputs"])
                if re.search(r'^grader\.check\("\w+"\)$', src.strip(), re.M)}
    assert len(verdicts) == 7
    assert [s for s, text in verdicts.items() if "✔" not in text or "pasa" not in text] == []


def test_the_export_cell_produces_the_submission_zip(page_after_run):
    assert list(page_after_run["work"].glob("transfer_learning_lab_*.zip"))
    assert "Listo:" in " ".join(page_after_run["outputs"][-1]) and len(page_after_run["sources"]) == 39


def test_no_output_area_shows_native_log_lines(page_after_run):
    shown = "\n".join(" ".join(out) for out in page_after_run["outputs"])
    assert NATIVE_NOISE.findall(shown) == []
