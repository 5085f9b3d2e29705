"""One Spanish feedback page per submission: the whole grade (automatic and manual points, the instructor's
comment, the total as the gradebook has it), each public test's verdict, and the plots of the grading run.

A hidden test shows only that it failed, in which question: never its message or code.
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from kit import layout
from kit.classwork import gradebook, pages
from kit.records import Case, Row, Status
from kit.classwork.pages import esc

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
    Status.RETRY: "Tu entrega aún no se ha podido calificar por un fallo del sistema de calificación, no de tu "
                  "cuaderno. Se volverá a calificar; no tienes que hacer nada.",
    Status.FLAGGED: "Tu entrega queda en revisión: parte de su código lee o modifica la maquinaria de calificación "
                    "(las comprobaciones, el registro del entrenamiento, Otter o funciones de NumPy o Keras), o "
                    "escribe archivos o ejecuta órdenes que el laboratorio no necesita. El profesorado revisará "
                    "las líneas señaladas antes de confirmar los puntos automáticos.",
}
DECIDED = {
    "accepted": ("revisada y aceptada", "El profesorado revisó las líneas de tu código que la calificación señaló y "
                                        "aceptó tu entrega: tus puntos automáticos cuentan."),
    "rejected": ("revisada, puntos automáticos no aceptados", "El profesorado revisó las líneas de tu código que la "
                 "calificación señaló y no aceptó los puntos automáticos: cuentan 0. Conservas los puntos de las "
                 "preguntas de discusión, que se califican aparte."),
}
"""A flagged row once the instructor decided: the status the student reads, and what it means for them."""


@dataclass
class WholeGrade:
    """What the gradebook says of one submission, for its page: ``final_grades.csv`` and ``manual_grades.csv``."""

    total: str
    """The total exactly as ``final_grades.csv`` writes it; empty while a flagged row waits for review."""
    max_total: str
    """Points possible, automatic and manual."""
    percent: str
    """The percentage exactly as ``final_grades.csv`` writes it."""
    manual: dict = field(default_factory=dict)
    """{manual question: its points as written, or "" while not graded}."""
    comments: dict = field(default_factory=dict)
    """The instructor's comments in ``manual_grades.csv``: {"": the overall one, question: the one on it}."""
    decision: str = ""
    """A flagged row's review: ``accepted``, ``rejected``, or "" while undecided."""


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


def title(case: Case) -> str:
    """The test's human title, written beside it in the master; its function's name for older results."""
    return getattr(case, "title", "") or readable(case.name)


def run_sentence(results: Path) -> str:
    """One sentence on what the grading run was, from the fast mode's own lines in its output (``run.json``)."""
    try:
        notes = json.loads((results / "run.json").read_text(encoding="utf-8")).get("fast_mode", [])
    except (OSError, ValueError, AttributeError):
        notes = []
    text = " ".join(n for n in notes if isinstance(n, str))
    sizes = re.search(r"(\d+) imágenes de entrenamiento y (\d+) de prueba", text)
    data = (f"con {sizes.group(1)} imágenes de entrenamiento y {sizes.group(2)} de prueba" if sizes
            else "con unas pocas imágenes")
    weights = (" y la base con pesos aleatorios" if "ALEATORIOS" in text else
               " y la base con los pesos de ImageNet" if "Pesos reales de ImageNet" in text else "")
    return (f"Estas gráficas son de la ejecución de calificación, no de tu entrenamiento: tu cuaderno se ejecutó en "
            f"modo rápido, {data}, un solo paso por época (las 25 épocas){weights}, así que sus precisiones no son "
            "las de tu laboratorio; la calificación no depende de ellas.")


def rubric(model_answer: str) -> str:
    """The rubric part of a manual question's model answer (from "Rúbrica" on), else the whole model answer."""
    at = model_answer.find("**Rúbrica")
    return model_answer[at:] if at >= 0 else model_answer


def _question_section(question: str, points: float, earned: float, cases: list) -> str:
    items = []
    for case in cases:
        if case.hidden:
            if not case.passed:
                items.append('<li class="fail">✘ Una prueba oculta de esta pregunta no pasó.</li>')
            continue
        if case.passed:
            items.append(f'<li class="ok">✔ {esc(title(case))}</li>')
        else:
            items.append(f'<li class="fail">✘ {esc(title(case))}<pre>{esc(student_message(case))}</pre></li>')
    listed = f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">Sin resultados de pruebas.</p>'
    return f'<h3>{esc(question)}: {earned:g} / {points:g}</h3>{listed}'


def _detail(row: Row) -> str:
    """A flagged row's lines come first in its message; an error's cause comes last in its log."""
    if row.status == Status.FLAGGED:
        return row.message if len(row.message) <= 1200 else row.message[:1200] + " …"
    return row.message[-300:]


