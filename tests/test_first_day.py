"""An instructor's first day, as the README and docs/ tell it: every fenced command run as written (placeholders
filled the way a newcomer fills them), in a copy of the checkout, from a fresh shell: none prints a traceback, none
leaves a file in the checkout (``git status`` clean); the demo and the real class each keep to their own folder; a
second class into the same ``--out`` is refused with one line that says what to do.

What is not run here, and why, is listed in ``NOT_RUN_HERE``: each of those lines is what ``.ci/run`` itself runs.
"""
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kit import cli, paths

pytestmark = pytest.mark.slow

DOCS = ["README.md", "docs/grading-a-class.md", "docs/review.md", "docs/lms.md", "docs/cluster.md"]
"""The pages with fenced commands, in the order a newcomer follows them (every page's fenced commands are collected:
``test_every_fenced_command_is_accounted_for``)."""
NOT_RUN_HERE = {
    "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt":
        "the set-up itself: .ci/run runs this very line in every CI run",
    "python -m pytest -n 2": "the test suite itself: .ci/run runs this very line",
}
SERVERS = ("python -m kit review", "python -m kit scheduler")
"""Commands that serve until stopped: started, their first line read, then stopped."""
CLASS = {"Ana López_101_assignsubmission_file_lab.ipynb": "solution.ipynb",
         "Bruno Díaz_102_assignsubmission_file_lab.ipynb": "blank_template.ipynb",
         "Carla Ruiz_104_assignsubmission_file_lab.ipynb": "broken_not_a_notebook.ipynb"}


