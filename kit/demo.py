"""The kit's main job: regenerate the stages, grade a small demo class, and show where everything is.

    python -m kit [--out demo] [--jobs auto] [--no-run-tests]
    python -m kit demo --all-references     # every reference submission against expected_grades.csv

The demo class is five of the reference submissions under students' names: a full-marks
solution, a phase-2 mistake, a plot mistake, the blank template and a broken file. The three
who answered the discussion wrote their own words, except that Carla copied Ana's q8_2.
"""
import argparse
import time
from pathlib import Path

import nbformat

from kit import build, classwork, cli, executors, grade, layout, paths, runlock
from kit.classwork import manual

DEMO_OUT = Path("demo")
"""The demo's own folder (ignored by git), never a real class's ``--out``."""
DEMO_CLASS = {
    "ana_solucion.ipynb": "solution.ipynb",
    "bruno_sin_recompilar.ipynb": "b4_no_recompile.ipynb",
    "carla_sin_linea_vertical.ipynb": "d1_no_boundary_line.ipynb",
    "diego_en_blanco.ipynb": "blank_template.ipynb",
    "elena_archivo_roto.ipynb": "broken_not_a_notebook.ipynb",
}

ANA_Q8_2 = ("Los pesos de la base ya saben reconocer bordes, texturas y formas porque se entrenaron con ImageNet. "
            "Si al descongelar usamos la tasa por defecto de Adam, los gradientes grandes cambian esos pesos "
            "demasiado y se pierde lo aprendido: la pérdida sube de golpe y la precisión cae. Con 1e-5 los "
            "cambios son pequeños y el modelo solo se adapta a CIFAR-10.")
DEMO_ANSWERS = {
    "ana_solucion.ipynb": {
        "q8_1_mejora": "Sí, aunque poco: en mis curvas la precisión de validación sube un poco justo después de "
                       "la línea del ajuste fino y la pérdida baja. La mejora calculada es positiva.",
        "q8_2_tasa_aprendizaje": ANA_Q8_2,
        "q8_3_escenarios": "Cuando hay bastantes datos y las imágenes son distintas de las de ImageNet, por "
                           "ejemplo imágenes médicas; con muy pocos datos conviene quedarse en la extracción.",
    },
    "bruno_sin_recompilar.ipynb": {
        "q8_1_mejora": "No se ve mejora: después de la época 15 las curvas siguen casi planas.",
        "q8_2_tasa_aprendizaje": "Una tasa alta destruiría los pesos preentrenados (olvido catastrófico). "
                                 "Por eso se usa 1e-5 y se vuelve a compilar el modelo.",
        "q8_3_escenarios": "Compensa con conjuntos grandes o de un dominio muy diferente al original.",
    },
    "carla_sin_linea_vertical.ipynb": {
        "q8_1_mejora": "La precisión final es algo mayor que la línea base, así que el ajuste fino ayudó un poco.",
        "q8_2_tasa_aprendizaje": ANA_Q8_2.replace("de golpe", "mucho").replace("solo se adapta", "se adapta"),
        "q8_3_escenarios": "Cuando el dataset es grande; si es pequeño hay riesgo de sobreajuste.",
    },
}


def write_demo_class(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    questions = manual.manual_questions()
    for student, reference in DEMO_CLASS.items():
        data = (paths.SUBMISSIONS / reference).read_bytes()
        if student in DEMO_ANSWERS:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            manual.set_answers(nb, questions, DEMO_ANSWERS[student])
            data = nbformat.writes(nb).encode("utf-8")
        (folder / student).write_bytes(data)


def parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m kit", __doc__.splitlines()[0], "grading-a-class.md")
    p.add_argument("--out", type=Path, default=DEMO_OUT,
                   help="where the demo's class and every output go (its own folder: never a real class's)")
    p.add_argument("--jobs", type=executors.jobs_option, default=executors.AUTO,
                   help="submissions graded at once: a number, or 'auto' (one more than the cores, as far as free "
                        "memory allows)")
    p.add_argument("--no-run-tests", action="store_true", help="skip otter assign's check of the solution (40 s)")
    p.add_argument("--all-references", action="store_true",
                   help="grade all of submissions/ (about 45 minutes on 2 cores) and compare with expected_grades.csv")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    start = time.monotonic()
    print("1/3 otter assign: master -> student_template/, autograder/, solution/", flush=True)
    build.build(paths.ROOT, run_tests=not args.no_run_tests)
    questions = grade.questions_of(paths.AUTOGRADER_ZIP)

    if args.all_references:
        print(f"2/3 grading every reference submission in {paths.SUBMISSIONS.name}/", flush=True)
        out = args.out / "references"
        rows = grade.grade_all_with_progress(paths.SUBMISSIONS, paths.AUTOGRADER_ZIP, out, jobs=args.jobs)
        print("\n" + grade.table(rows, questions))
        expected = grade.load_expected()
        wrong = [r.submission for r in rows if grade.differs(r, expected.get(r.submission), questions)]
        print(f"3/3 {len(rows)} submissions in {time.monotonic() - start:.0f} s -> {out / 'grades.csv'}")
        if wrong:
            print("Differ from submissions/expected_grades.csv: " + ", ".join(wrong))
            return 1
        print("All grades match submissions/expected_grades.csv.")
        return 0

    class_dir = args.out / "demo_class"
    write_demo_class(class_dir)
    jobs = executors.resolved(args.jobs, grade.MEMORY_MB)
    print(f"2/3 grading a demo class of {len(DEMO_CLASS)} in {class_dir} ({jobs} at a time)", flush=True)
    with runlock.held(args.out):
        rows = grade.grade_all_with_progress(class_dir, paths.AUTOGRADER_ZIP, args.out, jobs=jobs)
        layout.write_origin(args.out, class_dir, paths.AUTOGRADER_ZIP, None)
        made = classwork.finish(args.out, rows, questions, class_dir)
    print(f"3/3 done in {time.monotonic() - start:.0f} s\n")
    print(grade.table(rows, questions) + "\n")
    print(classwork.summary(rows, questions) + "\n")
    print(made)
    print(f"\nGrade the demo's discussion and flagged rows in the browser: python -m kit review --out {args.out}")
    print(f"Grade your own class into a folder of its own: python -m kit grade FOLDER --out {paths.DEFAULT_OUT}")
    return 0
