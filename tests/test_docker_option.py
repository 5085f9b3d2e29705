"""``--docker`` hands grading to ``otter grade``; without a Docker engine it says so and grades nothing."""
import sys

from kit import containers, grade, paths


def test_one_otter_grade_per_file_kind_with_no_network(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.zip").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    cmds = containers.commands(tmp_path, paths.AUTOGRADER_ZIP, tmp_path / "out", jobs=2, timeout_s=600)
    assert [c[c.index("--ext") + 1] for c in cmds] == ["ipynb", "zip"]
    assert all(c[:4] == [sys.executable, "-m", "otter", "grade"] and "--no-network" in c for c in cmds)


def test_without_a_docker_engine_it_exits_2_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(containers, "engine_available", lambda: False)
    (tmp_path / "subs").mkdir()
    assert grade.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--docker"]) == 2
    assert "needs a running Docker engine" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
