"""The verdict, made outside the graded kernel from what it reported.

    python -m kit.job.decide OBSERVATIONS NOTEBOOK LAB OUT [--probe-sandbox]

OBSERVATIONS is the channel's transcript (``kit.job.channel``), NOTEBOOK the submission as
submitted, LAB the autograder unpacked by the parent where the graded code never reached it
(``files/`` with the checks, ``tests/`` with every test, ``otter_config.json``). This process
runs no student code: it rebuilds ``tl_audit``'s records from the observations, runs Otter's
test files against them (each question as of its ``grader.check`` cell, else as of the end, as
Otter does) and writes to OUT: ``results.json``, ``cases.json``, ``evidence.json`` (the
tamper evidence, as the scan's findings) and ``unjudged.json`` (the checks the grader could not
run: failed, never passed, for the instructor to regrade). The improvement probe re-runs the
student's statements in a fresh process, sandboxed when ``--probe-sandbox`` is given.
"""
import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kit import intake, tampering  # noqa: E402
from kit.job import channel, outputs  # noqa: E402

REASONS = {"process": "crea un proceso", "socket": "abre una conexión de red",
           "pickle.find_class": "carga un objeto serializado que trae código",
           "file": "cambia un archivo del laboratorio o de la calificación",
           "import": "importa la maquinaria de calificación",
           "compile": "compila código en tiempo de ejecución", "code": "ejecuta código construido en tiempo de ejecución",
           "introspection": "inspecciona el interior del intérprete", "ctypes": "usa ctypes",
           "listdir": "lee /proc"}


def _reason(event: str) -> str:
    from kit.job import recorder

    if event in recorder.PROCESS_EVENTS:
        return REASONS["process"]
    if event in recorder.SOCKET_EVENTS:
        return REASONS["socket"]
    if event == "open" or event in recorder.FILE_EVENTS:
        return REASONS["file"]
    if event in ("compile",):
        return REASONS["compile"]
    if event in recorder.CODE_EVENTS:
        return REASONS["code"]
    if event.startswith("ctypes."):
        return REASONS["ctypes"]
    if event in ("os.listdir", "os.scandir"):
        return REASONS["listdir"]
    return REASONS.get(event, REASONS["introspection"])


def _cell_indexes(notebook) -> dict:
    """{source as the kernel saw it: cell index}, raw and as IPython runs it, computed once per notebook."""
    found = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for source in (tampering.python_of(cell.source), cell.source):
                found.setdefault(source.rstrip("\n"), index)
    return found


def evidence_findings(transcript: "channel.Transcript", notebook, exempt: set) -> list:
    """Each evidence event as a ``tampering.Finding`` at the student's line; the kit's own cells exempt."""
    findings = []
    cells = {c["file"]: c["source"] for _, c in transcript.of("cell")}
    indexes = _cell_indexes(notebook)
    for _, ev in transcript.of("evidence"):
        where = ev.get("where") or []
        filename, line = (where[0] + [0])[:2] if where else (None, 0)
        source = cells.get(filename)
        index = indexes.get(source.rstrip("\n")) if source is not None else None
        if index is None and source is not None:
            continue  # the runner's own closing cell
        if index is not None and tampering.fingerprint(notebook.cells[index].source) in exempt:
            continue
        lines = source.splitlines() if source else []
        code = lines[line - 1] if 0 < line <= len(lines) else ""
        detail = ev.get("detail", "").strip().splitlines()
        reason = f"{_reason(ev['event'])} ({detail[0][:120] if detail else ev['event']})"
        findings.append(tampering.Finding(-1 if index is None else index, line, code, reason))
    for problem in transcript.problems:
        findings.append(tampering.Finding(-1, 0, "", problem))
    unique = {(f.cell, f.line, f.reason): f for f in findings}
    return list(unique.values())


def _environment(snapshot: dict, notebook, probe_command: list) -> dict:
    import tl_audit

    env = {name: tl_audit.rebuild_value(value) for name, value in snapshot.get("variables", {}).items()}
    env["In"] = [tampering.python_of(c.source) for c in notebook.cells if c.cell_type == "code"]
    env["__probe_command__"] = probe_command
    return env


def _name_places(audit, transcript, notebook) -> None:
    """Each recorded call's ``place`` as a message names it: ``celda 12, línea 3: `model.fit(...)``` (the cell
    numbered as the scan and the flagged rows number it)."""
    cells = {c["file"]: c["source"] for _, c in transcript.of("cell")}
    indexes = _cell_indexes(notebook)

    def named(site):
        if not isinstance(site, list) or len(site) < 3:
            return None
        source = cells.get(site[0])
        index = indexes.get(source.rstrip("\n")) if source is not None else None
        return f"{'' if index is None else f'celda {index}, '}línea {site[1]}: `{site[2]}`"

    for fit in audit.fits:
        fit.place = named(getattr(fit, "site", None))
    for record in audit.outside:
        for call in record.get("calls") or []:
            call["place"] = named(call.get("site"))


