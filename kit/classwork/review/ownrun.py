"""The student's own run, read from the outputs saved in their notebook (nothing is executed): the accuracies they
printed, the figures they drew, and whether that run looks like the full lab or like fast mode.

Question 8.1 asks students to analyse *their* curves and *their* figures; the grading run (a few images, maybe random
weights) says nothing about those, so the reviewer is shown this beside the answer instead.
"""
import base64
import binascii
import re
from dataclasses import asdict, dataclass, field

FULL_TRAIN = 50_000
"""CIFAR-10's training images: the full lab's epochs see all of them."""
LAB_EPOCHS = 25
MAX_FIGURES = 4
MAX_FIGURE_BYTES = 3 * 2**20
PNG = b"\x89PNG\r\n\x1a\n"
FAST_MARK = "[modo rápido]"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_EPOCH = re.compile(r"\bEpoch (\d+)/(\d+)")
_STEPS = re.compile(r"^\s*(\d+)/(\d+)\s+(?:━|\[|=)")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?\s*%?", re.IGNORECASE)
_ACCURACY_WORDS = re.compile(r"precisi|accura|exactitud|mejora|improv", re.IGNORECASE)
_FAST_SIZE = re.compile(r"(\d+) imágenes de entrenamiento")


@dataclass
class OwnRun:
    """What the submitted notebook's saved outputs say about the student's own run."""

    lines: list = field(default_factory=list)
    """The printed lines that report an accuracy or the improvement, verbatim (at most 12)."""
    baseline: str = ""
    """The baseline accuracy as printed (``81.23%``), or "" where no line says it."""
    finetune: str = ""
    """The accuracy after fine-tuning as printed, or ""."""
    improvement: str = ""
    """The improvement as printed, or ""."""
    figures: list = field(default_factory=list)
    """The PNG figures of their outputs, as ``data:`` URIs (at most ``MAX_FIGURES``, the last ones)."""
    epochs: list = field(default_factory=list)
    """The epochs their fits printed (1-based, as Keras prints them), in order."""
    steps: int = 0
    """Steps per epoch their fits printed (the largest seen), 0 where none."""
    kind: str = "none"
    """``full``, ``reduced``, ``fast`` or ``none`` (no saved outputs)."""
    verdict: str = ""
    """That, in one plain sentence."""

    def to_dict(self) -> dict:
        return asdict(self)


def _texts(cell) -> list:
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(str(output.get("text", "")))
        elif output.get("output_type") in ("execute_result", "display_data"):
            plain = output.get("data", {}).get("text/plain")
            if plain:
                texts.append(plain if isinstance(plain, str) else "".join(plain))
    return texts


def _lines(text: str) -> list:
    """Printed lines as a terminal would show them: colours dropped, a carriage return rewrites its line."""
    return [_ANSI.sub("", line.split("\r")[-1]).rstrip() for line in text.split("\n")]


def _pngs(cell) -> list:
    found = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get("image/png") if isinstance(output.get("data"), dict) else None
        if not data:
            continue
        try:
            raw = base64.b64decode("".join(data) if isinstance(data, list) else data, validate=False)
        except (binascii.Error, ValueError, TypeError):
            continue
        if raw.startswith(PNG) and len(raw) <= MAX_FIGURE_BYTES:
            found.append("data:image/png;base64," + base64.b64encode(raw).decode())  # re-encoded: only bytes pass
    return found


def _first_number(line: str) -> str:
    match = _NUMBER.search(line.split(":", 1)[-1]) or _NUMBER.search(line)
    return match.group(0).strip() if match else ""


def read(nb) -> OwnRun:
    """``OwnRun`` of a notebook (an ``nbformat`` node or a plain dict)."""
    run = OwnRun()
    printed, fast = [], False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for text in _texts(cell):
            for line in _lines(text):
                fast = fast or FAST_MARK in line
                epoch = _EPOCH.search(line)
                if epoch:
                    run.epochs.append(int(epoch.group(1)))
                    continue
                steps = _STEPS.match(line)
                if steps:
                    run.steps = max(run.steps, int(steps.group(2)))
                    continue
                if line.strip() and _ACCURACY_WORDS.search(line) and _NUMBER.search(line) \
                        and FAST_MARK not in line:
                    printed.append(line.strip())
        run.figures.extend(_pngs(cell))
    run.figures = run.figures[-MAX_FIGURES:]
    run.lines = printed[-12:]
    for line in printed:
        low = line.lower()
        if re.search(r"mejora|improv", low):
            run.improvement = _first_number(line)
        elif re.search(r"ajuste fino|fine.?tun|final", low):
            run.finetune = _first_number(line)
        elif re.search(r"base", low):
            run.baseline = _first_number(line)
    run.kind, run.verdict = _judge(run, fast, nb)
    return run


def _judge(run: OwnRun, fast: bool, nb) -> tuple:
    if not run.lines and not run.figures and not run.epochs:
        return "none", ("No saved outputs: the notebook was handed in without its run (or with its outputs "
                        "cleared), so there are no figures of the student's own to compare the analysis with.")
    shown = f"{len(run.epochs)} epochs shown" + (f" (the last: {run.epochs[-1]})" if run.epochs else "")
    if fast or run.steps == 1:
        size = next((m.group(1) for c in nb.get("cells", []) if c.get("cell_type") == "code"
                     for t in _texts(c) for m in [_FAST_SIZE.search(t)] if m), "")
        images = f" on {size} images" if size else ""
        return "fast", (f"Fast mode: {shown}, one step per epoch{images}. Its accuracies and curves are not the "
                        "lab's and cannot support an analysis of fine-tuning.")
    if run.steps:
        seen = f"{run.steps:,} steps per epoch (about {run.steps * 32:,} images at batch size 32)"
        if run.steps * 32 >= FULL_TRAIN * 0.95 and len(run.epochs) >= LAB_EPOCHS:
            return "full", f"Looks like the full lab: {shown}, {seen}."
        return "reduced", (f"A reduced run, not the full lab: {shown}, {seen}; the full lab is {LAB_EPOCHS} "
                           f"epochs over {FULL_TRAIN:,} images.")
    return "reduced", (f"{shown}; no training progress lines were saved, so how much data each epoch saw is "
                       "unknown.")
