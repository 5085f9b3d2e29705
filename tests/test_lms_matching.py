"""Whose grade is whose: a submission is matched to an LMS participant by the id in its name (or a pattern, or a
mapping), never by a name; a student's several submissions are chosen by the LMS's order or by the instructor."""
from kit.lms import release


def grade(name, held=()):
    return release.Grade(name, "ok", 18.0, 24.0, "75.0", "", list(held))


def test_moodle_and_canvas_download_names_give_the_participant():
    grades = [grade("Ana López_101_assignsubmission_file_lab.ipynb"), grade("lopezana_LATE_201_9002_lab.ipynb")]
    moodle, unmatched, _ = release.match(grades, release.MOODLE_ID)
    assert list(moodle) == ["101"] and unmatched == ["lopezana_LATE_201_9002_lab.ipynb"]
    canvas, unmatched, _ = release.match(grades, release.CANVAS_ID)
    assert list(canvas) == ["201"] and unmatched == ["Ana López_101_assignsubmission_file_lab.ipynb"]


def test_a_pattern_or_a_mapping_covers_other_names():
    grades = [grade("lab-alumno-3141.ipynb"), grade("entrega de Bea.ipynb")]
    found, unmatched, _ = release.match(grades, release.MOODLE_ID, pattern=r"alumno-(?P<id>\d+)")
    assert list(found) == ["3141"] and unmatched == ["entrega de Bea.ipynb"]
    found, unmatched, _ = release.match(grades, release.MOODLE_ID, mapping={"entrega de Bea.ipynb": "77"})
    assert sorted(found) == ["77"] and unmatched == ["lab-alumno-3141.ipynb"]


def test_the_latest_canvas_upload_wins_and_the_note_says_so():
    grades = [grade("ruizcarla_301_9100_lab.ipynb"), grade("ruizcarla_LATE_301_9200_lab.ipynb")]
    found, _, notes = release.match(grades, release.CANVAS_ID)
    assert found["301"].grade.submission == "ruizcarla_LATE_301_9200_lab.ipynb"
    assert notes == ["participant 301: the latest of ruizcarla_301_9100_lab.ipynb, ruizcarla_LATE_301_9200_lab.ipynb "
                     "by the LMS's order: ruizcarla_LATE_301_9200_lab.ipynb"]


def test_the_instructor_can_name_the_one_to_publish():
    grades = [grade("ruizcarla_301_9100_lab.ipynb"), grade("ruizcarla_301_9200_lab.ipynb")]
    found, _, _ = release.match(grades, release.CANVAS_ID, chosen={"ruizcarla_301_9100_lab.ipynb"})
    assert found["301"].grade.submission == "ruizcarla_301_9100_lab.ipynb"


def test_a_held_row_is_named_with_its_reasons():
    found, _, _ = release.match([grade("Ana_101_assignsubmission_file_x.ipynb", ["manual grades missing: q8_3"])],
                                release.MOODLE_ID)
    assert release.holding(found) == ["Ana_101_assignsubmission_file_x.ipynb: manual grades missing: q8_3"]


def test_the_grade_follows_the_lms_scale():
    assert release.scaled(grade("x"), 10) == 7.5 and release.scaled(grade("x"), 100) == 75.0
