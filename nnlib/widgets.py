"""Interactive explorers for the notebooks (ipywidgets 8).

Each explorer holds its controls as attributes, draws on its own matplotlib Figure and
shows it as a PNG in an `Image` widget, so it works with any matplotlib backend and its
state can be driven from code (set a control's `value`, call a button's `click()`).
Display an explorer as the last expression of a cell, or display its `.widget`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from nnlib import datasets, optim, surface
from nnlib.activations import ACTIVATIONS
from nnlib.network import MLP
from nnlib.optim import Adam
from nnlib.plot import figure_png, plot_activation, plot_decision_boundary
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


# The optimizers of the race, as the pure update functions of `nnlib.optim`, and how many
# accumulators each keeps (all start at zero; Adam also takes the step number t).
UPDATES = {
    "sgd": optim.sgd_update,
    "momentum": optim.momentum_update,
    "nesterov": optim.nesterov_update,
    "adagrad": optim.adagrad_update,
    "rmsprop": optim.rmsprop_update,
    "adam": optim.adam_update,
}
N_STATE = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}

# The elongated quadratic L(θ1, θ2) = ½ (θ1² + κ θ2²): its contours are ellipses 10 times
# longer than wide, a ravine along θ1.
KAPPA = 100.0


def elongated_quadratic(theta1, theta2):
    """L(θ1, θ2) = ½ (θ1² + κ θ2²) with κ = 100, broadcasting over θ1 and θ2."""
    return 0.5 * (np.square(theta1) + KAPPA * np.square(theta2))


class RaceProblem(NamedTuple):
    """A two-parameter loss to race on.

    loss(a, b) broadcasts over arrays (for the contours); grad(θ) returns ∇L at θ (2,);
    start is the default (a0, b0); extent (a_low, a_high, b_low, b_high) the plotted
    window; names the axis labels; eta the learning rate of each optimizer at η scale 1.
    """

    loss: Callable
    grad: Callable
    start: tuple[float, float]
    extent: tuple[float, float, float, float]
    names: tuple[str, str]
    eta: dict[str, float]


def _problem(name: str, X=None, Y=None) -> RaceProblem:
    """'surface': the sigmoid neuron's error L(w, b) on (X, Y) (default: the two points of
    lesson 03); 'quadratic': `elongated_quadratic`."""
    if name == "quadratic":
        return RaceProblem(
            elongated_quadratic,
            lambda theta: theta * np.array([1.0, KAPPA]),
            (-4.5, 1.5), (-5.0, 5.0, -2.0, 2.0), ("θ1", "θ2"),
            # sgd just below its limit 2/κ = 0.02, where the steep direction stays stable;
            # momentum's average of gradients takes the step η(1 − β) = 0.019 per gradient
            {"sgd": 0.019, "momentum": 0.19, "nesterov": 0.01, "adagrad": 1.0,
             "rmsprop": 0.05, "adam": 0.1},
        )
    if name != "surface":
        raise ValueError(f"problem must be 'surface' or 'quadratic', got {name!r}")
    if X is None:
        X, Y = datasets.two_points()
    return RaceProblem(
        lambda w_, b_: surface.error(w_, b_, X, Y),
        lambda theta: np.array([surface.grad_w(*theta, X, Y), surface.grad_b(*theta, X, Y)]),
        (-2.0, -2.0), (-6.0, 6.0, -6.0, 6.0), ("w", "b"),
        # rates at which each optimizer makes steady progress on the two-point surface
        {"sgd": 1.0, "momentum": 1.0, "nesterov": 0.1, "adagrad": 0.5, "rmsprop": 0.05,
         "adam": 0.1},
    )


def optimizer_path(name, update, theta0, grad, loss, steps: int, eta: float) -> np.ndarray:
    """Rows (θ1, θ2, L) of `steps` steps of `update` (an optimizer of `UPDATES`) from θ0.

    `update` is called like the function of `nnlib.optim` it stands for, e.g.
    `update(theta, g, m, v, t, eta=eta)` for Adam. When the path leaves the floats
    (a learning rate that diverges) the remaining rows are NaN.
    """
    theta = np.array(theta0, dtype=np.float64)
    state = [np.zeros_like(theta) for _ in range(N_STATE[name])]
    rows = np.full((steps + 1, 3), np.nan)
    rows[0] = (*theta, loss(*theta))
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            step_number = (t,) if name == "adam" else ()
            out = update(theta, grad(theta), *state, *step_number, eta=eta)
            theta, state = (out, []) if not state else (out[0], list(out[1:]))
            row = (*np.asarray(theta, dtype=np.float64), loss(*theta))
            if not np.all(np.isfinite(row)):
                break
            rows[t] = row
    return rows


def race(
    names, w0: float, b0: float, steps: int, eta_scale: float = 1.0, X=None, Y=None,
    problem: str = "surface", updates=None,
):
    """Run each optimizer of `names` from (w0, b0) on a problem; return their paths.

    problem: "surface", the sigmoid neuron's error surface on (X, Y) (default
    `datasets.two_points()`), or "quadratic", `elongated_quadratic`. updates: {name:
    update function} replacing nnlib's (e.g. the notebook's own `momentum_update`).
    Returns {name: array (steps + 1, 3)} of rows (θ1, θ2, L), like
    `nnlib.surface.gradient_descent`; NaN rows after a divergence.
    """
    prob = _problem(problem, X, Y)
    chosen = {**UPDATES, **(updates or {})}
    return {
        name: optimizer_path(
            name, chosen[name], (w0, b0), prob.grad, prob.loss, steps,
            prob.eta[name] * eta_scale,
        )
        for name in names
    }


def _last_finite(path: np.ndarray) -> np.ndarray:
    return path[np.all(np.isfinite(path), axis=1)][-1]


class OptimizerRace(_Explorer):
    """Optimizers racing on the lesson-03 error surface or on an elongated quadratic.

    Choose the problem, the optimizers, the start, the number of steps and an η scale
    (multiplying each optimizer's own rate, `race`), then press Run; play the race or
    drag the step slider to see where each optimizer was after that many steps.
    updates: {name: update function} to race instead of nnlib's (see `race`).
    """

    def __init__(self, problem: str = "surface", updates=None):
        self.updates = dict(updates or {})
        self.problem = w.Dropdown(
            options=[("error surface", "surface"), ("elongated quadratic", "quadratic")],
            value=problem, description="problem",
        )
        self.optimizers = w.SelectMultiple(
            options=list(UPDATES), value=("sgd", "momentum", "adam"), description="optimizers"
        )
        self.w0 = w.FloatSlider(min=-6.0, max=6.0, step=0.1)
        self.b0 = w.FloatSlider(min=-6.0, max=6.0, step=0.1)
        self.steps = w.IntSlider(value=100, min=1, max=1000, description="steps")
        self.eta_scale = w.FloatLogSlider(value=1.0, min=-2, max=1, description="η scale")
        self.run = w.Button(description="Run", button_style="primary")
        self.frame = w.IntSlider(value=100, min=0, max=100, description="step")
        self.play = w.Play(min=0, max=100, step=2, interval=150, description="play")
        w.jslink((self.play, "value"), (self.frame, "value"))
        super().__init__(
            [self.problem, self.optimizers, self.w0, self.b0, self.steps, self.eta_scale,
             self.run, self.play, self.frame],
            figsize=(11.0, 4.6),
        )
        self.trajectories: dict[str, np.ndarray] = {}
        self._use_problem()
        self.run.on_click(self.redraw)
        self.problem.observe(self._new_problem, names="value")
        self.frame.observe(self.draw, names="value")
        self.redraw()

    def _use_problem(self) -> None:
        self.current = _problem(self.problem.value)
        (self.w0.value, self.b0.value), names = self.current.start, self.current.names
        self.w0.description, self.b0.description = f"{names[0]} start", f"{names[1]} start"

    def _new_problem(self, _change=None) -> None:
        self._use_problem()
        self.redraw()

    def redraw(self, _button=None) -> None:
        """Run the race with the current controls and show its end."""
        steps = self.steps.value
        self.trajectories = race(
            self.optimizers.value, self.w0.value, self.b0.value, steps, self.eta_scale.value,
            problem=self.problem.value, updates=self.updates,
        )
        with self.frame.hold_trait_notifications():
            self.frame.max = self.play.max = steps
            self.play.step = max(1, steps // 50)
        self.frame.unobserve(self.draw, names="value")
        self.frame.value = steps
        self.frame.observe(self.draw, names="value")
        self.draw()

    def draw(self, _change=None) -> None:
        """Show the paths up to the step of the step slider, and the losses per step."""
        prob, k = self.current, self.frame.value
        self.figure.clear()
        self.ax, ax_loss = self.figure.subplots(1, 2, width_ratios=(1.25, 1))
        a_lo, a_hi, b_lo, b_hi = prob.extent
        A, B = np.meshgrid(np.linspace(a_lo, a_hi, 81), np.linspace(b_lo, b_hi, 81))
        filled = self.ax.contourf(A, B, prob.loss(A, B), levels=30, cmap="viridis")
        self.figure.colorbar(filled, ax=self.ax, label="L")
        for name, path in self.trajectories.items():
            shown = path[: k + 1]
            (line,) = self.ax.plot(shown[:, 0], shown[:, 1], ".-", ms=3, lw=1.2, label=name)
            self.ax.plot(*path[0, :2], "o", color=line.get_color())
            self.ax.plot(*_last_finite(shown)[:2], "x", color=line.get_color(), ms=8)
            ax_loss.semilogy(path[:, 2], color=line.get_color(), label=name)
        ax_loss.axvline(k, color="0.5", lw=0.8)
        self.ax.set(xlim=(a_lo, a_hi), ylim=(b_lo, b_hi), xlabel=prob.names[0],
                    ylabel=prob.names[1], title=f"after {k} steps")
        ax_loss.set(xlabel="step", ylabel="L", title="loss per step")
        if self.trajectories:
            self.ax.legend(loc="upper right")
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
