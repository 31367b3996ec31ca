"""Figures of the course: activations, decision boundaries, error surfaces, learning curves.

Each function takes an optional matplotlib `ax` (a new figure is made when it is None)
and returns the axes it drew on. `import nnlib` does not import this module, so
matplotlib loads only when a figure is drawn.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from nnlib._checks import as_array
from nnlib.activations import ACTIVATIONS
from nnlib.surface import error_surface


def _axes(ax):
    return plt.subplots()[1] if ax is None else ax


def pixel_ratio() -> int:
    """Image pixels per screen pixel of the kernel's figures: 2 when its inline backend draws
    'retina' PNGs (every kernel of the course: jupyter/ipython_kernel_config.py), else 1, so
    that live figures are as sharp as inline ones."""
    try:
        from IPython import get_ipython
    except ImportError:
        return 1
    shell = get_ipython()
    formats = shell.config.InlineBackend.get("figure_formats", ()) if shell is not None else ()
    return 2 if "retina" in formats else 1


def figure_png(fig: Figure) -> bytes:
    """Render `fig` to PNG bytes (used by widgets and live plots, whatever the backend)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def fast_png(rgba: np.ndarray) -> bytes:
    """PNG of an (h, w, 4) uint8 image: RGB when it is opaque, rows unfiltered and deflated
    at level 1. About as small as PIL's output for figures and several times faster to
    make, since PIL tries every row filter: a live figure encodes one of these per frame."""
    import struct
    import zlib

    h, w, _ = rgba.shape
    opaque = bool(rgba[..., 3].min() == 255)
    channels = 3 if opaque else 4
    rows = np.zeros((h, 1 + w * channels), dtype=np.uint8)  # filter byte 0: none
    rows[:, 1:].reshape(h, w, channels)[...] = rgba[..., :channels]

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2 if opaque else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))


class LiveFigure:
    """A matplotlib Figure shown in an ipywidgets `Image` and redrawn there in place.

    A widget changes the figure's artists (`line.set_data`, `im.set_data`,
    `ax.set_title`) and calls `draw()` once per event; the image is replaced by the new
    rendering in one step, so the picture is never blank or stale, whatever matplotlib
    backend the notebook uses. Make `fig` with `matplotlib.figure.Figure` (not pyplot), so
    that it is not displayed a second time. Display `.widget` (or the LiveFigure itself).

    Animations use matplotlib's blitting pattern: artists made with `animated=True` are
    left out of a cached background, and `draw_animated()` pastes that background and
    draws only them, several times faster than `draw()`.
    """

    def __init__(self, fig: Figure):
        import ipywidgets
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.figure = fig
        self.ratio = pixel_ratio()
        fig.set_dpi(fig.dpi * self.ratio)  # drawn at the kernel's density, shown at its size
        self.canvas = FigureCanvasAgg(fig)
        self.widget = ipywidgets.Image(format="png")
        self.draw()

    def _show(self) -> None:
        for artist in self._animated:
            self.figure.draw_artist(artist)
        rgba = np.asarray(self.canvas.buffer_rgba())
        self.widget.width = str(rgba.shape[1] // self.ratio)
        self.widget.value = fast_png(rgba)

    def draw(self) -> None:
        """Render the whole figure, as its artists are now, into the image."""
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._animated = self.figure.findobj(lambda artist: artist.get_animated())
        self._show()

    def draw_animated(self) -> None:
        """Render only the artists that were `animated=True` at the last `draw()`, over its
        background (for a frame in which nothing else changed)."""
        self.canvas.restore_region(self._background)
        self._show()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def plot_activation(names="sigmoid", z=None, derivative: bool = True, ax=None):
    """Plot f(z) (solid) and, if `derivative`, f'(z) (dashed) for each activation name.

    names: one name of `nnlib.activations.ACTIVATIONS` or a list; z: the inputs
    (default 401 points in [−5, 5]).
    """
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in ACTIVATIONS]
    if unknown:
        raise ValueError(f"unknown activations {unknown}; known: {', '.join(ACTIVATIONS)}")
    z = np.linspace(-5.0, 5.0, 401) if z is None else as_array(z, "z", 1)
    ax = _axes(ax)
    for name in names:
        f, f_prime = ACTIVATIONS[name]
        (line,) = ax.plot(z, f(z), label=name)
        if derivative:
            ax.plot(z, f_prime(z), "--", color=line.get_color(), label=f"{name}'")
    ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0.0, color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("z")
    ax.legend()
    return ax


