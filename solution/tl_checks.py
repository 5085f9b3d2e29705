"""The lab's checks, judged on what ``tl_audit`` saw happen. Messages are for students.

Each ``check_*`` raises ``AssertionError`` with a Spanish message that says what is
wrong and where to look; the notebook's test cells call them. Tests run at their check
cell *and* may run again at the end, so every check reads the audit records (what each
fit did while it ran), never the current state of objects that later cells change.
"""
from typing import NamedTuple

import numpy as np

import tl_audit
from tl_audit import AUDIT

N_BASE_LAYERS = 270
N_TUNED = 40
INITIAL_EPOCHS = 15
TOTAL_EPOCHS = 25
LR_FINE_TUNE = 1e-5
ATOL = 1e-4  # Keras' float32 metrics against Python floats


def fail(message):
    raise AssertionError(message)


def expect(condition, message):
    if not condition:
        fail(message)


# -- locating the phases -------------------------------------------------------

def _recorded():
    expect(tl_audit.installed(), "No hay registro de lo que hizo el cuaderno: ejecuta (y no borres) la celda "
                                 "de configuración del principio, `tl_fastmode.activate()`.")


def _fits():
    _recorded()
    fits = AUDIT.model_fits()
    expect(fits, "No se ha entrenado ningún modelo que contenga la base EfficientNetV2B0 "
                 "(¿falta `model.fit(...)` o la base no está dentro del modelo?).")
    return fits


def phase1():
    return _fits()[0]


def phase2():
    fits = _fits()
    expect(len(fits) >= 2, "Solo se encontró un entrenamiento: falta el `model.fit(...)` de la fase 2 "
                           "(ajuste fino) sobre el mismo modelo.")
    return fits[-1]


def _base_layer_range(fit):
    """(frozen, tuned) base layer indices: all but the last 40, and the last 40, of the base the model has.

    EfficientNetV2B0 without top has 270 layers, 268 with include_preprocessing=False (judged in q2).
    """
    count = fit.base_layer_count
    expect(count > N_TUNED, f"La base del modelo tiene {count} capas; EfficientNetV2B0 con include_top=False "
                            f"tiene {N_BASE_LAYERS}.")
    split = count - N_TUNED
    return range(0, split), range(split, count)


# -- q1: data ---------------------------------------------------------------------

def _values(value):
    """What a container holds, as a NumPy array: arrays, tensors and lists alike; None if it holds no numbers."""
    if value is None or value is Ellipsis:
        return None
    try:
        array = np.asarray(value)
    except Exception:
        return None
    return array if array.dtype.kind in "biuf" else None


def _describe(value):
    """What was found, as a clause: "no hay ningún valor (...)" or "hay un ndarray de forma (6, 1)"."""
    array = _values(value)
    if array is None:
        return ("no hay ningún valor (falta la variable o sigue con `...`)" if value is None or value is Ellipsis
                else f"hay un {type(value).__name__}")
    return f"hay un {type(value).__name__} de forma {array.shape}"


class Prepared(NamedTuple):
    """The data the student prepared for phase 1."""

    x: object
    """Images as a NumPy array (None when nothing numeric was found)."""
    y: object
    """Labels as a NumPy array (None when nothing numeric was found)."""
    x_raw: object
    """The images as the student held them (array, tensor, list...), for messages and dtype."""
    y_raw: object
    """The labels as the student held them."""
    where: str
    """Where they were read, for messages."""


def _prepared(env):
    """What phase 1 was fed if it ran, else the lab's variables: values as arrays, whatever held them."""
    _recorded()
    fits = AUDIT.model_fits()
    if fits:
        fit = fits[0]
        return Prepared(fit.x, fit.y, fit.x, fit.y, "los datos que recibió `model.fit` en la fase 1")
    x, y = env.get("x_train"), env.get("y_train_cat")
    return Prepared(_values(x), _values(y), x, y, "`x_train` / `y_train_cat`")


