"""The set-up cell's helpers: a quiet TensorFlow, Otter where it is missing, and the submission step.

* ``prepare()`` runs before TensorFlow is imported. It drops the native log lines that
  TensorFlow and the Jupyter kernel write straight to the process's standard error (oneDNN,
  "Could not find cuda drivers", "failed call to cuInit", "running over TCP without
  encryption"): students read them as errors. Everything else written there, Python's
  warnings and TensorFlow's own real warnings included, still shows. Processes started
  from the notebook (the kernel that the export's check runs) inherit the same filter.
  On Colab it installs the pinned Otter when missing, leaving TensorFlow and Keras as they
  are, and it prints the versions the lab runs on. Running it again changes nothing.
  ``grader.check`` then shows its verdict in Spanish.
* ``submit(grader)`` is the last cell: on Colab, where Otter's export is disabled, it says
  how to hand in the ``.ipynb``; elsewhere it runs the public tests and writes the zip, unless
  cells were run with code that is not saved yet (the export reads the saved file).
"""
import glob
import html
import json
import os
import re
import subprocess
import sys
import threading
import warnings

OTTER_PIN = "otter-grader==7.0.0"
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|I\d{4} [\d:.]+ +\d+ \S+\] "  # every INFO line of TensorFlow's native logging
    r"|[EW]\d{4} [\d:.]+ +\d+ \S+\] .*(cuInit|cuda drivers|Unable to register cu\w+ factory|TF-TRT)"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|.*Kernel is running over TCP without encryption)")
"""Lines that are noise on every machine; a line that does not match is passed on untouched."""

_filter = None
_ran = {}  # {cell id: the source last run}, as the front end sent it (JupyterLab, Jupyter Notebook 7)


def in_colab():
    return "google.colab" in sys.modules


def _pump(read_fd, write_fd):
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = [line for line in lines if not NOISE.match(line.decode("utf-8", "replace"))]
            if kept:
                os.write(write_fd, b"\n".join(kept) + b"\n")


def quiet_native_logs():
    """Filter file descriptor 2 of this process (and of every process it starts) through ``NOISE``."""
    global _filter
    if _filter is not None:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's own INFO lines, once its logging is set up
    read_fd, write_fd = os.pipe()
    original = os.dup(2)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    _filter = threading.Thread(target=_pump, args=(read_fd, original), daemon=True, name="tl-quiet-logs")
    _filter.start()


def _without_noise(text):
    return "\n".join(line for line in text.splitlines() if not NOISE.match(line)).strip()


def quiet_warnings():
    """Otter re-raises the export check's standard error as one ``RuntimeWarning``: drop its noise lines, and
    the warning itself when nothing else is left."""
    shown = warnings.showwarning
    if getattr(shown, "_tl_quiet", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = _without_noise(str(message))
        if text:
            shown(text if text != str(message) else message, category, filename, lineno, file, line)

    showwarning._tl_quiet = True
    warnings.showwarning = showwarning


def _failure_text(message):
    """The check's own message out of Otter's "Test case failed / Error at line... / Error: message"."""
    lines = (message or "").splitlines()
    text = "\n".join(lines[3:]) if len(lines) > 3 and lines[1].startswith("Error at line") else "\n".join(lines[1:])
    return re.sub(r"^AssertionError: ", "", text.strip())


def _results_html(self):
    """A question's check result, in Spanish: how many public tests pass, and each failure's message."""
    results = [r for r in self.test_case_results if not r.test_case.hidden]
    failed = [r for r in results if not r.passed]
    name = html.escape(self.name)
    if not failed:
        what = "pasa la prueba pública" if len(results) == 1 else f"pasan las {len(results)} pruebas públicas"
        return f"<p>✔ <strong>{name}</strong>: {what}.</p>"
    out = [f"<p style='color:#b00020'>✘ <strong>{name}</strong>: no pasan {len(failed)} de {len(results)} "
           "pruebas públicas.</p>"]
    for r in failed:
        out.append(f"<p style='margin-left:1.5em'><code>{html.escape(str(r.test_case.name))}</code>: "
                   f"{html.escape(_failure_text(r.message))}</p>")
    return "".join(out)


def spanish_checks():
    """``grader.check`` shows its verdict in Spanish (Otter's own wording stays in plain-text outputs)."""
    from otter.test_files.abstract_test import TestFile

    TestFile._repr_html_ = _results_html


def ensure_otter():
    """Install the pinned Otter when it is missing (Colab): only Otter and what it needs, never TensorFlow."""
    try:
        import otter  # noqa: F401
        return
    except ImportError:
        pass
    print(f"Instalando {OTTER_PIN} (solo la primera vez en esta sesión)...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", OTTER_PIN], check=True)


