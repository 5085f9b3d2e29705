"""q2, feature extraction: settings judged by what they compute, and the data phase 1 really consumed.

Rule: the head's output, the loss and the optimizer are run on fixed inputs in the kernel (``tl_audit``'s probes)
and compared in the checks with softmax, CategoricalCrossentropy and Adam computed in NumPy: a function, a class
instance, an alias or a subclass that computes the same passes, one that computes something else fails saying what
it computes. Phase 1 must consume what q1 judged, or else the lab's data, whatever the container.
"""
import numpy as np
import pytest

import fits
import tl_audit
import tl_checks
from tl_audit import AUDIT

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")


@pytest.fixture
def audit(monkeypatch):
    monkeypatch.setattr(tl_audit, "_installed", True)
    monkeypatch.setattr(AUDIT, "evaluations", [])
    monkeypatch.setattr(AUDIT, "datasets", [])

    def with_fits(*records):
        monkeypatch.setattr(AUDIT, "fits", list(records))
    return with_fits


def head_probe(activation):
    """What ``probe_output`` reports for a model ending in ``Dense(10, activation)`` (or in that layer)."""
    last = activation if isinstance(activation, keras.layers.Layer) else keras.layers.Dense(10, activation=activation)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10), last])
    return tl_audit.probe_output(model, None)


def own_softmax_over_the_batch(z):
    return tf.nn.softmax(z, axis=0)


@pytest.mark.parametrize("activation", ["softmax", tf.nn.softmax, keras.activations.softmax,
                                        lambda z: tf.nn.softmax(z), keras.layers.Softmax(),
                                        keras.layers.Activation(tf.nn.softmax)],
                         ids=["string", "tf.nn", "keras.activations", "lambda", "Softmax layer", "Activation layer"])
def test_an_output_that_computes_softmax_passes(audit, activation):
    audit(fits.phase1(output_probe=head_probe(activation)))
    tl_checks.check_head()


@pytest.mark.parametrize("activation, computes", [
    (None, "ninguna activación"), ("sigmoid", "sigmoid"), (tf.nn.log_softmax, "log_softmax"),
    (own_softmax_over_the_batch, "softmax sobre el eje del lote"), (tf.math.softplus, "otra función"),
], ids=["none", "sigmoid", "log_softmax", "softmax over the batch", "softplus"])
def test_an_output_that_computes_something_else_fails_naming_it(audit, activation, computes):
    audit(fits.phase1(output_probe=head_probe(activation)))
    with pytest.raises(AssertionError, match=f"la tuya calcula {computes}"):
        tl_checks.check_head()


def loss_info(loss):
    return tl_audit.describe_loss(loss)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "CategoricalCrossentropy",
                                  keras.losses.CategoricalCrossentropy(), keras.losses.categorical_crossentropy,
                                  lambda y, p: keras.losses.categorical_crossentropy(y, p),
                                  keras.losses.KLDivergence()],
                         ids=["string", "class name", "object", "function", "lambda", "KL on one-hot labels"])
def test_a_loss_that_computes_categorical_crossentropy_passes(audit, loss):
    audit(fits.phase1(loss_info=loss_info(loss)))
    tl_checks.check_phase1_compile()


@pytest.mark.parametrize("loss", [keras.losses.CategoricalCrossentropy(label_smoothing=0.1), "mse",
                                  keras.losses.CategoricalFocalCrossentropy()],
                         ids=["label smoothing", "mse", "focal"])
def test_a_loss_that_computes_something_else_fails_with_its_value(audit, loss):
    audit(fits.phase1(loss_info=loss_info(loss)))
    with pytest.raises(AssertionError, match=r"con etiquetas one-hot da \d\.\d{4} donde la entropía cruzada "
                                             r"categórica da 1\.0633"):
        tl_checks.check_phase1_compile()


def test_from_logits_is_read_from_what_the_loss_computes(audit):
    audit(fits.phase1(loss_info=loss_info(lambda y, p: keras.losses.categorical_crossentropy(y, p, from_logits=True))))
    with pytest.raises(AssertionError, match="from_logits=True, pero la cabeza termina en softmax"):
        tl_checks.check_phase1_compile()


class AdamLab(keras.optimizers.Adam):
    pass


@pytest.mark.parametrize("optimizer", [lambda: keras.optimizers.Adam(), lambda: keras.optimizers.get("adam"),
                                       lambda: AdamLab(), lambda: keras.optimizers.AdamW(weight_decay=0.0),
                                       lambda: keras.optimizers.Adam(beta_1=0.5)],
                         ids=["Adam", "alias", "subclass", "AdamW without decay", "Adam with its own betas"])
