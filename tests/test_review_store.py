"""kit review's saves: rubric items from the master, compare-and-set cells, refusals, re-scoring, atomic files."""
import csv
import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

import review_class
from kit import paths
from kit.classwork import manual, rubric
from kit.classwork.review import ownrun, views
from kit.classwork.review.store import Conflict, Refused

Q1 = "q8_1_mejora"


@pytest.fixture()
def klass(tmp_path):
    subs, out = review_class.write(tmp_path)
    return views.Class(out, subs)


def _sheet(out):
    with open(out / "manual_grades.csv", newline="", encoding="utf-8") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def test_each_manual_question_has_rubric_items_that_add_up_to_its_points():
    for q in manual.manual_questions():
        found = rubric.items(q.model_answer)
        assert len(found) == 2 and sum(i.points for i in found) == q.points, q.name
    first = rubric.items(manual.manual_questions()[0].model_answer)[0]
    assert first.text.startswith("responde sí/no citando la precisión")


def test_items_are_read_from_a_list_too():
    assert [(i.points, i.text) for i in rubric.items("**Rúbrica.**\n- 0,5 puntos: cita cifras.\n- 1.5 puntos: "
                                                       "interpreta.")] == [(0.5, "cita cifras."), (1.5, "interpreta.")]


def test_items_set_the_points_and_are_recorded_per_item(klass):
    saved = klass.store.set_items("ana.ipynb", Q1, ["1", "2"], expected="")
    assert saved == {"value": "2", "items": ["1", "2"]}
    assert _sheet(klass.out)["ana.ipynb"][Q1] == "2"
    record = json.loads((klass.out / "manual_review.json").read_text(encoding="utf-8"))
    assert record["items"]["ana.ipynb"][Q1] == ["1", "2"]


def test_a_cell_changed_elsewhere_is_not_overwritten(klass):
    klass.store.set_items("ana.ipynb", Q1, ["1"], expected="")  # another tab saved 1
    with pytest.raises(Conflict) as refused:
        klass.store.set_items("ana.ipynb", Q1, ["2"], expected="")  # this tab still shows it empty
    assert refused.value.now == "1" and "Your change was not saved" in str(refused.value)
    assert _sheet(klass.out)["ana.ipynb"][Q1] == "1"


def test_a_spreadsheet_edit_since_the_page_loaded_is_kept(klass):
    rows = _sheet(klass.out)
    rows["bruno.ipynb"]["comment"] = "escrito en la hoja"
    with open(klass.out / "manual_grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows["bruno.ipynb"]))
        writer.writeheader()
        writer.writerows(rows.values())
    with pytest.raises(Conflict):
        klass.store.set_comment("bruno.ipynb", "", "desde la página", expected="")
    assert _sheet(klass.out)["bruno.ipynb"]["comment"] == "escrito en la hoja"


def test_decimal_commas_are_read_and_values_over_the_maximum_refused(klass):
    assert klass.store.set_value("bruno.ipynb", Q1, "1,5", expected="")["value"] == "1.5"
    with pytest.raises(Refused, match="outside 0 to 2"):
        klass.store.set_value("bruno.ipynb", Q1, "2,5", expected="1.5")
    with pytest.raises(Refused, match="not a number"):
        klass.store.set_value("bruno.ipynb", Q1, "uno", expected="1.5")
    assert _sheet(klass.out)["bruno.ipynb"][Q1] == "1.5"


def test_a_row_that_no_longer_matches_a_submission_is_refused(klass):
    rows = _sheet(klass.out)
    del rows["carla.ipynb"]
    with open(klass.out / "manual_grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows["ana.ipynb"]))
        writer.writeheader()
        writer.writerows(rows.values())
    with pytest.raises(Refused, match="no row in manual_grades.csv"):
        klass.store.set_items("carla.ipynb", Q1, ["1"], expected="")


def test_changing_an_items_points_rescores_whoever_has_it_after_saying_how_many(klass):
    klass.store.set_items("ana.ipynb", Q1, ["1", "2"], expected="")
    klass.store.set_items("bruno.ipynb", Q1, ["1"], expected="")
    klass.store.set_items("carla.ipynb", Q1, ["2"], expected="")
    dry = klass.store.set_item_points(Q1, "1", "0,5", confirm=False)
    assert (dry["affected"], dry["saved"]) == (2, False)
    assert _sheet(klass.out)["ana.ipynb"][Q1] == "2"  # nothing written before the confirmation
    klass.store.set_item_points(Q1, "1", "0,5", confirm=True)
    values = {s: r[Q1] for s, r in _sheet(klass.out).items()}
    assert (values["ana.ipynb"], values["bruno.ipynb"], values["carla.ipynb"]) == ("1.5", "0.5", "1")


def test_an_item_that_would_pass_the_maximum_is_refused(klass):
    klass.store.set_items("ana.ipynb", Q1, ["1", "2"], expected="")
    with pytest.raises(Refused, match="would get 2.5 of 2"):
        klass.store.set_item_points(Q1, "1", "1.5", confirm=True)
    added = klass.store.add_item(Q1, "cita el sobreajuste", "0,5")
    assert added == {"id": "+1", "text": "cita el sobreajuste", "points": 0.5}
    with pytest.raises(Refused, match="give 2.5 points"):
        klass.store.set_items("ana.ipynb", Q1, ["1", "2", "+1"], expected="2")


def test_a_flag_decision_sets_accept_flagged_and_keeps_the_note(klass):
    klass.store.decide_flag("eva.ipynb", "accept", "revisado: importa tl_checks pero no cambia nada", expected="")
    assert _sheet(klass.out)["eva.ipynb"]["accept_flagged"] == "yes"
    history = klass.flags()["flagged"][0]["history"]
    assert [h["decision"] for h in history] == ["accept"] and "revisado" in history[0]["note"]
    klass.store.decide_flag("eva.ipynb", "reject", "", expected="yes")
    assert _sheet(klass.out)["eva.ipynb"]["accept_flagged"] == "no"
    assert klass.flags()["flagged"][0]["decision"] == "rejected"


def test_a_note_typed_for_a_flagged_row_is_a_draft_until_the_decision(klass):
    klass.store.save_draft("eva.ipynb", "a medio escribir")
    assert klass.flags()["flagged"][0]["draft"] == "a medio escribir"
    klass.store.decide_flag("eva.ipynb", "accept", "a medio escribir, y acabado", expected="")
    assert klass.flags()["flagged"][0]["draft"] == ""


def test_the_flagged_queue_shows_each_line_with_its_cell_and_rule(klass):
    [eva] = klass.flags()["flagged"]
    lines = {(e["code"], e["reason"]) for e in eva["evidence"]}
    assert ("tl_checks.check_phase2_optimizer = lambda: None", "reemplaza tl_checks.check_phase2_optimizer") in lines
    assert all("tl_checks" in e["source"] for e in eva["evidence"])


def test_the_students_own_run_is_read_from_the_saved_outputs(klass):
    ana = klass.run("ana.ipynb")
    assert (ana["baseline"], ana["finetune"], ana["improvement"]) == ("81.20%", "83.40%", "2.20")
    assert ana["kind"] == "full" and ana["steps"] == 1563 and ana["epochs"] == list(range(1, 26))
    assert len(ana["figures"]) == 1 and ana["figures"][0].startswith("data:image/png;base64,iVBOR")
    assert klass.run("bruno.ipynb")["kind"] == "none"


def test_a_fast_mode_run_is_said_plainly():
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "text": "[modo rápido] CIFAR-10 sin descarga: 64 imágenes de entrenamiento y 50 "
                                          "de prueba\n" + review_class.keras_epochs(1, 15, 15, 1)}]}]}
    run = ownrun.read(nb)
    assert run.kind == "fast" and run.verdict.startswith("Fast mode: 15 epochs shown") and "on 64 images" in \
        run.verdict


