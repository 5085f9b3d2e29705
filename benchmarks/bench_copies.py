"""The copied-work pass (``kit.classwork.copies``) on a class of 300: how long it takes the first time, on a re-run
with nothing new, and with one notebook handed in again.

    python benchmarks/bench_copies.py [--size 300] [--runs 6]

The class is built as ``tests/copied_class.py`` builds its fifteen: ``--runs`` real Keras runs of the lab's code
shape in one kernel, each student's outputs one of them with every printed figure moved by a per-student amount
(and a little noise of its own) and the plot redrawn from the moved numbers, Colab's ``executionInfo`` for the
student's own account, their own discussion answers. Accuracies two students print alike by chance are listed as
not evidence, as in a real class. Three copies are planted (one run handed in twice, a
notebook run by a classmate's account, and the same run once more under a third name): the pass must find exactly
those groups, or the benchmark says so and fails. Targets (issue #33): the pass under 10 s, a re-run with nothing
new under 1 s.
"""
import argparse
import base64
import io
import json
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "assignment")]

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402

import copied_class  # noqa: E402
import review_class  # noqa: E402
from kit.classwork import copies, manual  # noqa: E402

NUMBER = re.compile(r"\b0\.\d{4}\b")
PERCENT = re.compile(r"\b\d{1,2}\.\d{2}%")


def moved(outputs: dict, rng: random.Random) -> dict:
    """A run's outputs with every printed figure moved a little and the figure redrawn from the moved curves."""
    shift = rng.uniform(-0.04, 0.04)
    curves = {"acc": [], "loss": []}

    def number(m):
        value = min(0.9999, max(0.0001, float(m.group()) + shift + rng.uniform(-0.003, 0.003)))
        return f"{value:.4f}"

    def percent(m):
        value = float(m.group()[:-1]) + 100 * (shift + rng.uniform(-0.003, 0.003))
        return f"{min(99.99, max(0.01, value)):.2f}%"

    new = {}
    for mark, outs in outputs.items():
        new[mark] = nbformat.from_dict(json.loads(json.dumps(outs)))
        for out in new[mark]:
            if out.get("output_type") == "stream":
                out["text"] = PERCENT.sub(percent, NUMBER.sub(number, out["text"]))
                for line in out["text"].splitlines():
                    if "val_accuracy" in line:
                        found = re.findall(r"val_(accuracy|loss): ([\d.]+)", line)
                        for name, value in found:
                            curves["acc" if name == "accuracy" else "loss"].append(float(value))
            elif "image/png" in out.get("data", {}):
                out["data"]["image/png"] = _figure(curves, rng)
    return new


def _figure(curves: dict, rng: random.Random) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), dpi=72)
    for ax, name in zip(axes, ("acc", "loss")):
        values = curves[name] or [rng.random() for _ in range(25)]
        ax.plot(values, label=f"val_{name}")
        ax.axvline(len(values) * 0.6, linestyle="--")
        ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def write_class(root: Path, size: int, runs: int) -> tuple:
    """(submissions, expected groups as sorted lists of file names)."""
    subs, work = root / "subs", root / "work"
    subs.mkdir(parents=True)
    work.mkdir()
    real = list(copied_class.runs(work, {f"run{i}": 500 + i for i in range(runs)}).values())
    names = [f"Estudiante{i:03d} Apellido{(i * 37) % 1000:03d}" for i in range(size)]
    files = {n: f"{n}_{5000 + i}_assignsubmission_file_transfer_learning_lab.ipynb" for i, n in enumerate(names)}
    questions = manual.manual_questions()
    outputs = {}
    for i, name in enumerate(names):
        rng = random.Random(i)
        outputs[name] = moved(real[i % runs], rng)
        nb = copied_class._solution()
        manual.set_answers(nb, questions, {q.name: f"{name}: respuesta propia {rng.random():.6f} a {q.name}."
                                           for q in questions})
        copier, owner = names[1], names[0]  # the same run handed in twice; a third hands it in again
        copied_class.with_run(nb, outputs[owner] if name in (copier, names[2]) else outputs[name])
        account = names[4] if name == names[3] else name  # a notebook run by a classmate's account
        copied_class.with_colab(nb, copied_class.account(account))
        nbformat.write(nb, subs / files[name])
    expected = [sorted(files[n] for n in names[:3]), sorted(files[n] for n in names[3:5])]
    shutil.rmtree(work)
    return subs, sorted(expected)


def timed(call) -> tuple:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=300, help="students in the class (default: %(default)s)")
    p.add_argument("--runs", type=int, default=6, help="real Keras runs the class is drawn from (default: %(default)s)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        built, (subs, expected) = timed(lambda: write_class(root, args.size, args.runs))
        out = root / "out"
        graded, rows = timed(lambda: review_class.graded(subs, out))
        shutil.rmtree(out / copies.FOLDER)
        first, found = timed(lambda: copies.scan(out, rows, subs))
        again, _ = timed(lambda: copies.scan(out, rows, subs))
        changed = subs / rows[-1].submission
        nb = nbformat.read(changed, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("Entregado de nuevo."))
        nbformat.write(nb, changed)
        rows[-1].key = rows[-1].key + "-handed-in-again"
        one, _ = timed(lambda: copies.scan(out, rows, subs))
    groups = sorted(g["members"] for g in found["groups"])
    print(f"class of {args.size} from {args.runs} real runs: written in {built:.1f} s, graded rows and finished in "
          f"{graded:.1f} s")
    print(f"copies pass, first time      {first:7.2f} s  (target < 10 s)")
    print(f"re-run, nothing new          {again * 1000:7.1f} ms (target < 1 s)")
    print(f"re-run, one notebook new     {one:7.2f} s")
    print(f"groups found: {len(groups)} (expected {len(expected)}): "
          + ("exactly the planted ones" if groups == expected else "DIFFERENT:"))
    print(f"not evidence: {len(found['not_evidence'])}", *(f"\n  {e['text']}" for e in found["not_evidence"]))
    for group in found["groups"]:
        if sorted(group["members"]) not in expected:
            print("  unexpected:", ", ".join(m.split("_")[0] for m in group["members"]), "·",
                  "; ".join(e["text"] for e in group["evidence"]))
    return 0 if groups == expected and first < 10 and again < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
