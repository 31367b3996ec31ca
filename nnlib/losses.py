"""Loss functions L(y, y_hat) and their gradients dL/dy_hat.

Argument order is always (y, y_hat): the targets first, the network's output second, both
of the same shape. A loss returns a Python float; its gradient `<name>_grad(y, y_hat)` is
an array of y_hat's shape.

Samples are in rows. For the elementwise losses N is the number of rows (a 1-D array holds
N samples of one output each) and a loss is the mean over samples of the sum over outputs,
e.g. mse = (1/N) sum_i sum_j (y_ij - y_hat_ij)^2. For the classification losses (`cce`,
`softmax_cross_entropy`) classes run along the last axis, so a 1-D array is one sample.
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import as_array, same_shape
from nnlib.activations import sigmoid, softmax

EPS = 1e-12
"""Probabilities are clipped to [EPS, 1 - EPS] in `bce` (and to >= EPS in `cce`), so the
loss stays finite at p = 0 or 1: -ln(EPS) is about 27.6."""


def _pair(y, y_hat, name_hat="y_hat"):
    y = as_array(y, "y")
    y_hat = as_array(y_hat, name_hat)
    same_shape(y, y_hat, "y", name_hat)
    return y, y_hat


def _n_rows(y):
    """N for the elementwise losses: the number of rows (1 for a scalar)."""
    return y.shape[0] if y.ndim else 1


def _n_distributions(y):
    """N for the classification losses: every axis but the last (the classes) is a sample."""
    return max(int(np.prod(y.shape[:-1])), 1)


def half_sse(y, y_hat):
    """Half the sum of squared errors: L = 1/2 sum (y - y_hat)^2 (no division by N)."""
    y, y_hat = _pair(y, y_hat)
    r = y - y_hat
    return 0.5 * float(np.vdot(r, r))


def half_sse_grad(y, y_hat):
    """dL/dy_hat = y_hat - y, y_hat's shape."""
    y, y_hat = _pair(y, y_hat)
    return y_hat - y


def mse(y, y_hat):
    """Mean squared error: L = (1/N) sum_i sum_j (y_ij - y_hat_ij)^2, N = number of rows."""
    y, y_hat = _pair(y, y_hat)
    r = y - y_hat
    return float(np.vdot(r, r)) / _n_rows(y)


def mse_grad(y, y_hat):
    """dL/dy_hat = 2 (y_hat - y) / N, y_hat's shape."""
    y, y_hat = _pair(y, y_hat)
    return (2.0 / _n_rows(y)) * (y_hat - y)


def mae(y, y_hat):
    """Mean absolute error: L = (1/N) sum_i sum_j |y_ij - y_hat_ij|."""
    y, y_hat = _pair(y, y_hat)
    return float(np.abs(y - y_hat).sum()) / _n_rows(y)


def mae_grad(y, y_hat):
    """dL/dy_hat = sign(y_hat - y) / N (0 where y_hat == y), y_hat's shape."""
    y, y_hat = _pair(y, y_hat)
    return np.sign(y_hat - y) / _n_rows(y)


def rmse(y, y_hat):
    """Root mean squared error: L = sqrt(mse(y, y_hat))."""
    return float(np.sqrt(mse(y, y_hat)))


def rmse_grad(y, y_hat):
    """dL/dy_hat = (y_hat - y) / (N L), y_hat's shape; 0 when L == 0 (a subgradient)."""
    y, y_hat = _pair(y, y_hat)
    L = rmse(y, y_hat)
    if L == 0.0:
        return np.zeros_like(y_hat)
    return (y_hat - y) / (_n_rows(y) * L)


def huber(y, y_hat, delta=1.0):
    """Huber loss, with r = y_hat - y, mean over samples of the sum over outputs of
    1/2 r^2 where |r| <= delta and delta (|r| - delta / 2) elsewhere."""
    y, y_hat = _pair(y, y_hat)
    a = np.abs(y_hat - y)
    per_element = np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))
    return float(per_element.sum()) / _n_rows(y)


