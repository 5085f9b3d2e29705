"""``kit review`` used as graders really use it: keys faster than the server answers, ``kit grade`` run on the same
``--out`` while the page saves, the server killed mid-save, decisions that every page must agree with, and answers
that hide characters or run to megabytes."""
import csv
import json
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

import review_class
from kit import paths
from kit.classwork import manual, rubric
from kit.classwork.sheet import ManualFiles
from test_review_browser import CHROMIUM, Q1, Review, _need_browser, _sheet

QUESTIONS = manual.manual_questions()


def _class_of(root: Path, names: list, answers: dict | None = None) -> tuple:
    """(subs, out): a graded class of ``names``, each the solution with its own answers (``answers`` overrides)."""
    subs, out = root / "subs", root / "out"
    subs.mkdir(parents=True)
    for i, name in enumerate(names):
        nb = nbformat.read(paths.SUBMISSIONS / "solution.ipynb", as_version=4)
        given = (answers or {}).get(name) or {q.name: f"Respuesta {i} de {name} a {q.name}: la precisión subió "
                                                      f"{i}.{i} puntos porque el ajuste fino adapta las capas."
                                              for q in QUESTIONS}
        manual.set_answers(nb, QUESTIONS, given)
        nbformat.write(nb, subs / name)
    review_class.graded(subs, out)
    return subs, out


def _post(server, what, body):
    request = urllib.request.Request(f"{server.base}/api/{what}", method="POST",
                                     headers={"X-Review-Token": server.token, "Content-Type": "application/json"},
                                     data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _get(server, path):
    with urllib.request.urlopen(f"{server.base}{path}{'&' if '?' in path else '?'}token={server.token}",
                                timeout=30) as response:
        return json.loads(response.read())


def _agree(out: Path) -> list:
    """Where the two files disagree, read as a reader reads them: each rubric item list against the sheet's cell."""
    sheet, record = ManualFiles(out).read()
    points = {q.name: {i.id: i.points for i in rubric.items(q.model_answer)} for q in QUESTIONS}
    cells = {r["submission"]: r for r in sheet.rows}
    wrong = []
    for submission, given in record["items"].items():
        for question, items in given.items():
            expected = f"{sum(points[question][i] for i in items):g}"
            if (cells.get(submission, {}).get(question) or "") != expected:
                wrong.append((submission, question, items, cells.get(submission, {}).get(question)))
    return wrong


@pytest.mark.slow
def test_keys_20_ms_apart_through_a_class_of_20_are_all_saved_without_a_conflict(tmp_path):
    """Each save answered 150 ms late (a busy machine, a slow disk): the keys always come faster than the answers."""
    _need_browser()
    import asyncio

    from playwright.async_api import async_playwright

    names = [f"alumno_{i:02d}.ipynb" for i in range(20)]
    subs, out = _class_of(tmp_path, names)
    server = Review(out)
    dialogs = []

    async def grade_the_class():
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))

            async def late(route):
                if route.request.method == "POST":
                    await asyncio.sleep(0.15)
                await route.continue_()

            await page.route("**/api/**", late)
            await page.goto(server.url)
            await page.locator("#answer").wait_for()
            for _ in names:
                for key in ("1", "2", "j"):
                    await page.keyboard.press(key)
                    await asyncio.sleep(0.02)
            for _ in range(600):  # (the page's policy forbids the evaluated strings wait_for_function uses)
                if await page.evaluate("state.inflight") == 0:
                    break
                await asyncio.sleep(0.1)
            status = await page.locator("#status").get_attribute("class")
            await browser.close()
            return status

    try:
        status = asyncio.run(grade_the_class())
    finally:
        server.close()
    assert dialogs == [] and status == "ok"
    assert {s: r[Q1] for s, r in _sheet(out).items()} == {s: "2" for s in names}
    assert _agree(out) == []


