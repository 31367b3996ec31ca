"""The optimizer race: two-parameter losses, each optimizer's path on them, and a search
for the learning rate that suits each optimizer on each loss.

The losses ("problems"):

- "surface": the sigmoid neuron's error L(w, b) = ½ Σ (σ(w x + b) − y)² on the two points
  of lesson 03 (`nnlib.surface.error`);
- "quadratic": the ravine L(θ1, θ2) = ½ (θ1² + κ θ2²), κ = 100, lying along the θ1 axis;
- "rotated": the same ravine turned by 45°, L = ½ (u² + κ v²) with u = (θ1 + θ2)/√2 along
  it and v = (θ2 − θ1)/√2 across. Its curvature is the same, but no longer per weight:
  both weights see the steep direction equally.

The ravines' gradients are written out elementwise (no matrix product), so every path on
them is the same to the last bit on every processor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from nnlib import datasets, optim, surface

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

# The ravine's contours are ellipses √κ = 10 times longer than wide.
KAPPA = 100.0
_HALF_ROOT = math.sqrt(0.5)  # cos 45° = sin 45°, exactly rounded

# The rates the search tries: 6 per decade from 10⁻³ to 100, each 10^(1/6) ≈ 1.47 times the last.
ETA_GRID = np.geomspace(1e-3, 100.0, 31)


def elongated_quadratic(theta1, theta2):
    """L(θ1, θ2) = ½ (θ1² + κ θ2²) with κ = 100, broadcasting over θ1 and θ2."""
    return 0.5 * (np.square(theta1) + KAPPA * np.square(theta2))


def _along_across(theta1, theta2):
    """(u, v): the coordinates along and across the rotated ravine, u = (θ1 + θ2)/√2,
    v = (θ2 − θ1)/√2."""
    return _HALF_ROOT * (theta1 + theta2), _HALF_ROOT * (theta2 - theta1)


def rotated_quadratic(theta1, theta2):
    """The ravine turned by 45°: L = ½ (u² + κ v²), u = (θ1 + θ2)/√2, v = (θ2 − θ1)/√2;
    broadcasting over θ1 and θ2."""
    return elongated_quadratic(*_along_across(theta1, theta2))


def _rotated_grad(theta):
    """∇L of `rotated_quadratic` at θ (..., 2): ∂L/∂θ1 = (u − κ v)/√2, ∂L/∂θ2 = (u + κ v)/√2."""
    u, v = _along_across(theta[..., 0], theta[..., 1])
    return np.stack([_HALF_ROOT * (u - KAPPA * v), _HALF_ROOT * (u + KAPPA * v)], axis=-1)


class RaceProblem(NamedTuple):
    """A two-parameter loss to race on.

    loss(θ1, θ2) broadcasts over arrays (for the contours); grad(θ) returns ∇L at θ of
    shape (..., 2), the same shape; start is the default (θ1, θ2) at step 0; extent
    (θ1_low, θ1_high, θ2_low, θ2_high) the plotted window; names the axis labels; title a
    short description.
    """

    loss: Callable
    grad: Callable
    start: tuple[float, float]
    extent: tuple[float, float, float, float]
    names: tuple[str, str]
    title: str


PROBLEMS = ("surface", "quadratic", "rotated")


def race_problem(name: str, X=None, Y=None) -> RaceProblem:
    """The problem `name` of `PROBLEMS`; X, Y: the points of "surface" (default: lesson 03's
    two points, `datasets.two_points()`)."""
    if name == "quadratic":
        return RaceProblem(
            elongated_quadratic, lambda theta: theta * np.array([1.0, KAPPA]),
            (-4.5, 1.5), (-5.0, 5.0, -2.0, 2.0), ("θ1", "θ2"), "ravine along θ1",
        )
    if name == "rotated":
        # the start of "quadratic" turned with the ravine: 4.5 along it, 1.5 across
        u0, v0 = -4.5, 1.5
        start = (_HALF_ROOT * (u0 - v0), _HALF_ROOT * (u0 + v0))
        return RaceProblem(rotated_quadratic, _rotated_grad, start, (-5.0, 5.0, -5.0, 5.0),
                           ("θ1", "θ2"), "ravine turned 45°")
    if name != "surface":
        raise ValueError(f"problem must be one of {PROBLEMS}, got {name!r}")
    if X is None:
        X, Y = datasets.two_points()
    return RaceProblem(
        lambda w, b: surface.error(w, b, X, Y),
        lambda theta: np.stack([surface.grad_w(theta[..., 0], theta[..., 1], X, Y),
                                surface.grad_b(theta[..., 0], theta[..., 1], X, Y)], axis=-1),
        (-2.0, -2.0), (-6.0, 6.0, -6.0, 6.0), ("w", "b"), "error surface of lesson 03",
    )


def optimizer_path(name, update, theta0, grad, loss, steps: int, eta) -> np.ndarray:
    """Rows (θ1, θ2, L) of `steps` steps of `update` (an optimizer of `UPDATES`) from θ0.

    `update` is called like the function of `nnlib.optim` it stands for, e.g.
    `update(theta, g, m, v, t, eta=eta)` for Adam. eta: one learning rate, or a 1-D array
    of n rates run side by side (θ then has shape (n, 2) and eta is passed as a column
    (n, 1), so an elementwise update runs them all at once; an update that accepts only
    one rate at a time runs them in turn).
    Returns an array (steps + 1, 3) for one rate, (steps + 1, n, 3) for n rates. A path
    that leaves the floats (a rate that diverges) is NaN from there on.
    """
    etas = np.asarray(eta, dtype=np.float64)
    if etas.ndim == 0:
        return _descend(name, update, theta0, grad, loss, steps, float(etas))[:, 0]
    try:
        return _descend(name, update, theta0, grad, loss, steps, etas.reshape(-1, 1))
    except (TypeError, ValueError):  # e.g. float(eta) in a notebook's own update
        return np.stack([_descend(name, update, theta0, grad, loss, steps, float(e))[:, 0]
                         for e in etas], axis=1)


def _descend(name, update, theta0, grad, loss, steps, eta) -> np.ndarray:
    """The paths of `optimizer_path` as rows (steps + 1, n, 3), for eta a float (n = 1) or
    a column (n, 1) of rates."""
    theta = np.tile(np.asarray(theta0, dtype=np.float64), (np.size(eta), 1))
    state = [np.zeros_like(theta) for _ in range(N_STATE[name])]
    thetas = [theta]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(1, steps + 1):
            step_number = (t,) if name == "adam" else ()
            out = update(theta, grad(theta), *state, *step_number, eta=eta)
            theta, state = (out, []) if not state else (out[0], list(out[1:]))
            theta = np.asarray(theta, dtype=np.float64)
            thetas.append(theta)
        thetas = np.stack(thetas)  # (steps + 1, n, 2)
        # one call for the losses of the whole path, the costly part on the error surface
        rows = np.concatenate([thetas, loss(thetas[..., 0], thetas[..., 1])[..., None]], axis=-1)
    gone = np.logical_or.accumulate(~np.all(np.isfinite(rows), axis=-1), axis=0)
    rows[gone] = np.nan
    return rows


def tune_eta(names, problem: str = "surface", steps: int = 200, grid=ETA_GRID, updates=None):
    """For each optimizer of `names`, the rate of `grid` with the lowest loss after `steps`
    steps from the problem's start (the smallest such rate if several tie).

    updates: {name: update function} replacing nnlib's (see `race`).
    Returns (best, losses): best {name: η}, losses {name: array (len(grid),)} of the loss
    after `steps` steps with each rate, inf where the path diverged.
    """
    prob, chosen = race_problem(problem), {**UPDATES, **(updates or {})}
    grid = np.asarray(grid, dtype=np.float64)
    losses = {}
    for name in names:
        final = optimizer_path(name, chosen[name], prob.start, prob.grad, prob.loss, steps,
                               grid)[-1, :, 2]
        losses[name] = np.where(np.isnan(final), np.inf, final)
    return {name: float(grid[np.argmin(loss)]) for name, loss in losses.items()}, losses


def race(names, w0: float, b0: float, steps: int, eta_scale: float = 1.0,
         problem: str = "surface", updates=None, etas=None):
    """Run each optimizer of `names` from (w0, b0) on a problem; return their paths.

    problem: a name of `PROBLEMS`. updates: {name: update function} replacing nnlib's
    (e.g. the notebook's own `momentum_update`). etas: {name: η}, each optimizer's rate;
    by default the `best` of `tune_eta` on this problem. All rates are multiplied by
    eta_scale.
    Returns {name: array (steps + 1, 3)} of rows (θ1, θ2, L), like
    `nnlib.surface.gradient_descent`; NaN rows after a divergence.
    """
    prob, chosen = race_problem(problem), {**UPDATES, **(updates or {})}
    if etas is None:
        etas = tune_eta(names, problem, updates=updates)[0]
    return {
        name: optimizer_path(name, chosen[name], (w0, b0), prob.grad, prob.loss, steps,
                             etas[name] * eta_scale)
        for name in names
    }
