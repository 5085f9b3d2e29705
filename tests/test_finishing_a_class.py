"""`python -m kit grade` on a small class: feedback pages, discussion page, gradebook, report, incremental re-runs."""
import csv
import json
import shutil
from collections import Counter
from html.parser import HTMLParser

import nbformat
import pytest

from kit import grade, paths
from kit.classwork import feedback, manual
from kit.records import Status

ANSWERS = {
    "ana.ipynb": {"q8_1_mejora": "Respuesta de Ana sobre la mejora: zanahoria.",
                  "q8_2_tasa_aprendizaje": "Ana explica la tasa baja: berenjena.",
                  "q8_3_escenarios": "Ana y los escenarios: calabaza."},
    "bruno.ipynb": {"q8_1_mejora": "Bruno cree que no mejoró: pepino."},
}
CLASS = {"ana.ipynb": "solution.ipynb", "bruno.ipynb": "b4_no_recompile.ipynb",
         "diego.ipynb": "blank_template.ipynb", "elena.ipynb": "broken_not_a_notebook.ipynb"}


def _write_class(folder):
    folder.mkdir()
    questions = manual.manual_questions()
    for name, reference in CLASS.items():
        shutil.copy(paths.SUBMISSIONS / reference, folder / name)
        if name in ANSWERS:
            nb = nbformat.read(folder / name, as_version=4)
            manual.set_answers(nb, questions, ANSWERS[name])
            nbformat.write(nb, folder / name)


def _grade(folder, out, capsys, *extra):
    assert grade.main([str(folder), "--out", str(out), "--jobs", "2", *extra]) == 0
    return capsys.readouterr().out


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    _write_class(root / "subs")
    assert grade.main([str(root / "subs"), "--out", str(root / "out"), "--jobs", "2"]) == 0
    return root


def _page(graded, name):
    return (graded / "out" / "feedback" / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_feedback_shows_the_public_failure_and_only_that_a_hidden_test_failed(graded):
    cases = feedback.load_cases(graded / "out" / "results" / "bruno.ipynb")
    failed = {c.name: c for c in cases if not c.passed}
    assert set(failed) == {"test_recompilado_adam_lr_1e5", "test_cambian_ultimas_40_y_no_las_demas"}
    hidden = failed["test_cambian_ultimas_40_y_no_las_demas"]
    assert hidden.hidden and "Durante la fase 2 solo cambiaron" in hidden.message

    page = _page(graded, "bruno.ipynb")
    assert "La fase 2 usó el mismo optimizador que la fase 1" in page
    assert "Una prueba oculta de esta pregunta no pasó." in page
    assert "Durante la fase 2 solo cambiaron" not in page and "cambian ultimas 40" not in page
    assert "16 / 18 puntos automáticos" in page


@pytest.mark.slow
def test_feedback_embeds_the_plots_of_the_graded_run(graded):
    figures = sorted((graded / "out" / "results" / "ana.ipynb").glob("figure-*.png"))
    assert len(figures) == 1  # the lab draws one figure with two axes
    assert _page(graded, "ana.ipynb").count('src="data:image/png;base64,') == len(figures)
    assert 'src="data:image/png' not in _page(graded, "elena.ipynb")  # nothing ran
    assert "La ejecución calificada no mostró ninguna gráfica." in _page(graded, "elena.ipynb")


@pytest.mark.slow
def test_feedback_explains_a_submission_that_could_not_be_graded(graded):
    page = _page(graded, "elena.ipynb")
    assert "Estado: error." in page and feedback.EXPLAINED[Status.ERROR][:60] in page


@pytest.mark.slow
def test_discussion_page_holds_every_students_answers(graded):
    page = (graded / "out" / "discussion.html").read_text(encoding="utf-8")
    for word in ("zanahoria", "berenjena", "calabaza", "pepino"):
        assert word in page
    # Diego left all three as the placeholder (Bruno's other two are the solution's); Elena's is no notebook.
    assert page.count("empty (placeholder left as it was)") == 3
    assert page.count("question not found in the notebook") == 3


@pytest.mark.slow
def test_report_numbers_equal_grades_csv(graded):
    rows = _csv(graded / "out" / "grades.csv")
    tables = _tables((graded / "out" / "report.html").read_text(encoding="utf-8"))
    statuses = {r[0]: int(r[1]) for r in tables["status"]}
    assert statuses == {s.value: Counter(r["status"] for r in rows).get(s.value, 0) for s in Status}
    per_submission = {r[0]: r[1:5] for r in tables["submission"]}
    assert per_submission == {r["submission"]: [r["status"], r["score"], r["seconds"], r["peak_mb"]] for r in rows}


@pytest.mark.slow
def test_manual_grades_reach_the_gradebook_on_a_rerun_that_grades_nothing(graded, capsys):
    out, sheet = graded / "out", graded / "out" / "manual_grades.csv"
    manual_rows = {r["submission"]: r for r in _csv(sheet)}
    assert [manual_rows["diego.ipynb"][q] for q in ("q8_1_mejora", "q8_2_tasa_aprendizaje", "q8_3_escenarios")] \
        == ["", "", ""]  # empty answers are not graded until someone says so: never a silent 0
    assert manual_rows["ana.ipynb"]["q8_1_mejora"] == ""
    final = {r["submission"]: r for r in _csv(out / "final_grades.csv")}
    assert final["ana.ipynb"]["total"] == "18" and final["ana.ipynb"]["max_total"] == "24"

    manual_rows["ana.ipynb"].update(q8_1_mejora="2", q8_2_tasa_aprendizaje="1.5", comment="bien")
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(manual_rows["ana.ipynb"]))
        writer.writeheader()
        writer.writerows(manual_rows.values())
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("results/*/row.json")}

    printed = _grade(graded / "subs", out, capsys)
    assert "Nothing new to grade" in printed
    assert {p: p.stat().st_mtime_ns for p in out.glob("results/*/row.json")} == stamps
    final = {r["submission"]: r for r in _csv(out / "final_grades.csv")}
    assert (final["ana.ipynb"]["q8_1_mejora"], final["ana.ipynb"]["total"], final["ana.ipynb"]["percent"]) \
        == ("2", "21.5", "89.6")
    assert {r["submission"]: r for r in _csv(sheet)}["ana.ipynb"]["comment"] == "bien"  # never overwritten


