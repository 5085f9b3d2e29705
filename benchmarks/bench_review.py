"""``kit review`` on a class of 300: how long each view takes to open and each save to return.

    python benchmarks/bench_review.py [--size 300] [--saves 200]

The class is the solution under 300 names, each with its own answers and the saved outputs of a full run (the
figure included), one in ten flagged, graded as ``tests/review_class.py`` writes a graded class (rows as grading saves them, the class
finished as ``kit grade`` finishes it). The server is the README's command, ``python -m kit review --out OUT``.
Measured: the server's start, every JSON view over HTTP, each save (a rubric item toggled, compare-and-set, both
files replaced), and, where Chromium is installed, the page itself: first load, a question switched, a student moved
to. Targets (issue #21): each view under 1 s, each save under 100 ms.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "assignment")]

import nbformat  # noqa: E402

import review_class  # noqa: E402
from kit import paths  # noqa: E402
from kit.classwork import manual  # noqa: E402

WORDS = ("precisión pérdida curva validación época mejora base ajuste fino sobreajuste datos dominio tasa pesos "
         "imagenet gradiente congelar descongelar capas cifras línea").split()


def write_class(root: Path, size: int) -> tuple:
    subs = root / "subs"
    subs.mkdir(parents=True)
    base = review_class.with_full_run(nbformat.read(paths.SUBMISSIONS / "solution.ipynb", as_version=4))
    questions = manual.manual_questions()
    for i in range(size):
        nb = nbformat.from_dict(json.loads(json.dumps(base)))
        words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(60)]
        manual.set_answers(nb, questions, {q.name: f"Estudiante {i}, {q.name}: " + " ".join(words[j::3])
                                           for j, q in enumerate(questions)})
        nbformat.write(nb, subs / f"estudiante_{i:03d}.ipynb")
    review_class.FLAGGED.update(f"estudiante_{i:03d}.ipynb" for i in range(0, size, 10))  # a queue of 30
    started = time.perf_counter()
    review_class.graded(subs, root / "out")
    return subs, root / "out", time.perf_counter() - started


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def line(name, times, target):
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    verdict = "ok" if times[-1] < target else "OVER"
    return f"{name:<34} n={len(times):<4} median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  " \
           f"max {times[-1]:7.1f} ms  (target {target:.0f} ms: {verdict})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=300, help="students in the class (default 300)")
    p.add_argument("--saves", type=int, default=200, help="saves to time (default 200)")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        subs, out, seconds = write_class(root, args.size)
        print(f"class of {args.size} written and finished in {seconds:.1f} s ({sum(f.stat().st_size for f in subs.iterdir()) / 2**20:.0f} MB of notebooks)")
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "kit", "review", "--out", str(out), "--no-browser"],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = server.stdout.readline().rsplit("open ", 1)[1].strip()
        print(f"server ready in {time.perf_counter() - started:.1f} s (reads every notebook once)")
        base, token = url.split("/?token=")
        try:
            fetch = lambda path: urllib.request.urlopen(f"{base}{path}{'&' if '?' in path else '?'}token={token}").read()  # noqa: E731
            views = {"overview": [], "question (all answers)": [], "own run (figures)": [], "flagged queue": []}
            names = [q.name for q in manual.manual_questions()]
            for _ in range(5):
                views["overview"].append(timed(lambda: fetch("/api/overview")))
                for name in names:
                    views["question (all answers)"].append(timed(lambda: fetch(f"/api/question/{name}")))
                views["flagged queue"].append(timed(lambda: fetch("/api/flags")))
            for i in range(0, args.size, max(1, args.size // 20)):
                views["own run (figures)"].append(timed(lambda: fetch(f"/api/run?submission=estudiante_{i:03d}.ipynb")))
            for name, times in views.items():
                print(line(f"view: {name}", times, 1000))

            saves, values = [], {}
            for k in range(args.saves):
                sub = f"estudiante_{k % args.size:03d}.ipynb"
                items = ["1"] if values.get(sub) != "1" else ["1", "2"]
                body = json.dumps({"submission": sub, "question": names[0], "items": items,
                                   "expected": values.get(sub, "")}).encode()
                request = urllib.request.Request(f"{base}/api/items", data=body, method="POST", headers={
                    "X-Review-Token": token, "Content-Type": "application/json"})

                def save():
                    values[sub] = json.loads(urllib.request.urlopen(request).read())["value"]
                saves.append(timed(save))
            print(line("save: a rubric item", saves, 100))
            page_timings(url)
        finally:
            server.kill()
            server.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def page_timings(url: str) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("page: Chromium not installed; the page itself was not timed")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        first = timed(lambda: (page.goto(url), page.locator("#answer").wait_for()))
        switches, moves = [], []
        names = [q.name for q in manual.manual_questions()]
        for name in names[1:]:
            switches.append(timed(lambda: (page.keyboard.press("]"),
                                           page.locator("#progress", has_text=name).wait_for())))
        switches.append(timed(lambda: (page.keyboard.press("f"), page.locator("#flag-state").wait_for())))
        switches.append(timed(lambda: (page.keyboard.press("]"),
                                       page.locator("#progress", has_text=names[0]).wait_for())))
        for k in range(20):
            moves.append(timed(lambda: (page.keyboard.press("j"),
                                        page.locator("#progress", has_text=f"student {k + 2} of").wait_for())))
        browser.close()
    print(line("page: first load", [first], 1000))
    print(line("page: switch question or queue", switches, 1000))
    print(line("page: next student", moves, 1000))


if __name__ == "__main__":
    raise SystemExit(main())
