"""Make Otter's autograder zip Gradescope-ready, and byte-identical each time it is made.

    python -m kit.gradescope --mode real --out autograder-real.zip   # full-size grading on a GPU

Otter 7's generic ``setup.sh`` installs LaTeX, pandoc and a browser and caches nothing.
This replaces it (with ``run_autograder`` and ``run_otter.py``) by the lab's own, from
``assignment/gradescope/``:
Python 3.11 with the pinned requirements, and the ImageNet weights cached at image-build
time. ``lab_mode`` in the zip holds the switch: ``auto`` grades in fast mode (what the
committed zip does), ``real`` grades the lab as written (50,000 images; needs a GPU).
"""
import argparse
import sys
import zipfile
from pathlib import Path

from kit import cli, paths

SOURCES = paths.ASSIGNMENT / "gradescope"
REPLACED = {"setup.sh": 0o755, "run_autograder": 0o755, "cache_assets.py": 0o644}
JOB_MODULES = ("kit/__init__.py", "kit/paths.py", "kit/intake.py", "kit/embed.py", "kit/tampering.py",
               "kit/records.py", "kit/job/__init__.py", "kit/job/channel.py", "kit/job/confine.py",
               "kit/job/decide.py", "kit/job/door.py", "kit/job/execute.py", "kit/job/folder.py",
               "kit/job/gradescope.py", "kit/job/outputs.py", "kit/job/recorder.py")
"""The kit's grading job, shipped in the zip: Gradescope runs the same job as ``python -m kit grade``."""
MODES = ("auto", "real")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zips carry timestamps; a constant one makes rebuilds byte-identical


def _entries(zip_path: Path) -> dict:
    with zipfile.ZipFile(zip_path) as zf:
        return {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}


def write_stable_zip(entries: dict, out: Path, modes: dict = None) -> None:
    """Entries sorted, with a fixed timestamp and permissions: the same content gives the same bytes."""
    modes = modes or {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = (0o100000 | modes.get(name, 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])


def package(otter_zip: Path, out: Path, mode: str = "auto", template: Path | None = None) -> None:
    """Otter's zip with the lab's setup, entry point, asset cache, mode switch and the kit's grading job
    (with the fingerprints of ``template``'s own cells, exempt from the scan)."""
    from kit import tampering

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    entries = {k: v for k, v in _entries(otter_zip).items() if k != "run_otter.py"}
    for name in REPLACED:
        entries[name] = (SOURCES / name).read_bytes()
    for name in JOB_MODULES:
        entries[name] = (paths.ROOT / name).read_bytes()
    exempt = tampering.kit_cells(template or paths.STUDENT / paths.MASTER.name)
    entries["kit_cells.txt"] = "".join(f"{e}\n" for e in sorted(e for e in exempt if e)).encode()
    entries["lab_mode"] = f"{mode}\n".encode()
    write_stable_zip(entries, out, REPLACED)


def main(argv=None) -> int:
    parser = cli.parser("python -m kit gradescope", "Write a Gradescope autograder zip in the chosen grading mode.",
                        "lms.md")
    parser.add_argument("source", nargs="?", type=Path, default=paths.AUTOGRADER_ZIP,
                        help="an autograder zip made by `python -m kit build`")
    parser.add_argument("--mode", choices=MODES, default="real",
                        help="real: grade the lab as written, 50,000 images and ImageNet weights (a GPU "
                             "grader); auto: fast mode whenever Otter grades (the committed zip)")
    parser.add_argument("--out", type=Path, default=Path("autograder-real.zip"), help="zip to write")
    args = parser.parse_args(argv)
    package(args.source, args.out, args.mode)
    print(f"{args.out}: Gradescope autograder, lab_mode={args.mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
