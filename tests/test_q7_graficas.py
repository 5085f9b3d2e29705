"""The plot checks on real Matplotlib figures: which lines count as the curves and the boundary."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tl_audit  # noqa: E402
import tl_checks  # noqa: E402

VAL_ACC = list(np.linspace(0.1, 0.5, 25))
VAL_LOSS = list(np.linspace(2.3, 1.2, 25))
TRAIN_ACC = list(np.linspace(0.2, 0.9, 25))


class Fit:
    """What a FitRecord answers about its history, without training anything."""

    def __init__(self, model, acc, loss):
        self.model, self.base, self.error = model, object(), None
        self._series = {"accuracy": acc, "loss": loss}

    def val_series(self, kind):
        return list(self._series[kind])


@pytest.fixture
def audit(monkeypatch):
    fresh = tl_audit.Audit()
    model = object()
    fresh.fits = [Fit(model, VAL_ACC[:15], VAL_LOSS[:15]), Fit(model, VAL_ACC[15:], VAL_LOSS[15:])]
    monkeypatch.setattr(tl_checks, "AUDIT", fresh)
    monkeypatch.setattr(tl_audit, "_installed", True)
    yield fresh
    plt.close("all")


def draw(audit, acc=VAL_ACC, loss=VAL_LOSS, x=None, boundary=("plot", 14), on=("acc", "loss")):
    fig, axes = plt.subplots(2, 1)
    audit.figures.append(fig)
    xs = np.arange(25) if x is None else x
    for ax, name, series in ((axes[0], "acc", acc), (axes[1], "loss", loss)):
        ax.plot(xs, series)
        if name not in on:
            continue
        how, where = boundary
        if how == "plot":
            ax.plot([where, where], ax.get_ylim(), linestyle="--")
        elif how == "axvline":
            ax.axvline(where)
        elif how == "vlines":
            ax.vlines(where, *ax.get_ylim())


@pytest.mark.parametrize("kwargs", [
    {},                                                          # the seed: plot([14, 14], ylim)
    {"boundary": ("axvline", 14)},
    {"boundary": ("vlines", 14.5)},
    {"x": np.arange(1, 26), "boundary": ("axvline", 15.5)},      # 1-based axis
    {"x": np.arange(1, 26), "boundary": ("vlines", 15)},
    {"acc": [100 * a for a in VAL_ACC]},                          # accuracy in percent
])
def test_equivalent_plots_pass(audit, kwargs):
    draw(audit, **kwargs)
    tl_checks.check_plot_series()
    tl_checks.check_plot_boundary()


@pytest.mark.parametrize("kwargs, message", [
    ({"on": ("acc",)}, "pérdida"),
    ({"boundary": ("axvline", 5)}, "línea vertical"),
    ({"boundary": ("plot", 24)}, "línea vertical"),
    ({"x": np.arange(1, 26), "boundary": ("axvline", 14)}, "línea vertical"),  # 0-based line on a 1-based axis
    ({"on": ()}, "línea vertical"),
])
def test_missing_or_misplaced_boundary_fails(audit, kwargs, message):
    draw(audit, **kwargs)
    tl_checks.check_plot_series()
    with pytest.raises(AssertionError, match=message):
        tl_checks.check_plot_boundary()


def test_training_curves_are_not_validation_curves(audit):
    draw(audit, acc=TRAIN_ACC)
    with pytest.raises(AssertionError, match="precisiones de validación"):
        tl_checks.check_plot_series()


def test_figures_closed_by_the_backend_still_count(audit):
    draw(audit)
    plt.close("all")  # what the inline backend does after each cell
    tl_checks.check_plot_boundary()


def test_without_the_setup_cell_the_message_says_so(monkeypatch):
    monkeypatch.setattr(tl_audit, "_installed", False)
    with pytest.raises(AssertionError, match="celda de configuración"):
        tl_checks.check_plot_series()
