"""The warm verdict process (``kit.job.verdicts``): each verdict in a fork of its own, its failure a code, never a
dead server."""
import sys

import pytest

from kit.job import verdicts


@pytest.fixture(scope="module")
def server():
    found = verdicts.Server()
    assert found.ready
    yield found
    found.close()


def test_a_verdict_runs_in_a_fork_of_the_server_and_writes_to_its_log(server, tmp_path):
    log = tmp_path / "otter.log"
    assert server.run(["--help"], log, 60) == 0
    assert "usage: python -m kit.job.decide" in log.read_text()
    assert server.process.poll() is None


def test_a_verdict_that_crashes_gives_its_code_and_the_next_one_still_runs(server, tmp_path):
    log = tmp_path / "otter.log"
    missing = str(tmp_path / "missing")
    assert server.run([missing, missing, missing, str(tmp_path / "out")], log, 60) == 1
    assert "FileNotFoundError" in log.read_text()
    assert server.run(["--help"], tmp_path / "again.log", 60) == 0


def test_without_a_server_the_verdict_is_its_own_process(tmp_path, monkeypatch):
    monkeypatch.setattr(verdicts, "_server", None)
    monkeypatch.setenv(verdicts.SWITCH, "0")
    command = [sys.executable, "-m", "kit.job.decide", "--help"]
    assert verdicts.verdict(command, tmp_path / "otter.log", 60) == 0
    assert verdicts._server is None
    assert "usage: python -m kit.job.decide" in (tmp_path / "otter.log").read_text()
