"""Record what the lab's code actually did, while it runs.

The grader judges behaviour: which weights were trainable when each ``fit`` began,
which of them changed by its end, which optimizer object trained, which epochs ran,
what ``evaluate``/``predict`` returned on which data, and which figures were drawn.
Everything is captured inside Keras/Matplotlib calls, so the checks do not depend on
variable names, on where check cells sit, or on cells the student deleted.

``install()`` is idempotent and safe in real mode: it only observes.

When the grader runs the notebook, each record also leaves the kernel as it is made: an
observation (plain JSON, arrays as ``.npy`` without pickles) handed to ``emitter``. The
grader rebuilds the same records from those observations (``rebuild``) and applies the
same checks to them in a process that runs no student code.
"""
import base64
import functools
import io
import sys
import weakref
from typing import NamedTuple

import numpy as np

MAX_SENT_ELEMENTS = 2**22
"""Arrays larger than this leave the kernel as every k-th row (about 256 rows): the checks sample them anyway."""

emitter = None
"""``emitter(kind, payload)`` receives each observation as it happens (set by the grader's recorder), or None."""


def _emit(kind, payload):
    if emitter is not None:
        emitter(kind, payload)

BASE_PREFIX = "efficientnetv2"


class VariableChange(NamedTuple):
    """What one fit did to one of the model's variables."""

    part: str
    """``"base"`` or ``"head"`` (everything outside the EfficientNetV2 base)."""
    layer: int | None
    """Index of its layer in the base; None in the head."""
    trainable: bool
    """Whether the fit's optimizer trained it (it was in ``model.trainable_weights``)."""
    changed: bool
    """Whether its value differs after the fit (BatchNormalization's moving statistics count)."""


class FitRecord:
    """One call to ``Model.fit``: the state at its start and what changed by its end."""

    def __init__(self, model, base, x, y, validation_data):
        self.model = model
        self.base = base
        self.x = _as_array(x)
        self.y = _as_array(y)
        self.validation = _as_array(validation_data[0]) if isinstance(validation_data, (tuple, list)) else None
        self.optimizer = model.optimizer
        self.optimizer_class = type(model.optimizer).__name__ if model.optimizer is not None else None
        self.learning_rate = _learning_rate(model.optimizer)
        self.iterations_start = _iterations(model.optimizer)
        self.loss = getattr(model, "loss", None)
        self.loss_info = describe_loss(self.loss)
        self.model_id, self.base_id, self.optimizer_id = id(model), id(base), id(model.optimizer)
        self.base_input_shape = _input_shape(base)
        self.base_kwargs = plain_kwargs(AUDIT.base_kwargs(base)) if base is not None else None
        self.head = describe_head(model, base)
        trainable_ids = {id(v) for v in model.trainable_weights}
        base_layers = list(base.layers) if base is not None else []
        self.base_layer_count = len(base_layers)
        self.base_layer_kinds = [type(layer).__name__ for layer in base_layers]
        self.base_layer_has_weights = [bool(layer.weights) for layer in base_layers]
        # ``trainable`` flags as Keras holds them, and what the optimizer will really train.
        self.base_flags = [bool(layer.trainable) for layer in base_layers]
        self.base_layer_trains = [any(id(v) in trainable_ids for v in layer.weights) for layer in base_layers]
        base_var_ids = {id(v) for v in (base.weights if base is not None else [])}
        self.head_trainable_count = sum(1 for v in model.trainable_weights if id(v) not in base_var_ids)
        self._owners = _variable_owners(model, base_layers)
        self._before = {id(v): np.array(v.numpy(), copy=True) for v in model.weights}
        self._trainable_ids = trainable_ids
        # Filled in by ``finish``.
        self.finished = False
        self.error = None
        self.history = None
        self.epoch = []
        self.changed = {}  # id(variable) -> VariableChange

    def finish(self, history):
        if history is not None:
            # Copies: the TF tutorial extends history.history in place afterwards (OK1). The lists
            # hold Keras' own objects, so a number taken from them can be traced back here.
            self.history = {k: list(v) for k, v in history.history.items()}
            self.epoch = list(history.epoch)
        for v in self.model.weights:
            before = self._before.get(id(v))
            if before is None:
                continue
            part, layer = self._owners.get(id(v), ("head", None))
            self.changed[id(v)] = VariableChange(part, layer, id(v) in self._trainable_ids,
                                                 not np.array_equal(before, v.numpy()))
        self._before = None  # the snapshot is large; keep only the verdicts
        self.finished = True

    def start_observation(self):
        return {"model": self.model_id, "base": self.base_id, "optimizer": self.optimizer_id,
                "optimizer_class": self.optimizer_class, "learning_rate": self.learning_rate,
                "iterations_start": self.iterations_start, "loss": self.loss_info,
                "base_input_shape": self.base_input_shape, "head": self.head,
                "base_kwargs": self.base_kwargs,
                "base_layer_count": self.base_layer_count, "base_layer_kinds": self.base_layer_kinds,
                "base_layer_has_weights": self.base_layer_has_weights, "base_flags": self.base_flags,
                "base_layer_trains": self.base_layer_trains, "head_trainable_count": self.head_trainable_count,
                "x": encode_array(self.x), "y": encode_array(self.y), "validation": encode_array(self.validation)}

    def end_observation(self):
        return {"error": self.error, "epoch": self.epoch,
                "history": {k: [_number(v) for v in values] for k, values in (self.history or {}).items()}
                if self.history is not None else None,
                "changed": [list(v) for v in self.changed.values()]}

    # -- questions the tests ask -------------------------------------------------
    def base_changed(self, layers=None):
        """Base layer indices whose weights (moving statistics included) changed during this fit."""
        return {v.layer for v in self.changed.values()
                if v.part == "base" and v.changed and (layers is None or v.layer in layers)}

    def head_changed(self):
        return any(v.part == "head" and v.trainable and v.changed for v in self.changed.values())

    def vars_changed_in(self, layers):
        """(changed, total) over every variable of the given base layers."""
        hits = [v.changed for v in self.changed.values() if v.part == "base" and v.layer in layers]
        return sum(hits), len(hits)

    def val_series(self, kind):
        """The validation series of this fit: ``kind`` is 'accuracy' or 'loss'."""
        key = self.val_key(kind)
        return [float(v) for v in self.history[key]] if key else []

    def val_key(self, kind):
        """The history key of this fit's validation ``kind`` ('accuracy' or 'loss'), or None."""
        if not self.history:
            return None
        if kind == "loss":
            return "val_loss" if "val_loss" in self.history else None
        return next((k for k in self.history if k.startswith("val_") and "acc" in k), None)


