"""Where one graded submission's time goes, part by part. A script, not a test.

    python benchmarks/profile_grading.py [--submission submissions/solution.ipynb] [--repeat 3] [--fixed]

It runs the batch grader's own job steps one by one (the scan, the autograder unpacked, the job folder, the
notebook in a fresh kernel that reports over the channel, the verdict's own process) and times each; the kernel's
cells are timed by nbclient (``metadata.execution``), each ``fit`` split into its first epoch (tracing plus one
step) and the rest from Keras' own progress lines. The sandbox's own cost is measured apart (``bwrap … true``).
Prints one table (median of the repeats) with each part's share of the whole.

With ``--fixed``, it measures instead what a job costs before and after its cells, the way ``kit grade`` runs it:
a notebook of one cell that imports what every student's imports (TensorFlow, Keras, Matplotlib's pyplot), graded
by ``kit.job.one.grade_one`` (the sandbox, the kernel's start, that cell, the verdict), the
usual way (``TL_ZYGOTE=0``) and with the grading process's warm kernel zygote and verdict process, alternately.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from kit import intake, paths, sandbox, tampering  # noqa: E402
from kit.job import channel, decide, execute  # noqa: E402
from kit.job.folder import prepare_job, unpack_lab  # noqa: E402

STEP = re.compile(r"(\d+)/(\d+) .*?(\d+(?:\.\d+)?)(s|ms)/step")
PARTS = [  # (part, what identifies its cell)
    ("set-up cell (fast mode, audit, Otter)", "tl_fastmode"),
    ("import tensorflow, keras, matplotlib", "import tensorflow as tf"),
    ("load data (fast-mode sample)", "cifar10.load_data()"),
    ("build the model (EfficientNetV2B0 + head)", "EfficientNetV2B0("),
    ("fit, phase 1", "history = model.fit("),
    ("evaluate (baseline)", "loss_baseline, accuracy_baseline"),
    ("unfreeze and re-freeze", "fine_tune_at ="),
    ("recompile (+ model.summary)", "learning_rate=1e-5"),
    ("fit, phase 2", "history_fine_tune = model.fit("),
    ("evaluate (final) and improvement", "improvement ="),
    ("plots", "plt.figure("),
    ("check cells (grader.check, in the kernel)", "grader.check("),
]


def _seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.status.busy"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def _epochs(cell) -> list:
    """Seconds of each epoch, from Keras' own progress lines (the last one of each epoch: steps × time per step);
    the first one carries the graph's tracing."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours
    found = []
    for block in text.split("Epoch ")[1:]:
        hits = [h for h in (STEP.search(line) for line in re.split(r"[\r\n\x08]+", block)) if h]
        if hits:
            last = hits[-1]
            found.append(float(last.group(3)) / (1000 if last.group(4) == "ms" else 1) * int(last.group(2)))
    return found


def profile_once(submission: Path) -> dict:
    times = {}
    start = time.monotonic()
    exempt = tampering.kit_cells()
    findings = tampering.scan(intake.read_notebook(submission), exempt)  # noqa: F841 (timed, not used)
    times["scan (static)"] = time.monotonic() - start
    with tempfile.TemporaryDirectory(prefix="tl-prof-") as job, tempfile.TemporaryDirectory(prefix="tl-own-") as own:
        job, own = Path(job), Path(own)
        t = time.monotonic()
        lab = unpack_lab(paths.AUTOGRADER_ZIP, own / "lab")
        times["autograder unpacked"] = time.monotonic() - t
        t = time.monotonic()
        notebook = prepare_job(submission, lab, job / "work")
        times["job folder prepared"] = time.monotonic() - t
        listener = channel.Listener(own / "obs.sock", own / "observations.jsonl")
        nb = execute.graded_cells(nbformat.read(notebook, as_version=4))
        nb.cells.append(nbformat.v4.new_code_cell(execute.FINISH))
        client = NotebookClient(nb, timeout=None, allow_errors=True, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": str(job / "work")}},
                                extra_arguments=[f"--IPKernelApp.exec_lines="
                                                 f"{json.dumps([execute.start_lines(own / 'obs.sock', job / 'work')])}"])
        t = time.monotonic()
        with client.setup_kernel():
            times["kernel start (+ recorder)"] = time.monotonic() - t
            t = time.monotonic()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            executed = time.monotonic() - t
        listener.close()
        for part, marker in PARTS:
            cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
            if part.startswith("check cells"):
                times[part] = sum(_seconds(c) for c in cells)
                continue
            cell = next((c for c in cells if not c.source.startswith("grader.check")), None)
            if cell is None:
                continue
            times[part] = _seconds(cell)
            if part.startswith("fit"):
                epochs = _epochs(cell)
                if epochs:
                    times[f"  {part}: first epoch (tracing + 1 step)"] = epochs[0]
                    times[f"  {part}: other {len(epochs) - 1} epochs"] = sum(epochs[1:])
        counted = sum(times.get(part, 0.0) for part, _ in PARTS)
        times["other cells and kernel round trips"] = max(0.0, executed - counted)
        t = time.monotonic()
        subprocess.run(decide.command(own, submission, lab, exempt, sandbox.available()), cwd=paths.ROOT,
                       check=True, capture_output=True)
        times["verdict process (Otter's tests, probe, results)"] = time.monotonic() - t
    if sandbox.available():
        with tempfile.TemporaryDirectory() as empty:
            t = time.monotonic()
            subprocess.run(sandbox.command(["true"], Path(empty)), check=True)
            times["sandbox start (bwrap … true)"] = time.monotonic() - t
    times["TOTAL (this profile, unconfined kernel)"] = time.monotonic() - start
    return times


