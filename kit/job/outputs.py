"""What one grading job writes: Otter's results, every test case, the figures the run displayed.

``results.json`` is Otter's Gradescope results, ``cases.json`` every test case (question,
name, hidden, passed, points, message, title), ``figure-N.png`` the images the graded run displayed
(bounded, PNG only: a student's output is untrusted), ``run.json`` the fast mode's own lines in
its output (what the grading run was, for the student's page).
"""
import ast
import base64
import re
import shutil
from pathlib import Path

from kit.records import Case

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_FIGURES = 4
MAX_FIGURE_BYTES = 2 * 2**20  # a student's output is untrusted: bounded, and PNG only


def test_functions(tests: dict) -> dict:
    """{question: [test function names, in order]} from the test files' texts ({question: text}).

    Otter names a case ``q2_extraccion - 2`` (its position) and does not keep the function;
    the position gives the function's own name, which says what it checks.
    """
    return {question: re.findall(r"^def (\w+)\(", text, re.M) for question, text in tests.items()}


def test_titles(tests: dict) -> dict:
    """{test function: its title}, the first line of each test's docstring in the test files' texts."""
    titles = {}
    for text in tests.values():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            doc = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
            if doc:
                titles[node.name] = doc.strip().splitlines()[0]
    return titles


def cases_of(results, functions: dict, titles: dict | None = None) -> list:
    """Otter's ``GradingResults`` as flat ``Case`` records, named after their test functions, with their titles."""
    cases = []
    for question, test_file in results.results.items():
        for i, outcome in enumerate(test_file.test_case_results):
            case = outcome.test_case
            own = functions.get(question, [])
            position = re.fullmatch(rf"{re.escape(question)} - (\d+)", case.name or "")
            index = int(position.group(1)) - 1 if position else i
            name = own[index] if index < len(own) else case.name
            cases.append(Case(question=question, name=name, hidden=bool(case.hidden), passed=bool(outcome.passed),
                              points=float(case.points or 0),
                              message="" if outcome.passed else str(outcome.message or ""),
                              title=(titles or {}).get(name, "")))
    return cases


def figures_of(notebook) -> list:
    """PNG bytes of the images the executed notebook displayed, first ones first."""
    found = []
    for cell in getattr(notebook, "cells", None) or []:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {}).get("image/png")
            if not isinstance(data, str) or len(data) > MAX_FIGURE_BYTES * 4 // 3 + 4:
                continue
            try:
                png = base64.b64decode(data, validate=False)
            except ValueError:
                continue
            if png.startswith(PNG_MAGIC):
                found.append(png)
            if len(found) == MAX_FIGURES:
                return found
    return found


def fresh_folder(path: Path) -> None:
    """``path`` as a new, empty folder: whatever the graded code left there (files, links) is removed first."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def write_new(path: Path, data: bytes) -> None:
    """Create ``path``; never write through a link or over a file someone else put there ("x" mode)."""
    with open(path, "xb") as f:
        f.write(data)


def write_figures(notebook, out: Path) -> None:
    fresh_folder(out)
    for i, png in enumerate(figures_of(notebook), start=1):
        write_new(out / f"figure-{i}.png", png)


FAST_MODE = "[modo rápido]"
MAX_RUN_BYTES = 16 * 1024


def fast_mode_lines(notebook) -> list:
    """The lines the lab's fast mode printed (what the grading run used: data, weights, steps), at most ten."""
    found = []
    for cell in getattr(notebook, "cells", None) or []:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            found += [line.strip()[:300] for line in str(text).splitlines() if line.strip().startswith(FAST_MODE)]
    return found[:10]


def write_run(notebook, out: Path) -> None:
    """``run.json`` beside the figures: the fast mode's lines, for the sentence on the student's page."""
    import json
    write_new(out / "run.json", json.dumps({"fast_mode": fast_mode_lines(notebook)}, ensure_ascii=False).encode())
