"""The lab's checks, judged on what ``tl_audit`` saw happen. Messages are for students.

Each ``check_*`` raises ``AssertionError`` with a Spanish message that says what is
wrong and where to look; the notebook's test cells call them. Tests run at their check
cell *and* may run again at the end, so every check reads the audit records (what each
fit did while it ran), never the current state of objects that later cells change.
"""
import functools
import re
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


def _settle():
    """In the student's own kernel, anything that trained the model since its last fit is recorded now."""
    settle = getattr(AUDIT, "settle", None)
    if settle is not None:
        settle()


def phases():
    """(phase 1's fits, phase 2's fits): every completed fit of the lab's model, each in the phase it belongs to
    (``Audit.phases``)."""
    _fits()
    return AUDIT.phases()


def phase1():
    return _fits()[0]


def phase2():
    fits = _fits()
    expect(len(fits) >= 2, "Solo se encontró un entrenamiento: falta el `model.fit(...)` de la fase 2 "
                           "(ajuste fino) sobre el mismo modelo.")
    return fits[-1]


def phase1_fits():
    return phases()[0]


def phase2_fits():
    phase2()
    return phases()[1]


def after_phase1():
    """How many fits of the lab's model had ended when phase 1 was over."""
    return len(phase1_fits())


def place(call):
    """Where a call (a fit, or a call recorded outside one) was made, for a message: ``celda 12, línea 3:
    `model.fit(...)``` (the grader numbers the cell; in the student's own kernel, the line and its code)."""
    known = call.get("place") if isinstance(call, dict) else getattr(call, "place", None)
    if known:
        return known
    where = call.get("site") if isinstance(call, dict) else getattr(call, "site", None)
    if not isinstance(where, (list, tuple)) or len(where) < 3:
        return "celda en que se hizo"
    return f"línea {where[1]}: `{where[2]}`"


def _trained_text(fit):
    """What a fit trained, in words: ``la cabeza``, ``las últimas 40 capas de la base y la cabeza``..."""
    trains = [i for i, t in enumerate(fit.base_layer_trains) if t]
    head = " y la cabeza" if fit.head_trainable_count else ""
    weighted = [i for i, w in enumerate(fit.base_layer_has_weights) if w]
    if not trains:
        return "la cabeza" if head else "nada"
    if trains == weighted:
        return "toda la base" + head
    if trains == [i for i in weighted if i >= fit.base_layer_count - N_TUNED]:
        return f"las últimas {N_TUNED} capas de la base{head}"
    return f"{len(trains)} capas de la base con pesos{head}"


def _rate_of(fit):
    rates = trained_rates(fit)
    return f"{max(rates):.3g}" if rates else "desconocida"


def _extra(fit, when):
    """A fit outside the two the lab names, in words: where it is, what it trained, how long, at what rate."""
    epochs = len(fit.epoch)
    return (f"una llamada a `fit` más, en la {place(fit)}, entrenó {_trained_text(fit)} {epochs} "
            f"época{'' if epochs == 1 else 's'} con tasa {_rate_of(fit)} {when}")


def _judge_each(fits, named, when, judge):
    """``judge(fit, subject)`` for every fit of a phase: its named fit as the lab words it (``subject`` None); any
    other with what it is in front (``_extra``) and ``esa llamada`` as the subject, so that the message names the
    fit that broke the rule."""
    for fit in fits:
        if fit is named:
            judge(fit, None)
            continue
        try:
            judge(fit, "esa llamada")
        except AssertionError as problem:
            extra, text = _extra(fit, when), str(problem)
            fail(f"{extra[0].upper()}{extra[1:]}: {text[0].lower()}{text[1:]}")


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
    """The data the student prepared for phase 1, or what phase 1 consumed."""

    x: object
    """Images as a NumPy array: every ``step``-th example (None when nothing numeric was found)."""
    y: object
    """Labels as a NumPy array, row by row with ``x`` (None when nothing numeric was found)."""
    x_raw: object
    """The images as the student held them (array, tensor, list...), for messages and dtype."""
    y_raw: object
    """The labels as the student held them."""
    where: str
    """Where they were read, for messages."""
    step: int = 1
    """``x[i]`` and ``y[i]`` are the ``i * step``-th example."""
    count: object = None
    """How many examples there were (None: ``len(x)``)."""


FED = "los datos que recibió `model.fit` en la fase 1"
FED2 = "los datos que recibió `model.fit` en la fase 2"
VAL1 = "los datos con que se validó la fase 1"
VAL2 = "los datos con que se validó la fase 2"
SPLITS = {"train": ("de entrenamiento", "y_train"), "test": ("de prueba", "y_test")}
"""``load_data()``'s two sets, as a message names them: (which images, the labels' variable)."""


def _fed(fit, where=FED):
    """What a fit consumed, as ``Prepared``: the container (array, tensor, Dataset, generator...) no longer matters."""
    count = getattr(fit, "x_count", None)
    return Prepared(_values(fit.x), _values(fit.y), fit.x, fit.y, where, getattr(fit, "x_step", 1) or 1, count)


def _prepared(env):
    """What phase 1 was fed if it ran, else the lab's variables: values as arrays, whatever held them."""
    _recorded()
    fits = AUDIT.model_fits()
    if fits:
        return _fed(fits[0])
    return _variables(env)


def _variables(env):
    x, y = env.get("x_train"), env.get("y_train_cat")
    return Prepared(_values(x), _values(y), x, y, "`x_train` / `y_train_cat`")