def test_an_optimizer_that_computes_adam_passes(audit, optimizer):
    made = optimizer()
    audit(fits.phase1(optimizer_info=tl_audit.describe_optimizer(made), optimizer_class=type(made).__name__))
    tl_checks.check_phase1_compile()


@pytest.mark.parametrize("optimizer, said", [
    (keras.optimizers.AdamW(), "AdamW(weight_decay=0.004), que a cada paso de Adam le añade un decaimiento"),
    (keras.optimizers.SGD(), "SGD, que no actualiza los pesos como Adam"),
    (keras.optimizers.Nadam(), "Nadam, que no actualiza los pesos como Adam")])
def test_an_optimizer_that_computes_something_else_fails(audit, optimizer, said):
    audit(fits.phase1(optimizer_info=tl_audit.describe_optimizer(optimizer), optimizer_class=type(optimizer).__name__))
    with pytest.raises(AssertionError, match=rf"con {said.replace('(', '[(]').replace(')', '[)]')}"):
        tl_checks.check_phase1_compile()


# -- the data phase 1 consumed ----------------------------------------------------------------------

X = fits.images(64)
LABELS = np.arange(64) % 10
ONE_HOT = np.eye(10, dtype=np.float32)[LABELS]
PREPARED = {"x_train": X.astype(np.float32), "y_train_cat": ONE_HOT}


def fed(x, y, count=None, step=1):
    return fits.phase1(x=x, y=y, x_count=len(x) if count is None else count, x_step=step)


@pytest.fixture
def loaded(audit, monkeypatch):
    monkeypatch.setattr(AUDIT, "datasets", [{"train": (X, LABELS.reshape(-1, 1)), "test": (X[:8], LABELS[:8])}])
    return audit


def test_the_prepared_data_in_another_order_pass(loaded):
    order = np.random.default_rng(1).permutation(64)
    loaded(fed(X[order].astype(np.float32), ONE_HOT[order]))
    tl_checks.check_base_requested(PREPARED)


def test_the_lab_data_in_a_pipeline_pass_even_without_the_variables(loaded):
    order = np.random.default_rng(2).permutation(64)
    loaded(fed(X[order].astype(np.float32), ONE_HOT[order]))
    tl_checks.check_base_requested({})


@pytest.mark.parametrize("x, y, count, message", [
    (X.astype(np.float32) / 255, ONE_HOT, None, "llegan a 1.00: no las normalices"),
    (X[:32].astype(np.float32), ONE_HOT[:32], None, "hay 32 imágenes; se esperaban las 64"),
    (X.astype(np.float32), np.roll(ONE_HOT, 3, axis=0), None, "no son el one-hot de `y_train` de cada imagen"),
], ids=["rescaled to [0, 1]", "a subset", "labels shuffled apart"])
def test_a_pipeline_that_changes_the_data_fails(loaded, x, y, count, message):
    loaded(fed(x, y, count))
    with pytest.raises(AssertionError, match=message):
        tl_checks.check_base_requested(PREPARED)


def test_data_q1_already_judged_are_not_judged_again(loaded):
    scaled = {"x_train": X.astype(np.float32) / 255, "y_train_cat": ONE_HOT}
    loaded(fed(scaled["x_train"], ONE_HOT))
    tl_checks.check_base_requested(scaled)  # q1 takes the point for [0, 1]


def test_the_kernel_reads_a_shuffled_dataset_in_full():
    ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), ONE_HOT)).shuffle(64, seed=0).batch(10)
    got = tl_audit.consumed(ds)
    assert (got.count, got.step, got.x.shape, got.y.shape) == (64, 1, (64, 32, 32, 3), (64, 10))
    matched = tl_checks.match_images(got.x, X)
    assert np.array_equal(np.argmax(got.y, axis=1), LABELS[matched[0]])


def test_the_kernel_keeps_every_kth_row_of_a_long_pipeline(monkeypatch):
    monkeypatch.setattr(tl_audit, "MAX_KEPT_ROWS", 16)
    ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), ONE_HOT)).batch(8)
    got = tl_audit.consumed(ds)
    assert (got.count, got.step) == (64, 4)
    assert np.array_equal(got.x, X[::4].astype(np.float32)) and np.array_equal(got.y, ONE_HOT[::4])


def test_a_generator_is_recorded_while_fit_reads_it():
    def batches():
        while True:
            for i in range(0, 64, 16):
                yield X[i:i + 16], ONE_HOT[i:i + 16]
    got = tl_audit.consumed(batches(), steps=4)
    read = [next(got.tee.generator) for _ in range(6)]  # fit reads on past the first epoch
    assert len(read) == 6
    result = got.tee.result()
    assert (result.count, result.x.shape) == (64, (64, 32, 32, 3))
