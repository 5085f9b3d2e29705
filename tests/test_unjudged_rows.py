"""A check the grader could not run is never a pass: the row says which, everywhere the instructor looks."""
import csv
import json

from kit import grades_table
from kit.classwork import feedback, report, summary
from kit.job import one
from kit.records import Row

QUESTIONS = {"q6_evaluacion": 2.0}
WHY = "q6_evaluacion: tu fórmula de `improvement` con otros pares de precisiones (el proceso de la prueba no arrancó)"


def _rows():
    return [Row("ana.ipynb", score=1.0, max_score=2.0, questions={"q6_evaluacion": 1.0}, unjudged=[WHY]),
            Row("bruno.ipynb", score=2.0, max_score=2.0, questions={"q6_evaluacion": 2.0})]


def test_the_verdicts_record_becomes_the_rows_list(tmp_path):
    (tmp_path / "unjudged.json").write_text(json.dumps([{
        "question": "q6_evaluacion", "check": "tu fórmula de `improvement` con otros pares de precisiones",
        "reason": "el proceso de la prueba no arrancó"}]), encoding="utf-8")
    assert one.unjudged_of(tmp_path) == [WHY]
    assert one.unjudged_of(tmp_path / "nothing") == []


def test_grades_csv_has_the_column(tmp_path):
    grades_table.write_csv(_rows(), QUESTIONS, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        assert [r["unjudged"] for r in csv.DictReader(f)] == [WHY, ""]


def test_the_summary_names_the_rows():
    assert "1 with checks the grader could not run (not the students' doing; graded again on the next run): " \
           "ana.ipynb" in summary(_rows(), QUESTIONS)


def test_the_report_lists_them_with_the_reason():
    page = report.render(_rows(), QUESTIONS, {})
    assert "1 submission(s) with checks the grader could not run" in page
    assert "el proceso de la prueba no arrancó" in page


def test_the_students_page_says_it_is_pending():
    row = _rows()[0]
    assert "no se pudo ejecutar por un fallo del calificador, no de tu cuaderno" in feedback.render(row, [], [], QUESTIONS)
    assert "fallo del calificador" not in feedback.render(_rows()[1], [], [], QUESTIONS)
