"""Publishing a graded class: each student's page holds the whole grade, and the grades go back into the LMS's
own file (Moodle's grading worksheet, Canvas' gradebook export) with every other byte left as the LMS wrote it.

One small class is graded once (two notebooks run, the solution and a flagged one; the rest are files that cannot be
graded, which cost nothing but still carry manual points), named as Moodle's and Canvas' downloads name them.
"""
import csv
import os
import shutil
import zipfile

import pytest

from kit import grade, paths
from kit.lms import cli

SOLUTION, FORGED, BROKEN = "solution.ipynb", "t1_checks_function_replaced.ipynb", "broken_not_a_notebook.ipynb"
CLASS = {  # file name as the LMS downloaded it -> reference submission, and its time (a resubmission is later)
    "Ana López_101_assignsubmission_file_borrador.ipynb": (BROKEN, 1_000),
    "Ana López_101_assignsubmission_file_lab.ipynb": (SOLUTION, 2_000),
    "Bruno Díaz_102_assignsubmission_file_lab.ipynb": (BROKEN, 1_000),
    "Carla Ruiz_104_assignsubmission_file_lab.ipynb": (FORGED, 1_000),
    "zeta sin nombre del LMS.ipynb": (BROKEN, 1_000),
    "lopezana_201_9001_lab.ipynb": (BROKEN, 1_000),
    "diazbruno_202_8999_lab.ipynb": (BROKEN, 1_000),
    "diazbruno_LATE_202_9002_lab.ipynb": (BROKEN, 1_000),
}
ANA, BRUNO, CARLA = (f"{n}_assignsubmission_file_lab.ipynb" for n in ("Ana López_101", "Bruno Díaz_102", "Carla Ruiz_104"))
MANUAL = ("q8_1_mejora", "q8_2_tasa_aprendizaje", "q8_3_escenarios")

# Moodle writes the worksheet with PHP's fputcsv: fields with a space quoted, "\n" line ends, no BOM.
WORKSHEET = (
    'Identifier,"Full name","Email address",Status,Grade,"Maximum Grade","Grade can be changed",'
    '"Last modified (submission)","Last modified (grade)","Feedback comments"\n'
    '"Participant 101","Ana López",ana@example.com,"Submitted for grading",,10.00,Yes,'
    '"Monday, 30 November 2026, 9:00 AM",-,\n'
    '"Participant 102","Bruno Díaz",bruno@example.com,"Submitted for grading",,10.00,Yes,'
    '"Monday, 30 November 2026, 9:05 AM",-,\n'
    '"Participant 104","Carla Ruiz",carla@example.com,"Submitted for grading",,10.00,Yes,'
    '"Monday, 30 November 2026, 9:07 AM",-,\n'
    '"Participant 105","Diego Sanz",diego@example.com,"No submission",,10.00,Yes,-,-,\n')
# The same worksheet from a Spanish site: translated headers, a decimal comma, a BOM, "\r\n".
HOJA = ("\ufeff" + WORKSHEET.replace("Identifier", "Identificador").replace('"Full name"', '"Nombre completo"')
        .replace("Grade,", "Calificación,", 1).replace('"Maximum Grade"', '"Calificación máxima"')
        .replace('"Feedback comments"', '"Comentarios de retroalimentación"').replace("Participant ", "Participante ")
        .replace(",10.00,", ',"10,00",').replace("\n", "\r\n"))