def test_kit_grade_beside_a_saving_page_loses_no_row_and_no_acknowledged_value(tmp_path):
    subs, out = review_class.write(tmp_path)
    server = Review(out)
    acknowledged, stop, errors, saves = {}, threading.Event(), [], []

    def save_in_a_loop():
        values = {}
        while not stop.is_set():
            for sub in ("ana.ipynb", "bruno.ipynb", "carla.ipynb"):
                value = values[sub] = (values.get(sub, 0) + 1) % 3  # each save changes its cell: a real write
                try:
                    reply = _post(server, "value", {"submission": sub, "question": Q1, "value": str(value),
                                                    "expected": acknowledged.get(sub, "")})
                    acknowledged[sub] = reply["value"]
                    saves.append(sub)
                except Exception as exc:  # any refusal is a failure of this test
                    errors.append(repr(exc))

    saver = threading.Thread(target=save_in_a_loop)
    saver.start()
    added, lost = [], []
    try:
        for i in range(10):
            name = f"nuevo_{i}.ipynb"
            (subs / name).write_text("{ not a notebook")  # graded at once: an error row, a new sheet row
            added.append(name)
            done = subprocess.run([sys.executable, "-m", "kit", "grade", str(subs), "--out", str(out)],
                                  cwd=paths.ROOT, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr[-2000:]
            time.sleep(0.2)  # the page saves on meanwhile: a row it did not read would be gone now
            lost += [n for n in added if n not in _sheet(out)]  # (a later run would append it again)
        arrived = [a["submission"] for a in _get(server, "/api/overview")["arrived"]]
    finally:
        stop.set()
        saver.join()
        server.close()
    assert errors == [] and lost == [] and len(saves) > 100
    sheet = _sheet(out)
    assert {s: sheet[s][Q1] for s in acknowledged} == acknowledged
    with open(out / "manual_grades.csv", newline="", encoding="utf-8") as f:
        listed = [r["submission"] for r in csv.DictReader(f)]
    assert sorted(listed) == sorted([*review_class.CLASS, *added])  # every row once
    assert sorted(arrived) == sorted(added)  # and the open page has them


def test_the_server_killed_at_random_instants_across_50_saves_leaves_both_files_agreeing(tmp_path):
    subs, out = review_class.write(tmp_path)
    rng = random.Random(29)
    acknowledged, interrupted, saves = {}, {}, 0

    def durable():  # an acknowledged save is there, unless the save the kill interrupted came after it
        sheet = _sheet(out)
        return {s: sheet[s][Q1] for s in acknowledged if sheet[s][Q1] not in (acknowledged[s], interrupted.get(s))}

    for _ in range(10):
        server = Review(out)  # its start replays what a killed save began, and removes what it left
        assert _agree(out) == []
        assert [p.name for p in out.iterdir() if p.name.endswith(".tmp") or p.name == ".manual_journal.json"] == []
        assert durable() == {}
        sheet = _sheet(out)  # the save the last kill interrupted is settled now, done or not: it must stay so
        acknowledged.update({s: sheet[s][Q1] for s in interrupted})
        interrupted.clear()
        done = threading.Event()

        def save_until_killed():
            nonlocal saves
            while not done.is_set():
                sub = rng.choice(["ana.ipynb", "bruno.ipynb", "carla.ipynb", "diego.ipynb"])
                items = rng.choice([["1"], ["2"], ["1", "2"], []])
                try:
                    reply = _post(server, "items", {"submission": sub, "question": Q1, "items": items,
                                                    "expected": None})
                except Exception:  # killed mid-request: not acknowledged, and maybe saved
                    interrupted[sub] = f"{len(items):g}"
                    return
                acknowledged[sub] = reply["value"]
                saves += 1

        saver = threading.Thread(target=save_until_killed)
        saver.start()
        time.sleep(rng.uniform(0.05, 0.4))
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        done.set()
        saver.join()
    server = Review(out)
    server.close()
    assert saves >= 50
    assert _agree(out) == []
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp") or p.name == ".manual_journal.json"] == []
    assert durable() == {}


def test_a_kill_between_the_two_files_is_finished_by_the_next_reader(tmp_path):
    """The instant the issue saw (the record written, the sheet not): replayed from the journal."""
    _, out = review_class.write(tmp_path)
    files = ManualFiles(out)
    sheet, record = files.read()
    before = (out / "manual_grades.csv").read_bytes()
    sheet.row("ana.ipynb")[Q1] = "2"
    record["items"]["ana.ipynb"] = {Q1: ["1", "2"]}
    real = files._commit

    def killed_after_the_record(sheet_, record_, sheet_before, record_before):
        from kit.classwork import sheet as module

        replace = module.replace
        calls = []

        def one_then_die(path, data):
            calls.append(path.name)
            if path.name == "manual_grades.csv":
                (out / f".manual_grades.csv.{99999}.tmp").write_bytes(data[:10])  # half a temporary file
                raise SystemExit("killed")
            replace(path, data)

        module.replace = one_then_die
        try:
            real(sheet_, record_, sheet_before, record_before)
        finally:
            module.replace = replace

    from kit.classwork.sheet import _digest

    with pytest.raises(SystemExit):
        killed_after_the_record(sheet, record, _digest(before), _digest((out / "manual_review.json").read_bytes()
                                                                         if (out / "manual_review.json").exists()
                                                                         else None))
    assert (out / "manual_grades.csv").read_bytes() == before  # on disk the two disagree for now…
    assert (out / ".manual_journal.json").exists()
    assert _agree(out) == []  # …and the next reader finishes the change
    assert _sheet(out)["ana.ipynb"][Q1] == "2"
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_a_spreadsheet_edit_after_a_killed_save_is_kept(tmp_path):
    _, out = review_class.write(tmp_path)
    files = ManualFiles(out)
    sheet, record = files.read()
    sheet.row("ana.ipynb")[Q1] = "2"
    from kit.classwork import sheet as module

    module.replace(out / ".manual_journal.json", json.dumps({
        "sheet": sheet.text(), "record": json.dumps(record), "sheet_before": "not what is there now",
        "record_before": None}).encode())
    edited = (out / "manual_grades.csv").read_text(encoding="utf-8").replace("bruno.ipynb,bruno,",
                                                                             "bruno.ipynb,bruno,1")
    (out / "manual_grades.csv").write_text(edited, encoding="utf-8")  # the instructor, in a spreadsheet
    assert _sheet(out)["bruno.ipynb"][Q1] == "1"
    files.read()
    assert _sheet(out)["bruno.ipynb"][Q1] == "1" and _sheet(out)["ana.ipynb"][Q1] == ""


# -- every page agrees with the decisions taken -------------------------------------------------------------------

def _decided(tmp_path, decision: str, bruno_q3: str = "1") -> Path:
    """The class of five with every discussion point given (bruno's q8_3 as ``bruno_q3``), eva's flag decided in the
    page's store, then published as the page publishes."""
    from kit.classwork import review

    subs, out = review_class.write(tmp_path)
    klass, publish = review.open_class(out)
    for sub in review_class.CLASS:
        for q in QUESTIONS:
            value = bruno_q3 if (sub, q.name) == ("bruno.ipynb", "q8_3_escenarios") else "1"
            klass.store.set_value(sub, q.name, value, expected="")
    klass.store.decide_flag("eva.ipynb", decision, "revisado", expected="")
    publish()
    return out


def _final(out, sub):
    with open(out / "final_grades.csv", newline="", encoding="utf-8") as f:
        return next(r for r in csv.DictReader(f) if r["submission"] == sub)


def _lms(out, tmp_path, capsys):
    from test_publishing_grades import WORKSHEET

    from kit.lms import cli

    given, mapping = tmp_path / "worksheet.csv", tmp_path / "ids.csv"
    given.write_text(WORKSHEET, encoding="utf-8")
    mapping.write_text("submission,id\nana.ipynb,101\nbruno.ipynb,102\neva.ipynb,104\n", encoding="utf-8")
    code = cli.main(["moodle", "--worksheet", str(given), "--out", str(out), "--mapping", str(mapping)])
    printed = capsys.readouterr()
    rows = {}
    if (out / "lms" / "worksheet.csv").exists():
        with open(out / "lms" / "worksheet.csv", newline="", encoding="utf-8") as f:
            rows = {r["Identifier"]: r for r in csv.DictReader(f)}
    return code, rows, printed.err


def test_an_accepted_flag_reads_as_accepted_on_the_page_the_gradebook_and_the_lms(tmp_path, capsys):
    out = _decided(tmp_path, "accept")
    page = (out / "feedback" / "eva.ipynb.html").read_text(encoding="utf-8")
    assert "Estado: revisada y aceptada." in page and "en revisión" not in page
    assert "Calificación: 19 / 24" in page  # 16 automatic + 3 discussion
    final = _final(out, "eva.ipynb")
    assert (final["status"], final["total"], final["missing"]) == ("accepted", "19", "")
    assert "flagged (accepted)" in (out / "report.html").read_text(encoding="utf-8")
    code, rows, err = _lms(out, tmp_path, capsys)
    assert code == 0, err
    assert rows["Participant 104"]["Grade"] == f"{19 / 24 * 10:.2f}"
    assert "no se aceptaron" not in rows["Participant 104"]["Feedback comments"]


def test_a_rejected_flag_says_what_the_student_keeps_everywhere(tmp_path, capsys):
    out = _decided(tmp_path, "reject")
    page = (out / "feedback" / "eva.ipynb.html").read_text(encoding="utf-8")
    assert "Estado: revisada, puntos automáticos no aceptados." in page and "Conservas los puntos" in page
    assert "Calificación: 3 / 24" in page and "en revisión" not in page
    final = _final(out, "eva.ipynb")
    assert (final["status"], final["total"]) == ("rejected", "3")
    assert "flagged (rejected)" in (out / "report.html").read_text(encoding="utf-8")
    code, rows, err = _lms(out, tmp_path, capsys)
    assert code == 0, err
    assert rows["Participant 104"]["Grade"] == f"{3 / 24 * 10:.2f}"
    assert "los puntos automáticos no se aceptaron" in rows["Participant 104"]["Feedback comments"]


def test_a_missing_manual_grade_is_marked_incomplete_never_a_silent_zero(tmp_path, capsys):
    out = _decided(tmp_path, "accept", bruno_q3="")
    page = (out / "feedback" / "bruno.ipynb.html").read_text(encoding="utf-8")
    assert "Calificación provisional" in page and "q8_3_escenarios" in page
    assert _final(out, "bruno.ipynb")["missing"] == "q8_3_escenarios"
    code, rows, err = _lms(out, tmp_path, capsys)
    assert code == 1 and rows == {}
    assert "bruno.ipynb: manual grades missing: q8_3_escenarios" in err


def test_publishing_first_lists_what_is_still_undecided(tmp_path):
    from kit.classwork import review
    from kit.classwork.review.server import App

    subs, out = review_class.write(tmp_path)
    klass, publish = review.open_class(out)
    app = App(klass, "token", 0, publish)
    (out / "final_grades.csv").unlink()
    first = app.publish_checked(confirm=False)
    assert first["published"] == "" and not (out / "final_grades.csv").exists()  # nothing published yet
    pending = first["pending"]
    assert [x["submission"] for x in pending["flags"]] == ["eva.ipynb"]
    assert sorted(x["submission"] for x in pending["blank"]["q8_1_mejora"]) == sorted(review_class.CLASS)
    assert app.publish_checked(confirm=True)["published"] and (out / "final_grades.csv").exists()


# -- what a grader needs to see -----------------------------------------------------------------------------------

RTL = "La mejora fue de %4,2\u202e puntos"  # U+202E makes "%4,2" read "2,4%"


def test_invisible_characters_are_shown_on_every_page_the_kit_writes(tmp_path):
    answers = dict(review_class.ANSWERS, **{"bruno.ipynb": {"q8_1_mejora": RTL, "q8_2_tasa_aprendizaje": "x\u200by",
                                                            "q8_3_escenarios": "nada"}})
    subs, out = review_class.write(tmp_path, answers)
    discussion = (out / "discussion.html").read_text(encoding="utf-8")
    assert "%4,2⟦U+202E⟧ puntos" in discussion and "x⟦U+200B⟧y" in discussion and "\u202e" not in discussion
    from kit.classwork.review import views

    klass = views.Class(out, subs)
    bruno = next(a for a in klass.question("q8_1_mejora")["answers"] if a["submission"] == "bruno.ipynb")
    assert "⟦U+202E⟧" in bruno["html"] and "\u202e" not in bruno["html"]


@pytest.mark.slow
def test_the_page_shows_hidden_characters_and_keeps_its_controls_in_view_beside_a_2_mb_answer(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    answers = dict(review_class.ANSWERS, **{
        "ana.ipynb": {"q8_1_mejora": "palabra " * 262_144},  # 2 MB
        "bruno.ipynb": {"q8_1_mejora": RTL}})
    subs, out = review_class.write(tmp_path, answers)
    server = Review(out)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.url)
            page.locator("#answer").wait_for()
            assert "A long answer: 2,097,151 characters" in page.locator("#answer").inner_text()
            for i in range(2):  # the rubric's buttons and the points field are on screen
                box = page.locator("button.item").nth(i).bounding_box()
                assert box and 0 <= box["y"] and box["y"] + box["height"] <= 900, box
            box = page.locator("#score").bounding_box()
            assert box and box["y"] + box["height"] <= 900, box
            page.keyboard.press("1")
            page.locator("#status.ok", has_text="ana, q8_1_mejora = 1").wait_for(timeout=10_000)
            page.keyboard.press("j")
            page.locator("h2", has_text="bruno").wait_for()
            assert "%4,2⟦U+202E⟧ puntos" in page.locator("#answer").inner_text()
            browser.close()
    finally:
        server.close()


@pytest.mark.slow
def test_nothing_typed_is_dropped_silently(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    subs, out = review_class.write(tmp_path)
    server = Review(out)
    dialogs = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
            page.goto(server.url)
            page.locator("#answer").wait_for()
            page.keyboard.press("s")
            page.keyboard.type("1,5")
            page.keyboard.press("Tab")                       # Tab saves, as Enter does
            page.locator("#status.ok", has_text="ana, q8_1_mejora = 1.5").wait_for(timeout=10_000)
            page.locator("body").click(position={"x": 5, "y": 5})
            page.keyboard.press("j")
            page.keyboard.press("s")
            page.keyboard.type("2")
            page.locator("h1").click()                       # leaving the field saves
            page.locator("#status.ok", has_text="bruno, q8_1_mejora = 2").wait_for(timeout=10_000)
            page.keyboard.press("j")
            page.keyboard.press("s")
            page.keyboard.type("1")
            page.keyboard.press("Escape")                    # Esc discards, and says so
            page.locator("#status.error", has_text="Discarded: 1 typed for carla was not saved").wait_for()
            page.keyboard.press("f")                         # a note for eva's flag, left undecided
            page.locator("#flag-state").wait_for()
            page.keyboard.press("c")
            page.keyboard.type("a medio revisar")
            page.keyboard.press("Escape")
            page.locator("#status.ok", has_text="Draft kept: eva's note").wait_for(timeout=10_000)
            leaving = "() => { const e = new Event('beforeunload', {cancelable: true}); " \
                      "window.dispatchEvent(e); return e.defaultPrevented; }"
            assert page.evaluate(leaving) is False           # everything saved: the page may go
            page.keyboard.press("c")
            page.keyboard.type(", y sigo")                   # typed and not yet left: leaving the page asks
            # (headless Chromium shows no beforeunload dialog at all: the page's own handler is asked instead)
            assert page.evaluate(leaving) is True
            browser.close()
    finally:
        server.close()
    sheet = _sheet(out)
    assert (sheet["ana.ipynb"][Q1], sheet["bruno.ipynb"][Q1], sheet["carla.ipynb"][Q1]) == ("1.5", "2", "")
    assert ManualFiles(out).read()[1]["drafts"]["eva.ipynb"].startswith("a medio revisar")
    assert dialogs == []
