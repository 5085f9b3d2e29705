"""Gradescope's grading job: the same job as ``python -m kit grade``, in Gradescope's layout.

    python -m kit.job.gradescope /autograder

``source/`` holds the autograder (this kit's job modules included), ``submission/`` the
student's upload, and ``results/results.json`` is what Gradescope shows. The submission is
scanned, run in a fresh kernel that reports over a channel this process opened first, and
judged by ``kit.job.decide`` in another process; this one runs no student code. Gradescope's
container is the sandbox (no bubblewrap there). A flagged submission's automatic points are
held: the student reads a neutral "en revisión", the instructor a hidden test with the lines
and the points withheld (see the README to release them).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kit import intake, tampering
from kit.job import channel
from kit.job import decide
from kit.job.folder import points_of, prepare_job

EXECUTE = Path(__file__).resolve().with_name("execute.py")
REVIEW = ("Tu entrega está en revisión: el profesorado revisará la calificación automática antes de publicarla. "
          "No tienes que hacer nada.")


def _submission(folder: Path) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.suffix in (".ipynb", ".zip"))
    return found[0] if len(found) == 1 else None


def _questions(source: Path) -> dict:
    return {test.stem: points_of(test.read_text()) for test in sorted((source / "tests").glob("*.py"))}


def refused(source: Path, message: str) -> dict:
    return {"score": 0, "output": message,
            "tests": [{"name": q, "score": 0, "max_score": p, "output": message, "visibility": "visible"}
                      for q, p in _questions(source).items()]}


def held(results: dict, findings: list) -> dict:
    """Points held for review: 0 everywhere for the student, the lines and the points for the instructor."""
    withheld = {t.get("name"): t.get("score") for t in results.get("tests", [])}
    for test in results.get("tests", []):
        test["score"], test["output"] = 0, REVIEW
    lines = "\n".join(str(f) for f in findings)
    results["tests"].append({"name": "Revisión de integridad (solo profesorado)", "score": 0, "max_score": 0,
                             "visibility": "hidden",
                             "output": f"{tampering.summary(findings)}\n\n{lines}\n\nPuntos retenidos: "
                                       f"{json.dumps(withheld, ensure_ascii=False)}"})
    results["score"], results["output"] = 0, REVIEW
    return results


def grade(root: Path) -> dict:
    source, upload = root / "source", root / "submission"
    submission = _submission(upload)
    if submission is None:
        return refused(source, "Entrega no calificable: sube un único cuaderno .ipynb o el .zip exportado.")
    config = json.loads((source / "otter_config.json").read_text())
    problem = intake.problem(submission, config.get("assignment_name"))
    if problem:
        return refused(source, problem)
    exempt = set((source / "kit_cells.txt").read_text().split()) if (source / "kit_cells.txt").exists() else set()
    findings = tampering.scan(intake.read_notebook(submission), exempt)
    with tempfile.TemporaryDirectory(prefix="tl-job-") as job, tempfile.TemporaryDirectory(prefix="tl-own-") as own:
        job, own = Path(job), Path(own)
        lab = own / "lab"  # what the decider reads, copied before any student code runs
        for part in ("files", "tests"):
            shutil.copytree(source / part, lab / part)
        shutil.copy(source / "otter_config.json", lab / "otter_config.json")
        notebook = prepare_job(submission, lab, job / "work")
        env = dict(os.environ, TL_PROTECTED=json.dumps([str(source), str(own), str(root / "results")]))
        listener = channel.Listener(own / "obs.sock", own / "observations.jsonl")
        try:
            subprocess.run([sys.executable, str(EXECUTE), str(notebook), str(own / "obs.sock"), str(job / "figures")],
                           cwd=job, env=env, timeout=int(config.get("timeout") or 3600))
        except subprocess.TimeoutExpired:
            pass  # what was reported until then is judged; the transcript says it did not end
        finally:
            listener.close()
        subprocess.run(decide.command(own, submission, lab, exempt, sandboxed=False), cwd=source, check=True)
        results = json.loads((own / "verdict" / "results.json").read_text())
        evidence = [tampering.Finding(**f) for f in json.loads((own / "verdict" / "evidence.json").read_text())]
        unjudged = json.loads((own / "verdict" / "unjudged.json").read_text())
    if unjudged:  # failed, never passed: the instructor regrades once the grader's own problem is fixed
        results["tests"].append({"name": "Comprobaciones que el calificador no pudo ejecutar (solo profesorado)",
                                 "score": 0, "max_score": 0, "visibility": "hidden",
                                 "output": "\n".join(f"{u['question']}: {u['check']} ({u['reason']})"
                                                     for u in unjudged) + "\n\nVuelve a calificar esta entrega."})
    if findings or evidence:
        return held(results, findings + evidence)
    return results


def main(argv=None) -> int:
    root = Path((argv if argv is not None else sys.argv[1:])[0]).resolve()
    results = grade(root)
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"Puntuación: {results.get('score', sum(t.get('score') or 0 for t in results['tests']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
