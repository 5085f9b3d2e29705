"""The channel out of the graded kernel: one connection, lines in sequence, anything else is evidence."""
import json
import socket
import time

import pytest

from kit.job import channel, folder
from kit import paths


def _line(seq, kind, data=None):
    return json.dumps({"seq": seq, "kind": kind, "data": data or {}}).encode() + b"\n"


def _transcript(tmp_path, *lines):
    path = tmp_path / "observations.jsonl"
    path.write_bytes(b"".join(lines))
    return channel.Transcript.read(path)


def test_a_whole_stream_reads_in_order_with_no_problem(tmp_path):
    t = _transcript(tmp_path, _line(1, "hello"), _line(2, "installed"), _line(3, "checkpoint", {"question": "q1"}),
                    _line(4, "end"))
    assert [k for k, _ in t.messages] == ["hello", "installed", "checkpoint"] and t.problems == []


def test_a_line_out_of_sequence_is_reported_and_never_applied(tmp_path):
    t = _transcript(tmp_path, _line(1, "hello"), _line(1, "fit_start"), _line(2, "installed"), _line(3, "end"))
    assert [k for k, _ in t.messages] == ["hello", "installed"]
    assert t.problems == ["el canal de observación recibió un mensaje fuera de secuencia (1, se esperaba 2)"]


def test_a_line_the_recorder_did_not_write_is_reported(tmp_path):
    t = _transcript(tmp_path, _line(1, "hello"), b'{"seq": 2}\n', b"basura\n", _line(2, "end"))
    assert t.problems == ["una línea del canal de observación no la escribió el registro"]


def test_messages_after_the_end_are_reported_and_ignored(tmp_path):
    t = _transcript(tmp_path, _line(1, "hello"), _line(2, "end"), _line(3, "evidence", {"event": "open"}))
    assert t.of("evidence") == [] and t.problems == ["el canal de observación siguió tras el final (evidence)"]


def test_a_stream_that_never_ends_or_never_starts_is_reported(tmp_path):
    assert _transcript(tmp_path, _line(1, "hello")).problems == [
        "el canal de observación se cerró antes de acabar el cuaderno"]
    assert _transcript(tmp_path).problems == ["el registro de la calificación no llegó a empezar"]


def test_the_listener_takes_the_first_connection_only(tmp_path):
    listener = channel.Listener(tmp_path / "obs.sock", tmp_path / "transcript")
    first = socket.socket(socket.AF_UNIX)
    first.connect(str(tmp_path / "obs.sock"))
    first.sendall(_line(1, "hello"))
    time.sleep(0.2)
    second = socket.socket(socket.AF_UNIX)
    with pytest.raises(OSError):  # nobody listens any more
        second.connect(str(tmp_path / "obs.sock"))
    first.sendall(_line(2, "end"))
    first.close()
    listener.close()
    assert channel.Transcript.read(tmp_path / "transcript").problems == []


def test_the_graded_kernel_gets_the_public_runtime_and_no_test(tmp_path):
    lab = folder.unpack_lab(paths.AUTOGRADER_ZIP, tmp_path / "lab")
    work = tmp_path / "work"
    notebook = folder.prepare_job(paths.SUBMISSIONS / "ok_export_zip.zip", lab, work)
    assert notebook.suffix == ".ipynb" and notebook.parent == work
    assert sorted(p.name for p in work.iterdir()) == sorted([notebook.name, *folder.PUBLIC_FILES])
    assert (lab / "files" / "tl_hidden_checks.py").exists() and (lab / "tests" / "q4_ajuste_fino.py").exists()