def _headline(row: Row, whole: WholeGrade | None, manual_questions: list) -> list:
    """The grade on top: the total as the gradebook has it, what is still pending, or "en revisión"."""
    if row.status == Status.RETRY:
        return ['<p class="score">Calificación: pendiente</p>',
                '<p class="muted">Tu entrega aún no se ha calificado; la calificación aparecerá aquí.</p>']
    automatic = f'{row.score:g} / {row.max_score:g} puntos automáticos'
    if whole is None:
        pending = " (pendientes de revisión)" if row.status == Status.FLAGGED else ""
        return [f'<p class="score">{automatic}{pending}</p>',
                '<p class="muted">Las preguntas de discusión (Parte 5) las califica el profesorado a mano.</p>']
    if not whole.total:
        return ['<p class="score">Calificación: en revisión</p>',
                f'<p class="muted">{automatic}, retenidos hasta que el profesorado revise tu entrega; el total '
                'aparecerá aquí cuando decida.</p>']
    missing = [q.name for q in manual_questions if not whole.manual.get(q.name)]
    counted = ("0 puntos automáticos (no aceptados tras la revisión)" if whole.decision == "rejected"
               else automatic)
    lines = [f'<p class="score">Calificación: {esc(whole.total)} / {esc(whole.max_total)} '
             f'({esc(whole.percent)} %)</p>', f'<p class="muted">{counted}, más las preguntas de discusión.</p>']
    if missing:
        lines.append(f'<div class="box warn"><strong>Calificación provisional.</strong> Aún falta que el profesorado '
                     f'califique {", ".join(esc(m) for m in missing)}: el total solo incluye lo calificado hasta '
                     'ahora y cambiará.</div>')
    return lines


def _manual_section(whole: WholeGrade, manual_questions: list) -> list:
    body = ["<h2>Preguntas de discusión (calificadas a mano)</h2>"]
    for q in manual_questions:
        given = whole.manual.get(q.name, "")
        points = f"{esc(given)} / {q.points:g}" if given else f"pendiente / {q.points:g}"
        body.append(f"<h3>{esc(q.name)}: {points}</h3>")
        if whole.comments.get(q.name):
            body.append(f'<div class="box"><strong>Comentario del profesorado:</strong> '
                        f'{esc(whole.comments[q.name])}</div>')
        if given and q.model_answer:
            body.append(f'<div class="box">{pages.markdown(rubric(q.model_answer))}</div>')
    if whole.comments.get(""):
        body.append(f'<h2>Comentario del profesorado</h2><div class="box">{esc(whole.comments[""])}</div>')
    return body


def render(row: Row, cases: list, plots: list, questions: dict, whole: WholeGrade | None = None,
           manual_questions: list = (), run: str = "", student: str = "") -> str:
    """The page. ``whole``: what the gradebook says (None: the automatic part only); ``run``: one sentence on
    what the grading run was, shown with its plots; ``student``: the name in its title (the file's, by default)."""
    body = _headline(row, whole, manual_questions)
    decided = DECIDED.get(whole.decision if whole is not None and row.status == Status.FLAGGED else "")
    if decided:
        body.append(f'<div class="box"><strong>Estado: {esc(decided[0])}.</strong> {esc(decided[1])}</div>')
    elif row.status != Status.OK:
        detail = "" if row.status == Status.RETRY else \
            f'<br><span class="muted">Detalle: {esc(_detail(row))}</span>'  # the instructor's, in English
        body.append(f'<div class="box warn"><strong>Estado: {esc(row.status.value)}.</strong> '
                    f'{esc(EXPLAINED.get(row.status, ""))}{detail}</div>')
    if row.unjudged:
        body.append('<div class="box warn"><strong>Calificación pendiente de revisar.</strong> Una comprobación '
                    "no se pudo ejecutar por un fallo del calificador, no de tu cuaderno; se volverá a calificar "
                    "y los puntos pueden cambiar.</div>")
    body.append("<h2>Puntos por pregunta</h2>")
    table = [[esc(q), f"{row.questions.get(q, 0):g}", f"{p:g}"] for q, p in questions.items()]
    if whole is not None:
        table += [[esc(q.name), esc(whole.manual.get(q.name) or "pendiente"), f"{q.points:g}"] for q in manual_questions]
    body.append(pages.table(["Pregunta", "Puntos", "Máximo"], table, numeric=("Puntos", "Máximo")))
    if whole is not None and (whole.total or row.status != Status.FLAGGED):
        body.extend(_manual_section(whole, manual_questions))
    if cases:
        body.append("<h2>Pruebas</h2>")
        for question, points in questions.items():
            mine = [c for c in cases if c.question == question]
            body.append(_question_section(question, points, row.questions.get(question, 0), mine))
    body.append("<h2>Tus gráficas (de la ejecución de calificación)</h2>")
    if run:
        body.append(f'<p class="muted">{esc(run)}</p>')
    if plots:
        body.extend(pages.png(p, f"Gráfica {i}") for i, p in enumerate(plots, start=1))
    else:
        body.append('<p class="muted">La ejecución calificada no mostró ninguna gráfica.</p>')
    return pages.page(f"Retroalimentación: {student or gradebook.student_name(row.submission)}", "\n".join(body))


def write_all(out: Path, rows: list, questions: dict, cases: dict, wholes: dict | None = None,
              manual_questions: list = (), pattern: str | None = None) -> Path:
    """``cases``: {submission: its ``Case`` records}, as ``load_cases`` read them; ``wholes``: {submission:
    ``WholeGrade``} once the gradebook is written; ``pattern``: how students are named (``gradebook.student_name``)."""
    folder = layout.feedback_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        results = layout.results_dir(out, row.submission)
        page = render(row, cases.get(row.submission, []), figures(results), questions,
                      (wholes or {}).get(row.submission), manual_questions, run_sentence(results),
                      gradebook.student_name(row.submission, pattern))
        layout.feedback_page(out, row.submission).write_text(page, encoding="utf-8")
    return folder