class EvalRecord:
    """One call to ``evaluate`` or ``predict`` on the graded model."""

    def __init__(self, kind, model, fits_done, x, result):
        self.kind = kind
        self.model = model
        self.fits_done = fits_done
        self.x = _as_array(x)
        self.result = result

    def observation(self):
        result = self.result
        if isinstance(result, dict):
            sent = {"dict": {str(k): _number(v) for k, v in result.items()}}
        elif self.kind == "predict":
            sent = {"array": encode_array(_as_array(result))}
        else:
            sent = {"list": [_number(v) for v in np.atleast_1d(np.asarray(result, dtype=float))]
                    if not isinstance(result, list) else [_number(v) for v in result]}
        return {"kind": self.kind, "model": id(self.model), "fits_done": self.fits_done,
                "x": encode_array(self.x), "result": sent}


class Audit:
    def __init__(self):
        self.datasets = []        # what cifar10.load_data() returned
        self.bases = []           # (weakref to base, constructor kwargs)
        self.fits = []
        self.evaluations = []
        self.figures = []
        self.fitting = 0          # >0 while inside fit: its own validation passes are not the student's
        self.probing = 0          # >0 while a check re-runs the student's code: not the student's calls

    # -- the graded model ------------------------------------------------------
    def base_of(self, model):
        """The EfficientNetV2 base that ``model`` really contains (not a variable's)."""
        known = [ref() for ref, _ in self.bases]
        found = None
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if any(layer is b for b in known if b is not None):
                return layer
            if found is None and layer.name.startswith(BASE_PREFIX) and hasattr(layer, "layers"):
                found = layer
        return found

    def base_kwargs(self, base):
        for ref, kwargs in self.bases:
            if ref() is base:
                return kwargs
        return None

    def model_fits(self):
        """Completed fits of the graded model: phase 1 is the first, phase 2 the last.

        The graded model is the first one trained with the base inside, so the answer
        is the same whenever it is asked. A fit that raised (e.g. a ``...`` left in its
        arguments) trained no phase.
        """
        fits = [f for f in self.fits if f.base is not None and f.error is None]
        if not fits:
            return []
        model = fits[0].model
        return [f for f in fits if f.model is model]

    def test_set(self):
        return self.datasets[-1]["test"] if self.datasets else None

    def same(self, value, recorded, where):
        """Whether a number the student holds is the object Keras produced at ``where`` (traced by identity).

        In the kernel, identity itself; in the grader, the traces the kernel reported for that value.
        """
        traces = getattr(value, "traces", None)
        return where in traces if traces is not None else recorded is value

    def traces_of(self, value):
        """Every ``where`` (see ``same``) whose recorded object is ``value`` itself."""
        if value is None or isinstance(value, (bool, int)):
            return []
        found = []
        for i, record in enumerate(self.evaluations):
            result = record.result
            items = result.items() if isinstance(result, dict) else enumerate(result) if isinstance(result, list) else ()
            found += [("evaluate", i, key) for key, v in items if v is value]
        for i, fit in enumerate(self.fits):
            for key, values in (fit.history or {}).items():
                found += [("history", i, key, j) for j, v in enumerate(values) if v is value]
        return found

    def train_set(self):
        return self.datasets[-1]["train"] if self.datasets else None