def versions():
    import keras
    import tensorflow as tf
    import otter

    where = "Colab" if in_colab() else "Jupyter"
    return (f"Entorno: {where} · Python {sys.version.split()[0]} · TensorFlow {tf.__version__} · "
            f"Keras {keras.__version__} · Otter {otter.__version__}")


def _remember(info):
    if getattr(info, "cell_id", None):
        _ran[info.cell_id] = info.raw_cell


def remember_runs():
    """Keep each cell's last run source, so that ``submit`` can tell when the saved file is older than the work."""
    try:
        ip = get_ipython()  # noqa: F821 (defined inside IPython)
    except NameError:
        return
    if _remember not in ip.events.callbacks["pre_run_cell"]:
        ip.events.register("pre_run_cell", _remember)


def unsaved_cells(folder="."):
    """Cells whose last run code differs from the saved notebook's: the export would grade the saved one."""
    notebooks = glob.glob(os.path.join(folder, "*.ipynb"))
    if len(notebooks) != 1 or not _ran:
        return []
    with open(notebooks[0], encoding="utf-8") as f:
        saved = {c.get("id"): "".join(c.get("source", "")) for c in json.load(f).get("cells", [])}
    return [source for cell_id, source in _ran.items()
            if cell_id in saved and saved[cell_id] != source and "tl_setup.submit" not in source]


def prepare():
    quiet_native_logs()
    remember_runs()
    quiet_warnings()
    if in_colab():
        ensure_otter()
    spanish_checks()
    print(versions())


def submit(grader):
    """The submission step, in Spanish, wherever the notebook runs."""
    if in_colab():
        print("En Colab no se puede generar el .zip de entrega. Para entregar:\n"
              "  1. Guarda el cuaderno (Archivo > Guardar).\n"
              "  2. Descárgalo: Archivo > Descargar > Descargar .ipynb.\n"
              "  3. Sube ese archivo .ipynb a la plataforma del curso, sin cambiarle nada más.\n"
              "La calificación volverá a ejecutar tu cuaderno completo; puedes comprobar cada parte con las celdas "
              "grader.check de arriba.")
        return None
    stale = unsaved_cells()
    if stale:
        first = stale[0].strip().splitlines()[0][:80] if stale[0].strip() else ""
        print(f"Hay {len(stale)} celdas cuyo código no está guardado todavía (por ejemplo, la que empieza por "
              f"«{first}»). La comprobación y el .zip usan el archivo guardado: guarda el cuaderno (Ctrl+S o "
              "Archivo > Guardar) y vuelve a ejecutar esta celda.")
        return None
    print("Comprobando tu trabajo con las pruebas públicas: el cuaderno se vuelve a ejecutar entero en modo "
          "rápido, en otro proceso (tarda alrededor de un minuto). Otter escribe a continuación en inglés: "
          "«Running your submission against local test cases» es esta comprobación, y «Your submission has been "
          "exported» indica que el .zip está listo.\n")
    try:
        result = grader.export(pdf=False, run_tests=True)
    except Exception:
        print("\nNo se pudo generar el .zip. Si hay más de un cuaderno .ipynb en esta carpeta, deja solo el del "
              "laboratorio (Otter no sabe cuál exportar); si no, guarda el cuaderno y vuelve a ejecutar esta celda. "
              "El error de Otter, en inglés, sigue:\n")
        raise
    print("\nListo: sube a la plataforma del curso el archivo .zip que acaba de aparecer junto al cuaderno "
          "(el enlace de arriba lo descarga). No subas el .ipynb suelto si puedes subir el .zip.")
    return result