def fenced_commands(page: Path) -> list:
    """Every command of a page's ```bash blocks: continuation lines joined, comment lines dropped."""
    commands, block, inside = [], [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = not inside and stripped == "```bash"
            continue
        if not inside or not stripped or stripped.startswith("#"):
            continue
        stripped = _without_comment(stripped)
        block.append(stripped[:-1].rstrip() if stripped.endswith("\\") else stripped)
        if not stripped.endswith("\\"):
            commands.append(" ".join(block))
            block = []
    return commands


def _without_comment(line: str) -> str:
    """A line without its trailing ``# comment`` (a ``#`` after a blank, outside quotes), as bash reads it."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and i and line[i - 1].isspace():
            return line[:i].rstrip()
    return line


def _tracked_copy(to: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (paths.ROOT / name).is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(paths.ROOT / name, to / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=to, check=True)
    subprocess.run([*git, "add", "-A"], cwd=to, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=to, check=True)


def _status(checkout: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=checkout,
                          capture_output=True, text=True, check=True).stdout


class Shell:
    """A fresh shell in the copy: the kit's Python first on PATH, HOME a newcomer's with the LMS's downloads."""

    def __init__(self, root: Path, checkout: Path):
        self.checkout, self.home = checkout, root / "home"
        (self.home / "Downloads").mkdir(parents=True)
        from test_publishing_grades import GRADEBOOK, WORKSHEET

        (self.home / "Downloads" / "Calificaciones.csv").write_text(WORKSHEET, encoding="utf-8")
        (self.home / "Downloads" / "gradebook.csv").write_text(GRADEBOOK, encoding="utf-8")
        tools = root / "bin"
        tools.mkdir()
        if not shutil.which("sudo") and os.getuid() == 0:  # root without sudo (a container, CI): sudo is a no-op
            (tools / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
            (tools / "sudo").chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHONPATH"))}
        self.env.update(HOME=str(self.home), BROWSER="true", LC_ALL="C.UTF-8",
                        PATH=os.pathsep.join([str(Path(sys.executable).parent), str(tools), os.environ["PATH"]]))
        self.servers, self.said = [], {}

    def run(self, command: str, timeout: float = 1500) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", "-c", command], cwd=self.checkout, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        self.said[command] = (done.returncode, done.stdout + done.stderr)
        return done

    def serve(self, command: str, stream: str = "stdout", timeout: float = 300) -> str:
        """Start a command that serves until stopped; the first line it writes on ``stream`` (both streams read on
        to the end, so that neither pipe fills while it serves)."""
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.checkout, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.servers.append(proc)
        lines = {"stdout": queue.Queue(), "stderr": queue.Queue()}
        for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            threading.Thread(target=lambda q, p: [q.put(line) for line in p] + [q.put("")], args=(lines[name], pipe),
                             daemon=True).start()
        try:
            first = lines[stream].get(timeout=timeout).strip()
        except queue.Empty:
            first = ""
        self.said[command] = (0 if first else proc.poll(), first)
        return first

    def close(self):
        for proc in self.servers:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            proc.wait()


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """The newcomer's day, lived once per test session: xdist's workers share it (the cluster binds port 8786,
    so two at once cannot both follow the docs), the first to come runs it and the others read what it saw."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "first-day"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "seen.json").exists():
            (root / "seen.json").write_text(json.dumps(_live(root)), encoding="utf-8")
    seen = json.loads((root / "seen.json").read_text(encoding="utf-8"))
    return {**seen, "checkout": root / "kit", "other": root / "otra_clase",
            "class": root / "kit" / "path" / "to" / "submissions"}


def _live(root: Path) -> dict:
    """Every fenced command run as the docs say, in a copy of the checkout; what each said, every change it left in
    the checkout, and a second class refused; every server stopped."""
    checkout = root / "kit"
    _tracked_copy(checkout)
    class_folder = checkout / "path" / "to" / "submissions"
    class_folder.mkdir(parents=True)
    for name, reference in CLASS.items():
        shutil.copy(paths.SUBMISSIONS / reference, class_folder / name)
    with open(checkout / ".git" / "info" / "exclude", "a") as f:
        f.write("/path/\n")  # the newcomer's class folder, put where the README's placeholder says
    shell = Shell(root, checkout)
    before = _status(checkout)
    changed, address = {}, None
    try:
        for page in DOCS:
            for command in fenced_commands(paths.ROOT / page):
                if command in NOT_RUN_HERE:
                    continue
                if address:  # the cluster's lines on one machine: HOST is what the scheduler printed
                    command = command.replace("tcp://HOST:8786", address)
                if command.startswith("python -m kit worker"):
                    shell.serve(command, stream="stderr")  # a worker says what it is on stderr, as Dask's do
                    _wait_for_workers(address)
                elif command.startswith(SERVERS):
                    first = shell.serve(command)
                    if command.startswith("python -m kit scheduler"):
                        address = first
                else:
                    shell.run(command)
                if _status(checkout) != before:
                    changed[command] = _status(checkout)
        other = root / "otra_clase"
        other.mkdir()
        shutil.copy(paths.SUBMISSIONS / "solution.ipynb", other / "ana.ipynb")
        refused = shell.run(f"python -m kit grade {other} --out grades")
        return {"said": shell.said, "changed": changed,
                "refused": {"returncode": refused.returncode, "stderr": refused.stderr}}
    finally:
        shell.close()


def _wait_for_workers(address: str) -> None:
    import distributed

    with distributed.Client(address, timeout="30s") as client:
        client.wait_for_workers(1, timeout=120)


def test_every_fenced_command_is_accounted_for():
    pages = sorted({str(p.relative_to(paths.ROOT)) for p in [paths.ROOT / "README.md", *paths.ROOT.glob("docs/*.md")]
                    if fenced_commands(p)})
    assert pages == sorted(DOCS)
    written = [command for page in DOCS for command in fenced_commands(paths.ROOT / page)]
    assert sorted(set(NOT_RUN_HERE) - set(written)) == []  # each one found, so none runs the suite from within
    assert all(command in (paths.ROOT / ".ci" / "run").read_text() for command in NOT_RUN_HERE)


def test_no_command_prints_a_traceback(day):
    said = day["said"]
    assert len(said) >= 10
    assert {c: out[-800:] for c, (_, out) in said.items() if "Traceback" in out} == {}


def test_no_command_leaves_a_file_in_the_checkout(day):
    assert day["changed"] == {}


def test_the_commands_did_their_work(day):
    said = day["said"]
    codes = {c.split(" --")[0]: code for c, (code, _) in said.items()}
    assert codes["python -m kit"] == 0 and codes["python -m kit build"] == 0
    assert codes["python -m kit grade path/to/submissions"] == 0
    assert said["python -m kit review --out grades"][1].startswith("kit review: 3 submissions of grades; open http")
    assert re.fullmatch(r"tcp://[\d.]+:8786", said["python -m kit scheduler"][1])
    [worker] = [out for c, (_, out) in said.items() if c.startswith("python -m kit worker")]
    assert worker.startswith("python -m kit worker: kit ") and "1 job(s) at once" in worker


def test_the_demo_and_the_class_each_keep_to_their_own_folder(day):
    checkout = day["checkout"]
    demo = {p.name for p in (checkout / "demo" / "feedback").iterdir()}
    assert len(demo) == 5 and all(n.startswith(("ana_", "bruno_", "carla_", "diego_", "elena_")) for n in demo)
    graded = checkout / "grades"
    assert sorted(p.name for p in (graded / "feedback").iterdir()) == sorted(f"{n}.html" for n in CLASS)
    assert sorted(json.loads((graded / "class.json").read_text())["folders"]) == [str(day["class"].resolve())]
    with open(graded / "manual_grades.csv", encoding="utf-8") as f:
        assert sorted(line.split(",")[0] for line in f.read().splitlines()[1:]) == sorted(CLASS)


def test_a_second_class_into_the_same_out_is_refused_saying_what_to_do(day):
    refused = day["refused"]
    assert refused["returncode"] == cli.REFUSED
    line = refused["stderr"].strip()
    assert line.count("\n") == 0 and "Traceback" not in line
    assert str(day["class"].resolve()) in line and str(day["other"]) in line
    assert "--out another-folder" in line and "--add" in line


def test_the_page_title_names_the_student_from_the_lms_download_name(day):
    page = (day["checkout"] / "grades" / "feedback" / f"{next(iter(CLASS))}.html").read_text(encoding="utf-8")
    assert "<title>Retroalimentación: Ana López</title>" in page
