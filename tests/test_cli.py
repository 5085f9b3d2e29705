"""`python -m kit VERB`: one entry point whose verbs are the modules' own `main(argv) -> int`."""
import importlib

import pytest

from kit import __main__ as cli
from kit import demo, intake
from kit.classwork import manual


def test_every_verb_is_a_module_with_main():
    for module, _ in cli.VERBS.values():
        assert callable(importlib.import_module(module).main), module


def test_an_unknown_verb_is_an_error(capsys):
    assert cli.main(["nope"]) == 2
    assert "unknown verb 'nope'" in capsys.readouterr().err


def test_a_verbs_help_is_its_own(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["grade", "--help"])
    assert done.value.code == 0 and "--student-pattern" in capsys.readouterr().out


def test_the_demo_class_has_its_five_students_and_one_copied_answer(tmp_path):
    demo.write_demo_class(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(demo.DEMO_CLASS)
    questions = manual.manual_questions()
    q = questions[1]
    answers = {name: manual.answers_of(intake.read_notebook(tmp_path / name), questions)[q.name]
               for name in demo.DEMO_ANSWERS}
    assert [(a, b) for a, b, _ in manual.similar_pairs(answers, q)] == [("ana_solucion.ipynb",
                                                                          "carla_sin_linea_vertical.ipynb")]
