"""Interactive explorers for the notebooks (ipywidgets 8).

Each explorer holds its controls as attributes, draws on its own matplotlib Figure and
shows it as a PNG in an `Image` widget, so it works with any matplotlib backend and its
state can be driven from code (set a control's `value`, call a button's `click()`).
Display an explorer as the last expression of a cell, or display its `.widget`.
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator

from nnlib import datasets
from nnlib.activations import ACTIVATIONS
from nnlib.network import MLP
from nnlib.optim import Adam
from nnlib.plot import LiveFigure, figure_png, plot_activation, plot_decision_boundary
from nnlib.race import UPDATES, race, race_problem, tune_eta
from nnlib.train import fit


class _Explorer:
    """A figure shown through an Image widget under a row of controls."""

    def __init__(self, controls, figsize=(6.0, 4.0)):
        self.figure = Figure(figsize=figsize)
        self.ax = self.figure.add_subplot()
        self.image = w.Image(format="png")
        self.widget = w.VBox([w.HBox(controls, layout=w.Layout(flex_flow="row wrap")), self.image])

    def _show(self) -> None:
        self.figure.tight_layout()
        self.image.value = figure_png(self.figure)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class ActivationExplorer(_Explorer):
    """Pick an activation and the z range; see f(z) and, optionally, f'(z)."""

    def __init__(self, name: str = "sigmoid"):
        self.name = w.Dropdown(options=list(ACTIVATIONS), value=name, description="f")
        self.z_max = w.FloatSlider(value=5.0, min=0.5, max=20.0, step=0.5, description="|z| ≤")
        self.derivative = w.Checkbox(value=True, description="show f'(z)")
        super().__init__([self.name, self.z_max, self.derivative])
        for control in (self.name, self.z_max, self.derivative):
            control.observe(self.redraw, names="value")
        self.redraw()

    def redraw(self, _change=None) -> None:
        self.ax.clear()
        z = np.linspace(-self.z_max.value, self.z_max.value, 401)
        plot_activation(self.name.value, z, derivative=self.derivative.value, ax=self.ax)
        self._show()


# The Play widget's interval: 80 ms asks for 12.5 frames per second; a frame (blitting the
# paths over the cached contours) renders in well under that.
FRAME_MS = 80
# The loss panel shows losses down to this floor: below it a run has converged for any
# purpose, and a log axis reaching 10⁻³⁰⁰ would squash the rest.
LOSS_FLOOR = 1e-20


def _last_finite(path: np.ndarray) -> np.ndarray:
    return path[np.all(np.isfinite(path), axis=1)][-1]


def _shown(path: np.ndarray) -> np.ndarray:
    """The rows of a path as drawn: a run on its way to overflow (a loss a million times
    the start's, or a point a thousand units out) is left out, since axes and ticks
    cannot be computed for numbers near the float limit; losses are shown down to
    LOSS_FLOOR."""
    shown = path.copy()
    with np.errstate(invalid="ignore"):
        gone = (shown[:, 2] > 1e6 * shown[0, 2]) | np.any(np.abs(shown[:, :2]) > 1e3, axis=1)
    shown[np.logical_or.accumulate(gone)] = np.nan
    shown[:, 2] = np.maximum(shown[:, 2], LOSS_FLOOR)
    return shown