AUDIT = Audit()


def _as_array(x):
    """The student's own array (a reference, no copy), or None for datasets and generators."""
    if x is None or isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except Exception:
        return None


def _number(v):
    try:
        return float(v)
    except Exception:
        return None


def encode_array(x):
    """An array as base64 ``.npy`` (no pickles): large ones as every k-th row, with their full shape."""
    if x is None:
        return None
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        return {"dtype": str(x.dtype), "shape": list(x.shape)}
    full = list(x.shape)
    if x.size > MAX_SENT_ELEMENTS and x.ndim:
        x = x[::max(1, len(x) // 256)]
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(x), allow_pickle=False)
    return {"npy": base64.b64encode(buf.getvalue()).decode("ascii"), "shape": full}


def decode_array(data):
    if data is None:
        return None
    if "npy" not in data:
        return np.empty(tuple(data["shape"]), dtype=object) if data.get("shape") else None
    return np.load(io.BytesIO(base64.b64decode(data["npy"])), allow_pickle=False)


def plain_kwargs(named):
    """A constructor's arguments as JSON: numbers, strings and shapes as they are, anything else as its repr."""
    if named is None:
        return None
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else list(v) if isinstance(v, tuple)
            else repr(v)[:100] for k, v in named.items()}


def _input_shape(base):
    try:
        return [None if d is None else int(d) for d in base.inputs[0].shape[1:]]
    except Exception:
        return None


def _function_name(fn):
    return getattr(fn, "__name__", None) or type(fn).__name__


def describe_loss(loss):
    """What a compiled loss is, as plain data: a string, or a function's or object's name and from_logits."""
    if loss is None or isinstance(loss, str):
        return {"string": loss}
    value = getattr(loss, "from_logits", None)
    if value is None:
        try:
            value = loss.get_config().get("from_logits")
        except Exception:
            value = None
    return {"name": _function_name(loss), "from_logits": bool(value), "repr": repr(loss)[:200]}


def describe_head(model, base):
    """The layers after the base, in order: [kind, units, activation's name]."""
    head, after_base = [], False
    try:
        layers = list(model._flatten_layers(include_self=False, recursive=False))
    except Exception:
        return head
    for layer in layers:
        if layer is base:
            after_base = True
        elif after_base and type(layer).__name__ != "InputLayer":
            activation = getattr(layer, "activation", None)
            head.append([type(layer).__name__, getattr(layer, "units", None),
                         _function_name(activation) if activation is not None else None])
    return head


def describe_figures(figures):
    """Each figure's axes: the lines' (x, y) and the collections' segments, as lists of floats."""
    out = []
    for fig in figures:
        axes = []
        for ax in getattr(fig, "axes", []):
            lines, segments = [], []
            for line in ax.lines:
                try:
                    lines.append([np.asarray(line.get_xdata(), dtype=float).ravel().tolist(),
                                  np.asarray(line.get_ydata(), dtype=float).ravel().tolist()])
                except (TypeError, ValueError):
                    continue
            for collection in ax.collections:
                try:
                    segments.append([np.asarray(seg, dtype=float).tolist()
                                     for seg in getattr(collection, "get_segments", lambda: [])()])
                except (TypeError, ValueError):
                    continue
            axes.append({"lines": lines, "collections": segments})
        out.append(axes)
    return out