def test_a_reduced_run_is_not_taken_for_the_full_lab():
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "text": review_class.keras_epochs(1, 25, 25, 100)}]}]}
    assert ownrun.read(nb).kind == "reduced"


def test_the_server_killed_while_saving_leaves_every_acknowledged_grade(tmp_path):
    subs, out = review_class.write(tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "kit", "review", "--out", str(out), "--no-browser"],
                              cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        url = line.rsplit("open ", 1)[1].strip()
        base, token = url.split("/?token=")
        acknowledged, value = {}, ""
        started = time.monotonic()
        while time.monotonic() - started < 3:
            for sub in ("ana.ipynb", "bruno.ipynb", "carla.ipynb"):
                new = "1" if value != "1" else "2"
                request = urllib.request.Request(
                    f"{base}/api/value", method="POST", headers={"X-Review-Token": token,
                                                                 "Content-Type": "application/json"},
                    data=json.dumps({"submission": sub, "question": Q1, "value": new,
                                     "expected": acknowledged.get(sub, "")}).encode())
                with urllib.request.urlopen(request, timeout=10) as response:
                    acknowledged[sub] = json.loads(response.read())["value"]
            value = new
        server.send_signal(signal.SIGKILL)
    finally:
        server.kill()
        server.wait()
    sheet = _sheet(out)
    assert {s: sheet[s][Q1] for s in acknowledged} == acknowledged
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_publish_never_runs_beside_a_grading_run_and_takes_rows_graded_since_the_page_opened(tmp_path):
    import shutil

    from kit.classwork import review

    subs, out = review_class.write(tmp_path)
    klass, publish = review.open_class(out)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from kit import runlock\nwith runlock.held(Path(sys.argv[1])):\n"
                               "    print('held', flush=True); time.sleep(60)", str(out)],
                              cwd=paths.ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Refused, match="not published: .* is being graded by another run"):
            publish()
    finally:
        holder.kill()
        holder.wait()
    shutil.copy(paths.SUBMISSIONS / "solution.ipynb", subs / "fede.ipynb")
    review_class.graded(subs, out)  # kit grade ran again while the page was open
    (out / "final_grades.csv").unlink()
    publish()
    assert "fede.ipynb" in (out / "final_grades.csv").read_text(encoding="utf-8")
