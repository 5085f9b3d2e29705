"""The committed stages are exactly what `otter assign` makes of the master, and keep solutions out."""
import nbformat
import pytest

from kit import build, paths


@pytest.mark.slow
def test_committed_stages_equal_a_fresh_regeneration(tmp_path):
    build.build(tmp_path, run_tests=False)
    assert build.digest(tmp_path) == build.digest(paths.ROOT)
    # Byte for byte, timestamps included: regenerating leaves a clean checkout.
    zip_path = "autograder/autograder.zip"
    assert (tmp_path / zip_path).read_bytes() == (paths.ROOT / zip_path).read_bytes()


def _code(path):
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_student_template_has_holes_not_answers():
    code = _code(paths.STUDENT / paths.MASTER.name)
    for answer in ("learning_rate=1e-5", "GlobalAveragePooling2D()", "history.epoch[-1] + 1",
                   "base_model.trainable = False", "model.evaluate(", "to_categorical("):
        assert answer not in code, answer
    # The lab's own loading code and variable names stay for students.
    for given in ("keras.datasets.cifar10.load_data()", "weights='imagenet'", "initial_epochs = 15",
                  "fine_tune_at = -40", "history_fine_tune = model.fit("):
        assert given in code, given


def test_hidden_tests_reach_only_the_autograder():
    student = {p.name: p.read_text() for p in (paths.STUDENT / "tests").glob("*.py")}
    full = {p.name: p.read_text() for p in (paths.AUTOGRADER / "tests").glob("*.py")}
    assert student.keys() == full.keys()
    assert not any("hidden=True" in text for text in student.values())
    with_hidden = {name for name, text in full.items() if "hidden=True" in text}
    assert with_hidden == {"q2_extraccion.py", "q3_linea_base.py", "q4_ajuste_fino.py", "q6_evaluacion.py"}


def test_solution_reads_as_reference_code():
    code = _code(paths.SOLUTION / paths.MASTER.name)
    assert "# BEGIN SOLUTION" not in code and "# SOLUTION" not in code and "PROMPT" not in code
    assert "optimizer=keras.optimizers.Adam(learning_rate=1e-5)" in code


def test_no_english_otter_boilerplate_in_the_template_or_the_solution():
    import nbformat

    english = ("Type your answer", "## Submission", "Save your notebook", "Make sure you have run all cells",
               "Please save before exporting", "replacing this text")
    for stage in (paths.STUDENT, paths.SOLUTION):
        nb = nbformat.read(stage / paths.MASTER.name, as_version=4)
        found = [(i, e) for i, c in enumerate(nb.cells) for e in english if e in c.source]
        assert found == [], (stage.name, found)


def test_the_master_gets_an_id_for_every_cell_once_and_keeps_the_others(tmp_path):
    import json

    from kit import build, paths

    master = tmp_path / paths.MASTER.name
    nb = json.loads(paths.MASTER.read_text(encoding="utf-8"))
    kept = nb["cells"][0]["id"]
    del nb["cells"][5]["id"]  # a cell added by an older editor
    master.write_text(json.dumps(nb), encoding="utf-8")
    assert build.give_ids(master) == 1
    again = json.loads(master.read_text(encoding="utf-8"))
    assert again["cells"][5]["id"] == "cell-005" and again["cells"][0]["id"] == kept
    assert build.give_ids(master) == 0


def test_no_committed_notebook_lacks_a_cell_id():
    import json

    from kit import paths

    notebooks = [paths.MASTER, *paths.SUBMISSIONS.glob("*.ipynb"), *paths.STUDENT.glob("*.ipynb"),
                 *paths.SOLUTION.glob("*.ipynb")]
    missing = []
    for path in notebooks:
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except ValueError:
            continue  # the broken reference is not JSON on purpose
        missing += [path.name for cell in cells if "id" not in cell]
    assert missing == []
