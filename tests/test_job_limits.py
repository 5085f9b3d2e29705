"""Limits count everything a job holds: its RAM-backed files, its files on disk, what its archive expands to.

Proven by trying, each as a hostile student would. The solution with one cell added after its
set-up: fill the private ``/tmp``, fill the job folder, or keep a large file in ``/tmp`` (RAM)
while the kernel itself stays small. And an export zip that expands a thousandfold.
"""
import os
import shutil
import sys
import zipfile

import nbformat
import pytest

from kit import grade, intake, paths, sandbox
from kit.records import Status

CHUNKS = '''\
import os
datos = os.urandom(16 * 2**20)
with open({target!r}, "wb") as f:
    for _ in range({chunks}):
        f.write(datos)
'''


def _with_cell(folder, name, code):
    nb = nbformat.read(paths.SOLUTION / paths.MASTER.name, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(code))
    nbformat.write(nb, folder / name)


def _require_sandbox():
    if not sys.platform.startswith("linux"):
        pytest.skip("bubblewrap exists on Linux only")
    if not sandbox.available():
        pytest.fail(f"bubblewrap is needed for these tests and is missing or cannot run ({sandbox.INSTALL_HINT})")


def _tmp_used():
    st = os.statvfs("/tmp")
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@pytest.fixture(scope="module")
def disk_batch(tmp_path_factory):
    """/tmp and the job folder capped at 128 MB each; each submission writes 400 MB."""
    _require_sandbox()
    root = tmp_path_factory.mktemp("limits")
    subs, out = root / "subs", root / "out"
    subs.mkdir()
    _with_cell(subs, "fills_tmp.ipynb", CHUNKS.format(target="/tmp/relleno", chunks=25))
    _with_cell(subs, "fills_folder.ipynb", CHUNKS.format(target="relleno", chunks=25))
    before = _tmp_used()
    rows = grade.grade_all(subs, out=out, workdir=root, jobs=2, timeout_s=300, memory_mb=8192, disk_mb=128,
                           tmp_mb=128)
    return {"rows": {r.submission: r for r in rows}, "root": root, "tmp_growth": _tmp_used() - before}


@pytest.mark.slow
def test_a_job_that_fills_its_tmp_ends_with_disk(disk_batch):
    row = disk_batch["rows"]["fills_tmp.ipynb"]
    assert (row.status, row.score) == (Status.DISK, 0) and "llenó su /tmp (128 MB)" in row.message


@pytest.mark.slow
def test_a_job_that_fills_its_folder_ends_with_disk(disk_batch):
    row = disk_batch["rows"]["fills_folder.ipynb"]
    assert (row.status, row.score) == (Status.DISK, 0) and "llegaron a 128 MB en disco" in row.message


@pytest.mark.slow
def test_nothing_the_jobs_wrote_is_left_on_the_machine(disk_batch):
    assert not any(p.name.startswith("tl-grade-") for p in disk_batch["root"].iterdir())
    assert disk_batch["tmp_growth"] < 64 * 2**20  # the host's /tmp did not keep what the jobs wrote


@pytest.mark.slow
def test_ram_backed_files_count_against_the_memory_limit(tmp_path):
    """A kernel of about 1.2 GB that keeps 1.5 GB in /tmp (a tmpfs: RAM) passes a 2.2 GB limit together."""
    _require_sandbox()
    subs = tmp_path / "subs"
    subs.mkdir()
    _with_cell(subs, "keeps_tmp.ipynb", CHUNKS.format(target="/tmp/relleno", chunks=96)
               + "import time\ntime.sleep(30)\n")
    (row,) = grade.grade_all(subs, out=tmp_path / "out", workdir=tmp_path, jobs=1, timeout_s=300, memory_mb=2200,
                             disk_mb=4096, tmp_mb=4096)
    assert row.status == Status.MEMORY and "contando sus archivos en RAM" in row.message


def test_an_archive_bomb_is_refused_before_extraction(tmp_path):
    bomb = tmp_path / "bomba.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lab.ipynb", b"{" + b" " * (300 * 2**20) + b"}")
    assert bomb.stat().st_size < 2 * 2**20
    message = intake.problem(bomb, "transfer_learning_lab", max_unzipped_mb=200)
    assert message.startswith("Entrega no calificable: el zip se expandiría a 300 MB")


def test_an_archive_bomb_gets_an_error_row_and_the_batch_goes_on(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "bomba.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lab.ipynb", b"{" + b" " * (300 * 2**20) + b"}")
    shutil.copy(paths.SUBMISSIONS / "broken_not_a_notebook.ipynb", subs)
    rows = {r.submission: r for r in grade.grade_all(subs, out=tmp_path / "out", workdir=tmp_path, jobs=1)}
    assert rows["bomba.zip"].status == Status.ERROR and "bomba de compresión" in rows["bomba.zip"].message
    assert rows["broken_not_a_notebook.ipynb"].status == Status.ERROR