def describe_value(value):
    """A variable the checks read, as plain data: a number with its identity traces, an array, or its type."""
    if value is None:
        return {"none": True}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, (bool, int, float, np.floating, np.integer)) or getattr(value, "shape", None) == ():
        try:
            return {"number": float(value), "type": type(value).__name__, "traces": AUDIT.traces_of(value)}
        except Exception:
            pass
    array = _as_array(value)
    if array is not None and array.dtype.kind in "biuf" and array.ndim:
        return {"array": encode_array(array), "type": type(value).__name__}
    try:
        return {"number": float(value), "type": type(value).__name__, "traces": []}
    except Exception:
        return {"type": type(value).__name__}


def _learning_rate(optimizer):
    if optimizer is None:
        return None
    try:
        return float(np.asarray(optimizer.learning_rate))
    except Exception:
        return None


def _iterations(optimizer):
    try:
        return int(np.asarray(optimizer.iterations))
    except Exception:
        return None


def _variable_owners(model, base_layers):
    """id(variable) -> ("base", layer index) or ("head", None)."""
    owners = {}
    for i, layer in enumerate(base_layers):
        for v in layer.weights:
            owners[id(v)] = ("base", i)
    for v in model.weights:
        owners.setdefault(id(v), ("head", None))
    return owners


def _wrap_fit(original):
    @functools.wraps(original)
    def fit(self, x=None, y=None, *args, **kwargs):
        # fit(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, ...)
        validation = args[5] if len(args) > 5 else kwargs.get("validation_data")
        record = FitRecord(self, AUDIT.base_of(self), x, y, validation)
        AUDIT.fits.append(record)
        _emit("fit_start", record.start_observation())
        history = None
        AUDIT.fitting += 1
        try:
            history = original(self, x, y, *args, **kwargs)
            return history
        except BaseException as exc:
            record.error = repr(exc)
            raise
        finally:
            AUDIT.fitting -= 1
            record.finish(history if history is not None else getattr(self, "history", None))
            _emit("fit_end", record.end_observation())
    return fit


def _wrap_eval(original, kind):
    @functools.wraps(original)
    def method(self, x=None, *args, **kwargs):
        result = original(self, x, *args, **kwargs)
        if not AUDIT.fitting and not AUDIT.probing and AUDIT.base_of(self) is not None:
            fits_done = sum(1 for f in AUDIT.fits if f.model is self and f.finished and f.error is None)
            record = EvalRecord(kind, self, fits_done, x, result)
            AUDIT.evaluations.append(record)
            _emit("evaluation", record.observation())
        return result
    return method


def _wrap_base(original):
    @functools.wraps(original)
    def constructor(*args, **kwargs):
        base = original(*args, **kwargs)
        named = dict(zip(["include_top", "weights", "input_tensor", "input_shape"], args))
        named.update(kwargs)
        named.setdefault("include_top", True)
        named.setdefault("weights", "imagenet")
        AUDIT.bases.append((weakref.ref(base), named))
        _emit("base", {"id": id(base), "kwargs": plain_kwargs(named)})
        return base
    return constructor


def _wrap_load(original):
    @functools.wraps(original)
    def load_data(*args, **kwargs):
        (x_train, y_train), (x_test, y_test) = original(*args, **kwargs)
        # References, not copies (180 MB in real mode): later cells rebind, they do not mutate.
        AUDIT.datasets.append({"train": (x_train, y_train), "test": (x_test, y_test)})
        _emit("dataset", {"train": [encode_array(x_train), encode_array(y_train)],
                          "test": [encode_array(x_test), encode_array(y_test)]})
        return (x_train, y_train), (x_test, y_test)
    return load_data


def replace_everywhere(original, replacement):
    """Point every loaded module's name for ``original`` at ``replacement``.

    Keras exposes one function under several modules (``keras.applications``,
    ``keras.src.applications.efficientnet_v2``, ``tf.keras``...): patch them all.
    """
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict) or namespace.get("__name__") == "__main__":
            continue
        for name, value in list(namespace.items()):
            if value is original:
                namespace[name] = replacement


_installed = False


def installed():
    return _installed