def plot_decision_boundary(predict, X, y, ax=None, resolution: int = 200, padding: float = 0.5):
    """Colour the plane by the class `predict` assigns, and scatter the points on top.

    predict: f(points (k, 2)) -> labels (k,), or scores (k, K) (argmax taken) or a
    probability column (k, 1) (thresholded at 0.5). X (m, 2), y labels (m,).
    """
    X, y = as_array(X, "X", 2), as_array(y, "y", 1)
    if X.shape[1] != 2 or len(X) != len(y):
        raise ValueError(f"X must be (m, 2) with y (m,), got X {X.shape} and y {y.shape}")
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    g0, g1 = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    out = np.asarray(predict(np.c_[g0.ravel(), g1.ravel()]), dtype=np.float64)
    if out.ndim == 2:
        out = out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] >= 0.5)
    labels = out.reshape(g0.shape)
    n_classes = int(max(labels.max(), y.max())) + 1
    ax = _axes(ax)
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(g0, g1, labels, levels=levels, cmap="coolwarm", alpha=0.3)
    ax.scatter(
        X[:, 0], X[:, 1], c=y, cmap="coolwarm", vmin=0, vmax=n_classes - 1, edgecolors="k", s=20
    )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def plot_error_surface(
    X, Y, trajectories=None, ax=None, low: float = -6.0, high: float = 6.0, num: int = 121
):
    """Contours of the sigmoid neuron's error L(w, b) on (X, Y), with optimizer paths.

    trajectories: {label: array (k, ≥2)} whose first two columns are w and b (the rows
    `nnlib.surface.gradient_descent` returns); each path is drawn with its start (o) and
    end (x).
    """
    W, B, E = error_surface(X, Y, low, high, num)
    ax = _axes(ax)
    cs = ax.contourf(W, B, E, levels=30, cmap="viridis")
    ax.figure.colorbar(cs, ax=ax, label="L(w, b)")
    for label, path in (trajectories or {}).items():
        path = as_array(path, f"trajectories[{label!r}]", 2)
        (line,) = ax.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1.2, label=label)
        ax.plot(path[0, 0], path[0, 1], "o", color=line.get_color())
        ax.plot(path[-1, 0], path[-1, 1], "x", color=line.get_color(), ms=8)
    if trajectories:
        ax.legend(loc="upper right")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    return ax


def plot_learning_curves(history, metric: str = "loss", ax=None, title: str | None = None):
    """Training and (if recorded) validation `metric` per epoch from a `fit` history."""
    if metric not in history:
        raise ValueError(f"history has no {metric!r}; it has {', '.join(history)}")
    ax = _axes(ax)
    epochs = np.arange(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], label=f"training {metric}")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_fit_regimes(histories, metric: str = "loss", axes=None):
    """One learning-curve panel per history, side by side, e.g.
    {"underfit": h1, "good fit": h2, "overfit": h3}. Returns the array of axes."""
    if axes is None:
        axes = plt.subplots(1, len(histories), figsize=(4 * len(histories), 3.2))[1]
    axes = np.atleast_1d(axes)
    if len(axes) != len(histories):
        raise ValueError(f"got {len(histories)} histories but {len(axes)} axes")
    for ax, (title, history) in zip(axes, histories.items()):
        plot_learning_curves(history, metric, ax=ax, title=title)
    return axes


