"""Grade one submission inside its job: ``otter run``, keeping what feedback and reports need.

    python kit/run_job.py SUBMISSION AUTOGRADER OUT

Calls Otter's documented ``otter.run.main`` (what ``otter run`` does) and, once it has
returned, writes to a fresh OUT: ``results.json`` (Otter's Gradescope results), ``cases.json``
(every test case: question, name, hidden, passed, points, message) and ``figure-N.png`` (the
images the graded run displayed). Exits 1 with Otter's error when grading produced no results.
"""
import base64
import json
import re
import shutil
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run by path inside the job: the kit is importable, not inherited by the kernel
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kit.records import Case  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_FIGURES = 4
MAX_FIGURE_BYTES = 2 * 2**20  # a student's output is untrusted: bounded, and PNG only


def test_functions(autograder: Path) -> dict:
    """{question: [test function names, in order]} from the autograder's test files.

    Otter names a case ``q2_extraccion - 2`` (its position) and does not keep the function;
    the position gives the function's own name, which says what it checks.
    """
    names = {}
    with zipfile.ZipFile(autograder) as zf:
        for path in zf.namelist():
            if re.fullmatch(r"tests/[^/]+\.py", path):
                text = zf.read(path).decode("utf-8")
                names[Path(path).stem] = re.findall(r"^def (\w+)\(", text, re.M)
    return names


def cases_of(results, functions: dict) -> list:
    """Otter's ``GradingResults`` as flat ``Case`` records, named after their test functions."""
    cases = []
    for question, test_file in results.results.items():
        for i, outcome in enumerate(test_file.test_case_results):
            case = outcome.test_case
            own = functions.get(question, [])
            position = re.fullmatch(rf"{re.escape(question)} - (\d+)", case.name or "")
            index = int(position.group(1)) - 1 if position else i
            cases.append(Case(question=question, name=own[index] if index < len(own) else case.name,
                              hidden=bool(case.hidden), passed=bool(outcome.passed), points=float(case.points or 0),
                              message="" if outcome.passed else str(outcome.message or "")))
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


def main(argv=None) -> int:
    submission, autograder, out = (Path(a) for a in (argv if argv is not None else sys.argv[1:]))
    from otter.run import main as otter_run
    from otter.run.run_autograder import AutograderConfig

    try:
        # No output_dir: Otter would copy results.json into a folder the notebook's code can reach first.
        results = otter_run(str(submission), autograder=str(autograder), output_dir=None, no_logo=True)
    except Exception as exc:  # e.g. another assignment's notebook: Otter writes no results
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(autograder) as zf:
        config = AutograderConfig(json.loads(zf.read("otter_config.json")))
    fresh_folder(out)  # written only now, after the graded kernel is gone
    write_new(out / "results.json", json.dumps(results.to_gradescope_dict(config), indent=4).encode())
    cases = [asdict(c) for c in cases_of(results, test_functions(autograder))]
    write_new(out / "cases.json", json.dumps(cases, ensure_ascii=False, indent=1).encode("utf-8"))
    for i, png in enumerate(figures_of(results.notebook), start=1):
        write_new(out / f"figure-{i}.png", png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
