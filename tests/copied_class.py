"""A class of fifteen with saved outputs, for the copied-work tests and ``benchmarks/bench_copies.py``.

Every output is real, made by a real kernel (nbclient): twelve runs of the lab's code shape (the same prints, the
same figure cell, Keras' own progress lines) in which a small dense model on a fixed task stands in for EfficientNet,
whose full run takes hours on this CPU; and the solution notebook executed in the lab's fast mode. Each run goes
into a copy of the solution notebook, in the cells that make those outputs, with Colab's ``executionInfo`` for the
account that ran it, and each student's own discussion answers. The class:

* ``SHARED``: Elena's run, run in a local Jupyter (no Colab metadata), handed in by her and by Fernando under his
  own name with every discussion answer rewritten;
* ``ACCOUNT``: Carmen's notebook, run by Luis's Colab account (Luis, one of the ten, handed in his own);
* ``FAST``: two students who handed in the lab in fast mode (deterministic by design: the same numbers);
* the other ten, each a run of their own.
"""
import copy
import fcntl
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from kit import paths
from kit.classwork import manual

NAMES = ["Ana García", "Bruno Díaz", "Carmen Ruiz", "Diego López", "Elena Vidal", "Fernando Gil", "Gloria Sanz",
         "Hugo Martín", "Irene Castro", "Javier Ortega", "Laura Navarro", "Luis Moreno", "Marta Romero",
         "Nicolás Prieto", "Olga Herrera"]
SHARED = ("Elena Vidal", "Fernando Gil")
ACCOUNT = ("Carmen Ruiz", "Luis Moreno")
"""Carmen's notebook, run by Luis's account."""
FAST = ("Ana García", "Bruno Díaz")
UNIQUE = [n for n in NAMES if n not in SHARED[1:] + FAST]
"""The students whose run is theirs (Elena's is the one Fernando handed in too)."""
SEEDS = {name: 101 + i for i, name in enumerate(UNIQUE)}

_QUESTIONS = manual.manual_questions()
_TASK = '''
import os
from concurrent.futures import ThreadPoolExecutor
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
from keras import layers
import matplotlib.pyplot as plt
# one task for the whole class, as CIFAR-10 is: 16 features, 10 classes, 10,000 test examples
task = np.random.default_rng(0)
W = task.normal(size=(16, 10))
def data(n):
    x = task.normal(size=(n, 16)).astype("float32")
    y = np.argmax(x @ W + task.normal(scale=2.0, size=(n, 10)), axis=1)
    return x, keras.utils.to_categorical(y, 10)
x_train, y_train_cat = data(64)
x_test, y_test_cat = data(10000)
'''
_PHASE1 = '''
keras.utils.set_random_seed({seed})
model = keras.Sequential([keras.Input((16,)), layers.Dense(32, activation="relu"), layers.Dropout(0.3),
                          layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.CategoricalCrossentropy(),
              metrics=[keras.metrics.CategoricalAccuracy()])
print("--- FASE 1: Entrenando con Extracción de Características ---")
initial_epochs = 15
history = model.fit(x_train, y_train_cat, epochs=initial_epochs, validation_data=(x_test, y_test_cat),
                    validation_batch_size=len(x_test))
'''
_PHASE2 = '''
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.CategoricalCrossentropy(),
              metrics=[keras.metrics.CategoricalAccuracy()])
print("\\n--- FASE 2: Continuando el Entrenamiento con Fine-Tuning ---")
fine_tune_epochs = 10
total_epochs = initial_epochs + fine_tune_epochs
history_fine_tune = model.fit(x_train, y_train_cat, epochs=total_epochs, validation_data=(x_test, y_test_cat),
                              initial_epoch=history.epoch[-1] + 1, validation_batch_size=len(x_test))
'''
MARKS = {
    # the solution's cell (a piece of its source) -> the runner's cell that makes its outputs
    "history = model.fit(": "phase1",
    "loss_baseline, accuracy_baseline = model.evaluate": "baseline",
    "history_fine_tune = model.fit(": "phase2",
    "improvement = accuracy_finetune": "results",
    "plt.figure(": "figure",
}


def _solution():
    return nbformat.read(paths.ROOT / "solution" / paths.MASTER.name, as_version=4)


def _cell(solution, mark: str) -> str:
    return next(c.source for c in solution.cells if c.cell_type == "code" and mark in c.source)


def _execute(nb, folder: Path, fast: bool = False):
    env = {**os.environ, "LAB_MODE": "fast"} if fast else dict(os.environ)
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=fast,
                   resources={"metadata": {"path": str(folder)}}).execute(env=env)
    return nb


