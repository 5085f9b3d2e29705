"""The main job, ``python -m kit``, in a copy of the checkout: it ends well and prints nothing a user did not cause
(no library warning, no traceback)."""
import re
import shutil
import subprocess
import sys

import pytest

from kit import paths

NOISE = re.compile(r"warning|traceback|deprecat", re.IGNORECASE)


@pytest.mark.slow
def test_the_main_job_prints_no_warning(tmp_path):
    if not shutil.which("bwrap"):
        pytest.skip("without bubblewrap the main job warns, as it must")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, check=True).stdout
    copy = tmp_path / "kit-checkout"
    for name in filter(None, tracked.decode().split("\0")):
        source = paths.ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    done = subprocess.run([sys.executable, "-m", "kit", "--no-run-tests", "--out", str(tmp_path / "grades")],
                          cwd=copy, capture_output=True, text=True, timeout=1200)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-3000:]
    assert "report.html" in said
    assert [line for line in said.splitlines() if NOISE.search(line)] == []