def _sample(x):
    """Every k-th image, at most about 256: the full set is 600 MB as float32 in real mode."""
    return x[::max(1, len(x) // 256)]


def check_images(env):
    x, _, raw, _, where = _prepared(env)
    expect(x is not None and x.ndim == 4,
           f"En {where} se esperaban las imágenes (N, 32, 32, 3), pero {_describe(raw)}.")
    train = AUDIT.train_set()
    expect(train is not None, "No se llamó a `keras.datasets.cifar10.load_data()`.")
    expect(x.shape == train[0].shape,
           f"Las imágenes en {where} tienen forma {x.shape}; se esperaba {train[0].shape} "
           "(las de entrenamiento de CIFAR-10).")
    if hasattr(raw, "dtype"):  # a list has no dtype of its own: its values are judged below
        expect(x.dtype == np.float32, f"Las imágenes en {where} son {x.dtype}; se esperaba float32: "
                                      "conviértelas con `.astype('float32')`.")
    sample, pixels = _sample(x).astype(np.float64), _sample(train[0]).astype(np.float64)
    if np.allclose(sample, pixels, atol=1e-3):
        return
    if np.allclose(sample, pixels / 127.5 - 1, atol=1e-5):
        return  # [-1, 1]: EfficientNetV2's input without its own preprocessing; q2 judges if the base agrees
    top = float(sample.max())
    expect(top > 1.5, f"Las imágenes en {where} llegan a {top:.2f}: no las normalices a [0, 1]. "
                      "EfficientNetV2 reescala internamente y espera valores entre 0 y 255.")
    fail(f"Las imágenes en {where} no son las de `load_data()` convertidas a float32 (valores entre "
         f"{float(sample.min()):.2f} y {top:.2f}).")


def check_labels(env):
    _, y, _, raw, where = _prepared(env)
    train = AUDIT.train_set()
    expect(train is not None, "No se llamó a `keras.datasets.cifar10.load_data()`.")
    labels = train[1].reshape(-1)
    expect(y is not None and y.shape == (len(labels), 10),
           f"En {where} se esperaban etiquetas one-hot de forma ({len(labels)}, 10), pero "
           f"{_describe(raw)}. Usa `keras.utils.to_categorical(y_train, 10)`.")
    expect(np.allclose(y.sum(axis=1), 1) and np.array_equal(np.argmax(y, axis=1), labels),
           f"Las etiquetas en {where} tienen la forma correcta, pero no son el one-hot de `y_train`.")


# -- q2: phase 1, feature extraction ---------------------------------------------------

def _expects_unit_range(kwargs):
    """EfficientNetV2 rescales 0..255 itself unless built with include_preprocessing=False: then [-1, 1]."""
    return kwargs.get("include_preprocessing", True) is False


def check_base_requested():
    fit = phase1()
    kwargs = fit.base_kwargs
    expect(kwargs is not None, "La base del modelo no se creó con `keras.applications.EfficientNetV2B0(...)`.")
    expect(kwargs.get("weights") == "imagenet",
           f"La base se creó con weights={kwargs.get('weights')!r}: pide los pesos pre-entrenados "
           "con weights='imagenet'.")
    expect(kwargs.get("include_top") is False, "La base debe crearse sin la capa superior: include_top=False.")
    shape = tuple(fit.base_input_shape or ())
    expect(shape == (32, 32, 3), f"La entrada de la base es {shape}; adapta input_shape=(32, 32, 3).")
    if fit.x is not None and fit.x.size:
        sample = _sample(fit.x)
        low, top = float(np.min(sample)), float(np.max(sample))
        if _expects_unit_range(kwargs):
            expect(top <= 1.5,
                   f"La base se creó con include_preprocessing=False, así que espera imágenes en [-1, 1], pero la "
                   f"fase 1 recibió valores hasta {top:.0f}. Quita include_preprocessing=False: EfficientNetV2 "
                   "reescala por sí misma las imágenes de 0 a 255.")
        else:
            expect(not (low < -0.5 and top <= 1.5),
                   f"La fase 1 recibió imágenes en [{low:.1f}, {top:.1f}], pero la base reescala por sí misma "
                   "valores de 0 a 255: no las reescales, o crea la base con include_preprocessing=False.")


def check_phase1_frozen():
    fit = phase1()
    trains = [i for i, t in enumerate(fit.base_layer_trains) if t]
    expect(not trains,
           f"Al empezar la fase 1 había {len(trains)} capas de la base entrenables: congela la base "
           "(`base_model.trainable = False`) antes de compilar y entrenar (extracción de características).")
    expect(fit.head_trainable_count > 0,
           "Al empezar la fase 1 no había ningún peso entrenable: congela solo la base, no el modelo entero.")


def check_head():
    fit = phase1()
    kinds = [kind for kind, _, _ in fit.head]
    expect(kinds[:1] == ["GlobalAveragePooling2D"],
           f"La cabeza es {kinds}: debe empezar con GlobalAveragePooling2D justo después de la base.")
    expect("Dropout" in kinds, f"La cabeza es {kinds}: falta una capa Dropout para regularizar.")
    dense = [units for kind, units, _ in fit.head if kind == "Dense"]
    expect(dense and dense[-1] == 10, "La última capa Dense debe tener 10 unidades (una por clase).")
    expect(_ends_in_softmax(fit), "La salida debe usar activación softmax (p. ej. `Dense(10, activation='softmax')`).")


def _ends_in_softmax(fit):
    """``fit.head``: [kind, units, activation] of each layer after the base, as the audit described them."""
    if not fit.head:
        return False
    kind, _, activation = fit.head[-1]
    return activation == "softmax" or kind == "Softmax"


def _loss_contradicts_head(fit):
    """A message if the loss expects logits while the head outputs probabilities, else None."""
    if fit.loss_info.get("from_logits") and _ends_in_softmax(fit):
        return ("la pérdida se configuró con from_logits=True, pero la cabeza termina en softmax y ya da "
                "probabilidades: la pérdida las trataría como logits. Usa `CategoricalCrossentropy()` sin "
                "from_logits.")
    return None


def _is_cce(info):
    """CategoricalCrossentropy, as an object, a function or a string (the head's softmax is judged apart)."""
    name = info.get("string") if "string" in info else info.get("name")
    return str(name).replace("_", "").lower() == "categoricalcrossentropy"


def _loss_text(info):
    return repr(info["string"]) if "string" in info else info.get("repr")


def check_phase1_compile():
    fit = phase1()
    expect(fit.optimizer_class == "Adam", f"La fase 1 se entrenó con {fit.optimizer_class}; usa `Adam`.")
    expect(_is_cce(fit.loss_info), f"La pérdida de la fase 1 es {_loss_text(fit.loss_info)}: usa `CategoricalCrossentropy()` "
                              "(las etiquetas son one-hot).")
    contradiction = _loss_contradicts_head(fit)
    expect(contradiction is None, f"En la fase 1, {contradiction}")


# -- q4: phase 2, fine-tuning --------------------------------------------------------------

def _bn(fit, i):
    return fit.base_layer_kinds[i] == "BatchNormalization"


def check_phase2_layers():
    fit = phase2()
    frozen, tuned = _base_layer_range(fit)
    wrong_frozen = [i for i in frozen if fit.base_flags[i] or fit.base_layer_trains[i]]
    if wrong_frozen:
        fail(f"Al empezar la fase 2, {len(wrong_frozen)} de las primeras {len(frozen)} capas de la base "
             f"seguían entrenables (p. ej. la capa {wrong_frozen[0]}). Tras descongelar la base "
             "(`base_model.trainable = True`), vuelve a congelar todas menos las últimas 40.")
    not_tuned = [i for i in tuned if fit.base_layer_has_weights[i] and not _bn(fit, i)
                 and not fit.base_layer_trains[i]]
    expect(not not_tuned,
           f"Al empezar la fase 2, {len(not_tuned)} capas con pesos de las últimas 40 de la base no se "
           "entrenaban. ¿Descongelaste la base que está dentro del modelo (`base_model.trainable = True`)?")


def check_phase2_optimizer():
    first, fit = phase1(), phase2()
    expect(fit.optimizer is not None and fit.optimizer is not first.optimizer and fit.iterations_start == 0,
           "La fase 2 usó el mismo optimizador que la fase 1: vuelve a compilar el modelo "
           "(`model.compile(...)`) después de descongelar, o los cambios de `trainable` no se aplican.")
    expect(fit.optimizer_class == "Adam", f"La fase 2 se entrenó con {fit.optimizer_class}; usa `Adam`.")
    lr = fit.learning_rate
    expect(lr is not None and np.isclose(lr, LR_FINE_TUNE, rtol=1e-3),
           f"La tasa de aprendizaje de la fase 2 es {lr}: para el ajuste fino usa una muy baja, "
           "`Adam(learning_rate=1e-5)`.")
    contradiction = _loss_contradicts_head(fit)
    expect(contradiction is None, f"Al re-compilar para la fase 2, {contradiction}")


# -- q5: epochs ----------------------------------------------------------------------------

def check_phase1_epochs():
    fit = phase1()
    expect(fit.epoch == list(range(INITIAL_EPOCHS)),
           f"La fase 1 entrenó las épocas {_span(fit.epoch)}; deben ser 0 a 14 (15 épocas).")


def check_phase2_epochs():
    first, fit = phase1(), phase2()
    expect(fit.epoch == list(range(INITIAL_EPOCHS, TOTAL_EPOCHS)),
           f"La fase 2 entrenó las épocas {_span(fit.epoch)}; deben ser 15 a 24 (10 más). Usa "
           "`epochs=initial_epochs + 10` e `initial_epoch=history.epoch[-1] + 1`.")
    expect(len(first.epoch) + len(fit.epoch) == TOTAL_EPOCHS, "En total deben entrenarse 25 épocas.")


def _span(epochs):
    return "ninguna" if not epochs else f"{epochs[0]} a {epochs[-1]} ({len(epochs)})"


# -- q3 and q6: evaluation -------------------------------------------------------------------

def _is_test_data(x):
    test = AUDIT.test_set()
    if x is None or test is None:
        return False
    ref = test[0]
    if x.shape != ref.shape:
        return False
    a, b = x.reshape(len(x), -1)[:, ::7].astype(np.float64), ref.reshape(len(ref), -1)[:, ::7].astype(np.float64)
    return np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99  # the same images, whatever the scaling


def _accuracy(record):
    """Test-set (accuracy, loss) that an evaluate/predict call produced, or None."""
    if not _is_test_data(record.x):
        return None
    result = record.result
    if record.kind == "predict":
        labels = AUDIT.test_set()[1].reshape(-1)
        return float(np.mean(np.argmax(np.asarray(result), axis=1) == labels)), None
    if isinstance(result, dict):
        acc = [v for k, v in result.items() if "acc" in k]
        return (float(acc[0]), float(result.get("loss", np.nan))) if acc else None
    values = np.atleast_1d(np.asarray(result, dtype=float))
    return (float(values[1]), float(values[0])) if len(values) >= 2 else None


def evaluated_accuracies(fits_done):
    """Accuracies of explicit evaluate/predict calls on the test set with ``fits_done`` fits finished."""
    model = _fits()[0].model
    found = []
    for record in AUDIT.evaluations:
        if record.model is model and record.fits_done == fits_done:
            acc = _accuracy(record)
            if acc is not None:
                found.append(acc[0])
    return found


def validation_accuracy(fits_done):
    """The seed validates on the test set: the last epoch of that fit is the same evaluation."""
    fits = AUDIT.model_fits()
    if 0 < fits_done <= len(fits):
        fit = fits[fits_done - 1]
        series = fit.val_series("accuracy")
        if series and _is_test_data(fit.validation):
            return [series[-1]]
    return []


def _as_fraction(value, name):
    expect(value is not None and value is not Ellipsis, f"Falta calcular `{name}`.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        fail(f"`{name}` debe ser un número (la precisión), no {type(value).__name__}.")
    return value


def _matches(value, accuracies):
    return any(abs(value - a) <= ATOL or abs(value - 100 * a) <= 100 * ATOL for a in accuracies)


def check_baseline_evaluated(env):
    phase1()
    value = _as_fraction(env.get("accuracy_baseline"), "accuracy_baseline")
    expect(evaluated_accuracies(1) or _matches(value, validation_accuracy(1)),
           "No se evaluó el modelo en el conjunto de prueba justo después de la fase 1 "
           "(`model.evaluate(x_test, y_test_cat)` antes del ajuste fino).")


class Origin(NamedTuple):
    """Where a number the student reports came from."""

    fits_done: int
    """Fits of the graded model finished when it was produced (1: after phase 1)."""
    role: str
    """``accuracy``, ``loss``, ``other`` (another metric) or ``epoch`` (a validation epoch that is not the last)."""
    source: str
    """``evaluate`` (an explicit evaluation) or ``validation`` (the fit's validation on the test set)."""


def origins(value):
    """Where a number came from, traced by identity, as ``Origin`` records.

    ``loss, acc = model.evaluate(...)`` binds Keras' own objects, and so does reading them back
    from a History; arithmetic makes new ones and is judged by value instead.
    """
    if value is None or isinstance(value, (bool, int)):
        return []
    fits = AUDIT.model_fits()
    model = fits[0].model if fits else None
    found = []
    for index, record in enumerate(AUDIT.evaluations):
        if record.model is not model or record.kind != "evaluate" or not _is_test_data(record.x):
            continue
        result = record.result
        items = result.items() if isinstance(result, dict) else enumerate(result) if isinstance(result, list) else ()
        for key, v in items:
            if AUDIT.same(value, v, ("evaluate", index, key)):
                role = ("loss" if key in (0, "loss") else
                        "accuracy" if key == 1 or (isinstance(key, str) and "acc" in key) else "other")
                found.append(Origin(record.fits_done, role, "evaluate"))
    for done, fit in enumerate(fits, start=1):
        if not _is_test_data(fit.validation):
            continue
        index = AUDIT.fits.index(fit)
        for kind in ("accuracy", "loss"):
            key = fit.val_key(kind)
            hits = [j for j, v in enumerate(fit.history[key]) if AUDIT.same(value, v, ("history", index, key, j))] \
                if key else []
            if hits:
                last = hits[-1] == len(fit.history[key]) - 1
                found.append(Origin(done, kind if last else "epoch", "validation"))
    return found


def _moment(fits_done):
    return {0: "antes de entrenar", 1: "tras la fase 1"}.get(fits_done, "tras la fase 2")


def _origin_text(origin):
    if origin.source == "validation":
        phase = min(origin.fits_done, 2)
        if origin.role == "epoch":
            return f"el valor de una época de la validación de la fase {phase} que no es la última"
        what = "la precisión" if origin.role == "accuracy" else "la pérdida"
        return f"{what} de validación de la última época de la fase {phase}"
    what = {"accuracy": "la precisión", "loss": "la pérdida"}.get(origin.role, "otra métrica")
    return f"{what} de una evaluación en prueba {_moment(origin.fits_done)}"


def _check_provenance(value, name, fits_done):
    """By identity where it can be traced: ``name`` must be the test accuracy with ``fits_done`` fits done."""
    traced = origins(value)
    if traced and not any(o.fits_done == fits_done and o.role == "accuracy" for o in traced):
        fail(f"`{name}` es {_origin_text(traced[0])}; debe ser la precisión en prueba {_moment(fits_done)}.")
    return bool(traced)


def check_finetune_value(env):
    phase2()
    raw = env.get("accuracy_finetune")
    value = _as_fraction(raw, "accuracy_finetune")
    fits = len(AUDIT.model_fits())
    found = evaluated_accuracies(fits) + validation_accuracy(fits)
    expect(found, "No se evaluó el modelo en el conjunto de prueba después de la fase 2.")
    if _check_provenance(raw, "accuracy_finetune", fits):
        return
    expect(_matches(value, found),
           f"`accuracy_finetune` = {value:.4f} no es la precisión en prueba tras el ajuste fino "
           f"({', '.join(f'{a:.4f}' for a in found)}). ¿Tomaste (pérdida, precisión) en ese orden?")


# -- q7: the plot -----------------------------------------------------------------------------

def expected_series():
    first, second = phase1(), phase2()
    acc = first.val_series("accuracy") + second.val_series("accuracy")
    loss = first.val_series("loss") + second.val_series("loss")
    expect(acc and loss, "Los entrenamientos no tienen historial de validación: pasa `validation_data=...` a `fit`.")
    return acc, loss, len(first.val_series("loss"))


def _same(ydata, series, scales):
    y = np.asarray(ydata, dtype=float)
    return len(y) == len(series) and any(
        np.allclose(y, s * np.asarray(series), rtol=1e-5, atol=1e-6, equal_nan=True) for s in scales)


def _series_x(ax, series, scales):
    """x positions of a line on ``ax`` that plots ``series``, or None."""
    for line in ax.lines:
        try:
            if _same(line.get_ydata(), series, scales):
                return np.asarray(line.get_xdata(), dtype=float)
        except (TypeError, ValueError):
            continue
    return None


def _vertical_xs(ax):
    """x of every vertical line: ``axvline``/``plot([x, x], ...)`` (Line2D) or ``vlines`` (collection)."""
    xs = []
    for line in ax.lines:
        x = np.asarray(line.get_xdata(), dtype=float).ravel()
        if len(x) >= 2 and np.all(x == x[0]):
            xs.append(float(x[0]))
    for collection in ax.collections:
        for segment in getattr(collection, "get_segments", lambda: [])():
            seg = np.asarray(segment, dtype=float)
            if len(seg) >= 2 and np.all(seg[:, 0] == seg[0, 0]):
                xs.append(float(seg[0, 0]))
    return xs


def _plotted_axes():
    axes = []
    for fig in AUDIT.figures:
        axes.extend(fig.axes)
    return axes


def check_plot_series():
    acc, loss, _ = expected_series()
    axes = _plotted_axes()
    expect(any(_series_x(ax, acc, (1, 100)) is not None for ax in axes),
           f"Ninguna gráfica muestra las {len(acc)} precisiones de validación de las dos fases juntas "
           "(`val_categorical_accuracy` de `history` y `history_fine_tune`).")
    expect(any(_series_x(ax, loss, (1,)) is not None for ax in axes),
           f"Ninguna gráfica muestra las {len(loss)} pérdidas de validación de las dos fases juntas (`val_loss`).")


def check_plot_boundary():
    acc, loss, n1 = expected_series()
    axes = _plotted_axes()
    for name, series, scales in (("precisión", acc, (1, 100)), ("pérdida", loss, (1,))):
        ok = False
        for ax in axes:
            x = _series_x(ax, series, scales)
            if x is None:
                continue
            lo, hi = x[n1 - 1], x[min(n1, len(x) - 1)]
            if any(lo - 1e-9 <= v <= hi + 1e-9 for v in _vertical_xs(ax)):
                ok = True
        expect(ok, f"La gráfica de {name} en validación no tiene una línea vertical en el inicio del ajuste "
                   f"fino (entre la última época de la fase 1 y la primera de la fase 2).")
