"""The error surface of one sigmoid neuron f(x) = sigma(w x + b) fitted to points (X, Y).

Every function broadcasts over array-valued `w` and `b`: the result has the broadcast
shape of `w` and `b`, so a meshgrid of (w, b) values gives the whole surface in one call.
`X` and `Y` are the data, two 1-D arrays of the same shape (N,).
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import as_array, as_rng, same_shape
from nnlib.activations import sigmoid


def _data(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X = as_array(X, "X", ndim=1)
    Y = as_array(Y, "Y", ndim=1)
    same_shape(X, Y, "X", "Y")
    return X, Y


# Points of the (w, b) grid evaluated together: each temporary of a block, about
# _BLOCK * N floats, then stays in the CPU cache. On a 501 x 501 grid this is about five
# times faster than one pass over the whole grid, which streams every temporary to memory.
_BLOCK = 1 << 15


def _count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _interval(low, high) -> None:
    if not low < high:
        raise ValueError(f"low must be less than high, got low={low}, high={high}")


def _forward(w, b, X, Y):
    """f(x_i) and the residuals f(x_i) - y_i for every point and every (w, b).

    Returns (f, r, x): f and r of shape (N, *broadcast(w, b)), x the data reshaped to
    broadcast against them. The data axis comes first so that each point's plane is
    contiguous; elementwise work on a short trailing axis is several times slower.
    """
    column = (-1,) + (1,) * np.ndim(w)
    x = X.reshape(column)
    f = sigmoid(x * w + b)
    return f, f - Y.reshape(column), x


def _half_sse(f, r, x) -> np.ndarray:
    return 0.5 * np.einsum("i...,i...->...", r, r)


def _deltas(f, r) -> np.ndarray:
    """dL/dz_i = (f(x_i) - y_i) f(x_i) (1 - f(x_i)) for each point."""
    return r * f * (1.0 - f)


def _sum_dw(f, r, x) -> np.ndarray:
    return np.sum(_deltas(f, r) * x, axis=0)


def _sum_db(f, r, x) -> np.ndarray:
    return np.sum(_deltas(f, r), axis=0)


def _over_grid(reduce, w, b, X, Y):
    """reduce(*_forward(...)) for every (w, b), computed in blocks of rows of the grid.

    Returns a float for scalar w and b, else an array of their broadcast shape.
    """
    w = as_array(w, "w")
    b = as_array(b, "b")
    try:
        shape = np.broadcast_shapes(w.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"w and b must broadcast together, got shapes {w.shape} and {b.shape}"
        ) from None
    X, Y = _data(X, Y)
    if shape == ():
        return float(reduce(*_forward(w, b, X, Y)))
    w = np.broadcast_to(w, shape)
    b = np.broadcast_to(b, shape)
    out = np.empty(shape)
    rows = max(1, _BLOCK // max(1, len(X) * int(np.prod(shape[1:]))))
    for i in range(0, shape[0], rows):
        out[i : i + rows] = reduce(*_forward(w[i : i + rows], b[i : i + rows], X, Y))
    return out


def error(w, b, X, Y):
    """L(w, b) = 1/2 sum_i (f(x_i) - y_i)^2 with f(x) = sigma(w x + b).

    w, b: scalars or arrays that broadcast together; X, Y: (N,). Returns a float for scalar
    w and b, else an array of their broadcast shape.
    """
    return _over_grid(_half_sse, w, b, X, Y)


def grad_w(w, b, X, Y):
    """dL/dw = sum_i (f(x_i) - y_i) f(x_i) (1 - f(x_i)) x_i. Shapes as in `error`."""
    return _over_grid(_sum_dw, w, b, X, Y)


def grad_b(w, b, X, Y):
    """dL/db = sum_i (f(x_i) - y_i) f(x_i) (1 - f(x_i)). Shapes as in `error`."""
    return _over_grid(_sum_db, w, b, X, Y)


def gradient_descent(X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000) -> np.ndarray:
    """Full-batch gradient descent on L(w, b) from (w0, b0):

        w <- w - eta dL/dw,  b <- b - eta dL/db   (gradients summed over all points).

    Returns the trajectory, shape (epochs + 1, 3): row t holds (w, b, L(w, b)) after t
    updates, so row 0 is the start and the last row the end point.
    """
    X, Y = _data(X, Y)
    epochs = _count(epochs, "epochs", 0)
    w, b, eta = float(w0), float(b0), float(eta)
    trajectory = np.empty((epochs + 1, 3))
    for t in range(epochs + 1):
        terms = _forward(w, b, X, Y)
        trajectory[t] = w, b, _half_sse(*terms)
        w, b = w - eta * float(_sum_dw(*terms)), b - eta * float(_sum_db(*terms))
    return trajectory


def random_search(X, Y, n_samples, low=-6.0, high=6.0, rng=None):
    """Guess-work made systematic: draw n_samples pairs (w, b) uniformly from
    [low, high)^2 and keep the one with the smallest L(w, b).

    Returns `(w, b, error)` of the best pair, three floats.
    """
    X, Y = _data(X, Y)
    n_samples = _count(n_samples, "n_samples", 1)
    _interval(low, high)
    gen = as_rng(rng)
    w = gen.uniform(low, high, n_samples)
    b = gen.uniform(low, high, n_samples)
    E = error(w, b, X, Y)
    k = int(np.argmin(E))
    return float(w[k]), float(b[k]), float(E[k])


def error_surface(X, Y, low=-6.0, high=6.0, num=201):
    """L(w, b) on a num x num grid of w and b, each from low to high.

    Returns `(W, B, E)`, three arrays of shape (num, num) as from np.meshgrid: W varies
    along the columns, B along the rows, and E[i, j] = L(W[i, j], B[i, j]).
    """
    num = _count(num, "num", 2)
    _interval(low, high)
    axis = np.linspace(low, high, num)
    W, B = np.meshgrid(axis, axis)
    return W, B, error(axis[None, :], axis[:, None], X, Y)