# Canvas' gradebook export: a BOM, a "Points Possible" row, a test student without an id, "\r\n".
GRADEBOOK = ("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Laboratorio transfer learning (4321),Quiz 1 (4322),"
             "Current Score,Final Score\r\n"
             "    Points Possible,,,,,100.00,10.00,(read only),(read only)\r\n"
             '"López, Ana",201,A201,alopez,Grupo 1,,8.00,80.00,80.00\r\n'
             '"Díaz, Bruno",202,A202,bdiaz,Grupo 1,,,,\r\n'
             '"Sanz, Diego",203,A203,dsanz,Grupo 1,,5.00,50.00,50.00\r\n'
             "Test Student,,,,,,,,\r\n")


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write_manual(out, values, accept=(), comments=None):
    rows = _csv(out / "manual_grades.csv")
    for row in rows:
        row.update(values.get(row["submission"], {}))
        row["accept_flagged"] = "yes" if row["submission"] in accept else ""
        row["comment"] = (comments or {}).get(row["submission"], "")
    with open(out / "manual_grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once; manual grades not yet given."""
    root = tmp_path_factory.mktemp("lms")
    (root / "subs").mkdir()
    for name, (reference, when) in CLASS.items():
        shutil.copy(paths.SUBMISSIONS / reference, root / "subs" / name)
        os.utime(root / "subs" / name, (when, when))
    assert grade.main([str(root / "subs"), "--out", str(root / "out"), "--jobs", "2"]) == 0
    return root


def _finish(graded, name, values, accept=(), comments=None):
    """A copy of the graded class with manual grades given and the class finished again (nothing regraded)."""
    out = graded / name
    if not out.exists():
        shutil.copytree(graded / "out", out)
        _write_manual(out, values, accept, comments)
        assert grade.main([str(graded / "subs"), "--out", str(out)]) == 0
    return out


ALL_MARKED = {sub: dict(zip(MANUAL, ("2", "1.5", "2"))) for sub in CLASS}


@pytest.fixture(scope="module")
def complete(graded):
    """Every manual grade given, Carla's flagged code accepted, a comment for Ana."""
    return _finish(graded, "complete", ALL_MARKED, accept={CARLA}, comments={ANA: "Muy buen análisis de las curvas."})


@pytest.fixture(scope="module")
def partial(graded):
    """Bruno's q8_3 not graded yet; Carla's flagged code not accepted."""
    values = {**ALL_MARKED, BRUNO: {"q8_1_mejora": "1", "q8_2_tasa_aprendizaje": "2", "q8_3_escenarios": ""}}
    return _finish(graded, "partial", values)


def _page(out, name):
    return (out / "feedback" / f"{name}.html").read_text(encoding="utf-8")


def _final(out, name):
    return next(r for r in _csv(out / "final_grades.csv") if r["submission"] == name)


# -- the student's page ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_page_shows_the_total_exactly_as_the_gradebook_has_it(complete):
    final = _final(complete, ANA)
    assert (final["total"], final["max_total"], final["percent"]) == ("23.5", "24", "97.9")
    page = _page(complete, ANA)
    assert "Calificación: 23.5 / 24 (97.9 %)" in page
    assert "<h3>q8_2_tasa_aprendizaje: 1.5 / 2</h3>" in page
    assert "Muy buen análisis de las curvas." in page
    assert "Calificación provisional" not in page


@pytest.mark.slow
def test_a_graded_discussion_question_shows_its_rubric(complete):
    page = _page(complete, ANA)
    assert page.count("Rúbrica") >= 1


@pytest.mark.slow
def test_the_page_says_which_manual_grades_are_pending(partial):
    page = _page(partial, BRUNO)
    assert "Aún falta que el profesorado califique q8_3_escenarios" in page
    assert "<h3>q8_3_escenarios: pendiente / 2</h3>" in page
    assert f"Calificación: {_final(partial, BRUNO)['total']} / 24" in page


@pytest.mark.slow
def test_a_flagged_page_shows_en_revision_and_no_total_until_accepted(partial, complete):
    held = _page(partial, CARLA)
    assert "Calificación: en revisión" in held and "Calificación: 1" not in held
    assert _final(partial, CARLA)["total"] == ""
    assert f"Calificación: {_final(complete, CARLA)['total']} / 24" in _page(complete, CARLA)


@pytest.mark.slow
def test_the_plots_say_what_the_grading_run_was(complete):
    page = _page(complete, ANA)
    assert ("tu cuaderno se ejecutó en modo rápido, con 64 imágenes de entrenamiento y 50 de prueba, un solo paso por "
            "época (las 25 épocas) y la base con pesos aleatorios") in page


@pytest.mark.slow
def test_tests_show_their_human_titles_from_the_master(complete):
    page = _page(complete, ANA)
    assert "Recompilado con Adam y tasa de aprendizaje 1e-5 durante todo el ajuste fino" in page
    assert "Imágenes de CIFAR-10 en float32, sin normalizar a [0, 1]" in page
    assert "recompilado adam lr 1e5" not in page


# -- Moodle -------------------------------------------------------------------------------------------

def _moodle(out, worksheet_text, tmp_path, *extra, name="worksheet.csv"):
    given = tmp_path / name
    given.write_bytes(worksheet_text.encode("utf-8"))
    code = cli.main(["moodle", "--worksheet", str(given), "--out", str(out), *extra])
    return code, given


def _lines(data: bytes, end: bytes) -> list:
    return data.split(end)


@pytest.mark.slow
def test_moodle_release_waits_for_flagged_and_missing_manual_grades(partial, tmp_path, capsys):
    code, given = _moodle(partial, WORKSHEET, tmp_path, "--submissions", str(partial.parent / "subs"))
    err = capsys.readouterr().err
    assert code == 1
    assert f"{BRUNO}: manual grades missing: q8_3_escenarios" in err
    assert f"{CARLA}: flagged for review and not accepted" in err
    assert not (partial / "lms").exists()
    assert given.read_text(encoding="utf-8") == WORKSHEET


@pytest.mark.slow
def test_moodle_allow_incomplete_fills_the_complete_rows_only(partial, tmp_path, capsys):
    code, _ = _moodle(partial, WORKSHEET, tmp_path, "--submissions", str(partial.parent / "subs"), "--allow-incomplete")
    assert code == 0
    rows = {r["Identifier"]: r for r in _csv(partial / "lms" / "worksheet.csv")}
    assert rows["Participant 101"]["Grade"] == "9.79"
    assert rows["Participant 102"]["Grade"] == "" and rows["Participant 104"]["Grade"] == ""


@pytest.mark.slow
def test_moodle_worksheet_gets_every_grade_and_comment_and_nothing_else_changes(complete, tmp_path, capsys):
    code, given = _moodle(complete, WORKSHEET, tmp_path, "--submissions", str(complete.parent / "subs"))
    printed = capsys.readouterr()
    assert code == 0
    filled = complete / "lms" / "worksheet.csv"
    assert str(filled) in printed.out
    rows = {r["Identifier"]: r for r in _csv(filled)}
    totals = {who: float(_final(complete, sub)["total"]) for who, sub in
              (("Participant 101", ANA), ("Participant 102", BRUNO), ("Participant 104", CARLA))}
    for who, total in totals.items():
        assert rows[who]["Grade"] == f"{total / 24 * 10:.2f}"
        assert f"{total:g} de 24 puntos" in rows[who]["Feedback comments"]
    assert rows["Participant 101"]["Feedback comments"].endswith("Muy buen análisis de las curvas.")
    assert rows["Participant 105"]["Grade"] == "" and rows["Participant 105"]["Feedback comments"] == ""
    # Byte for byte: the header and the unmatched row, and every other cell of the filled rows.
    before, after = _lines(given.read_bytes(), b"\n"), _lines(filled.read_bytes(), b"\n")
    assert len(before) == len(after) and before[0] == after[0] and before[4] == after[4]
    for old, new in zip(before[1:4], after[1:4]):
        old_cells, new_cells = next(csv.reader([old.decode()])), next(csv.reader([new.decode()]))
        assert old_cells[:4] + old_cells[5:9] == new_cells[:4] + new_cells[5:9]
        assert old.split(b",")[:2] == new.split(b",")[:2]  # "Participant 101","Ana López" keep their quotes
    assert given.read_text(encoding="utf-8") == WORKSHEET  # the downloaded file is never written


@pytest.mark.slow
def test_moodle_reports_the_unmatched_and_the_resubmission(complete, tmp_path, capsys):
    _moodle(complete, WORKSHEET, tmp_path, "--submissions", str(complete.parent / "subs"))
    err = capsys.readouterr().err
    assert "NOT PUBLISHED: zeta sin nombre del LMS.ipynb: no LMS id in its name" in err
    assert ("participant 101: the latest of Ana López_101_assignsubmission_file_borrador.ipynb, "
            f"{ANA} by the LMS's order: {ANA}") in err
    assert "NOT PUBLISHED: lopezana_201_9001_lab.ipynb: no LMS id" in err  # named by Canvas, not by Moodle


@pytest.mark.slow
def test_moodle_without_an_order_for_a_resubmission_guesses_nothing(complete, tmp_path, capsys):
    assert _moodle(complete, WORKSHEET, tmp_path)[0] == 0
    assert "participant 101 has 2 submissions" in capsys.readouterr().err
    rows = {r["Identifier"]: r for r in _csv(complete / "lms" / "worksheet.csv")}
    assert rows["Participant 101"]["Grade"] == ""
    assert _moodle(complete, WORKSHEET, tmp_path, "--use", ANA)[0] == 0
    assert "named by the instructor" in capsys.readouterr().err


@pytest.mark.slow
def test_moodle_feedback_zip_holds_each_page_named_as_moodle_names_files(complete, tmp_path):
    _moodle(complete, WORKSHEET, tmp_path, "--submissions", str(complete.parent / "subs"))
    with zipfile.ZipFile(complete / "lms" / "moodle_feedback_files.zip") as zf:
        names = sorted(zf.namelist())
        assert names == [f"{n}_assignsubmission_file_retroalimentacion.html"
                         for n in ("Ana López_101", "Bruno Díaz_102", "Carla Ruiz_104")]
        assert zf.read(names[0]) == (complete / "feedback" / f"{ANA}.html").read_bytes()


@pytest.mark.slow
def test_a_spanish_worksheet_keeps_its_bom_line_ends_and_decimal_comma(complete, tmp_path):
    code, given = _moodle(complete, HOJA, tmp_path, "--submissions", str(complete.parent / "subs"), name="hoja.csv")
    assert code == 0
    data = (complete / "lms" / "hoja.csv").read_bytes()
    assert data.startswith("\ufeff".encode()) and data.count(b"\r\n") == HOJA.count("\r\n")
    assert '"Participante 101","Ana López",ana@example.com,"Submitted for grading","9,79","10,00"' in data.decode()


@pytest.mark.slow
def test_a_worksheet_of_another_assignment_is_refused(complete, tmp_path, capsys):
    other = WORKSHEET.replace("Participant 10", "Participant 90")
    code, _ = _moodle(complete, other, tmp_path, name="otra.csv")
    assert code == 2
    assert "no participant of" in capsys.readouterr().err
    assert not (complete / "lms" / "otra.csv").exists()


# -- Canvas -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_canvas_gradebook_gets_the_assignment_column_and_nothing_else_changes(complete, tmp_path, capsys):
    given = tmp_path / "gradebook.csv"
    given.write_bytes(GRADEBOOK.encode("utf-8"))
    assert cli.main(["canvas", "--gradebook", str(given), "--assignment", "Laboratorio transfer learning",
                     "--out", str(complete)]) == 0
    err = capsys.readouterr().err
    assert "the latest of diazbruno_202_8999_lab.ipynb, diazbruno_LATE_202_9002_lab.ipynb by the LMS's order: " \
           "diazbruno_LATE_202_9002_lab.ipynb" in err
    data = (complete / "lms" / "gradebook.csv").read_bytes()
    before, after = GRADEBOOK.encode().split(b"\r\n"), data.split(b"\r\n")
    assert data.startswith("\ufeff".encode()) and len(before) == len(after)
    assert [before[i] for i in (0, 1, 4, 5)] == [after[i] for i in (0, 1, 4, 5)]
    ana = float(_final(complete, "lopezana_201_9001_lab.ipynb")["total"]) / 24 * 100
    assert after[2].decode() == f'"López, Ana",201,A201,alopez,Grupo 1,{ana:.2f},8.00,80.00,80.00'.replace(
        f"{ana:.2f}", f"{ana:.2f}".rstrip("0").rstrip("."))
    bruno = float(_final(complete, "diazbruno_LATE_202_9002_lab.ipynb")["total"]) / 24 * 100  # manual points only
    assert after[3].decode() == f'"Díaz, Bruno",202,A202,bdiaz,Grupo 1,{bruno:.2f},,,'


@pytest.mark.slow
def test_canvas_names_the_assignments_when_the_title_is_not_there(complete, tmp_path, capsys):
    given = tmp_path / "gradebook.csv"
    given.write_bytes(GRADEBOOK.encode("utf-8"))
    with pytest.raises(SystemExit, match=r"no column for the assignment 'Lab 2'.*Quiz 1 \(4322\)"):
        cli.main(["canvas", "--gradebook", str(given), "--assignment", "Lab 2", "--out", str(complete)])


@pytest.mark.slow
def test_moodle_never_publishes_a_row_the_grader_failed_on(complete, tmp_path, capsys):
    from kit import classwork, layout
    from kit.records import Status

    # without what another test's publishing left in the shared folder: this refusal must write no lms/
    out = shutil.copytree(complete, tmp_path / "retry", ignore=shutil.ignore_patterns("lms"))
    rows = [layout.load_row(out, name) for name in sorted(CLASS)]
    for row in rows:
        if row.submission == BRUNO:  # as the batch writes a job the cluster failed on
            row.status, row.message = Status.RETRY, "a worker could not load the kit's job"
    classwork.finish(out, rows, grade.questions_of(paths.AUTOGRADER_ZIP), complete.parent / "subs")
    assert _final(out, BRUNO)["total"] == ""
    code, given = _moodle(out, WORKSHEET, tmp_path, "--submissions", str(complete.parent / "subs"))
    assert code == 1
    assert f"{BRUNO}: the grader failed on it, not the student (status retry)" in capsys.readouterr().err
    assert not (out / "lms").exists()
