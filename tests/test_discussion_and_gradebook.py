"""Discussion questions and the gradebook: questions from the master, empty answers, copies, names, manual sheet."""
import csv

import nbformat
import pytest

from kit import paths
from kit.classwork import discussion, gradebook, manual
from kit.records import Row

QUESTIONS = manual.manual_questions()
BLANK = manual.placeholders(QUESTIONS)


def test_manual_questions_come_from_the_master():
    assert [(q.name, q.points) for q in QUESTIONS] == [("q8_1_mejora", 2), ("q8_2_tasa_aprendizaje", 2),
                                                       ("q8_3_escenarios", 2)]
    assert all(q.prompt.startswith("**Pregunta 8.") and "Rúbrica" in q.model_answer for q in QUESTIONS)


def test_the_template_answers_are_empty_and_a_written_one_is_not():
    nb = nbformat.read(paths.STUDENT / paths.MASTER.name, as_version=4)
    assert all(manual.is_empty(a, BLANK[q]) for q, a in manual.answers_of(nb, QUESTIONS).items())
    manual.set_answers(nb, QUESTIONS, {"q8_2_tasa_aprendizaje": "Para no destruir los pesos."})
    answers = manual.answers_of(nb, QUESTIONS)
    assert answers["q8_2_tasa_aprendizaje"] == "Para no destruir los pesos."
    assert not manual.is_empty(answers["q8_2_tasa_aprendizaje"], BLANK["q8_2_tasa_aprendizaje"])
    assert manual.is_empty(answers["q8_1_mejora"], BLANK["q8_1_mejora"])


def test_a_deleted_question_is_missing_not_empty_text():
    nb = nbformat.read(paths.STUDENT / paths.MASTER.name, as_version=4)
    nb.cells = [c for c in nb.cells if "Pregunta 8.3" not in c.source]
    assert manual.answers_of(nb, QUESTIONS)["q8_3_escenarios"] is None


ORIGINAL = ("Los pesos de la base ya saben reconocer bordes y texturas porque se entrenaron con ImageNet. Si al "
            "descongelar usamos la tasa por defecto de Adam, los gradientes grandes cambian esos pesos demasiado "
            "y se pierde lo aprendido: la pérdida sube de golpe y la precisión cae en picado.")
EDITED = ORIGINAL.replace("de golpe", "mucho").replace("en picado", "bastante")
INDEPENDENT = ("Con una tasa alta el optimizador da pasos enormes y olvida lo que la red sabía de ImageNet; es el "
               "olvido catastrófico. Con 1e-5 solo se retocan un poco los filtros de las capas altas para CIFAR-10.")


def test_a_lightly_edited_copy_is_flagged_and_an_independent_answer_is_not():
    q = QUESTIONS[1]
    pairs = manual.similar_pairs({"ana": ORIGINAL, "carla": EDITED, "bruno": INDEPENDENT}, q)
    assert [(a, b) for a, b, _ in pairs] == [("ana", "carla")]
    assert pairs[0][2] >= manual.SIMILAR


def test_answers_that_only_restate_the_question_are_not_flagged():
    q = QUESTIONS[1]
    restated = {"a": q.prompt.replace("**", "") + " Sí, fue crucial.", "b": q.prompt.replace("**", "") + " No lo sé."}
    assert manual.similarity(restated["a"], restated["b"]) >= manual.SIMILAR  # alike only in the question's words
    assert manual.similar_pairs(restated, q) == []


def test_student_markdown_cannot_inject_html():
    answers = {"eve.ipynb": {q.name: '<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))'
                             for q in QUESTIONS}}
    empty = {"eve.ipynb": {q.name: False for q in QUESTIONS}}
    page = discussion.render(answers, QUESTIONS, empty, None)
    assert "<script>" not in page and "<img src=x" not in page and 'href="javascript:' not in page


@pytest.mark.parametrize("file_name, student", [
    ("Ana María López_123456_assignsubmission_file_transfer_learning_lab.ipynb", "Ana María López"),
    ("lopezana_12345_67890_transfer_learning_lab.ipynb", "lopezana"),
    ("lopezana_LATE_12345_67890_transfer_learning_lab.zip", "lopezana"),
    ("Copia de transfer_learning_lab (1).ipynb", "Copia de transfer_learning_lab (1)"),
])
def test_student_names_from_lms_download_names(file_name, student):
    assert gradebook.student_name(file_name) == student


def test_a_configured_pattern_names_the_student():
    assert gradebook.student_name("2026-A0123-lab.ipynb", r"^\d{4}-(?P<student>A\d+)-") == "A0123"