def install():
    """Start recording. Idempotent: re-running the set-up cell keeps one set of hooks."""
    global _installed
    if _installed:
        return AUDIT
    import keras
    import matplotlib.figure

    model_cls = keras.Model
    model_cls.fit = _wrap_fit(model_cls.fit)
    model_cls.evaluate = _wrap_eval(model_cls.evaluate, "evaluate")
    model_cls.predict = _wrap_eval(model_cls.predict, "predict")

    original_base = keras.applications.EfficientNetV2B0
    replace_everywhere(original_base, _wrap_base(original_base))
    original_load = keras.datasets.cifar10.load_data
    replace_everywhere(original_load, _wrap_load(original_load))

    # The inline backend closes figures after each cell: keep a handle to every one.
    figure_init = matplotlib.figure.Figure.__init__

    @functools.wraps(figure_init)
    def init(fig, *args, **kwargs):
        figure_init(fig, *args, **kwargs)
        AUDIT.figures.append(fig)

    matplotlib.figure.Figure.__init__ = init
    _installed = True
    _emit("installed", {})
    return AUDIT


# -- the grader's side: the same records, rebuilt from observations -------------------------------

class Token:
    """Stands for one kernel object (a model, a base, an optimizer): equal identity, equal token."""

    def __init__(self, ident):
        self.ident = ident

    def __repr__(self):
        return f"<objeto {self.ident}>"


class Traced(float):
    """A number a student variable held, with the ``where`` of each Keras object it was (``Audit.same``)."""

    traces = ()


class _Line:
    def __init__(self, x, y):
        self._x, self._y = x, y

    def get_xdata(self):
        return self._x

    def get_ydata(self):
        return self._y


class _Collection:
    def __init__(self, segments):
        self._segments = segments

    def get_segments(self):
        return self._segments


class _Axes:
    def __init__(self, data):
        self.lines = [_Line(x, y) for x, y in data["lines"]]
        self.collections = [_Collection(s) for s in data["collections"]]


class _Figure:
    def __init__(self, axes):
        self.axes = [_Axes(a) for a in axes]


def rebuild_value(data):
    """A variable as ``describe_value`` reported it: a ``Traced`` number, an array, None, ``...`` or a stand-in."""
    if data.get("none"):
        return None
    if data.get("ellipsis"):
        return Ellipsis
    if "number" in data and data["number"] is not None:
        value = Traced(data["number"])
        value.traces = [tuple(t) for t in data.get("traces", [])]
        return value
    if "array" in data:
        return decode_array(data["array"])
    return type(str(data.get("type", "object")), (), {})()


def rebuild(events):
    """An ``Audit`` holding what ``events`` (observations, in order) say happened, and the figures last reported."""
    audit, tokens = Audit(), {}

    def token(ident):
        return None if ident is None else tokens.setdefault(ident, Token(ident))

    installed = False
    for kind, data in events:
        if kind == "installed":
            installed = True
        elif kind == "dataset":
            audit.datasets.append({part: tuple(decode_array(a) for a in data[part]) for part in ("train", "test")})
        elif kind == "fit_start":
            fit = FitRecord.__new__(FitRecord)
            fit.__dict__.update({k: v for k, v in data.items() if k not in ("x", "y", "validation")})
            fit.model, fit.base, fit.optimizer = token(data["model"]), token(data["base"]), token(data["optimizer"])
            fit.x, fit.y, fit.validation = (decode_array(data[k]) for k in ("x", "y", "validation"))
            fit.loss_info = data["loss"]
            fit.loss = data["loss"].get("string") if "string" in data["loss"] else data["loss"].get("repr")
            fit.finished, fit.error, fit.history, fit.epoch, fit.changed = False, None, None, [], {}
            audit.fits.append(fit)
        elif kind == "fit_end" and audit.fits:
            fit = audit.fits[-1]
            fit.error, fit.epoch, fit.history = data["error"], list(data["epoch"]), data["history"]
            fit.changed = {i: VariableChange(*v) for i, v in enumerate(data["changed"])}
            fit.finished = True
        elif kind == "evaluation":
            record = EvalRecord.__new__(EvalRecord)
            record.kind, record.model, record.fits_done = data["kind"], token(data["model"]), data["fits_done"]
            record.x = decode_array(data["x"])
            result = data["result"]
            record.result = (result["dict"] if "dict" in result else decode_array(result["array"])
                             if "array" in result else result["list"])
            audit.evaluations.append(record)
        elif kind == "figures":
            audit.figures = [_Figure(axes) for axes in data]
    return audit, installed
