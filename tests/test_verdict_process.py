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


BAD_REQUESTS = [b"not json", b"[1, 2]", b'{"argv": 1, "log": "x", "cwd": "/", "env": {}}',
                b'{"argv": ["--help"], "log": "x", "cwd": "/", "env": {"A": 1}}', b"x" * (2 * 2**20)]


@pytest.mark.parametrize("request_", BAD_REQUESTS, ids=["not-json", "a-list", "argv-not-a-list", "env-not-text",
                                                        "oversize"])
def test_a_request_that_does_not_parse_is_refused_and_the_server_goes_on(server, tmp_path, request_):
    import json
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
        conn.settimeout(30)
        conn.connect(str(server.path))
        try:
            conn.sendall(request_)
        except OSError:  # past the socket's largest message: refused by the kernel itself
            pass
        else:
            assert "error" in json.loads(conn.recv(1 << 16))
    assert server.process.poll() is None
    assert server.run(["--help"], tmp_path / "after.log", 60) == 0
    if len(request_) < 2**20:
        assert "request refused" in server.log.read_text()