def _rows(*names):
    return [Row(n, questions={"q1": 1.0}, score=1.0, max_score=2.0) for n in names]


def test_the_manual_sheet_keeps_edits_and_gains_only_new_rows(tmp_path):
    sheet = tmp_path / "manual_grades.csv"
    gradebook.ensure_manual_grades(sheet, _rows("a.ipynb", "b.ipynb"), QUESTIONS, None)
    text = sheet.read_text().replace("a.ipynb,a,,,,,,,,", "a.ipynb,a,2,1,0,,visto,,,")
    sheet.write_text(text)
    gradebook.ensure_manual_grades(sheet, _rows("a.ipynb", "b.ipynb", "c.ipynb"), QUESTIONS, None)
    with open(sheet, newline="") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    assert (rows["a.ipynb"]["q8_1_mejora"], rows["a.ipynb"]["comment"]) == ("2", "visto")
    # an answer left as the template had it is not graded until someone says so: no silent 0
    assert rows["b.ipynb"]["q8_3_escenarios"] == "" and rows["c.ipynb"]["q8_1_mejora"] == ""


def test_a_sheet_with_one_comment_column_keeps_working_and_gains_a_column_per_question(tmp_path):
    from kit.classwork.review.store import Store

    sheet = tmp_path / "manual_grades.csv"
    sheet.write_text("submission,student,q8_1_mejora,q8_2_tasa_aprendizaje,q8_3_escenarios,accept_flagged,comment\n"
                     "a.ipynb,a,2,,,,visto\n")
    assert gradebook.read_comments(sheet, QUESTIONS)["a.ipynb"] == {"": "visto", **{q.name: "" for q in QUESTIONS}}
    Store(tmp_path, QUESTIONS, {}).set_comment("a.ipynb", "q8_1_mejora", "cita tus cifras", expected="")
    assert gradebook.read_comments(sheet, QUESTIONS)["a.ipynb"] == {
        "": "visto", "q8_1_mejora": "cita tus cifras", "q8_2_tasa_aprendizaje": "", "q8_3_escenarios": ""}
    assert gradebook.read_manual_grades(sheet, QUESTIONS)["a.ipynb"]["q8_1_mejora"] == 2


def test_a_manual_grade_out_of_range_is_left_out_and_reported(tmp_path, capsys):
    sheet = tmp_path / "manual_grades.csv"
    sheet.write_text("submission,student,q8_1_mejora,q8_2_tasa_aprendizaje,q8_3_escenarios,comment\n"
                     "a.ipynb,a,5,\"1,5\",dos,\n")
    grades = gradebook.read_manual_grades(sheet, QUESTIONS)
    assert grades["a.ipynb"] == {"q8_1_mejora": None, "q8_2_tasa_aprendizaje": 1.5, "q8_3_escenarios": None,
                                 "accept_flagged": ""}
    assert "q8_1_mejora='5'" in capsys.readouterr().err


def test_a_flagged_total_is_held_until_the_instructor_accepts_it(tmp_path):
    from kit.records import Row, Status

    rows = [Row("t.ipynb", status=Status.FLAGGED, score=18, max_score=18, questions={"q1": 18}),
            Row("ok.ipynb", score=18, max_score=18, questions={"q1": 18})]
    sheet = tmp_path / "manual_grades.csv"
    gradebook.ensure_manual_grades(sheet, rows, QUESTIONS, None)

    def totals():
        written = gradebook.write_final(tmp_path / "final.csv", rows, {"q1": 18}, QUESTIONS,
                                        gradebook.read_manual_grades(sheet, QUESTIONS), None)
        return {r["submission"]: (r["status"], r["total"], r["missing"]) for r in written}

    missing = " ".join(q.name for q in QUESTIONS)
    assert totals() == {"t.ipynb": ("flagged", "", missing), "ok.ipynb": ("ok", "18", missing)}
    sheet.write_text(sheet.read_text().replace("t.ipynb,t,,,,,", "t.ipynb,t,1,,,yes,"))
    assert totals()["t.ipynb"] == ("accepted", "19", "q8_2_tasa_aprendizaje q8_3_escenarios")
    sheet.write_text(sheet.read_text().replace("t.ipynb,t,1,,,yes,", "t.ipynb,t,1,,,no,"))
    assert totals()["t.ipynb"] == ("rejected", "1", "q8_2_tasa_aprendizaje q8_3_escenarios")  # discussion points only
