"""Regenerate the student template, the autograder and the solution from the master notebook.

    python -m kit build            # otter assign, checking the solution against every test
    python -m kit build --no-run-tests --out DIR

``otter assign`` writes ``dist/{student,autograder}`` with a timestamped zip and random
ids for the cells it adds; this module places its output in the repository's stage
folders under stable names and ids, so that regenerating gives the same content.
"""
import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from kit import cli, embed, gradescope, paths

RUNTIME_FILES = ("tl_setup.py", "tl_audit.py", "tl_fastmode.py", "tl_checks.py", "tl_hidden_checks.py",
                 "tl_cifar10_sample.npz", "CIFAR10_SAMPLE.md")
# What the notebook carries for students: the public runtime and tests; the sample is cut to fast mode's default.
EMBEDDED = ("tl_setup.py", "tl_audit.py", "tl_fastmode.py", "tl_checks.py", "CIFAR10_SAMPLE.md", "tests")
SPANISH = {  # Otter's English boilerplate in the generated notebooks
    "_Type your answer here, replacing this text._": "_Escribe aquí tu respuesta, en lugar de este texto._",
}
NOTEBOOK = paths.MASTER.name
STAGES = ("student_template", "autograder", "solution")


def give_ids(master: Path = paths.MASTER) -> int:
    """Give every cell of the master an id, as nbformat 4.5 requires (a cell added by an older editor has none, and
    every reader of the notebook then prints nbformat's MissingIDFieldWarning): ``cell-NNN`` by its position,
    existing ids untouched. Returns how many it gave."""
    import json

    nb = json.loads(master.read_text(encoding="utf-8"))  # as stored: nbformat's reader fills ids in silently
    taken = {cell.get("id") for cell in nb["cells"]}
    given = 0
    for i, cell in enumerate(nb["cells"]):
        if not cell.get("id"):
            cell["id"] = next(f"cell-{i:03d}{suffix}" for suffix in ("", *(f"-{n}" for n in range(1, 999)))
                              if f"cell-{i:03d}{suffix}" not in taken)
            taken.add(cell["id"])
            given += 1
    if given:
        nbformat.write(nbformat.from_dict(nb), master)
    return given


def _stable_ids(notebook: Path) -> None:
    """Otter gives the cells it adds random ids; number every cell instead."""
    nb = nbformat.read(notebook, as_version=nbformat.NO_CONVERT)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    nbformat.write(nb, notebook)


_MARKER = re.compile(r"^\s*# (BEGIN|END) SOLUTION( NO PROMPT)?\s*$")


def _clean_solution(notebook: Path) -> None:
    """The solution reads as the lab's reference code: drop Otter's markers and student prompts."""
    nb = nbformat.read(notebook, as_version=nbformat.NO_CONVERT)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept, in_prompt = [], False
        for line in cell.source.splitlines():
            if line.rstrip().endswith(("# BEGIN PROMPT", "# END PROMPT")):
                in_prompt = line.rstrip().endswith("# BEGIN PROMPT")
            elif not in_prompt and not _MARKER.match(line):
                kept.append(re.sub(r"\s*# SOLUTION:?\s*", "  # ", line).rstrip(" #"))
        cell.source = "\n".join(kept)
    nbformat.write(nb, notebook)


def _finish_notebook(notebook: Path, payload: str) -> None:
    """Spanish in place of Otter's boilerplate, and the lab's files packed into the set-up cell."""
    nb = nbformat.read(notebook, as_version=nbformat.NO_CONVERT)
    for cell in nb.cells:
        for english, spanish in SPANISH.items():
            cell.source = cell.source.replace(english, spanish)
        if cell.cell_type == "code" and embed.PLACEHOLDER in cell.source:
            cell.source = embed.fill(cell.source, payload)
    nbformat.write(nb, notebook)


def payload(student: Path) -> str:
    sample = embed.small_sample(student / embed.SAMPLE_NAME, embed.FAST_TRAIN, embed.FAST_TEST)
    return embed.pack(student, list(EMBEDDED), sample)


def run_assign(dist: Path, run_tests: bool) -> None:
    cmd = [sys.executable, "-m", "otter", "assign", str(paths.MASTER), str(dist)]
    if not run_tests:
        cmd.insert(4, "--no-run-tests")
    done = subprocess.run(cmd, cwd=paths.ASSIGNMENT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"otter assign failed ({done.returncode})")


def place(dist: Path, out: Path) -> None:
    """dist/student -> student_template/, dist/autograder -> autograder/ (zip + tests) and solution/."""
    for stage in STAGES:
        shutil.rmtree(out / stage, ignore_errors=True)
    shutil.copytree(dist / "student", out / "student_template")
    lab_files = payload(out / "student_template")
    _finish_notebook(out / "student_template" / NOTEBOOK, lab_files)
    _stable_ids(out / "student_template" / NOTEBOOK)

    ag = out / "autograder"
    ag.mkdir(parents=True)
    (zip_path,) = (dist / "autograder").glob("*.zip")
    gradescope.package(zip_path, ag / "autograder.zip", template=out / "student_template" / NOTEBOOK)
    shutil.copytree(dist / "autograder" / "tests", ag / "tests")
    shutil.copy(dist / "autograder" / "otter_config.json", ag / "otter_config.json")

    solution = out / "solution"
    solution.mkdir(parents=True)
    for name in (NOTEBOOK, *RUNTIME_FILES):
        shutil.copy(dist / "autograder" / name, solution / name)
    _clean_solution(solution / NOTEBOOK)
    _finish_notebook(solution / NOTEBOOK, lab_files)
    _stable_ids(solution / NOTEBOOK)


def build(out: Path = paths.ROOT, run_tests: bool = True) -> None:
    if give_ids():
        print(f"gave every cell of {paths.MASTER.name} an id (nbformat 4.5 requires one)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="tl-assign-") as tmp:
        dist = Path(tmp) / "dist"
        run_assign(dist, run_tests)
        place(dist, out)


def digest(root: Path) -> dict:
    """Content of the generated stages: file -> sha256, with zips opened (timestamps differ)."""
    out = {}
    for stage in STAGES:
        for path in sorted((root / stage).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as zf:
                    for name in sorted(zf.namelist()):
                        out[f"{rel}!{name}"] = hashlib.sha256(zf.read(name)).hexdigest()
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def main(argv=None) -> int:
    parser = cli.parser("python -m kit build", "Regenerate student_template/, autograder/ and solution/ from the "
                        "master.", "architecture.md")
    parser.add_argument("--out", type=Path, default=paths.ROOT, help="where the three stage folders go")
    parser.add_argument("--no-run-tests", action="store_true",
                        help="skip executing the solution against the tests (about 40 s)")
    args = parser.parse_args(argv)
    build(args.out, run_tests=not args.no_run_tests)
    print(f"Regenerated {', '.join(STAGES)} in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