def _count(data):
    return data.count if data.count is not None else len(data.x) if data.x is not None and data.x.ndim else 0


def _every_kth(n):
    """The rows the checks look at out of ``n``: every k-th, at most about 256."""
    return slice(None, None, max(1, n // 256))


def _sample(x):
    """Every k-th image, at most about 256: the full set is 600 MB as float32 in real mode."""
    return x[_every_kth(len(x))]


SCALINGS = (("0..255", lambda v: v), ("[0, 1]", lambda v: v * 255), ("[-1, 1]", lambda v: (v + 1) * 127.5))
"""How images can hold ``load_data()``'s pixels: the lab's 0..255, and the two rescalings students make."""

_tables = {}


def _table(reference):
    """{hash of an image's pixels: its index} of a ``load_data()`` image set (uint8), built once per set."""
    key = id(reference)
    if key not in _tables:
        pixels = np.asarray(reference)
        table = {}
        for i, image in enumerate(pixels):
            table.setdefault(hash(np.ascontiguousarray(image, dtype=np.uint8).tobytes()), i)
        _tables[key] = (reference, table)  # the reference is kept so that its id is not reused
    return _tables[key][1]


def match_images(x, reference):
    """Which of ``reference``'s images each row of ``x`` is, and how it was scaled: (indices, scaling), or None.

    Order does not matter (a shuffled pipeline), the scaling must be one of ``SCALINGS`` for every row.
    """
    if x is None or reference is None or x.ndim != reference.ndim or x.shape[1:] != reference.shape[1:] or not len(x):
        return None
    table = _table(reference)
    values = x.astype(np.float64)
    for name, undo in SCALINGS:
        pixels = undo(values)
        rounded = np.rint(pixels)
        if np.max(np.abs(pixels - rounded)) > 0.02 or rounded.min() < 0 or rounded.max() > 255:
            continue
        found = [table.get(hash(image.tobytes())) for image in rounded.astype(np.uint8)]
        if all(i is not None for i in found):
            return np.array(found), name
    return None


def _sets(split):
    """(``load_data()``'s set named ``split``, the other one)."""
    train, test = AUDIT.train_set(), AUDIT.test_set()
    return (train, test) if split == "train" else (test, train)


def check_images(env):
    _judge_images(_prepared(env), exact_dtype=True)


def _judge_images(data, exact_dtype, split="train"):
    x, raw, where = data.x, data.x_raw, data.where
    which = SPLITS[split][0]
    expect(x is not None and x.ndim == 4,
           f"En {where} se esperaban las imágenes (N, 32, 32, 3), pero {_describe(raw)}.")
    reference, other = _sets(split)
    expect(reference is not None, "No se llamó a `keras.datasets.cifar10.load_data()`.")
    expected = reference[0].shape
    expect(x.shape[1:] == expected[1:],
           f"Las imágenes en {where} tienen forma {(_count(data),) + x.shape[1:]}; se esperaba {expected} "
           f"(las {which} de CIFAR-10).")
    sample = _sample(x)
    if split == "test" and match_images(sample, other[0]) is not None:
        fail(f"En {where} están las imágenes de entrenamiento: valida con las de prueba, "
             "`validation_data=(x_test, y_test_cat)`, como en la fase 1 del laboratorio.")
    expect(_count(data) == expected[0],
           f"En {where} hay {_count(data)} imágenes; se esperaban las {expected[0]} {which} de CIFAR-10 "
           "(todas, una vez por época).")
    if exact_dtype and hasattr(raw, "dtype"):  # a list has no dtype of its own: its values are judged below
        expect(x.dtype == np.float32, f"Las imágenes en {where} son {x.dtype}; se esperaba float32: "
                                      "conviértelas con `.astype('float32')`.")
    matched = match_images(sample, reference[0])
    if matched is not None and matched[1] in ("0..255", "[-1, 1]"):
        return  # [-1, 1]: EfficientNetV2's input without its own preprocessing; q2 judges if the base agrees
    sample = sample.astype(np.float64)
    top = float(sample.max())
    expect(top > 1.5, f"Las imágenes en {where} llegan a {top:.2f}: no las normalices a [0, 1]. "
                      "EfficientNetV2 reescala internamente y espera valores entre 0 y 255.")
    fail(f"Las imágenes en {where} no son las de `load_data()` convertidas a float32 (valores entre "
         f"{float(sample.min()):.2f} y {top:.2f}).")


def check_labels(env):
    _judge_labels(_prepared(env))


def validation_problem(fit, where):
    """q1's rules for the data a fit validated on, against ``load_data()``'s test set (the seed validates there),
    by value in any container and order: the message of the first one broken, or None. None too when the fit
    validated on nothing (its curves are then missing, which q7 judges)."""
    split = getattr(fit, "validation_split", 0) or 0
    if split:
        return (f"{where[0].upper()}{where[1:]} son un {100 * split:.0f} % de los de entrenamiento "
                f"(`validation_split={split:g}`): valida con el conjunto de prueba, "
                "`validation_data=(x_test, y_test_cat)`.")
    if getattr(fit, "validation", None) is None:
        return None
    data = Prepared(_values(fit.validation), _values(getattr(fit, "validation_y", None)), fit.validation,
                    getattr(fit, "validation_y", None), where, getattr(fit, "validation_step", 1) or 1,
                    getattr(fit, "validation_count", None))
    try:
        _judge_images(data, exact_dtype=False, split="test")
        _judge_labels(data, split="test")
    except AssertionError as problem:
        return str(problem)
    return None


def _judge_labels(data, split="train"):
    y, raw, where = data.y, data.y_raw, data.where
    reference, _ = _sets(split)
    variable = SPLITS[split][1]
    expect(reference is not None, "No se llamó a `keras.datasets.cifar10.load_data()`.")
    train = reference
    labels = train[1].reshape(-1)
    count = data.count if data.count is not None else len(y) if y is not None and y.ndim else 0
    expect(y is not None and y.ndim == 2 and y.shape[1] == 10 and count == len(labels),
           f"En {where} se esperaban etiquetas one-hot de forma ({len(labels)}, 10), pero "
           f"{_describe(raw) if data.count is None or y is None else f'hay {count} de forma {y.shape[1:]}'}. "
           f"Usa `keras.utils.to_categorical({variable}, 10)`.")
    expect(np.allclose(y.sum(axis=1), 1) and np.all((np.isclose(y, 0)) | np.isclose(y, 1)),
           f"Las etiquetas en {where} tienen la forma correcta, pero no son one-hot (un 1 por fila).")
    # Each label must be its own image's: matched by content when the images can be (any order), else by position.
    x = data.x
    matched = None
    if x is not None and x.ndim == 4 and len(x) == len(y):
        picked = _every_kth(len(x))
        matched = match_images(x[picked], train[0])
        if matched is not None:
            wanted, got = labels[matched[0]], np.argmax(y[picked], axis=1)
    if matched is None:
        positions = np.arange(len(y)) * data.step
        keep = positions < len(labels)
        wanted, got = labels[positions[keep]], np.argmax(y[keep], axis=1)
    expect(np.array_equal(wanted, got),
           f"Las etiquetas en {where} tienen la forma correcta, pero no son el one-hot de `{variable}` "
           f"de cada imagen ({int(np.sum(wanted != got))} de {len(got)} comprobadas no coinciden).")


# -- q2: phase 1, feature extraction ---------------------------------------------------

def _expects_unit_range(kwargs):
    """EfficientNetV2 rescales 0..255 itself unless built with include_preprocessing=False: then [-1, 1]."""
    return kwargs.get("include_preprocessing", True) is False


def check_base_requested(env=None):
    fit = phase1()
    kwargs = fit.base_kwargs
    expect(kwargs is not None, "La base del modelo no se creó con `keras.applications.EfficientNetV2B0(...)`.")
    expect(kwargs.get("weights") == "imagenet",
           f"La base se creó con weights={kwargs.get('weights')!r}: pide los pesos pre-entrenados "
           "con weights='imagenet'.")
    expect(kwargs.get("include_top") is False, "La base debe crearse sin la capa superior: include_top=False.")
    shape = tuple(fit.base_input_shape or ())
    expect(shape == (32, 32, 3), f"La entrada de la base es {shape}; adapta input_shape=(32, 32, 3).")
    fed = _fed(fit)
    if fed.x is not None and fed.x.size:
        sample = _sample(fed.x)
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
    _check_fed(fed, _variables(env or {}))
    # And it validated on the test set, by q1's rules (phase 2 is judged alike in q4); the mistake its training data
    # made already (images rescaled, integer labels) is charged once, where those are judged.
    training = _data_problem(fed)
    for each in phase1_fits():
        problem = validation_problem(each, VAL1 if each is fit else "los datos con que validó esa llamada")
        expect(problem is None or _kind(problem) == _kind(training or ""), problem or "")


def _same_data(fed, prepared):
    """Whether phase 1 consumed exactly the data of ``x_train``/``y_train_cat`` (any order, any container)."""
    if fed.x is None or prepared.x is None or prepared.y is None or fed.y is None or _count(fed) != _count(prepared):
        return False
    if prepared.x.ndim != 4 or fed.x.shape[1:] != prepared.x.shape[1:] or fed.y.shape[1:] != prepared.y.shape[1:]:
        return False
    picked = _every_kth(len(fed.x))
    rows = fed.x[picked].astype(np.float64)
    if fed.step == 1 and len(fed.x) == len(prepared.x) and np.array_equal(rows, prepared.x[picked]) \
            and np.allclose(fed.y, prepared.y):
        return True  # in order: the arrays themselves
    # Keyed by a hash of each image's bytes: the full set in real mode is 600 MB, never copied here.
    table = {hash(image.tobytes()): i for i, image in enumerate(prepared.x)}
    found = [table.get(hash(np.ascontiguousarray(image, dtype=prepared.x.dtype).tobytes())) for image in fed.x[picked]]
    return all(i is not None for i in found) and np.allclose(fed.y[picked], prepared.y[found])


def _check_fed(fed, prepared):
    """Phase 1 trained on what q1 judged (then nothing more is judged here), or else on the lab's data: the data
    a pipeline hands to ``fit`` (a rescaling, a subset, labels shuffled apart from their images) are judged here."""
    if _same_data(fed, prepared):
        return
    _judge_images(fed, exact_dtype=False)
    _judge_labels(fed)


def check_phase1_frozen():
    group = phase1_fits()

    def judge(fit, subject):
        trains = [i for i, t in enumerate(fit.base_layer_trains) if t]
        expect(not trains,
               f"{'Al empezar la fase 1' if subject is None else 'al empezar ' + subject} había {len(trains)} capas de "
               "la base entrenables: congela la base (`base_model.trainable = False`) antes de compilar y entrenar "
               "(extracción de características).")
        expect(fit.head_trainable_count > 0,
               f"{'Al empezar la fase 1' if subject is None else 'al empezar ' + subject} no había ningún peso "
               "entrenable: congela solo la base, no el modelo entero.")

    _judge_each(group, group[0], "después de la fase 1", judge)


def check_head():
    fit = phase1()
    kinds = [kind for kind, _, _ in fit.head]
    expect(kinds[:1] == ["GlobalAveragePooling2D"],
           f"La cabeza es {kinds}: debe empezar con GlobalAveragePooling2D justo después de la base.")
    expect("Dropout" in kinds, f"La cabeza es {kinds}: falta una capa Dropout para regularizar.")
    dense = [units for kind, units, _ in fit.head if kind == "Dense"]
    expect(dense and dense[-1] == 10, "La última capa Dense debe tener 10 unidades (una por clase).")
    expect(_ends_in_softmax(fit), "La salida debe usar activación softmax (p. ej. `Dense(10, activation='softmax')`)"
                                  f"{_output_text(fit)}.")


# What an output activation may compute instead, to name it: (name, function of logits).
ACTIVATIONS = (
    ("ninguna activación (la identidad: da logits, no probabilidades)", lambda z: z),
    ("sigmoid (cada salida por separado: no suman 1)", lambda z: 1 / (1 + np.exp(-z))),
    ("log_softmax (logaritmos de probabilidades)", lambda z: np.log(tl_audit.probe_softmax())),
    ("relu", lambda z: np.maximum(z, 0)),
    ("tanh", np.tanh),
    ("softmax sobre el eje del lote (axis=0): reparte cada clase entre los ejemplos en vez de cada ejemplo entre "
     "las clases", lambda z: np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)),
)


def _output_matches_softmax(fit):
    """True/False when the head's last layer was run on ``tl_audit.PROBE_LOGITS``, None when it could not be."""
    probe = getattr(fit, "output_probe", None)
    if probe is None:
        return None
    return bool(np.allclose(np.asarray(probe, dtype=np.float64), tl_audit.probe_softmax(), atol=1e-5))


def _output_text(fit):
    """``: la tuya calcula ...``, naming what the output computes, or "" when unknown."""
    probe = getattr(fit, "output_probe", None)
    if probe is None:
        return ""
    out, z = np.asarray(probe, dtype=np.float64), tl_audit.PROBE_LOGITS.astype(np.float64)
    for name, function in ACTIVATIONS:
        if np.allclose(out, function(z), atol=1e-4):
            return f"; la tuya calcula {name}"
    return "; la tuya calcula otra función, que no es softmax"


def _ends_in_softmax(fit):
    """Whether the head's output is softmax: by what its last layer computes on fixed logits, or by name when it
    could not be run. ``fit.head``: [kind, units, activation] of each layer after the base."""
    computed = _output_matches_softmax(fit)
    if computed is not None:
        return computed
    if not fit.head:
        return False
    kind, _, activation = fit.head[-1]
    return activation == "softmax" or kind == "Softmax"


def _cce(from_logits):
    """Keras' CategoricalCrossentropy on the probe's labels and probabilities (or those as logits), in NumPy."""
    y, p = tl_audit.PROBE_LABELS.astype(np.float64), tl_audit.probe_softmax()
    if from_logits:
        z = p - p.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    else:
        log_p = np.log(np.clip(p / p.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7))
    return float(np.mean(-np.sum(y * log_p, axis=1)))


def _loss_computes(info):
    """``"cce"``, ``"cce_logits"`` or None (something else) by the loss's value on the probe; ``"unknown"`` when
    it could not be run."""
    value = info.get("probe")
    if value is None:
        return "unknown"
    if np.isclose(value, _cce(False), rtol=1e-4):
        return "cce"
    if np.isclose(value, _cce(True), rtol=1e-4):
        return "cce_logits"
    return None


def _from_logits(info):
    computed = _loss_computes(info)
    return computed == "cce_logits" if computed != "unknown" else bool(info.get("from_logits"))


def _loss_contradicts_head(fit):
    """A message if the loss expects logits while the head outputs probabilities, else None."""
    if _from_logits(fit.loss_info) and _ends_in_softmax(fit):
        return ("la pérdida se configuró con from_logits=True, pero la cabeza termina en softmax y ya da "
                "probabilidades: la pérdida las trataría como logits. Usa `CategoricalCrossentropy()` sin "
                "from_logits.")
    return None


def _is_cce(info):
    """CategoricalCrossentropy by what it computes (from probabilities or logits; the head's softmax is judged
    apart), whatever form it was given in; by name when it could not be run."""
    computed = _loss_computes(info)
    if computed != "unknown":
        return computed is not None
    name = info.get("string") if "string" in info else info.get("name")
    return str(name).replace("_", "").lower() == "categoricalcrossentropy"


def _loss_text(info):
    text = repr(info["string"]) if "string" in info else info.get("repr")
    if info.get("probe") is not None:
        text += (f", que con etiquetas one-hot da {info['probe']:.4f} donde la entropía cruzada categórica "
                 f"da {_cce(False):.4f}")
    return text


def _adam_steps(config):
    """The weights Keras' Adam reaches on the probe's gradients, with the optimizer's own betas and epsilon."""
    b1, b2 = config.get("beta_1", 0.9), config.get("beta_2", 0.999)
    eps = config.get("epsilon", 1e-7)
    lr = tl_audit.OPTIMIZER_PROBE_RATE
    var, m, v, steps = tl_audit.OPTIMIZER_START.astype(np.float64), 0.0, 0.0, []
    for t, g in enumerate(tl_audit.OPTIMIZER_GRADIENTS.astype(np.float64), start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        var = var - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        steps.append(var)
    return np.array(steps)


def _is_adam(fit):
    """Adam by what its update rule computes: a fresh copy of the optimizer (unwrapped from a
    ``LossScaleOptimizer``, its gradient clipping off: both only pass or shrink Adam's steps), run on fixed
    gradients, moves the weights as Adam does (an alias, a subclass, AdamW without decay); by class when it could
    not be run."""
    info = getattr(fit, "optimizer_info", None) or {}
    steps = info.get("steps")
    if steps is not None:
        config = {k: v for k, v in (info.get("config") or {}).items() if isinstance(v, (int, float)) and
                  not isinstance(v, bool)}
        start = tl_audit.OPTIMIZER_START.astype(np.float64)  # compare how far each step moved, not where it is
        return bool(np.allclose(np.asarray(steps, dtype=np.float64) - start, _adam_steps(config) - start,
                                rtol=1e-3, atol=1e-5))
    return fit.optimizer_class == "Adam" or "Adam" in (info.get("classes") or [])[:2]


def _optimizer_text(fit):
    """What trained, named with what makes its steps differ from Adam's (never "Adam, que no actualiza los pesos
    como Adam")."""
    info = getattr(fit, "optimizer_info", None) or {}
    classes = info.get("classes") or [fit.optimizer_class]
    name = str(classes[0])
    shown = f"{info['wrapper']}({name})" if info.get("wrapper") else name
    config = info.get("config") or {}
    if name == "Adam" or "Adam" in classes[1:]:
        if config.get("weight_decay"):
            return (f"{shown}(weight_decay={config['weight_decay']:g}), que a cada paso de Adam le añade un "
                    "decaimiento de los pesos")
        if config.get("amsgrad"):
            return f"{shown}(amsgrad=True), que divide cada paso por el mayor segundo momento visto, no por el actual"
        if info.get("own_update"):
            where = "" if info["own_update"] == name else f" (en {info['own_update']})"
            return f"{shown}, una subclase de Adam que redefine cómo actualiza los pesos{where}"
        return f"{shown}, cuyos pasos no son los de Adam con sus ajustes"
    return f"{shown}, que no actualiza los pesos como Adam" if info.get("steps") is not None else shown


def check_phase1_compile():
    group = phase1_fits()

    def judge(fit, subject):
        who = "La fase 1" if subject is None else subject
        expect(_is_adam(fit), f"{who} se entrenó con {_optimizer_text(fit)}; usa `Adam`.")
        expect(_is_cce(fit.loss_info), f"La pérdida de {'la fase 1' if subject is None else subject} es "
                                       f"{_loss_text(fit.loss_info)}: usa `CategoricalCrossentropy()` (las "
                                       "etiquetas son one-hot).")
        contradiction = _loss_contradicts_head(fit)
        expect(contradiction is None, f"En {'la fase 1' if subject is None else subject}, {contradiction}")

    _judge_each(group, group[0], "después de la fase 1", judge)


# -- q4: phase 2, fine-tuning --------------------------------------------------------------

def _bn(fit, i):
    return fit.base_layer_kinds[i] == "BatchNormalization"


def check_phase2_data():
    """Phase 2 trains on what phase 1 did (the seed continues on the same data), in any order or container; data
    that differ from phase 1's (a subset, the test set, labels shuffled apart, another scaling) are judged with
    q1's rules against ``load_data()``'s training set, so a phase 2 on the lab's data passes too. And it validates
    on the test set, as phase 1 does, judged by value with the same rules (``validation_problem``)."""
    group, first = phase2_fits(), phase1()
    phase1_problem = _data_problem(_fed(first))
    phase1_validation = validation_problem(first, VAL1)

    def judge(fit, subject):
        fed = _fed(fit, FED2 if subject is None else "los datos que recibió esa llamada")
        found = None if _same_data(fed, _fed(first)) else _data_problem(fed)
        # The same mistake as phase 1's (a pipeline that shuffles the labels apart anew each epoch, a rescaling) is
        # charged once, where phase 1's data are judged.
        if found and _kind(found) != _kind(phase1_problem or ""):
            fail(found)
        checked = validation_problem(fit, VAL2 if subject is None else "los datos con que validó esa llamada")
        if checked and _kind(checked) not in (_kind(phase1_validation or ""), _kind(phase1_problem or "")):
            fail(checked)

    _judge_each(group, group[-1], "antes de la fase 2", judge)


def _data_problem(data):
    """q1's verdict on what a fit consumed (its message), or None when q1's rules pass."""
    try:
        _judge_images(data, exact_dtype=False)
        _judge_labels(data)
    except AssertionError as problem:
        return str(problem)
    return None


def _kind(message):
    """A data verdict without its place, its counts and which of ``load_data()``'s sets it is about: what two
    verdicts must share to be one mistake."""
    for where in (FED2, FED, VAL1, VAL2, "los datos que recibió esa llamada", "los datos con que validó esa llamada"):
        message = message.replace(where, "")
    message = message.replace(SPLITS["test"][0], SPLITS["train"][0]).replace(SPLITS["test"][1], SPLITS["train"][1])
    return re.sub(r"\d+(?:[.,]\d+)?", "#", message)


def check_phase2_layers():
    check_phase2_data()
    group = phase2_fits()

    def judge(fit, subject):
        start = "Al empezar la fase 2" if subject is None else "al empezar " + subject
        frozen, tuned = _base_layer_range(fit)
        wrong_frozen = [i for i in frozen if fit.base_flags[i] or fit.base_layer_trains[i]]
        if wrong_frozen:
            fail(f"{start}, {len(wrong_frozen)} de las primeras {len(frozen)} capas de la base "
                 f"seguían entrenables (p. ej. la capa {wrong_frozen[0]}). Tras descongelar la base "
                 "(`base_model.trainable = True`), vuelve a congelar todas menos las últimas 40.")
        not_tuned = [i for i in tuned if fit.base_layer_has_weights[i] and not _bn(fit, i)
                     and not fit.base_layer_trains[i]]
        expect(not not_tuned,
               f"{start}, {len(not_tuned)} capas con pesos de las últimas 40 de la base no se "
               "entrenaban. ¿Descongelaste la base que está dentro del modelo (`base_model.trainable = True`)?")
        head = [v for v in fit.changed.values() if v.part == "head"]
        frozen_head = [v for v in head if not v.trainable]
        expect(head and not frozen_head,
               f"{start}, {len(frozen_head)} de los {len(head)} pesos de la cabeza (después de la base) "
               "no se entrenaban: en el ajuste fino la cabeza sigue entrenándose junto con las últimas 40 capas; "
               "no la congeles.")

    _judge_each(group, group[-1], "antes de la fase 2", judge)


def check_phase2_optimizer():
    first, group = phase1(), phase2_fits()
    named = group[-1]

    def judge(fit, subject):
        who = "La fase 2" if subject is None else subject
        recompiled = fit.optimizer is not None and fit.optimizer is not first.optimizer and (
            fit.iterations_start == 0 or any(f.optimizer is fit.optimizer for f in group[:group.index(fit)]))
        expect(recompiled,
               f"{who} usó el mismo optimizador que la fase 1: vuelve a compilar el modelo "
               "(`model.compile(...)`) después de descongelar, o los cambios de `trainable` no se aplican.")
        expect(_is_adam(fit), f"{who} se entrenó con {_optimizer_text(fit)}; usa `Adam`.")
        rates = trained_rates(fit)
        top = max(rates) if rates else None
        expect(top is not None and np.isclose(top, LR_FINE_TUNE, rtol=1e-3),
               f"{who} entrenó con una tasa de aprendizaje {_rates_text(fit)}: para el ajuste fino usa una "
               "muy baja, `Adam(learning_rate=1e-5)`.")
        implied, where = implied_rate(fit, "toda la fase 2" if subject is None else "toda " + subject)
        if implied is not None and implied > LR_FINE_TUNE * (1 + RATE_SLACK):
            fail(f"La tasa de aprendizaje{'' if subject is None else ' de ' + subject} decía 1e-05, pero los "
                 f"pesos se movieron más de lo que Adam puede moverlos con ella: {where}, lo que implica una tasa "
                 f"de al menos {implied:.2g}. Para el ajuste fino entrena todo el tiempo con "
                 "`Adam(learning_rate=1e-5)`, también dentro de cada época.")
        contradiction = _loss_contradicts_head(fit)
        expect(contradiction is None, f"Al re-compilar para {'la fase 2' if subject is None else subject}, "
                                      f"{contradiction}")

    _judge_each(group, named, "antes de la fase 2", judge)
    _no_training_outside_fit()


def _no_training_outside_fit():
    """The lab trains its model with its two ``fit`` calls only: weights that changed outside them after phase 1
    began (``train_on_batch``, a loop of one's own, another model's ``fit`` that shares its layers, weights set by
    hand) are a training the rules cannot judge."""
    _settle()
    for record in getattr(AUDIT, "outside", None) or []:
        if record.get("after_fits", 0) < 1:
            continue
        parts = []
        if record.get("base_layers"):
            parts.append(f"{len(record['base_layers'])} capas de la base")
        if record.get("head"):
            parts.append("la cabeza")
        when = ("entre la fase 1 y la fase 2" if record["after_fits"] < len(_fits()) else "después de la fase 2")
        calls = "; ".join(f"`{c['kind']}` {c['count']} {'vez' if c['count'] == 1 else 'veces'} en la "
                          f"{place(c)}" +
                          (f" con {c['optimizer']} a {c['rate']:.3g}" if c.get("optimizer") and c.get("rate")
                           is not None else "") for c in record.get("calls") or [])
        fail(f"Los pesos de {' y '.join(parts) or 'el modelo'} cambiaron fuera de los `fit` del laboratorio, "
             f"{when}{': ' + calls if calls else ''}. Entrena el modelo solo con el `model.fit(...)` de cada fase.")


RATE_SLACK = 0.05
"""Room above 1e-5 for the rate the weights imply: float32's own rounding of Adam's arithmetic stays well inside."""


def adam_step_bound(t, beta_1=0.9, beta_2=0.999):
    """The most Keras' Adam can move one weight, in units of its rate, on its ``t``-th step (1-based), whatever
    the gradients: ``sqrt(1-b2^t)/(1-b1^t) * |m_t| / sqrt(v_t)``, and by Cauchy-Schwarz ``|m_t| / sqrt(v_t) <=
    (1-b1)/sqrt(1-b2) * sqrt(sum_k<t (b1^2/b2)^k)``. Epsilon only shrinks a step. Exactly 1 on the first step
    (Kingma and Ba, section 2.1), about 7.3 at most later with the default betas."""
    ratio = beta_1 * beta_1 / beta_2
    series = t if np.isclose(ratio, 1.0) else (1 - ratio ** t) / (1 - ratio)
    return float(np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * (1 - beta_1) / np.sqrt(1 - beta_2)
                 * np.sqrt(series))


def _bound(first, last, config):
    """What Adam's steps ``first + 1`` to ``last`` (optimizer iterations) can move a weight, per unit of rate."""
    b1, b2 = float(config.get("beta_1", 0.9)), float(config.get("beta_2", 0.999))
    return sum(adam_step_bound(t, b1, b2) for t in range(int(first) + 1, int(last) + 1))


def implied_rate(fit, whole="toda la fase 2"):
    """The least rate that moved the trained weights as far as they went, by Adam's bound on each step, and where:
    (rate, text) from the steps measured one by one and from the whole fit, the highest; (None, "") where nothing
    was measured. A rate raised for each step and restored before anyone reads it shows here."""
    config = (getattr(fit, "optimizer_info", None) or {}).get("config") or {}
    found = []
    for epoch, batch, start, end, moved in getattr(fit, "moves", None) or []:
        if None not in (start, end, moved) and end > start:
            found.append((moved / _bound(start, end, config),
                          f"en el paso {batch + 1} de la época {epoch + 1} un peso cambió {moved:.2g}"))
    start, end, moved = fit.iterations_start, getattr(fit, "iterations_end", None), getattr(fit, "max_move", None)
    if None not in (start, end, moved) and end > start:
        found.append((moved / _bound(start, end, config),
                      f"en {whole} ({end - start} pasos) un peso cambió {moved:.2g}"))
    return max(found) if found else (None, "")


def trained_rates(fit):
    """Every rate the fit's optimizer held as an epoch began or ended (a schedule, a callback or an assignment
    inside the fit included); the rate at its start when no epoch ran. The fit passes when the highest is 1e-5:
    it may decay below it, never train above it."""
    rates = [r for _, begin, end in getattr(fit, "rates", None) or [] for r in (begin, end) if r is not None]
    return rates or ([fit.learning_rate] if fit.learning_rate is not None else [])


def _rates_text(fit):
    """``de 1e-05`` or ``entre 1e-05 y 0.001 (época 15: 1e-05; época 24: 0.001)``: what really trained."""
    rates = trained_rates(fit)
    if not rates:
        return "desconocida"
    low, high = min(rates), max(rates)
    if np.isclose(low, high, rtol=1e-3):
        return f"de {high:.3g}"
    steps = getattr(fit, "rates", None) or []
    first, last = steps[0], steps[-1]
    at_end = last[2] if last[2] is not None else last[1]
    return (f"entre {low:.3g} y {high:.3g} (época {first[0]}: {first[1] if first[1] is not None else '?':.3g}; "
            f"época {last[0]}: {at_end if at_end is not None else '?':.3g})")


# -- q5: epochs ----------------------------------------------------------------------------

def _epochs_text(fits):
    """The epochs a phase trained, and in how many calls when more than one: for a message."""
    spans = [_span(f.epoch) for f in fits]
    if len(fits) == 1:
        return spans[0]
    return (f"{' y '.join(spans)} en {len(fits)} llamadas a `fit` ("
            + "; ".join(place(f) for f in fits) + ")")


def check_phase1_epochs():
    group = phase1_fits()
    epochs = [e for f in group for e in f.epoch]
    expect(epochs == list(range(INITIAL_EPOCHS)),
           f"La fase 1 entrenó las épocas {_epochs_text(group)}; deben ser 0 a 14 (15 épocas).")


def check_phase2_epochs():
    group = phase2_fits()
    epochs = [e for f in group for e in f.epoch]
    expect(epochs == list(range(INITIAL_EPOCHS, TOTAL_EPOCHS)),
           f"La fase 2 entrenó las épocas {_epochs_text(group)}; deben ser 15 a 24 (10 más). Usa "
           "`epochs=initial_epochs + 10` e `initial_epoch=history.epoch[-1] + 1`.")
    # With phase 1 at 0..14 (q5's other test) the 25 in all follow: an extra epoch is charged once, in its phase.


def _span(epochs):
    return "ninguna" if not epochs else f"{epochs[0]} a {epochs[-1]} ({len(epochs)})"


# -- q3 and q6: evaluation -------------------------------------------------------------------

def _is_test_data(x, step=1):
    """Whether ``x`` (every ``step``-th example a call consumed) holds the test images: any order or container,
    0..255 or rescaled; or, in order, the same images under any other scaling."""
    test = AUDIT.test_set()
    x = _values(x)
    if x is None or test is None or x.ndim != 4:
        return False
    ref = test[0]
    if match_images(_sample(x), ref) is not None:
        return True
    rows = ref[::step or 1]
    if x.shape != rows.shape or len(x) < 2:
        return False
    a, b = x.reshape(len(x), -1)[:, ::7].astype(np.float64), rows.reshape(len(rows), -1)[:, ::7].astype(np.float64)
    return np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99  # the same images, whatever the scaling


def _consumed_test_set(x, step, count):
    """Whether a call consumed the whole test set: ``x`` is every ``step``-th of its ``count`` examples."""
    test = AUDIT.test_set()
    if test is None or (count is not None and count != len(test[0])):
        return False
    return _is_test_data(x, step or 1)


def _record_is_test(record):
    return _consumed_test_set(record.x, getattr(record, "x_step", 1), getattr(record, "x_count", None))


def _validates_on_test(fit):
    return _consumed_test_set(fit.validation, getattr(fit, "validation_step", 1), getattr(fit, "validation_count", None))


def _accuracy(record):
    """Test-set (accuracy, loss) that an evaluate/predict call produced, or None."""
    if not _record_is_test(record):
        return None
    result = record.result
    if record.kind == "predict":
        labels = AUDIT.test_set()[1].reshape(-1)
        predicted = np.argmax(np.asarray(result), axis=1)
        matched = match_images(record.x, AUDIT.test_set()[0]) if len(record.x) == len(predicted) else None
        wanted = labels[matched[0]] if matched is not None else labels
        if len(wanted) != len(predicted):
            return None
        return float(np.mean(predicted == wanted)), None
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
        if series and _validates_on_test(fit):
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
    done = after_phase1()
    expect(evaluated_accuracies(done) or _matches(value, validation_accuracy(done)),
           "No se evaluó el modelo en el conjunto de prueba justo después de la fase 1 "
           "(`model.evaluate(x_test, y_test_cat)` antes del ajuste fino).")


class Origin(NamedTuple):
    """Where a number the student reports came from."""

    fits_done: int
    """Fits of the graded model finished when it was produced (``after_phase1()``: just after phase 1)."""
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
        if record.model is not model or record.kind != "evaluate" or not _record_is_test(record):
            continue
        result = record.result
        items = result.items() if isinstance(result, dict) else enumerate(result) if isinstance(result, list) else ()
        for key, v in items:
            if AUDIT.same(value, v, ("evaluate", index, key)):
                role = ("loss" if key in (0, "loss") else
                        "accuracy" if key == 1 or (isinstance(key, str) and "acc" in key) else "other")
                found.append(Origin(record.fits_done, role, "evaluate"))
    ends = {len(phase1_fits()), len(fits)}  # a phase's last fit: its last epoch is the phase's
    for done, fit in enumerate(fits, start=1):
        if not _validates_on_test(fit):
            continue
        index = AUDIT.fits.index(fit)
        for kind in ("accuracy", "loss"):
            key = fit.val_key(kind)
            hits = [j for j, v in enumerate(fit.history[key]) if AUDIT.same(value, v, ("history", index, key, j))] \
                if key else []
            if hits:
                last = hits[-1] == len(fit.history[key]) - 1 and done in ends
                found.append(Origin(done, kind if last else "epoch", "validation"))
    return found


def _moment(fits_done):
    first, every = after_phase1(), len(AUDIT.model_fits())
    if fits_done == 0:
        return "antes de entrenar"
    if fits_done < first:
        return "durante la fase 1"
    if fits_done == first:
        return "tras la fase 1"
    return "durante la fase 2" if fits_done < every else "tras la fase 2"


def _origin_text(origin):
    if origin.source == "validation":
        phase = 1 if origin.fits_done <= after_phase1() else 2
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
    """The validation accuracies and losses to find plotted, each as (series, how many are phase 1's): those of
    every fit of the lab's model in order, and those of its two named fits alone (the histories the lab plots;
    a fit beyond them is judged where its phase is)."""
    phase2()
    first, second = phases()
    choices = []
    for fits, ones in ((first + second, first), ([first[0], second[-1]], [first[0]])):
        acc = [a for f in fits for a in f.val_series("accuracy")]
        loss = [v for f in fits for v in f.val_series("loss")]
        choices.append((acc, loss, sum(len(f.val_series("loss")) for f in ones)))
    expect(choices[0][0] and choices[0][1],
           "Los entrenamientos no tienen historial de validación: pasa `validation_data=...` a `fit`.")
    return choices


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
    choices = expected_series()
    axes = _plotted_axes()
    acc, loss, _ = choices[0]
    expect(any(_series_x(ax, a, (1, 100)) is not None for ax in axes for a, _, _ in choices),
           f"Ninguna gráfica muestra las {len(acc)} precisiones de validación de las dos fases juntas "
           "(`val_categorical_accuracy` de `history` y `history_fine_tune`).")
    expect(any(_series_x(ax, lo, (1,)) is not None for ax in axes for _, lo, _ in choices),
           f"Ninguna gráfica muestra las {len(loss)} pérdidas de validación de las dos fases juntas (`val_loss`).")


def check_plot_boundary():
    choices = expected_series()
    axes = _plotted_axes()
    for name, index, scales in (("precisión", 0, (1, 100)), ("pérdida", 1, (1,))):
        ok = False
        for ax in axes:
            for choice in choices:
                series, n1 = choice[index], choice[2]
                x = _series_x(ax, series, scales)
                if x is None or not n1:
                    continue
                lo, hi = x[n1 - 1], x[min(n1, len(x) - 1)]
                if any(lo - 1e-9 <= v <= hi + 1e-9 for v in _vertical_xs(ax)):
                    ok = True
        expect(ok, f"La gráfica de {name} en validación no tiene una línea vertical en el inicio del ajuste "
                   f"fino (entre la última época de la fase 1 y la primera de la fase 2).")


# -- every check ends in its own verdict ---------------------------------------------------------------

def judged(check):
    """A check that fails with a message of its own on input nobody foresaw, never with a Python exception."""
    @functools.wraps(check)
    def run(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except AssertionError:
            raise
        except Exception as error:
            fail(f"La comprobación no pudo interpretar lo que hizo tu cuaderno ({type(error).__name__}: {error}). "
                 "Sigue la estructura del laboratorio (arrays o `tf.data.Dataset` con imágenes y etiquetas, "
                 "`model.fit`, `model.evaluate`) y vuelve a ejecutar el cuaderno entero.")
    run.judged = True
    return run


for _name, _check in list(globals().items()):
    if _name.startswith("check_") and callable(_check):
        globals()[_name] = judged(_check)