def test_a_changed_file_is_regraded_and_an_unchanged_one_is_not(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.ipynb").write_text("not json")
    (subs / "b.ipynb").write_text("not json either")
    _grade(subs, tmp_path / "out", capsys)
    key = {n: json.loads((tmp_path / "out" / "results" / n / "row.json").read_text())["key"]
           for n in ("a.ipynb", "b.ipynb")}

    (subs / "a.ipynb").write_text("still not json")
    graded = []
    grade.grade_all(subs, out=tmp_path / "out", on_start=lambda n: graded.append(n))
    assert graded == [1]
    assert json.loads((tmp_path / "out" / "results" / "a.ipynb" / "row.json").read_text())["key"] != key["a.ipynb"]
    assert json.loads((tmp_path / "out" / "results" / "b.ipynb" / "row.json").read_text())["key"] == key["b.ipynb"]

    grade.grade_all(subs, out=tmp_path / "out", force=True, on_start=lambda n: graded.append(n))
    assert graded == [1, 2]


class _Tables(HTMLParser):
    """Each table's body rows, as text cells, keyed by its first header cell."""

    def __init__(self):
        super().__init__()
        self.tables, self._rows, self._row, self._head, self._in = {}, [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._head, self._rows = None, []
        elif tag in ("td", "th"):
            self._in, self._text = tag, ""
        elif tag == "tr":
            self._row = []

    def handle_data(self, data):
        if self._in:
            self._text += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._row.append(self._text.strip())
            self._in = None
        elif tag == "tr" and self._row:
            if self._head is None:
                self._head = self._row
            else:
                self._rows.append(self._row)
        elif tag == "table":
            self.tables[self._head[0]] = self._rows


def _tables(html):
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def test_report_table_reader_reads_rows():
    assert _tables("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td> 2 </td></tr></table>") == {"a": [["1", "2"]]}
