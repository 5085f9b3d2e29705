"""A graded class for the ``kit review`` tests, written without running the autograder.

Each row is what a grading job saves (``results/<submission>/row.json``, with the key ``kit grade`` computes, so
``kit grade`` on the same folder grades nothing and only finishes the class); then ``kit.classwork.finish`` writes the
sheet, gradebook and pages exactly as ``kit grade`` does after grading.
"""
import base64
import hashlib
import io
import json
import shutil
from pathlib import Path

import nbformat

from kit import classwork, grades_table, layout, paths, tampering
from kit.classwork import manual
from kit.job.folder import questions_of
from kit.job.one import content_key
from kit.demo import ANA_Q8_2
from kit.records import Row, Status

QUESTIONS = manual.manual_questions()
AUTOMATIC = questions_of(paths.AUTOGRADER_ZIP)

ANSWERS = {
    "ana.ipynb": {"q8_1_mejora": "Sí: la precisión pasó de **81,2 %** a 83,4 %, una mejora de 2,2 puntos.",
                  "q8_2_tasa_aprendizaje": ANA_Q8_2,
                  "q8_3_escenarios": "Con muchos datos y un dominio distinto del de ImageNet."},
    "bruno.ipynb": {"q8_1_mejora": "No mejoró: las curvas siguen planas tras la línea.",
                    "q8_2_tasa_aprendizaje": "Una tasa alta estropea lo aprendido.",
                    "q8_3_escenarios": "Cuando el conjunto es grande."},
    "carla.ipynb": {"q8_1_mejora": "Mejoró un poco según mis cifras.",
                    "q8_2_tasa_aprendizaje": ANA_Q8_2.replace("de golpe", "mucho"),
                    "q8_3_escenarios": "Con imágenes médicas."},
    "eva.ipynb": {"q8_1_mejora": "Sí, mejoró.", "q8_2_tasa_aprendizaje": "Porque sí.",
                  "q8_3_escenarios": "Siempre."},
}
CLASS = {"ana.ipynb": "solution.ipynb", "bruno.ipynb": "b4_no_recompile.ipynb", "carla.ipynb": "solution.ipynb",
         "diego.ipynb": "blank_template.ipynb", "eva.ipynb": "t1_checks_function_replaced.ipynb"}
FLAGGED = {"eva.ipynb"}


def keras_epochs(first: int, last: int, total: int, steps: int) -> str:
    """Keras 3's progress output for epochs ``first``..``last`` of ``total``, as a notebook saves it (the format
    of a real ``fit(verbose=1)``: a carriage return and colours before each step line)."""
    lines = []
    for epoch in range(first, last + 1):
        lines.append(f"Epoch {epoch}/{total}\n")
        lines.append(f"\r\x1b[1m{steps}/{steps}\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m "
                     f"\x1b[1m52s\x1b[0m 33ms/step - categorical_accuracy: 0.7{epoch:02d} - loss: 0.81 - "
                     f"val_categorical_accuracy: 0.8{epoch:02d} - val_loss: 0.55\n")
    return "".join(lines)


def figure_png() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(range(25), [0.5 + i / 100 for i in range(25)])
    ax.axvline(14)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def with_full_run(nb, baseline="81.20", finetune="83.40", improvement="2.20"):
    """Outputs of the full lab saved in the notebook: 1,563 steps a epoch, 15 + 10 epochs, the three prints and a
    figure, each in the cell that makes it."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    stream = lambda text: nbformat.v4.new_output("stream", name="stdout", text=text)  # noqa: E731
    for cell in code:
        if "history = model.fit(" in cell.source:
            cell.outputs = [stream(keras_epochs(1, 15, 15, 1563))]
        elif "history_fine_tune = model.fit(" in cell.source:
            cell.outputs = [stream(keras_epochs(16, 25, 25, 1563))]
        elif "improvement =" in cell.source:
            cell.outputs = [stream(f"\nPrecisión de línea base (extracción de características): {baseline}%\n"
                                   f"Precisión después del ajuste fino: {finetune}%\n"
                                   f"Mejora con ajuste fino: {improvement} puntos porcentuales\n")]
        elif "plt.figure" in cell.source:
            cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": figure_png(),
                                                                          "text/plain": "<Figure>"})]
    return nb


def write(root: Path, answers: dict = ANSWERS, full_run: tuple = ("ana.ipynb",)) -> tuple:
    """(submissions folder, out folder) of a graded class of five under ``root``."""
    subs, out = root / "subs", root / "out"
    subs.mkdir(parents=True)
    for name, reference in CLASS.items():
        nb = nbformat.read(paths.SUBMISSIONS / reference, as_version=4)
        if name in answers:
            manual.set_answers(nb, QUESTIONS, answers[name])
        if name in full_run:
            with_full_run(nb)
        nbformat.write(nb, subs / name)
    graded(subs, out)
    return subs, out


def graded(subs: Path, out: Path) -> list:
    """Rows for every file in ``subs`` as grading saves them, then the class finished as ``kit grade`` does."""
    autograder_sha256 = hashlib.sha256(paths.AUTOGRADER_ZIP.read_bytes()).digest()
    rows = []
    for sub in sorted(subs.iterdir()):
        flagged = sub.name in FLAGGED
        findings = tampering.scan(nbformat.read(sub, as_version=4), tampering.kit_cells()) if flagged else []
        row = Row(sub.name, Status.FLAGGED if flagged else Status.OK, score=16.0, max_score=sum(AUTOMATIC.values()),
                  questions={q: p for q, p in AUTOMATIC.items()} | {"q4_ajuste_fino": 1.0},
                  seconds=30.0, peak_mb=1000.0, message=tampering.summary(findings) if flagged else "",
                  key=content_key(sub, autograder_sha256))
        results = layout.results_dir(out, sub.name)
        results.mkdir(parents=True, exist_ok=True)
        (results / "row.json").write_text(json.dumps(row.to_dict(), ensure_ascii=False), encoding="utf-8")
        (results / "evidence.json").write_text("[]", encoding="utf-8")
        rows.append(row)
    grades_table.write_csv(rows, AUTOMATIC, out / layout.GRADES)
    layout.write_origin(out, subs, paths.AUTOGRADER_ZIP, None)
    classwork.finish(out, rows, AUTOMATIC, subs, None)
    return rows


def copy(out: Path, to: Path) -> Path:
    shutil.copytree(out, to)
    return to
