"""``python -m kit review`` in headless Chromium: a class of five graded with the keyboard alone, hostile answers that
run and fetch nothing, and requests without the token or from another origin that change nothing."""
import csv
import filecmp
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import review_class
from kit import paths

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
Q1, Q2 = "q8_1_mejora", "q8_2_tasa_aprendizaje"


def _need_browser():
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is needed for the review page's tests (.ci/run installs it)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    pytest.importorskip("playwright")


class Review:
    """``python -m kit review --out OUT --no-browser``, as the README has it, until the test ends."""

    def __init__(self, out):
        self.process = subprocess.Popen([sys.executable, "-m", "kit", "review", "--out", str(out), "--no-browser"],
                                        cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "open http" not in line:
            self.process.kill()
            pytest.fail(f"kit review did not start: {line}{self.process.stderr.read()[-2000:]}")
        self.url = line.rsplit("open ", 1)[1].strip()
        self.base, self.token = self.url.split("/?token=")

    def close(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture()
def review(tmp_path):
    subs, out = review_class.write(tmp_path)
    untouched = review_class.copy(out, tmp_path / "typed")
    server = Review(out)
    yield server, subs, out, untouched
    server.close()


def _sheet(out):
    with open(out / "manual_grades.csv", newline="", encoding="utf-8") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def _press(page, *keys):
    for key in keys:
        page.keyboard.press(key)
        page.wait_for_timeout(150)


def _open(p, url, dialogs):
    """The page in headless Chromium, every dialog's message kept in ``dialogs`` and accepted; (browser, page)."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.goto(url)
    page.locator("#answer").wait_for()
    return browser, page


def _saved(page, text):
    page.locator("#status.ok", has_text=text).wait_for(timeout=10_000)


@pytest.mark.slow
def test_a_class_of_five_graded_with_the_keyboard_alone_publishes_what_the_typed_sheet_does(review):
    _need_browser()
    from playwright.sync_api import sync_playwright

    server, subs, out, typed = review
    dialogs = []
    with sync_playwright() as p:
        browser, page = _open(p, server.url, dialogs)
        assert page.locator("#progress").inner_text().startswith("0 of 5 graded")  # diego's blank is not a 0
        # The student's own run beside the answer: their printed accuracies and their figure.
        assert "Looks like the full lab" in page.locator("#run-verdict").inner_text()
        assert "81.20%" in page.locator("#run-numbers").inner_text()
        page.locator("#own-run img").wait_for()

        _press(page, "1", "2")                       # ana: both items
        _saved(page, "ana, q8_1_mejora = 2")
        _press(page, "j", "1")                       # bruno: item 1
        _saved(page, "bruno, q8_1_mejora = 1")
        _press(page, "j", "2")                       # carla: item 2
        _saved(page, "carla, q8_1_mejora = 1")
        _press(page, "j")                            # diego did not answer: not graded until told
        assert "Not answered" in page.locator("#answer").inner_text()
        _press(page, "0")                            # 0 points, said
        _saved(page, "diego, q8_1_mejora = 0")
        _press(page, "j", "1")                       # eva: item 1
        _saved(page, "eva, q8_1_mejora = 1")
        assert page.locator("#progress").inner_text().startswith("5 of 5 graded")
        _press(page, "k", "k", "k", "k", "c")        # back to ana, into the comment
        page.keyboard.type("¡Muy bien! Análisis claro; «ñandú», comas, y \"comillas\".")
        _press(page, "Escape")
        _saved(page, "ana's comment on q8_1_mejora")

        _press(page, "e")                            # item 1 is worth 0,5 from now on: ana, bruno and eva have it
        page.keyboard.type("0,5")
        _press(page, "Enter")
        _saved(page, "3 student(s) re-scored")
        assert "re-scores 3 student(s)" in dialogs[-1]

        _press(page, "]")                            # question 8.2
        page.locator("#progress", has_text=Q2).wait_for()
        _press(page, "1", "2")
        _saved(page, "ana, q8_2_tasa_aprendizaje = 2")
        assert "carla.ipynb" in page.locator("#answer + p").inner_text()  # carla's near-identical answer, linked
        _press(page, "s")
        page.keyboard.type("1,5")
        _press(page, "Enter")
        _saved(page, "ana, q8_2_tasa_aprendizaje = 1.5")

        _press(page, "f")                            # the flagged queue: eva
        page.locator("#flag-state").wait_for()
        assert "tl_checks.check_phase2_optimizer = lambda: None" in page.locator("main").inner_text()
        _press(page, "c")
        page.keyboard.type("Revisado: importa tl_checks, sin efecto en la nota.")
        _press(page, "Escape", "a")
        _saved(page, "eva accepted")
        _press(page, "P")
        page.locator("#status.ok", has_text="Published").wait_for(timeout=60_000)
        browser.close()

    sheet = _sheet(out)
    values = {s: (r[Q1], r[Q2], r["accept_flagged"]) for s, r in sheet.items()}
    assert values == {"ana.ipynb": ("1.5", "1.5", ""), "bruno.ipynb": ("0.5", "", ""),
                      "carla.ipynb": ("1", "", ""), "diego.ipynb": ("0", "", ""),
                      "eva.ipynb": ("0.5", "", "yes")}
    assert sheet["ana.ipynb"]["comment_q8_1_mejora"] == "¡Muy bien! Análisis claro; «ñandú», comas, y \"comillas\"."

    # The same values typed into the other copy's sheet (decimal commas, as a Spanish spreadsheet writes them),
    # then the README's kit grade: the gradebook and every student's page are the same, byte for byte.
    hand = _sheet(typed)
    for sub, row in sheet.items():
        hand[sub].update({k: v.replace(".", ",") if k in (Q1, Q2) else v for k, v in row.items()})
    with open(typed / "manual_grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(next(iter(hand.values()))))
        writer.writeheader()
        writer.writerows(hand.values())
    subprocess.run([sys.executable, "-m", "kit", "grade", str(subs), "--out", str(typed)], cwd=paths.ROOT,
                   check=True, capture_output=True)
    assert (out / "final_grades.csv").read_bytes() == (typed / "final_grades.csv").read_bytes()
    pages = sorted(p.name for p in (out / "feedback").iterdir())
    assert len(pages) == 5
    _, mismatch, errors = filecmp.cmpfiles(out / "feedback", typed / "feedback", pages, shallow=False)
    assert (mismatch, errors) == ([], [])
    final = {r["submission"]: r for r in csv.DictReader(open(out / "final_grades.csv", encoding="utf-8"))}
    assert final["eva.ipynb"]["total"] == "16.5"  # accepted: 16 automatic + 0.5
    assert "¡Muy bien! Análisis claro" in (out / "feedback" / "ana.ipynb.html").read_text(encoding="utf-8")


HOSTILE = {
    Q1: "<script>window.__pwned = 1</script> <img src=x onerror=\"window.__pwned = 2\"> "
        "<svg onload=\"window.__pwned = 3\"><script>window.__pwned = 4</script></svg>",
    Q2: "[clic](javascript:window.__pwned=5) ![foto](http://192.0.2.1/remote.png) <a href=\"http://192.0.2.1/\">x</a> "
        "<iframe src=\"http://192.0.2.1/\"></iframe> <style>body{background:url(http://192.0.2.1/bg.png)}</style>",
    "q8_3_escenarios": "relleno " * 130_000,  # about 1 MB
}


@pytest.mark.slow
def test_hostile_answers_run_nothing_and_fetch_nothing(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    answers = dict(review_class.ANSWERS, **{"bruno.ipynb": HOSTILE})
    subs, out = review_class.write(tmp_path, answers)
    server = Review(out)
    requests, dialogs = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server.url)
            page.locator("#answer").wait_for()
            for question in range(3):
                _press(page, "j")  # bruno
                page.locator("h2", has_text="bruno").wait_for()
                answer = page.locator("#answer")
                assert answer.locator("script, img, svg, iframe, style, a[href], [onerror], [onload]").count() == 0
                if question == 2:  # the 1 MB answer: collapsed with its length said, then shown whole on v
                    assert "A long answer: 1,039,999 characters" in answer.inner_text()
                    _press(page, "v")
                    page.wait_for_function("document.getElementById('answer').innerText.length > 1000000")
                    assert page.locator("#answer").locator("script, img, svg, iframe, style, a[href]").count() == 0
                _press(page, "]")
                page.wait_for_timeout(300)
            assert page.evaluate("window.__pwned") is None
            browser.close()
    finally:
        server.close()
    assert dialogs == []
    assert [u for u in requests if not u.startswith(server.base + "/")] == []


def _call(server, path, method="GET", headers=None, body=None, token_in_query=False):
    url = f"{server.base}{path}" + (f"?token={server.token}" if token_in_query else "")
    request = urllib.request.Request(url, method=method, headers=headers or {},
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_requests_without_the_token_or_from_another_origin_change_nothing(tmp_path):
    subs, out = review_class.write(tmp_path)
    server = Review(out)
    before = (out / "manual_grades.csv").read_bytes()
    change = {"submission": "ana.ipynb", "question": Q1, "value": "2", "expected": ""}
    good = {"X-Review-Token": server.token, "Content-Type": "application/json"}
    try:
        assert _call(server, "/api/overview") == 403
        assert _call(server, "/") == 403
        assert _call(server, "/api/overview", token_in_query=True) == 200
        assert _call(server, "/api/value", "POST", {"Content-Type": "application/json"}, change) == 403
        assert _call(server, "/api/value", "POST", {"Content-Type": "application/json"}, change,
                     token_in_query=True) == 403  # a change needs the header, which another page cannot send
        assert _call(server, "/api/value", "POST", dict(good, Origin="http://evil.example"), change) == 403
        assert _call(server, "/api/value", "POST", dict(good, **{"Content-Type": "text/plain"}), change) == 415
        assert _call(server, "/api/value", "POST", dict(good, Host="evil.example"), change) == 403
        assert (out / "manual_grades.csv").read_bytes() == before
        assert _call(server, "/api/value", "POST", dict(good, Origin=server.base), change) == 200  # the page itself
    finally:
        server.close()
    assert (out / "manual_grades.csv").read_bytes() != before


@pytest.mark.slow
def test_two_tabs_never_overwrite_each_others_cells_and_the_grader_chooses(review):
    _need_browser()
    from playwright.sync_api import sync_playwright

    server, subs, out, _ = review
    answers, dialogs = iter([False, True]), []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        first, second = browser.new_page(), browser.new_page()
        first.on("dialog", lambda d: (dialogs.append(d.message), d.accept() if next(answers) else d.dismiss()))
        for page in (first, second):
            page.goto(server.url)
            page.locator("#answer").wait_for()
        _press(second, "1", "2")          # the second tab gives ana 2 points
        _saved(second, "ana, q8_1_mejora = 2")
        _press(first, "1")                # the first still shows her ungraded: it shows both, the grader keeps theirs
        first.locator("#status.error", has_text="Kept the other value").wait_for(timeout=10_000)
        first.locator(".score", has_text="Points: 2 / 2").wait_for()  # it now shows what is there
        assert "Now there: 2\nYours: items 1" in dialogs[0]
        assert _sheet(out)["ana.ipynb"][Q1] == "2"
        _press(second, "2")               # the second tab takes item 2 back: 1 point
        _saved(second, "ana, q8_1_mejora = 1")
        _press(first, "s")                # the first types 0,5 over what it shows (2): this time it keeps its own
        first.keyboard.type("0,5")
        _press(first, "Enter")
        _saved(first, "ana, q8_1_mejora = 0.5")
        assert "Now there: 1\nYours: 0,5" in dialogs[1]
        browser.close()
    assert _sheet(out)["ana.ipynb"][Q1] == "0.5"
