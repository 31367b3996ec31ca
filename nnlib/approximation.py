"""Universal approximation by hand: a one-hidden-layer network built, not trained.

A sigmoid unit with a large weight is a step: sigma(s (x - t)) is about 0 left of t and
about 1 right of it, with the jump at t = -b / w. A sum of steps is a staircase, and a
staircase follows any continuous f on [low, high] as closely as we like once its pieces
are narrow enough (Nielsen, *Neural Networks and Deep Learning*, chapter 4).

The network has one input, n_hidden sigmoid units and one linear output:

    y_hat(x) = W2 sigma(W1 x + b1) + b2,   W1 (n_hidden, 1), b1 (n_hidden,),
                                          W2 (1, n_hidden), b2 (1,)

and is given as params = [(W1, b1), (W2, b2)], the course's list of (W, b) pairs.
"""

from __future__ import annotations

import numpy as np

from nnlib.network import forward

# The sigmoid steps rise over about 1/STEEPNESS of a piece: at a quarter piece from the
# jump a unit is within exp(-STEEPNESS / 4) ~ 1e-11 of 0 or 1.
STEEPNESS = 100.0
# The grader measures the error of `approximate` on this many evenly spaced points.
GRID_POINTS = 5001
MAX_HIDDEN = 2000


def one_hidden_layer(x, params):
    """y_hat(x) = W2 sigma(W1 x + b1) + b2 for the 1 -> n_hidden -> 1 network `params`.

    x: array of any shape (each entry one input); params: [(W1, b1), (W2, b2)] with
    W1 (n_hidden, 1), b1 (n_hidden,), W2 (1, n_hidden), b2 (1,). Returns y_hat, x's shape.
    ValueError names a part of params that is not of that shape.
    """
    if len(params) != 2:
        raise ValueError(f"params must be [(W1, b1), (W2, b2)], one hidden layer; got "
                         f"{len(params)} layers")
    (W1, b1), (W2, b2) = ((np.asarray(W, float), np.asarray(b, float)) for W, b in params)
    n_hidden = W1.shape[0] if W1.ndim == 2 else -1
    expected = {"W1": ((n_hidden, 1), W1), "b1": ((n_hidden,), b1),
                "W2": ((1, n_hidden), W2), "b2": ((1,), b2)}
    for name, (shape, value) in expected.items():
        if n_hidden < 1 or value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}; a network 1 -> n_hidden -> 1 "
                             f"has W1 (n_hidden, 1), b1 (n_hidden,), W2 (1, n_hidden), b2 (1,)")
    x = np.asarray(x, float)
    y_hat, _ = forward(x.reshape(-1, 1), [(W1, b1), (W2, b2)], ["sigmoid", "linear"])
    return y_hat.reshape(x.shape)


def staircase(f, low, high, n):
    """The network whose output is a staircase through f: n - 1 sigmoid steps.

    [low, high] is cut into n pieces of width h = (high - low) / n; on piece i the output
    is f(c_i) at its midpoint c_i = low + (i + 1/2) h. So b2 = f(c_0), and unit i = 1..n-1
    jumps by f(c_i) - f(c_(i-1)) at t_i = low + i h: W1 = s, b1 = -s t_i with the steep
    s = STEEPNESS / h. f maps an array to an array of its shape. Returns [(W1, b1), (W2, b2)].
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an int >= 2 (pieces), got {n!r}")
    if not low < high:
        raise ValueError(f"low must be below high, got low={low}, high={high}")
    n = int(n)
    h = (high - low) / n
    levels = np.asarray(f(low + (np.arange(n) + 0.5) * h), dtype=float)
    knots = low + np.arange(1, n) * h
    s = STEEPNESS / h
    return [(np.full((n - 1, 1), s), -s * knots),
            (np.diff(levels).reshape(1, n - 1), levels[:1].copy())]


def max_error(f, low, high, params, num=GRID_POINTS):
    """max |y_hat(x) - f(x)| over `num` evenly spaced x in [low, high], ends included."""
    x = np.linspace(low, high, num)
    return float(np.max(np.abs(one_hidden_layer(x, params) - f(x))))


def approximate(f, low, high, eps):
    """A network with max |y_hat - f| <= eps on [low, high] (on GRID_POINTS points).

    The staircase with 2, 4, ..., 1024 pieces until its error is at most eps / 2 (a margin,
    so that the error between the grid points stays below eps too). Returns
    [(W1, b1), (W2, b2)]; ValueError if 1024 pieces do not suffice.
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    for n in 2 ** np.arange(1, 11):
        params = staircase(f, low, high, n)
        if max_error(f, low, high, params) <= eps / 2:
            return params
    raise ValueError(f"no staircase of up to {n} pieces is within eps={eps} of f "
                     f"on [{low}, {high}]")
