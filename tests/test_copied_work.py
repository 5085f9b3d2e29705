"""Copied work flagged across a class (``kit.classwork.copies``), on the class of fifteen ``copied_class`` writes with
real Keras outputs: exactly the shared run and the borrowed account are found, the fast-mode pair is said not to be
evidence, and each signal finds the shared run on its own."""
import base64
import csv
import io
import json
import shutil
import subprocess
import sys

import nbformat
import pytest

import copied_class
import review_class
from kit import layout, paths
from kit.classwork import copies
from kit.classwork.review.store import Store

pytestmark = pytest.mark.slow
ELENA, FERNANDO = (copied_class.file_name(n) for n in copied_class.SHARED)
CARMEN, LUIS = (copied_class.file_name(n) for n in copied_class.ACCOUNT)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return copied_class.shared(tmp_path_factory)


@pytest.fixture()
def klass(written, tmp_path):
    """(submissions, out) of the class, graded: its rows written as a grading run saves them, then finished."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    shutil.copytree(written, subs)
    review_class.graded(subs, out)
    return subs, out


def _groups(out):
    return [group["members"] for group in copies.read(out)["groups"]]


def _says(out, members, *beginnings):
    """Whether the group of ``members`` has exactly one piece of evidence per beginning, each beginning so."""
    group = next(g for g in copies.read(out)["groups"] if g["members"] == members)
    texts = sorted(e["text"] for e in group["evidence"])
    return len(texts) == len(beginnings) and all(t.startswith(b) for t, b in zip(texts, sorted(beginnings))), texts


def _regrade(subs, out):
    return review_class.graded(subs, out)


def _edit(path, change):
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def _clear(nb, *marks):
    """Clear the outputs of the solution's cells that make ``marks`` (``copied_class.MARKS``' values)."""
    for cell in nb.cells:
        for piece, mark in copied_class.MARKS.items():
            if mark in marks and cell.cell_type == "code" and piece in cell.source:
                cell.outputs = []


def test_the_class_gives_exactly_the_shared_run_and_the_borrowed_account(klass):
    _, out = klass
    assert _groups(out) == [copied_class.members(copied_class.ACCOUNT), copied_class.members(copied_class.SHARED)]
    ok, texts = _says(out, copied_class.members(copied_class.SHARED), "a byte-identical figure",
                      "the same baseline and fine-tuned accuracies to four decimals (0.",
                      "the same validation figures at every epoch (25 epochs")
    assert ok, texts
    ok, texts = _says(out, copied_class.members(copied_class.ACCOUNT),
                      "run by the account 'Luis Moreno', not Carmen Ruiz's: the name of Luis Moreno, of this class "
                      "(1 of 13 notebooks run by a named account",
                      "the same account ('Luis Moreno') ran each of them")
    assert ok, texts


def test_the_fast_mode_pair_is_said_not_to_be_evidence(klass):
    _, out = klass
    not_evidence = copies.read(out)["not_evidence"]
    assert {tuple(e["members"]) for e in not_evidence} == {tuple(copied_class.members(copied_class.FAST))}
    assert all(e["text"].endswith("in fast mode, which gives every run of the same code the same numbers: not "
                                  "evidence") for e in not_evidence)


@pytest.mark.parametrize("kept, found", [
    ("results", "the same baseline and fine-tuned accuracies to four decimals"),
    ("phase1 phase2", "the same validation figures at every epoch"),
    ("figure", "a byte-identical figure"),
])
def test_each_signal_alone_finds_the_shared_run(klass, kept, found):
    subs, out = klass
    others = {"results", "phase1", "phase2", "figure", "baseline"} - set(kept.split())
    _edit(subs / FERNANDO, lambda nb: _clear(nb, *others))
    _regrade(subs, out)
    assert copied_class.members(copied_class.SHARED) in _groups(out)
    ok, texts = _says(out, copied_class.members(copied_class.SHARED), found)
    assert ok, texts


def test_a_figure_saved_again_is_the_same_figure_and_the_closest_other_runs_are_not(klass):
    from PIL import Image

    subs, out = klass

    def saved_again(nb):
        _clear(nb, "results", "phase1", "phase2", "baseline")
        cell = next(c for c in nb.cells if c.cell_type == "code" and "plt.figure(" in c.source)
        output = next(o for o in cell.outputs if "image/png" in o.get("data", {}))
        image, again = Image.open(io.BytesIO(base64.b64decode(output.data["image/png"]))), io.BytesIO()
        image.convert("RGB").save(again, format="PNG", optimize=True)  # other bytes, the same picture
        output.data["image/png"] = base64.b64encode(again.getvalue()).decode()

    _edit(subs / FERNANDO, saved_again)
    _regrade(subs, out)
    group = next(g for g in copies.read(out)["groups"] if g["members"] == copied_class.members(copied_class.SHARED))
    [evidence] = group["evidence"]
    assert evidence["text"].startswith("the same figure saved or drawn again (its pixels differ by 0.000 of 255")
    closest = float(evidence["text"].rsplit("differ by ", 1)[1].rstrip(")"))
    assert closest > 3 * copies.SAME_PICTURE  # the runs of their own are far from it


def test_a_notebook_run_by_two_accounts_is_a_group_of_its_own(klass):
    subs, out = klass
    gloria = copied_class.file_name("Gloria Sanz")

    def two_accounts(nb):
        code = [c for c in nb.cells if c.cell_type == "code"]
        for cell in code[len(code) // 2:]:
            cell.metadata.executionInfo.user = copied_class.account("Pablo Ferrer")

    _edit(subs / gloria, two_accounts)
    _regrade(subs, out)
    assert [gloria] in _groups(out)
    ok, texts = _says(out, [gloria], "run by 2 accounts: Gloria Sanz, Pablo Ferrer",
                      "run by the account 'Pablo Ferrer', not Gloria Sanz's (2 of 13")
    assert ok, texts


@pytest.mark.parametrize("account, student, same", [
    ("Ana García", "Ana García", True),
    ("ana garcia", "Ana García", True),  # accents and case aside
    ("Ana García López", "Ana García", True),  # a second surname
    ("Ana García", "garciaana", True),  # Canvas's one-word names
    ("Luis Moreno", "Carmen Ruiz", False),
    ("Ana García", "garcialuis", False),
])
def test_an_account_names_its_student_as_names_are_written(account, student, same):
    assert copies.same_person(account, student) is same


def test_a_rerun_with_nothing_new_reads_no_notebook_and_a_changed_one_is_read_alone(klass, monkeypatch):
    subs, out = klass
    read = []
    real = copies.fingerprint
    monkeypatch.setattr(copies, "fingerprint", lambda nb, key, student: read.append(key) or real(nb, key, student))
    before = (out / copies.FOLDER / "groups.json").read_text(encoding="utf-8")
    _regrade(subs, out)
    assert read == [] and (out / copies.FOLDER / "groups.json").read_text(encoding="utf-8") == before
    _edit(subs / CARMEN, lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell("Una nota más.")))
    rows = _regrade(subs, out)
    assert read == [next(r.key for r in rows if r.submission == CARMEN)]
    assert _groups(out) == [copied_class.members(copied_class.ACCOUNT), copied_class.members(copied_class.SHARED)]


def _final(out):
    with open(out / layout.FINAL, newline="", encoding="utf-8") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def test_a_decision_reaches_the_gradebook_and_the_report_changes_no_grade_and_survives_a_rerun(klass):
    subs, out = klass
    before = _final(out)
    [group] = [g for g in copies.read(out)["groups"] if g["members"] == copied_class.members(copied_class.SHARED)]
    Store(out, [], {}).decide_copy(group["id"], "copy", "Misma ejecución; hablado con ambos el 3/12.", "")
    _regrade(subs, out)
    final = _final(out)
    assert final[ELENA]["copy_review"] == final[FERNANDO]["copy_review"] == f"a copy ({group['id']})"
    [other] = [g for g in copies.read(out)["groups"] if g["members"] == copied_class.members(copied_class.ACCOUNT)]
    assert final[CARMEN]["copy_review"] == f"to review ({other['id']})"
    assert final[copied_class.file_name("Olga Herrera")]["copy_review"] == ""
    assert {s: r["total"] for s, r in final.items()} == {s: r["total"] for s, r in before.items()}
    report = (out / layout.REPORT).read_text(encoding="utf-8")
    assert f"{group['id']} · <strong>a copy</strong>: Misma ejecución; hablado con ambos el 3/12." in report
    assert f"{other['id']} · <strong>to review</strong>" in report


def test_no_students_page_names_another_student_or_a_possible_copy(klass):
    _, out = klass
    for student in (FERNANDO, CARMEN):
        page = (out / "feedback" / f"{student}.html").read_text(encoding="utf-8")
        for word in ("Elena", "Luis", "copia", "copy", "cuenta"):
            assert word not in page, (student, word)


def test_no_copies_turns_the_pass_off_and_it_runs_again_without(klass):
    subs, out = klass
    assert (out / copies.FOLDER).exists()
    off = subprocess.run([sys.executable, "-m", "kit", "grade", str(subs), "--out", str(out), "--no-copies"],
                         cwd=paths.ROOT, capture_output=True, text=True, timeout=600)
    assert off.returncode == 0, off.stderr[-2000:]
    assert not (out / copies.FOLDER).exists()
    assert {r["copy_review"] for r in _final(out).values()} == {""}
    assert "Possible copies" not in (out / layout.REPORT).read_text(encoding="utf-8")
    assert json.loads((out / layout.CLASS).read_text(encoding="utf-8"))["look_for_copies"] is False
    on = subprocess.run([sys.executable, "-m", "kit", "grade", str(subs), "--out", str(out)],
                        cwd=paths.ROOT, capture_output=True, text=True, timeout=600)
    assert on.returncode == 0, on.stderr[-2000:]
    assert _groups(out) == [copied_class.members(copied_class.ACCOUNT), copied_class.members(copied_class.SHARED)]
    assert "Possible copies (2)" in (out / layout.REPORT).read_text(encoding="utf-8")


def test_a_grader_decides_both_groups_with_the_keyboard_and_publishing_records_it(klass):
    from test_review_browser import Review, _need_browser, _open, _press, _saved

    _need_browser()
    from playwright.sync_api import sync_playwright

    subs, out = klass
    note = "Misma cuenta de Colab: lo hablo con los dos."
    server, dialogs = Review(out), []
    try:
        with sync_playwright() as p:
            browser, page = _open(p, server.url, dialogs)
            assert "Possible copies (2 to decide of 2)" in page.locator("#tabs").inner_text()
            _press(page, "C")
            page.locator("#copy-state", has_text="Undecided").wait_for()
            assert page.locator("main h2").inner_text() == "Possible copy: Carmen Ruiz, Luis Moreno"
            _press(page, "c")
            page.keyboard.type(note)
            _press(page, "Escape", "j", "k")             # away and back before deciding: the note is still there
            assert page.locator("#copy-note").input_value() == note
            _press(page, "2")
            _saved(page, "Saved: Carmen Ruiz, Luis Moreno: a copy")
            _press(page, "j", "1")
            _saved(page, "Saved: Elena Vidal, Fernando Gil: not a copy")
            page.locator("#tabs", has_text="Possible copies (0 to decide of 2)").wait_for()
            _press(page, "P")
            page.locator("#status.ok", has_text="Published").wait_for(timeout=120_000)
            browser.close()
    finally:
        server.close()
    assert dialogs and "possible cop" not in dialogs[-1]  # both decided: publishing lists no copy as undecided
    groups = {g["members"][0]: g["id"] for g in copies.read(out)["groups"]}
    for _ in ("published", "graded again"):
        final = _final(out)
        assert final[LUIS]["copy_review"] == f"a copy ({groups[CARMEN]})"
        assert final[FERNANDO]["copy_review"] == f"not a copy ({groups[ELENA]})"
        report = (out / layout.REPORT).read_text(encoding="utf-8")
        assert f"{groups[CARMEN]} · <strong>a copy</strong>: {note}" in report
        _regrade(subs, out)


def test_publishing_lists_the_groups_nobody_looked_at(klass):
    subs, out = klass
    from kit.classwork.review.views import Class

    klass_ = Class(out, [subs], None)
    [group] = [g for g in copies.read(out)["groups"] if g["members"] == copied_class.members(copied_class.SHARED)]
    Store(out, [], {}).decide_copy(group["id"], "not", "", "")
    assert [[m["submission"] for m in g] for g in klass_.pending()["copies"]] == [[CARMEN, LUIS]]


def _runs(accuracies):
    return {f"s{i:03d}.ipynb": copies.Fingerprint(f"k{i}", "full", list(a), student=f"S{i}")
            for i, a in enumerate(accuracies)}


def test_accuracies_a_big_tight_class_shares_by_chance_are_not_evidence_on_their_own():
    import random

    rng = random.Random(7)
    tight = [(round(rng.gauss(0.80, 0.005), 4), 0) for _ in range(300)]
    tight = [(b, round(b + rng.gauss(0.05, 0.005), 4)) for b, _ in tight]
    tight[1] = tight[0]  # two runs of 300 print the same two, as a class this tight does about once
    prints = _runs(tight)
    assert copies.chance_pairs([p.accuracies for p in prints.values()]) > copies.COINCIDENCE
    found = copies.compare(prints)
    assert found["groups"] == []
    [said] = [e for e in found["not_evidence"] if e.members == ["s000.ipynb", "s001.ipynb"]]
    assert said.text.endswith("such pairs by chance: not evidence on its own")
    # beside another signal (the same figure), they count: listed with it
    prints["s000.ipynb"].figures = prints["s001.ipynb"].figures = [["f" * 64, "600x400", ""]]
    [group] = copies.compare(prints)["groups"]
    assert [e.text.split(" (")[0] for e in group.evidence] == [
        "a byte-identical figure", "the same baseline and fine-tuned accuracies to four decimals"]


def test_accuracies_a_small_spread_out_class_shares_are_evidence_with_the_odds():
    import random

    rng = random.Random(7)
    spread = [(round(rng.uniform(0.6, 0.9), 4), 0) for _ in range(30)]
    spread = [(b, round(b + rng.uniform(0.0, 0.1), 4)) for b, _ in spread]
    spread[1] = spread[0]
    [group] = copies.compare(_runs(spread))["groups"]
    assert group.members == ["s000.ipynb", "s001.ipynb"]
    assert "; by chance, about 1 class in " in group.evidence[0].text


def test_a_figure_three_share_is_one_runs_when_their_numbers_agree_and_the_datas_when_they_do_not():
    one_run = _runs([(0.8123, 0.8456)] * 3 + [(0.7012, 0.7301)])
    for p in one_run.values():
        p.figures = [["a" * 64, "600x400", ""]]
    p.figures = [["b" * 64, "600x400", ""]]  # the fourth run's own figure
    [group] = copies.compare(one_run)["groups"]
    assert group.members == ["s000.ipynb", "s001.ipynb", "s002.ipynb"]
    assert "a byte-identical figure" in [e.text for e in group.evidence]
    different = _runs([(0.8123, 0.8456), (0.7012, 0.7301), (0.6644, 0.7001)])
    for p in different.values():
        p.figures = [["a" * 64, "600x400", ""]]
    found = copies.compare(different)
    assert found["groups"] == [] and [e.members for e in found["not_evidence"]] == [sorted(different)]


def test_a_decision_on_a_group_the_class_does_not_have_is_refused(klass):
    from kit.classwork.review.store import Refused

    _, out = klass
    with pytest.raises(Refused, match="no group of possible copies 'g-0000000000'"):
        Store(out, [], {}).decide_copy("g-0000000000", "copy", "", "")
    with pytest.raises(Refused, match="one of copy, not, not 'maybe'"):
        Store(out, [], {}).decide_copy(copies.read(out)["groups"][0]["id"], "maybe", "", "")
    record = out / "manual_review.json"
    assert not record.exists() or "copies" not in json.loads(record.read_text(encoding="utf-8"))