IMPORTS = "import tensorflow as tf\nimport keras\nimport matplotlib.pyplot as plt"


def fixed_cost_once(notebook: Path, warm: bool) -> float:
    """Seconds ``grade_one`` takes on a one-cell notebook, warm processes on or off."""
    from kit import grade
    from kit.job import kernels

    os.environ[kernels.SWITCH] = "1" if warm else "0"
    with tempfile.TemporaryDirectory(prefix="tl-prof-") as out:
        row = grade.grade_one(notebook, paths.AUTOGRADER_ZIP, Path(out), timeout_s=300, memory_mb=4096,
                              questions=grade.questions_of(paths.AUTOGRADER_ZIP), threads=1)
    if row.status.value not in ("ok", "flagged"):
        raise SystemExit(f"the one-cell job: {row.status.value} {row.message}")
    return row.seconds


def fixed_cost(repeat: int) -> None:
    if not sandbox.available():
        raise SystemExit("bubblewrap is not available here: the zygote serves sandboxed jobs only")
    with tempfile.TemporaryDirectory(prefix="tl-prof-nb-") as folder:
        blank = nbformat.read(paths.SUBMISSIONS / "blank_template.ipynb", as_version=4)
        notebook = Path(folder) / "one_cell.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORTS)],
                                                metadata=blank.metadata), notebook)
        t = time.monotonic()
        fixed_cost_once(notebook, warm=True)
        started = time.monotonic() - t
        times = {True: [], False: []}
        for _ in range(repeat):
            for warm in (False, True):
                times[warm].append(fixed_cost_once(notebook, warm))
    usual, warm = statistics.median(times[False]), statistics.median(times[True])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"one cell of imports graded by grade_one, sandboxed, median of {repeat}")
    print("| job's fixed cost | seconds |\n|---|---:|")
    print(f"| usual (TL_ZYGOTE=0: a new kernel and a new verdict process) | {usual:.2f} |")
    print(f"| warm (kernel forked from the zygote, verdict forked from its server) | {warm:.2f} |")
    print(f"| first warm job (starts the zygote and the verdict server, once per grading process) | {started:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submission", type=Path, default=paths.SUBMISSIONS / "solution.ipynb",
                        help="the notebook profiled (default: the solution)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the table gives their medians")
    parser.add_argument("--fixed", action="store_true",
                        help="measure a job's fixed cost, the usual way and with the warm processes, instead")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.fixed:
        return fixed_cost(args.repeat)
    runs = [profile_once(args.submission.resolve()) for _ in range(args.repeat)]
    total = statistics.median(r["TOTAL (this profile, unconfined kernel)"] for r in runs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.submission.name}, median of {args.repeat}, one job at a time")
    print(f"| part | seconds | share |\n|---|---:|---:|")
    for key in runs[0]:
        value = statistics.median(r.get(key, 0.0) for r in runs)
        print(f"| {key} | {value:.2f} | {100 * value / total:.0f} % |")


if __name__ == "__main__":
    main()
