"""One Spanish feedback page per submission: score, points per question, each public test's verdict, the plots.

A hidden test shows only that it failed, in which question: never its message or code.
"""
import json
from pathlib import Path

from kit import pages
from kit.records import Case, Row, Status
from kit.pages import esc

EXPLAINED = {
    Status.TIMEOUT: "La calificación se detuvo porque el cuaderno tardó más del tiempo permitido. Suele deberse a "
                    "un bucle que no termina o a entrenar con más datos o épocas de las del laboratorio. No se "
                    "pudo asignar ningún punto automático: revisa esas celdas y vuelve a entregar.",
    Status.MEMORY: "La calificación se detuvo porque el cuaderno usó más memoria de la permitida (por ejemplo, "
                   "copias grandes de los datos o un modelo más grande que el del laboratorio). No se pudo asignar "
                   "ningún punto automático.",
    Status.DISK: "La calificación se detuvo porque el cuaderno escribió más archivos de los permitidos (en su "
                 "carpeta o en /tmp). El laboratorio no necesita escribir archivos grandes. No se pudo asignar "
                 "ningún punto automático.",
    Status.ERROR: "No se pudo calificar la entrega: no es un cuaderno del laboratorio que se pueda abrir y "
                  "ejecutar. Entrega el .zip que genera la última celda (o el .ipynb del laboratorio) y comprueba "
                  "que se abre en Jupyter.",
    Status.FLAGGED: "Tu entrega queda en revisión: parte de su código lee o modifica la maquinaria de calificación "
                    "(las comprobaciones, el registro del entrenamiento, Otter o funciones de NumPy o Keras), o "
                    "escribe archivos o ejecuta órdenes que el laboratorio no necesita. El profesorado revisará "
                    "las líneas señaladas antes de confirmar los puntos automáticos.",
}


def load_cases(results: Path) -> list:
    try:
        return [Case(**c) for c in json.loads((results / "cases.json").read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return []


def figures(results: Path) -> list:
    return [p.read_bytes() for p in sorted(results.glob("figure-*.png"))]


def student_message(case: Case) -> str:
    """The check's own explanation, without Otter's traceback around it."""
    text = case.message.strip()
    marker = "AssertionError: "
    if marker in text:
        return text.rsplit(marker, 1)[1].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "La prueba falló."


def readable(test_name: str) -> str:
    return test_name.removeprefix("test_").replace("_", " ")


def _question_section(question: str, points: float, earned: float, cases: list) -> str:
    items = []
    for case in cases:
        if case.hidden:
            if not case.passed:
                items.append('<li class="fail">✘ Una prueba oculta de esta pregunta no pasó.</li>')
            continue
        if case.passed:
            items.append(f'<li class="ok">✔ {esc(readable(case.name))}</li>')
        else:
            items.append(f'<li class="fail">✘ {esc(readable(case.name))}<pre>{esc(student_message(case))}</pre></li>')
    listed = f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">Sin resultados de pruebas.</p>'
    return f'<h3>{esc(question)}: {earned:g} / {points:g}</h3>{listed}'


def _detail(row: Row) -> str:
    """A flagged row's lines come first in its message; an error's cause comes last in its log."""
    if row.status == Status.FLAGGED:
        return row.message if len(row.message) <= 1200 else row.message[:1200] + " …"
    return row.message[-300:]


def render(row: Row, cases: list, plots: list, questions: dict) -> str:
    pending = " (pendientes de revisión)" if row.status == Status.FLAGGED else ""
    body = [f'<p class="score">{row.score:g} / {row.max_score:g} puntos automáticos{pending}</p>',
            '<p class="muted">Las preguntas de discusión (Parte 5) las califica el profesorado a mano.</p>']
    if row.status != Status.OK:
        body.append(f'<div class="box warn"><strong>Estado: {esc(row.status.value)}.</strong> '
                    f'{esc(EXPLAINED.get(row.status, ""))}<br><span class="muted">Detalle: '
                    f'{esc(_detail(row))}</span></div>')
    body.append("<h2>Puntos por pregunta</h2>")
    body.append(pages.table(["Pregunta", "Puntos", "Máximo"],
                            [[esc(q), f"{row.questions.get(q, 0):g}", f"{p:g}"] for q, p in questions.items()],
                            numeric=("Puntos", "Máximo")))
    if cases:
        body.append("<h2>Pruebas</h2>")
        for question, points in questions.items():
            mine = [c for c in cases if c.question == question]
            body.append(_question_section(question, points, row.questions.get(question, 0), mine))
    body.append("<h2>Tus gráficas (de la ejecución calificada)</h2>")
    if plots:
        body.extend(pages.png(p, f"Gráfica {i}") for i, p in enumerate(plots, start=1))
    else:
        body.append('<p class="muted">La ejecución calificada no mostró ninguna gráfica.</p>')
    return pages.page(f"Retroalimentación: {row.submission}", "\n".join(body))


def write_all(out: Path, rows: list, questions: dict, cases: dict) -> Path:
    """``cases``: {submission: its ``Case`` records}, as ``load_cases`` read them."""
    folder = out / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        plots = figures(out / "results" / row.submission)
        page = render(row, cases.get(row.submission, []), plots, questions)
        (folder / f"{row.submission}.html").write_text(page, encoding="utf-8")
    return folder
