"""Record what the lab's code actually did, while it runs.

The grader judges behaviour: which weights were trainable when each ``fit`` began,
which of them changed by its end, which optimizer object trained, which epochs ran,
what ``evaluate``/``predict`` returned on which data, and which figures were drawn.
Everything is captured inside Keras/Matplotlib calls, so the checks do not depend on
variable names, on where check cells sit, or on cells the student deleted.

``install()`` is idempotent and safe in real mode: it only observes.
"""
import functools
import sys
import weakref
from typing import NamedTuple

import numpy as np

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
    return fit


def _wrap_eval(original, kind):
    @functools.wraps(original)
    def method(self, x=None, *args, **kwargs):
        result = original(self, x, *args, **kwargs)
        if not AUDIT.fitting and not AUDIT.probing and AUDIT.base_of(self) is not None:
            fits_done = sum(1 for f in AUDIT.fits if f.model is self and f.finished and f.error is None)
            AUDIT.evaluations.append(EvalRecord(kind, self, fits_done, x, result))
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
        return base
    return constructor


def _wrap_load(original):
    @functools.wraps(original)
    def load_data(*args, **kwargs):
        (x_train, y_train), (x_test, y_test) = original(*args, **kwargs)
        # References, not copies (180 MB in real mode): later cells rebind, they do not mutate.
        AUDIT.datasets.append({"train": (x_train, y_train), "test": (x_test, y_test)})
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
    return AUDIT