def huber_grad(y, y_hat, delta=1.0):
    """dL/dy_hat = clip(y_hat - y, -delta, delta) / N, y_hat's shape."""
    y, y_hat = _pair(y, y_hat)
    return np.clip(y_hat - y, -delta, delta) / _n_rows(y)


def bce(y, p):
    """Binary cross-entropy: L = -(1/N) sum_i sum_j [y ln p + (1 - y) ln(1 - p)].

    y in {0, 1} (or [0, 1]); p the predicted probabilities, clipped to [EPS, 1 - EPS].
    """
    y, p = _pair(y, p, "p")
    p = np.clip(p, EPS, 1.0 - EPS)
    total = np.vdot(y, np.log(p)) + np.vdot(1.0 - y, np.log1p(-p))
    return -float(total) / _n_rows(y)


def bce_grad(y, p):
    """dL/dp = (1/N) [(1 - y) / (1 - p) - y / p] with p clipped as in `bce`; p's shape."""
    y, p = _pair(y, p, "p")
    p = np.clip(p, EPS, 1.0 - EPS)
    return ((1.0 - y) / (1.0 - p) - y / p) / _n_rows(y)


def cce(y, p):
    """Categorical cross-entropy: L = -(1/N) sum_i sum_k y_ik ln p_ik.

    y one-hot (or rows of probabilities) and p rows of predicted probabilities, classes on
    the last axis, (N, K); p is clipped below at EPS.
    """
    y, p = _pair(y, p, "p")
    return -float(np.vdot(y, np.log(np.maximum(p, EPS)))) / _n_distributions(y)


def cce_grad(y, p):
    """dL/dp = -y / (N p) with p clipped as in `cce`; p's shape."""
    y, p = _pair(y, p, "p")
    return -y / (_n_distributions(y) * np.maximum(p, EPS))


def _log_softmax(logits):
    """ln softmax(z) = z - ln sum_k e^(z_k), with the max subtracted before exponentiating."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted


def softmax_cross_entropy(y, logits):
    """Cross-entropy of softmax(logits) against y, from the logits:
    L = -(1/N) sum_i sum_k y_ik (z_ik - ln sum_k' e^(z_ik')).

    y one-hot (or rows of probabilities summing to 1), logits z, both (N, K).
    """
    y, logits = _pair(y, logits, "logits")
    return -float(np.vdot(y, _log_softmax(logits))) / _n_distributions(y)


def softmax_cross_entropy_grad(y, logits):
    """dL/dz = (softmax(z) - y) / N, logits' shape (each row of y must sum to 1)."""
    y, logits = _pair(y, logits, "logits")
    grad = softmax(logits)
    grad -= y
    grad /= _n_distributions(y)
    return grad


OUTPUT_PAIRS = {
    "regression": ("linear", "mse"),
    "binary": ("sigmoid", "bce"),
    "multiclass": ("softmax", "cce"),
}


def output_gradient(y, z, task):
    """dL/dZ at the output pre-activation Z for the activation and loss that suit `task`
    (OUTPUT_PAIRS): "regression" linear + MSE gives 2 (Z - Y) / N, "binary" sigmoid + BCE
    gives (sigma(Z) - Y) / N, "multiclass" softmax + CCE gives (softmax(Z) - Y) / N.

    y targets (real, 0/1, or one-hot rows) and z, both (N, K); returns (N, K).
    """
    if task not in OUTPUT_PAIRS:
        raise ValueError(f"task must be one of {tuple(OUTPUT_PAIRS)}, got {task!r}")
    y, z = _pair(y, z, "z")
    if task == "regression":
        return mse_grad(y, z)
    a = sigmoid(z) if task == "binary" else softmax(z)
    return (a - y) / _n_rows(y)


LOSSES = {
    "half_sse": (half_sse, half_sse_grad),
    "mse": (mse, mse_grad),
    "mae": (mae, mae_grad),
    "rmse": (rmse, rmse_grad),
    "huber": (huber, huber_grad),
    "bce": (bce, bce_grad),
    "cce": (cce, cce_grad),
    "softmax_cross_entropy": (softmax_cross_entropy, softmax_cross_entropy_grad),
}
