"""Interactive explorers for the notebooks (ipywidgets 8).

Each explorer holds its controls as attributes, draws on its own matplotlib Figure and
shows it as a PNG in an `Image` widget, so it works with any matplotlib backend and its
state can be driven from code (set a control's `value`, call a button's `click()`).
Display an explorer as the last expression of a cell, or display its `.widget`.
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from nnlib import datasets, surface
from nnlib.activations import ACTIVATIONS
from nnlib.network import MLP
from nnlib.optim import OPTIMIZERS, Adam
from nnlib.plot import figure_png, plot_activation, plot_decision_boundary, plot_error_surface
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


# Learning rates at which each optimizer makes steady progress on the two-point surface;
# the η-scale slider multiplies them all.
RACE_ETA = {
    "sgd": 1.0,
    "momentum": 1.0,
    "nesterov": 0.1,
    "adagrad": 0.5,
    "rmsprop": 0.05,
    "adam": 0.1,
}


def race(names, w0: float, b0: float, steps: int, eta_scale: float = 1.0, X=None, Y=None):
    """Run each optimizer of `names` from (w0, b0) on the sigmoid neuron's error surface.

    Returns {name: array (steps + 1, 3)} of rows (w, b, L(w, b)), like
    `nnlib.surface.gradient_descent`. The data default to `datasets.two_points()`.
    """
    if X is None:
        X, Y = datasets.two_points()
    paths = {}
    for name in names:
        opt = OPTIMIZERS[name](eta=RACE_ETA[name] * eta_scale)
        theta = np.array([w0, b0], dtype=np.float64)
        rows = [(*theta, surface.error(*theta, X, Y))]
        for _ in range(steps):
            g = np.array([surface.grad_w(*theta, X, Y), surface.grad_b(*theta, X, Y)])
            opt.step([theta], [g])
            rows.append((*theta, surface.error(*theta, X, Y)))
        paths[name] = np.array(rows)
    return paths


class OptimizerRace(_Explorer):
    """Optimizers racing on the error surface of the two-point sigmoid fit.

    Choose the optimizers, the start (w0, b0), the number of steps and an η scale, then
    press Run.
    """

    def __init__(self):
        self.optimizers = w.SelectMultiple(
            options=list(RACE_ETA), value=("sgd", "momentum", "adam"), description="optimizers"
        )
        self.w0 = w.FloatSlider(value=-2.0, min=-6.0, max=6.0, step=0.1, description="w0")
        self.b0 = w.FloatSlider(value=-2.0, min=-6.0, max=6.0, step=0.1, description="b0")
        self.steps = w.IntSlider(value=100, min=1, max=1000, description="steps")
        self.eta_scale = w.FloatLogSlider(value=1.0, min=-2, max=1, description="η scale")
        self.run = w.Button(description="Run", button_style="primary")
        super().__init__(
            [self.optimizers, self.w0, self.b0, self.steps, self.eta_scale, self.run],
            figsize=(6.5, 5.0),
        )
        self.run.on_click(self.redraw)
        self.trajectories: dict[str, np.ndarray] = {}
        self.redraw()

    def redraw(self, _button=None) -> None:
        self.trajectories = race(
            self.optimizers.value,
            self.w0.value,
            self.b0.value,
            self.steps.value,
            self.eta_scale.value,
        )
        self.figure.clear()
        self.ax = self.figure.add_subplot()
        plot_error_surface(*datasets.two_points(), self.trajectories, ax=self.ax, num=81)
        self._show()


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