UNJUDGED = "__unjudged__"
"""Where a check records that the grader could not run it (``tl_hidden_checks.unjudged``)."""


def run_tests(transcript, notebook, lab: Path, probe_command: list, unjudged: list | None = None):
    """Otter's ``GradingResults`` of every test file, each judged as of its question's check; ``unjudged`` receives
    each check the grader could not run."""
    os.chdir(lab / "files")  # the tests load the checks by relative path, from these trusted copies
    sys.path.insert(0, str(lab / "files"))
    import tl_audit
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import GradingResults, create_test_file

    final = transcript.last("final")
    whole, _ = tl_audit.rebuild(transcript.before(len(transcript.messages)))
    phase_of = {whole.fits.index(f): number for number, fits in enumerate(whole.phases(), start=1) for f in fits}
    results = []
    for test_path in sorted((lab / "tests").glob("*.py")):
        question = test_path.stem
        point = transcript.last("checkpoint", lambda d: d.get("question") == question)
        position, snapshot = point if point else (final if final else (len(transcript.messages), {}))
        events = [(kind, data) for kind, data in transcript.before(position)]
        tl_audit.AUDIT, tl_audit._installed = tl_audit.rebuild(events + [("figures", snapshot.get("figures", []))])
        for index, fit in enumerate(tl_audit.AUDIT.fits):  # the phases the whole run gives its fits
            fit.phase = phase_of.get(index)
        _name_places(tl_audit.AUDIT, transcript, notebook)
        test = create_test_file(str(test_path), NBMetadataConfig())
        env = _environment(snapshot, notebook, probe_command)
        test.run(env)
        if unjudged is not None:
            unjudged.extend(env.get(UNJUDGED, []))
        results.append(test)
    return GradingResults(results)


def probe_sandbox() -> list:
    """bubblewrap around the probe (``kit.sandbox``'s allowlist): the read-only system and Python, a private /tmp
    and nothing else, no network."""
    from kit import sandbox

    return sandbox.probe_command()


def decide(observations: Path, submission: Path, lab: Path, out: Path, exempt: set, sandboxed: bool) -> None:
    from otter.run.run_autograder.autograder_config import AutograderConfig

    transcript = channel.Transcript.read(observations)
    notebook = intake.read_notebook(submission, float("inf"))  # judged at intake
    unjudged = []
    results = run_tests(transcript, notebook, lab, probe_sandbox() if sandboxed else [], unjudged)
    config = AutograderConfig(json.loads((lab / "otter_config.json").read_text()))
    outputs.fresh_folder(out)
    outputs.write_new(out / "results.json", json.dumps(results.to_gradescope_dict(config), indent=4).encode())
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (lab / "tests").glob("*.py")}
    cases = [asdict(c) for c in outputs.cases_of(results, outputs.test_functions(texts), outputs.test_titles(texts))]
    outputs.write_new(out / "cases.json", json.dumps(cases, ensure_ascii=False, indent=1).encode("utf-8"))
    findings = [asdict(f) for f in evidence_findings(transcript, notebook, exempt)]
    outputs.write_new(out / "evidence.json", json.dumps(findings, ensure_ascii=False, indent=1).encode("utf-8"))
    outputs.write_new(out / "unjudged.json", json.dumps(unjudged, ensure_ascii=False, indent=1).encode("utf-8"))


def command(own: Path, submission: Path, lab: Path, exempt: set, sandboxed: bool) -> list:
    """How a job's parent calls this module: ``own`` holds ``observations.jsonl`` and receives ``verdict/``."""
    (own / "exempt.txt").write_text("\n".join(sorted(e for e in exempt if e)))
    return [sys.executable, "-m", "kit.job.decide", str(own / "observations.jsonl"), str(submission), str(lab),
            str(own / "verdict"), "--exempt", str(own / "exempt.txt"), *(["--probe-sandbox"] if sandboxed else [])]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m kit.job.decide", description=__doc__.splitlines()[0])
    p.add_argument("observations", type=Path, help="the channel's transcript")
    p.add_argument("submission", type=Path, help="the submitted .ipynb or export .zip")
    p.add_argument("lab", type=Path, help="the autograder, unpacked where the graded code never ran")
    p.add_argument("out", type=Path, help="folder for results.json, cases.json, evidence.json and unjudged.json")
    p.add_argument("--exempt", type=Path, help="the kit's own cells' fingerprints, one per line")
    p.add_argument("--probe-sandbox", action="store_true", help="run the improvement probe inside bubblewrap")
    args = p.parse_args(argv)
    exempt = set(args.exempt.read_text().split()) if args.exempt else set()
    decide(args.observations, args.submission.resolve(), args.lab.resolve(), args.out.resolve(), exempt,
           args.probe_sandbox)
    return 0


if __name__ == "__main__":
    sys.exit(main())
