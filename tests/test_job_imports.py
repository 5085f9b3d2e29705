"""What each process of a grading job imports: nothing slow that it does not use."""
import subprocess
import sys

from kit import paths


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_reading_a_notebook_under_the_kit_skips_the_iri_parser():
    assert _python("import kit, nbformat, sys; print(sys.modules['rfc3987_syntax'])") == "None"


def test_notebooks_still_validate_without_it():
    code = ("import kit, nbformat; nb = nbformat.read('solution/transfer_learning_lab.ipynb', as_version=4); "
            "nbformat.validate(nb); nb.cells[0]['cell_type'] = 'nonsense'; print(nbformat.validator.isvalid(nb))")
    assert _python(code) == "False"


def test_the_graded_kernel_skips_it_too(tmp_path):
    import nbformat

    from kit.job import channel, execute

    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, nbformat\nopen('seen.txt', 'w').write(repr(sys.modules['rfc3987_syntax']))")])
    nbformat.write(nb, work / "lab.ipynb")
    listener = channel.Listener(tmp_path / "obs.sock", tmp_path / "observations.jsonl")
    try:
        assert execute.main([str(work / "lab.ipynb"), str(tmp_path / "obs.sock"), str(tmp_path / "out")]) == 0
    finally:
        listener.close()
    assert (work / "seen.txt").read_text() == "None"