class OptimizerRace:
    """Optimizers racing on the error surface of lesson 03 or on a ravine, along the θ1
    axis or turned by 45° (`nnlib.race`).

    Each optimizer runs with its own rate: the one `nnlib.race.tune_eta` finds best for it
    on the chosen problem (lowest loss after 200 steps from the problem's start), times a
    common η scale. Every change of the problem, the optimizers, the start, the number of
    steps or the η scale runs the race again, with the update functions as they are then;
    press play or drag the step slider to see where each optimizer was after that many
    steps. updates: {name: update function} to race instead of nnlib's (e.g.
    `autograder.latest` wrappers of the notebook's own, looked up at each call).
    The figure is drawn once per event; a step of the slider redraws only the paths.
    """

    def __init__(self, problem: str = "surface", updates=None):
        self.updates = dict(updates or {})
        self.problem = w.Dropdown(
            options=[("error surface", "surface"), ("ravine along θ1", "quadratic"),
                     ("ravine turned 45°", "rotated")],
            value=problem, description="problem",
        )
        self.optimizers = w.SelectMultiple(
            options=list(UPDATES), value=("sgd", "momentum", "adam"), description="optimizers"
        )
        # a race per slider release, not per pixel dragged
        self.w0 = w.FloatSlider(min=-6.0, max=6.0, step=0.1, continuous_update=False)
        self.b0 = w.FloatSlider(min=-6.0, max=6.0, step=0.1, continuous_update=False)
        self.steps = w.IntSlider(value=200, min=1, max=1000, description="steps",
                                 continuous_update=False)
        self.eta_scale = w.FloatLogSlider(value=1.0, min=-2, max=1, description="η scale",
                                          continuous_update=False)
        self.frame = w.IntSlider(value=200, min=0, max=200, description="step")
        self.play = w.Play(min=0, max=200, step=2, interval=FRAME_MS, description="play")
        w.jslink((self.play, "value"), (self.frame, "value"))
        self.figure = Figure(figsize=(11.0, 4.6))
        # a fixed layout: tight_layout would cost more than the rest of an event
        self.ax, self.ax_loss = self.figure.subplots(
            1, 2, width_ratios=(1.1, 1),
            gridspec_kw=dict(left=0.06, right=0.98, bottom=0.22, top=0.87, wspace=0.42))
        self.ax_loss.set(xlabel="step", ylabel="L",
                         title=f"loss per step (shown down to {LOSS_FLOOR:g})")
        self.trajectories: dict[str, np.ndarray] = {}
        self.etas: dict[str, float] = {}
        self._moving: list = []
        self.lines: dict[str, Line2D] = {}  # each optimizer's path on the contours
        self._use_problem()
        self.live = LiveFigure(self.figure)
        controls = [self.problem, self.optimizers, self.w0, self.b0, self.steps,
                    self.eta_scale, self.play, self.frame]
        self.widget = w.VBox([w.HBox(controls, layout=w.Layout(flex_flow="row wrap")),
                              self.live.widget])
        self.problem.observe(self._new_problem, names="value")
        self._settings = (self.optimizers, self.w0, self.b0, self.steps, self.eta_scale)
        for control in self._settings:
            control.observe(self.redraw, names="value")
        self.frame.observe(self.draw, names="value")
        self.redraw()

    def _use_problem(self) -> None:
        """Set the start to the problem's and draw its contours, the part no run changes."""
        self.current = prob = race_problem(self.problem.value)
        (self.w0.value, self.b0.value), names = prob.start, prob.names
        self.w0.description, self.b0.description = f"{names[0]} start", f"{names[1]} start"
        self.ax.clear()  # and the colour bar, an inset of it
        a_lo, a_hi, b_lo, b_hi = prob.extent
        A, B = np.meshgrid(np.linspace(a_lo, a_hi, 81), np.linspace(b_lo, b_hi, 81))
        L = prob.loss(A, B)
        # log-spaced levels, so that the floor of a ravine shows as well as its walls
        levels = np.geomspace(L.max() * 1e-4, L.max(), 25)
        filled = self.ax.contourf(A, B, np.maximum(L, levels[0]), levels=levels,
                                  norm=LogNorm(), cmap="viridis")
        self.figure.colorbar(filled, cax=self.ax.inset_axes((1.03, 0.0, 0.035, 1.0)),
                             ticks=LogLocator(), label="L (log scale)")
        self.ax.set(xlim=(a_lo, a_hi), ylim=(b_lo, b_hi), xlabel=names[0], ylabel=names[1])
        self.ax.set_title("after 0 steps")  # set at every frame, so drawn with the paths
        self.ax.title.set_animated(True)
        self.figure.suptitle(f"the optimizer race on the {prob.title}")

    def _new_problem(self, _change=None) -> None:
        # the new start moves two sliders: one race for the whole change, not three
        for control in self._settings:
            control.unobserve(self.redraw, names="value")
        self._use_problem()
        for control in self._settings:
            control.observe(self.redraw, names="value")
        self.redraw()

    def redraw(self, _event=None) -> None:
        """Tune the rates, run the race with the current controls and show its end."""
        names, steps = list(self.optimizers.value), self.steps.value
        problem = self.problem.value
        self.etas = tune_eta(names, problem, updates=self.updates)[0]
        self.trajectories = race(names, self.w0.value, self.b0.value, steps,
                                 self.eta_scale.value, problem=problem,
                                 updates=self.updates, etas=self.etas)
        for line in [*self.ax.lines, *self.ax_loss.lines]:
            line.remove()
        self._moving, self.lines = [], {}
        for name, path in self.trajectories.items():
            path = _shown(path)
            colour = f"C{list(UPDATES).index(name)}"  # the same colour on every problem
            eta = self.etas[name] * self.eta_scale.value
            (line,) = self.ax.plot(*path[:, :2].T, ".-", color=colour, ms=3, lw=1.2,
                                   label=f"{name}, η = {eta:.3g}", animated=True)
            self.ax.plot(*path[0, :2], "o", color=colour)
            (end,) = self.ax.plot(*_last_finite(path)[:2], "x", color=colour, ms=8,
                                  animated=True)
            self.ax_loss.semilogy(path[:, 2], color=colour)
            self._moving.append((line, end, path))
            self.lines[name] = line
        self._cursor = self.ax_loss.axvline(steps, color="0.5", lw=0.8, animated=True)
        self.ax_loss.set_xlim(0, steps)
        self.ax_loss.relim()
        self.ax_loss.autoscale_view(scalex=False)
        for legend in self.figure.legends:
            legend.remove()
        if self.trajectories:  # below the panels, where it covers no curve
            self.figure.legend(handles=list(self.lines.values()), loc="lower center",
                               ncols=min(len(self.lines), 6), fontsize=9)
        # The step slider's new range and value, unobserved: fewer steps than the step shown
        # would clamp its value as its max is set, and `draw` would then send a first
        # picture, the new paths blitted over the old background. Each change is its own
        # message, in an order in which the browser's slider never clamps the value either
        # (sent together, the browser could show a clamped value the kernel does not have,
        # and the next step to the kernel's value would draw nothing).
        self.frame.unobserve(self.draw, names="value")
        try:
            if steps < self.frame.max:
                self.frame.value = steps
                self.frame.max = self.play.max = steps
            else:
                self.frame.max = self.play.max = steps
                self.frame.value = steps
            self.play.step = max(1, steps // 100)
        finally:
            self.frame.observe(self.draw, names="value")
        self._move(steps)
        self.live.draw()

    def _move(self, k: int) -> None:
        """Put the paths, their end marks, the cursor and the title at step k."""
        for line, end, path in self._moving:
            line.set_data(*path[: k + 1, :2].T)
            end.set_data(*_last_finite(path[: k + 1])[:2, None])
        self._cursor.set_xdata([k, k])
        self.ax.set_title(f"after {k} steps")

    def draw(self, _change=None) -> None:
        """Show the paths up to the step of the step slider (redrawing only what moves)."""
        self._move(self.frame.value)
        self.live.draw_animated()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


PROBLEMS = {
    "moons": lambda rng: datasets.moons(200, noise=0.15, rng=rng),
    "circles": lambda rng: datasets.circles(200, noise=0.08, rng=rng),
    "spirals": lambda rng: datasets.spirals(300, n_classes=3, noise=0.15, rng=rng),
    "blobs": lambda rng: datasets.blobs(200, centers=3, std=1.5, box=(-5, 5), rng=rng),
}


class DecisionBoundaryTrainer(_Explorer):
    """Train a 2 → h → K network on a toy problem and watch its decision boundary move.

    Train runs `epochs` more epochs of Adam on the current network; Reset draws new
    weights (and the data set, hidden width and activation chosen).
    """

    def __init__(self, problem: str = "moons", rng=0):
        self.problem = w.Dropdown(options=list(PROBLEMS), value=problem, description="data")
        self.hidden = w.IntSlider(value=16, min=1, max=64, description="hidden units")
        self.activation = w.Dropdown(
            options=["tanh", "relu", "sigmoid"], value="tanh", description="activation"
        )
        self.eta = w.FloatLogSlider(value=0.02, min=-4, max=0, description="η")
        self.epochs = w.IntSlider(value=20, min=1, max=200, description="epochs")
        self.train = w.Button(description="Train", button_style="primary")
        self.reset = w.Button(description="Reset")
        super().__init__(
            [
                self.problem,
                self.hidden,
                self.activation,
                self.eta,
                self.epochs,
                self.train,
                self.reset,
            ]
        )
        self.rng = np.random.default_rng(rng)
        self.train.on_click(self.step)
        self.reset.on_click(self.restart)
        self.restart()

    def restart(self, _button=None) -> None:
        self.X, self.y = PROBLEMS[self.problem.value](self.rng)
        n_classes = int(self.y.max()) + 1
        self.model = MLP(
            [2, self.hidden.value, n_classes], [self.activation.value, "softmax"], rng=self.rng
        )
        self.optimizer = Adam(eta=self.eta.value)
        self.history = {"loss": [], "accuracy": []}
        self.redraw()

    def step(self, _button=None) -> None:
        self.optimizer.eta = self.eta.value
        h = fit(
            self.model,
            self.X,
            self.y,
            "cce",
            self.optimizer,
            epochs=self.epochs.value,
            batch_size=32,
            metrics=["accuracy"],
            rng=self.rng,
            progress=False,
        )
        for key in self.history:
            self.history[key] += h[key]
        self.redraw()

    def redraw(self) -> None:
        self.ax.clear()
        plot_decision_boundary(self.model.predict, self.X, self.y, ax=self.ax, resolution=120)
        if self.history["loss"]:
            self.ax.set_title(
                f"epoch {len(self.history['loss'])}: loss "
                f"{self.history['loss'][-1]:.3f}, accuracy "
                f"{self.history['accuracy'][-1]:.1%}"
            )
        self._show()