class LiveLearningCurves:
    """Learning curves redrawn in place after every epoch (`fit(live_plot=True)`): a
    `LiveFigure` whose training and validation lines get the new points (`set_data`) and
    are drawn once per epoch."""

    def __init__(self, metric: str = "loss"):
        from IPython.display import display

        self.metric = metric
        figure = Figure(figsize=(5, 3.2))
        self.ax = figure.add_subplot()
        self.ax.plot([], [], label=f"training {metric}")
        self.ax.plot([], [], label=f"validation {metric}")
        self.ax.set_xlabel("epoch")
        self.ax.set_ylabel(metric)
        self.ax.set_title(f"learning curves while training: {metric}")
        self.ax.legend(loc="upper right")
        figure.tight_layout()
        self.live = LiveFigure(figure)
        display(self.live.widget)

    def update(self, history) -> None:
        """Show the curves of `history` (a `fit` history) up to now."""
        for line, key in zip(self.ax.lines, (self.metric, f"val_{self.metric}")):
            values = history.get(key, [])
            line.set_data(np.arange(1, len(values) + 1), values)
        self.ax.relim()
        self.ax.autoscale_view()
        self.live.draw()


def plot_early_stopping(val_losses, best_epoch: int, stop_epoch: int, train_losses=None, ax=None):
    """Validation loss per epoch (t = 0, 1, ...) with the best epoch and the stop marked.

    best_epoch, stop_epoch: as returned by `nnlib.regularization.early_stopping_epoch`;
    the epochs after the stop, if any were recorded, are drawn faded (what training
    without early stopping would have seen). train_losses: drawn too when given.
    """
    val = as_array(val_losses, "val_losses", 1)
    if not 0 <= best_epoch <= stop_epoch < len(val):
        raise ValueError(f"need 0 <= best_epoch <= stop_epoch < {len(val)}, got "
                         f"best_epoch={best_epoch} and stop_epoch={stop_epoch}")
    ax = _axes(ax)
    t = np.arange(len(val))
    run = t <= stop_epoch
    if train_losses is not None:
        train = as_array(train_losses, "train_losses", 1)
        ax.plot(t[run], train[run], color="C0", label="training loss")
        ax.plot(t[stop_epoch:], train[stop_epoch:], color="C0", alpha=0.3)
    ax.plot(t[run], val[run], color="C1", label="validation loss")
    ax.plot(t[stop_epoch:], val[stop_epoch:], color="C1", alpha=0.3)
    ax.axvline(best_epoch, color="C2", ls="--", label=f"best epoch {best_epoch}")
    ax.axvline(stop_epoch, color="C3", ls=":", label=f"stop at epoch {stop_epoch}")
    ax.plot(best_epoch, val[best_epoch], "o", color="C2")
    ax.set_xlabel("epoch t")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_layer_stats(stats, ylabel: str = "std", ax=None, log: bool = True):
    """Per-layer statistics, one line per label: stats = {label: values of layers 1..L}.

    E.g. the standard deviation of each layer's activations for several initializations.
    Values of 0 are drawn at the bottom of a log axis rather than dropped.
    """
    ax = _axes(ax)
    for label, values in stats.items():
        values = as_array(values, f"stats[{label!r}]", 1)
        layers = np.arange(1, len(values) + 1)
        ax.plot(layers, np.maximum(values, 1e-300) if log else values, "o-", ms=3, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax


def plot_layer_histograms(layers, axes=None, bins: int = 40, value_range=None,
                          label: str = "activation"):
    """One histogram per layer: layers = [values of layer 1, ..., layer L] (any shapes).

    axes: L matplotlib axes (a new row of panels when None); value_range: (low, high)
    shared by all panels, default the overall range. Returns the array of axes.
    """
    layers = [as_array(v, f"layers[{l}]").ravel() for l, v in enumerate(layers)]
    if not layers:
        raise ValueError("layers must hold at least one layer's values")
    if axes is None:
        axes = plt.subplots(1, len(layers), figsize=(2.2 * len(layers), 2.4), sharey=True)[1]
    axes = np.atleast_1d(axes)
    if len(axes) != len(layers):
        raise ValueError(f"got {len(layers)} layers but {len(axes)} axes")
    if value_range is None:
        lo, hi = float(min(v.min() for v in layers)), float(max(v.max() for v in layers))
        value_range = (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)  # all equal, e.g. zeros
    for l, (ax, values) in enumerate(zip(axes, layers), start=1):
        ax.hist(values, bins=bins, range=value_range, color="C0")
        ax.set_title(f"layer {l}: std {values.std():.2g}", fontsize="small")
        ax.set_xlabel(label, fontsize="small")
    return axes
