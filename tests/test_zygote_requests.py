"""The kernel zygote survives any request: one that does not parse, or names no sandboxed runner, is refused with a
reason and logged, and the zygote goes on serving (``kit.job.zygote``). The zygote is real here (it imports
TensorFlow); the requests come from its parent, the only process it listens to."""
import json
import os
import socket
import sys

import pytest

from kit.job import kernels

pytestmark = pytest.mark.slow

REQUESTS = {
    "not-json": b"{",
    "a-list": b"[1, 2]",
    "pid-as-text": json.dumps({"pid": "1", "argv": [], "env": {}, "cwd": "/"}).encode(),
    "env-not-text": json.dumps({"pid": 1, "argv": [], "env": {"A": 1}, "cwd": "/"}).encode(),
    "not-a-kernel": json.dumps({"pid": os.getpid(), "argv": ["sh"], "env": {}, "cwd": "/"}).encode(),
    "not-sandboxed": json.dumps({"pid": os.getpid(), "argv": [sys.executable, "-m", "ipykernel_launcher"],
                                 "env": {}, "cwd": "/"}).encode(),
}


@pytest.fixture(scope="module")
def zygote():
    found = kernels.Zygote({k: v for k, v in os.environ.items() if k != kernels.SWITCH})
    assert found.ready, found.why_not()
    yield found
    found.close()


def _ask(zygote, request: bytes, fds: list) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
        conn.settimeout(60)
        conn.connect(str(zygote.path))
        socket.send_fds(conn, [request], fds)
        return json.loads(conn.recv(1 << 16))


@pytest.mark.parametrize("name", REQUESTS)
def test_a_bad_request_is_refused_with_a_reason_and_the_zygote_goes_on(zygote, name):
    stdio = [os.open(os.devnull, os.O_RDWR) for _ in range(3)]
    try:
        answer = _ask(zygote, REQUESTS[name], stdio)
    finally:
        for fd in stdio:
            os.close(fd)
    assert set(answer) == {"error"} and answer["error"]
    assert zygote.running()
    assert "request refused" in zygote.log.read_text()


def test_a_request_without_its_stdio_is_refused(zygote):
    assert "stdio missing" in _ask(zygote, REQUESTS["not-sandboxed"], [])["error"]
    assert zygote.running()


def test_the_door_answers_a_request_that_is_no_object(zygote):
    assert "not a JSON object" in json.loads(zygote.enter(os.getpid(), b"[1]", []))["error"]
