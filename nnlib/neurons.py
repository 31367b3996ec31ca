"""Single neurons: the McCulloch–Pitts unit, the perceptron and the sigmoid neuron.

Inputs follow the batch convention: `X` has shape `(m, n)`, one sample per row, and a
1-D `X` of shape `(n,)` is one sample. Outputs then have shape `(m,)`, or `()` for one
sample.
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import as_array, as_rng
from nnlib.activations import sigmoid, step


def _as_binary(x, name: str, ndim) -> np.ndarray:
    """Return `x` as an int array of 0s and 1s; ValueError naming `name` otherwise."""
    arr = as_array(x, name, ndim=ndim)
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(arr)[:6]}")
    return arr.astype(int)


def _as_scalar(x, name: str) -> float:
    arr = as_array(x, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def _inhibitory_mask(inhibitory, n: int) -> np.ndarray:
    """Turn None, column indices or a boolean mask into a boolean mask of shape (n,)."""
    if inhibitory is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(inhibitory if isinstance(inhibitory, np.ndarray) else list(inhibitory))
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(
                f"inhibitory as a boolean mask must have shape ({n},) to match X, got {arr.shape}"
            )
        return arr
    if arr.size == 0:
        return np.zeros(n, dtype=bool)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"inhibitory must be column indices (1-D ints) or a boolean mask, "
            f"got dtype {arr.dtype} and shape {arr.shape}"
        )
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(f"inhibitory indices must lie in 0..{n - 1} for X with {n} columns")
    mask = np.zeros(n, dtype=bool)
    mask[arr] = True
    return mask


def mp_neuron(X, theta, inhibitory=None) -> np.ndarray:
    """McCulloch–Pitts unit: y = 1 if g(x) = sum_i x_i >= theta and no inhibitory x_i is on.

    X: (m, n) or (n,) of 0/1. theta: the threshold. inhibitory: column indices or a
    boolean mask of shape (n,); one inhibitory input on forces y = 0.
    Returns ints of shape (m,) (or () for one sample).
    """
    X = _as_binary(X, "X", ndim=(1, 2))
    theta = _as_scalar(theta, "theta")
    mask = _inhibitory_mask(inhibitory, X.shape[-1])
    fires = X.sum(axis=-1) >= theta
    fires = fires & ~X[..., mask].any(axis=-1)
    return np.asarray(fires, dtype=int)


def _affine(X, w, b) -> np.ndarray:
    """z = X @ w + b, the w0 + sum_i w_i x_i of the slides (b = w0 = -theta)."""
    X = as_array(X, "X", ndim=(1, 2))
    w = as_array(w, "w", ndim=1)
    if X.shape[-1] != w.shape[0]:
        raise ValueError(f"X has {X.shape[-1]} columns but w has shape {w.shape}; X is {X.shape}")
    return X @ w + _as_scalar(b, "b")


def perceptron_predict(X, w, b) -> np.ndarray:
    """Perceptron: y = 1 if w . x + b >= 0 else 0, with b = w0 = -theta.

    X: (m, n) or (n,); w: (n,); b: scalar. Returns ints of shape (m,) (or ()).
    """
    return step(_affine(X, w, b)).astype(int)


def sigmoid_neuron(X, w, b) -> np.ndarray:
    """Sigmoid neuron: y = sigma(w . x + b) = 1 / (1 + e^-(w . x + b)).

    X: (m, n) or (n,); w: (n,); b: scalar. Returns floats of shape (m,) (or ()).
    """
    return sigmoid(_affine(X, w, b))


def _rule(x, y, w, b, lr):
    """One perceptron update w += lr (y - y_hat) x, b += lr (y - y_hat); also y != y_hat."""
    y_hat = int(step(x @ w + b))
    err = y - y_hat
    return w + lr * err * x, b + lr * err, err != 0


def _training_args(X, y, w, b):
    X = as_array(X, "X", ndim=(1, 2))
    y = _as_binary(y, "y", ndim=(0, 1))
    if X.shape[:-1] != y.shape:
        raise ValueError(f"y must have shape {X.shape[:-1]} to match X {X.shape}, got {y.shape}")
    w = np.zeros(X.shape[-1]) if w is None else as_array(w, "w", ndim=1)
    if w.shape != X.shape[-1:]:
        raise ValueError(f"w must have shape {X.shape[-1:]} to match X {X.shape}, got {w.shape}")
    return X, y, w, _as_scalar(b, "b")


def perceptron_step(x, y, w, b, lr=1.0):
    """One application of the perceptron learning rule to the sample (x, y).

    y_hat = 1 if w . x + b >= 0 else 0; w <- w + lr (y - y_hat) x; b <- b + lr (y - y_hat).
    x: (n,); y: 0 or 1; w: (n,); b: scalar. Returns new `(w, b)`; the inputs are not changed.
    """
    x, y, w, b = _training_args(x, y, w, b)
    if x.ndim != 1:
        raise ValueError(f"x must be one sample of shape (n,), got {x.shape}")
    w, b, _ = _rule(x, int(y), w, b, _as_scalar(lr, "lr"))
    return w, b


def perceptron_fit(X, y, lr=1.0, epochs=100, w=None, b=0.0, rng=None):
    """Train a perceptron with the learning rule w += lr (y - y_hat) x, b += lr (y - y_hat).

    Each epoch visits every sample once and updates after each one. With `rng` given the
    order is a fresh permutation drawn from it every epoch; with `rng=None` the samples are
    visited in the order of the rows of X. Training stops after the first epoch with no
    error (the perceptron convergence theorem guarantees one when the data are linearly
    separable) or after `epochs` epochs.

    X: (m, n); y: (m,) of 0/1; w: initial weights (n,), zeros by default; b: initial bias.
    Returns `(w, b, errors_per_epoch)`: w (n,), b a float, and a list with the number of
    misclassified samples in each epoch run; its last entry is 0 iff training converged.
    """
    X, y, w, b = _training_args(X, y, w, b)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (m, n), got shape {X.shape}")
    lr = _as_scalar(lr, "lr")
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    gen = None if rng is None else as_rng(rng)
    errors_per_epoch = []
    for _ in range(int(epochs)):
        order = np.arange(len(y)) if gen is None else gen.permutation(len(y))
        errors = 0
        for i in order:
            w, b, wrong = _rule(X[i], int(y[i]), w, b, lr)
            errors += int(wrong)
        errors_per_epoch.append(errors)
        if errors == 0:
            break
    return w, b, errors_per_epoch
