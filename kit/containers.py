"""``--docker``: grading delegated to Otter's own containers (``otter grade``), where a Docker engine runs.

Otter builds an image from the autograder zip and grades each submission in a container of
its own, with ``--no-network``. It writes its ``final_grades.csv`` (one per file kind here,
since ``otter grade`` takes one extension per call); the kit's feedback pages and report are
built from the kit's own grading, not from that file.
"""
import shutil
import subprocess
import sys
from pathlib import Path


def engine_available() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def commands(submissions: Path, autograder: Path, out: Path, jobs: int, timeout_s: float) -> list:
    """One ``otter grade`` per file kind found in ``submissions``, each into its own output folder."""
    kinds = sorted({p.suffix[1:] for p in submissions.iterdir() if p.suffix in (".ipynb", ".zip")})
    return [[sys.executable, "-m", "otter", "grade", "-a", str(autograder), "-o", str(out / f"otter-{kind}"),
             "--ext", kind, "--containers", str(max(1, jobs)), "--timeout", str(int(timeout_s)), "--no-network",
             str(submissions)] for kind in kinds]


def grade(submissions: Path, autograder: Path, out: Path, jobs: int, timeout_s: float) -> int:
    if not engine_available():
        print("--docker needs a running Docker engine (`docker info` failed). Without it, grade with the "
              "kit's own jobs, sandboxed by bubblewrap where it is installed.", file=sys.stderr)
        return 2
    code = 0
    for cmd in commands(submissions, autograder, out, jobs, timeout_s):
        Path(cmd[cmd.index("-o") + 1]).mkdir(parents=True, exist_ok=True)
        code = max(code, subprocess.run(cmd).returncode)
        print(f"Otter's grades: {Path(cmd[cmd.index('-o') + 1]) / 'final_grades.csv'}")
    return code
