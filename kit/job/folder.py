"""The folders of one grading job: the autograder as the parent reads it, and what the kernel gets.

The autograder zip is read here and nowhere else: its questions and points, its assignment's name, its lab.
"""
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat

from kit import intake

PUBLIC_FILES = ("tl_audit.py", "tl_checks.py", "tl_fastmode.py", "tl_setup.py", "tl_cifar10_sample.npz",
                "CIFAR10_SAMPLE.md")
"""What the graded kernel gets beside the notebook: the public runtime. Tests and hidden checks stay outside."""


def points_of(test_text: str) -> float:
    """The points an Otter test file is worth (its ``points = N`` line), 0 without one."""
    found = re.search(r"^points = ([\d.]+)", test_text, re.M)
    return float(found.group(1)) if found else 0.0


def questions_of(autograder: Path) -> dict:
    """{question: points} from the autograder's test files, for rows that produced no results."""
    out = {}
    with zipfile.ZipFile(autograder) as zf:
        for name in sorted(zf.namelist()):
            if re.fullmatch(r"tests/[^/]+\.py", name):
                out[Path(name).stem] = points_of(zf.read(name).decode())
    return out


def assignment_of(autograder: Path) -> str | None:
    """The assignment's name in the autograder's ``otter_config.json``."""
    with zipfile.ZipFile(autograder) as zf:
        return json.loads(zf.read("otter_config.json")).get("assignment_name")


def unpack_lab(autograder: Path, dest: Path) -> Path:
    """The autograder as the decider reads it: ``files/``, ``tests/`` and ``otter_config.json``."""
    with zipfile.ZipFile(autograder) as zf:
        for name in zf.namelist():
            if name.startswith(("files/", "tests/")) or name == "otter_config.json":
                zf.extract(name, dest)
    return dest


def prepare_job(submission: Path, lab: Path, work: Path) -> Path:
    """The job's working folder: the submitted notebook (out of its zip) beside the public runtime only."""
    work.mkdir(parents=True)
    name = submission.name if submission.suffix == ".ipynb" else submission.stem + ".ipynb"
    notebook = work / name
    nbformat.write(intake.read_notebook(submission, float("inf")), notebook)  # its size was judged at intake
    for public in PUBLIC_FILES:
        if (lab / "files" / public).exists():
            shutil.copy(lab / "files" / public, work / public)
    return notebook