def runs(folder: Path, seeds: dict) -> dict:
    """{student: {mark: the outputs of the runner's cell}} for each seed's run, all in one kernel."""
    solution = _solution()
    cells = [nbformat.v4.new_code_cell(_TASK)]
    for name, seed in seeds.items():
        for mark, source in (("phase1", _PHASE1.format(seed=seed)),
                             ("baseline", _cell(solution, "loss_baseline, accuracy_baseline = model.evaluate")),
                             ("phase2", _PHASE2), ("results", _cell(solution, "improvement = accuracy_finetune")),
                             ("figure", _cell(solution, "plt.figure("))):
            cells.append(nbformat.v4.new_code_cell(source, metadata={"run": [name, mark]}))
    nb = _execute(nbformat.v4.new_notebook(cells=cells), folder)
    found = {}
    for cell in nb.cells[1:]:
        name, mark = cell.metadata["run"]
        found.setdefault(name, {})[mark] = cell.outputs
    return found


def fast_run(folder: Path):
    """The solution notebook executed in the lab's fast mode, as a student offline would hand it in."""
    nb = _solution()
    nb.cells = [c for c in nb.cells if "tl_setup.submit" not in c.source]
    return _execute(nb, folder, fast=True)


def account(name: str) -> dict:
    """Colab's ``executionInfo.user`` of a student's own Google account."""
    return {"displayName": name, "userId": str(int(hashlib.sha256(name.encode()).hexdigest(), 16))[:20]}


def with_colab(nb, user: dict, start_ms: int = 1_796_000_000_000) -> None:
    """Colab's metadata, as Colab writes it: the notebook's and each executed code cell's ``executionInfo``."""
    nb.metadata["colab"] = {"provenance": [], "gpuType": "T4"}
    nb.metadata["accelerator"] = "GPU"
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.metadata["executionInfo"] = {"status": "ok", "timestamp": start_ms + 60_000 * i, "user_tz": -60,
                                          "elapsed": 1200 + 7 * i, "user": dict(user)}
        cell.metadata["outputId"] = hashlib.sha256(f"{user['userId']}{i}".encode()).hexdigest()[:36]


def with_run(nb, outputs: dict) -> None:
    """Each of a run's outputs in the cell of the solution that makes it."""
    for cell in nb.cells:
        mark = next((m for piece, m in MARKS.items() if cell.cell_type == "code" and piece in cell.source), None)
        if mark:
            cell.outputs = copy.deepcopy(outputs[mark])


def answers(name: str, rewritten: bool = False) -> dict:
    """A student's own discussion answers (``rewritten``: the same ideas in other words, as a copier does)."""
    first = name.split()[0]
    if rewritten:
        return {"q8_1_mejora": f"Según mis resultados ({first}), el ajuste fino sí aportó algo frente a la base.",
                "q8_2_tasa_aprendizaje": "Con pasos pequeños los pesos preentrenados cambian despacio y no se pierden.",
                "q8_3_escenarios": "Vale la pena si hay bastantes imágenes o si son muy distintas de ImageNet."}
    return {"q8_1_mejora": f"Yo, {first}, vi que la exactitud cambió tras descongelar: lo muestran mis curvas.",
            "q8_2_tasa_aprendizaje": f"{first} opina: un paso grande destruiría lo aprendido en ImageNet.",
            "q8_3_escenarios": f"Para {first}: con un conjunto grande o un dominio lejano (radiografías, satélite)."}


def file_name(name: str) -> str:
    """Moodle's download name for a student's submission."""
    return f"{name}_{1000 + NAMES.index(name)}_assignsubmission_file_transfer_learning_lab.ipynb"


def write(subs: Path, work: Path) -> dict:
    """Write the class into ``subs`` (``work``: a scratch folder for the kernels); returns {student: file name}."""
    subs.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as kernels:  # two kernels at once: each waits on its own process
        found, fast = kernels.submit(runs, work, SEEDS), kernels.submit(fast_run, work)
        found, fast = found.result(), fast.result()
    written = {}
    for name in NAMES:
        nb = _solution()
        manual.set_answers(nb, _QUESTIONS, answers(name, rewritten=name == SHARED[1]))
        if name in FAST:
            _take_outputs(nb, fast)
            with_colab(nb, account(name))
        elif name in SHARED:
            with_run(nb, found[SHARED[0]])  # a local Jupyter: no Colab metadata
        else:
            with_run(nb, found[name])
            with_colab(nb, account(ACCOUNT[1] if name == ACCOUNT[0] else name))
        nbformat.write(nb, subs / file_name(name))
        written[name] = file_name(name)
    return written


def _take_outputs(nb, executed) -> None:
    """Outputs of ``executed`` in ``nb``'s code cells of the same source (the discussion answers stay ``nb``'s)."""
    by_source = {c.source: c for c in executed.cells if c.cell_type == "code"}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source in by_source:
            cell.outputs = copy.deepcopy(by_source[cell.source].outputs)
            cell.execution_count = by_source[cell.source].execution_count


def shared(tmp_path_factory) -> Path:
    """The class, written once per test session (xdist's workers share it: the kernels take a minute or two)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "copied-class"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "written").exists():
            write(root / "subs", root / "work")
            (root / "written").touch()
    return root / "subs"


def members(names) -> list:
    """The file names of students, sorted as a group lists them."""
    return sorted(file_name(n) for n in names)

