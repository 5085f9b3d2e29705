"""Code that reaches into the grading machinery is flagged; a lab answer, however written, is not."""
import re

import nbformat
import pytest

from kit import embed, intake, paths, tampering, variants

EXEMPT = tampering.kit_cells()
TEMPLATE = paths.STUDENT / paths.MASTER.name
HIDDEN_CHECKS = ("check_phase1_changes", "check_phase2_changes", "check_baseline_value", "check_improvement")


def _reasons(source: str) -> list:
    return [reason for _, reason in tampering.scan_source(source)]


@pytest.mark.parametrize("name", sorted(variants.TAMPERING))
def test_each_tampering_variant_is_flagged_at_the_line_it_adds(name):
    findings = tampering.scan(variants.variant(name), EXEMPT)
    added = variants.TAMPERING[name].splitlines()
    assert findings and all(f.code in added for f in findings)


def test_the_shared_tampering_run_is_flagged_in_each_payloads_own_cell_and_nowhere_else():
    nb = variants.variant(variants.SHARED_TAMPERING)
    cells = variants.route_cells(variants.SHARED_TAMPERING)
    assert sorted(cells) == sorted(r.split("_")[0] for r in variants.SHARED_ROUTES)
    assert {f.cell for f in tampering.scan(nb, EXEMPT)} == set(cells.values())


@pytest.mark.parametrize("path", sorted(p for p in paths.SUBMISSIONS.iterdir() if p.suffix in (".ipynb", ".zip")
                                        and not re.match(r"[tr]\d+_|broken", p.name)), ids=lambda p: p.name)
def test_no_other_reference_submission_is_flagged(path):
    assert tampering.scan(intake.read_notebook(path), EXEMPT) == []


def test_the_kit_set_up_cell_is_exempt_only_while_unchanged():
    nb = nbformat.read(TEMPLATE, as_version=4)
    assert tampering.scan(nb, EXEMPT) == []
    setup = next(c for c in nb.cells if c.cell_type == "code" and "LAB_FILES" in c.source)
    setup.source = setup.source.replace("tl_setup.prepare()", "tl_setup.prepare()\ntl_setup.NOISE = None")
    findings = tampering.scan(nb, EXEMPT)
    assert [f.reason for f in findings if f.code.startswith("tl_setup.NOISE = None")][0] == "reemplaza tl_setup.NOISE"


def test_a_harmless_magic_is_not_flagged():
    assert _reasons("%matplotlib inline\nplt.plot([1, 2])") == []


def test_a_shell_escape_is_flagged():
    assert _reasons("!pip install numpy==1.0") == ["una orden del sistema (!)"]


def test_the_statement_of_a_line_time_magic_is_scanned():
    assert _reasons("x = 1\n%time exec('y = 2')") == ["usa exec"]


def test_keyword_arguments_of_grader_calls_are_scanned():
    assert _reasons("grader.export(files=[__import__('os')])") == ["usa __import__"]


def test_the_body_of_a_time_magic_is_scanned():
    assert _reasons("%%time\nx = 1\nexec('y = 2')") == ["usa exec"]


def test_replacing_a_function_of_an_imported_module_is_flagged():
    assert _reasons("from tensorflow import keras\nkeras.Model.fit = None") == ["reemplaza keras.Model.fit"]


def test_setting_trainable_on_a_layer_is_not_flagged():
    assert _reasons("for layer in base_model.layers[:-40]:\n    layer.trainable = False") == []


def test_setting_the_learning_rate_is_not_flagged_the_rate_that_trains_is_judged():
    assert _reasons("model.optimizer.learning_rate = 1e-5") == []


def test_a_pydataset_of_ones_own_is_not_flagged():
    assert _reasons("class Lotes(keras.utils.PyDataset):\n    def __len__(self):\n        return 2\n"
                    "    def __getitem__(self, i):\n        return x[i], y[i]") == []


def test_a_class_redefining_equality_is_still_flagged():
    assert _reasons("class Siempre(float):\n    def __eq__(self, other):\n        return True") == \
        ["la clase Siempre redefine __eq__"]


def test_a_cell_that_does_not_parse_is_left_to_fail_on_its_own():
    assert _reasons("for layer in ...:\n    ...\nmodel.compile(optimizer=") == []


def test_a_class_overriding_what_the_audit_reads_is_flagged():
    assert _reasons("class Lento(keras.optimizers.Adam):\n    @property\n    def learning_rate(self):\n"
                    "        return 1e-5") == ["la clase Lento redefine learning_rate"]


def test_a_callback_of_ones_own_is_not_flagged():
    assert _reasons("class Registro(keras.callbacks.Callback):\n    def on_epoch_end(self, epoch, logs=None):\n"
                    "        print(epoch)") == []


def test_hidden_checks_are_not_shipped_to_students():
    shipped = {p.name: p.read_text(errors="replace") for p in paths.STUDENT.rglob("*.py")}
    nb = nbformat.read(TEMPLATE, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code" and "LAB_FILES" in c.source)
    shipped.update({name: data.decode(errors="replace") for name, data in embed.unpack(setup.source).items()
                    if name.endswith(".py")})
    assert "tl_hidden_checks.py" not in shipped
    assert not [(name, check) for name, text in shipped.items() for check in HIDDEN_CHECKS if check in text]
    assert (paths.SOLUTION / "tl_hidden_checks.py").exists()  # the instructor's copy


def test_a_set_up_cell_without_lab_files_is_exempt_but_one_with_other_files_is_flagged():
    nb = nbformat.read(TEMPLATE, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code" and "LAB_FILES" in c.source)
    original = setup.source
    setup.source = embed.blank(original)
    assert tampering.scan(nb, EXEMPT) == []
    setup.source = embed.fill(embed.blank(original), "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")  # an empty zip
    assert tampering.scan(nb, EXEMPT) != []


def test_a_flagged_feedback_page_shows_the_lines_and_that_the_points_wait_for_review():
    from kit.classwork import feedback
    from kit.records import Row, Status

    findings = tampering.scan(variants.variant("t3_numpy_isclose_patched"), EXEMPT)
    row = Row("t3.ipynb", status=Status.FLAGGED, score=18, max_score=18, questions={"q1_datos": 2},
              message=tampering.summary(findings))
    page = feedback.render(row, [], [], {"q1_datos": 2})
    assert "18 / 18 puntos automáticos (pendientes de revisión)" in page
    assert "(1 línea): celda 19, línea 12: reemplaza np.isclose" in page
