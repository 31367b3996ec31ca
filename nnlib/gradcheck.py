"""Gradient checking: compare backpropagation with central finite differences.

    dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / (2 h)

has an error of order h^2, so with h = 1e-5 in float64 a correct analytic gradient agrees
to a relative error of about 1e-9 or better, and a wrong one is off by far more than 1e-7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = np.finfo(np.float64).tiny


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of a scalar function f at the array x.

    f: maps x (any shape) to a float. x: a float64 ndarray, perturbed in place one entry at a
    time and restored exactly (so f may read x through a closure, e.g. a layer's W).
    Returns dL/dx of x's shape: (f(x + h e_i) - f(x - h e_i)) / (2 h) for every entry i.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            f"x must be a float64 numpy array (it is perturbed in place), got "
            f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}"
        )
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        x_i = x[i]
        x[i] = x_i + h
        f_plus = float(f(x))
        x[i] = x_i - h
        f_minus = float(f(x))
        x[i] = x_i
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def rel_error(a, b):
    """Relative error of two arrays of the same shape, in the max form

        rel_error(a, b) = max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), TINY),

    0 when both are zero. Unlike the elementwise ratio max_i |a_i - b_i| / (|a_i| + |b_i|),
    it is not ruined by entries that are zero in one array and 1e-12 in the other.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), TINY)
    return float(np.max(np.abs(a - b))) / scale


@dataclass
class GradCheckRow:
    """The check of one parameter array: its name, shape, relative error and verdict."""

    name: str
    shape: tuple
    rel_error: float
    passed: bool
    cause: str = ""


@dataclass
class GradCheckReport:
    """Per-parameter results of `check_gradients`; `passed` is True when every row passed."""

    rows: list
    tol: float

    @property
    def passed(self):
        """True when every parameter's relative error is below the tolerance."""
        return all(row.passed for row in self.rows)

    def __getitem__(self, name):
        """The row of the parameter called `name` ("W1", "b1", ...)."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __str__(self):
        header = f"{'parameter':<10} {'shape':<14} {'rel. error':>10}  result"
        lines = [header, "-" * len(header)]
        for row in self.rows:
            verdict = "ok" if row.passed else f"FAIL: {row.cause}"
            lines.append(f"{row.name:<10} {str(row.shape):<14} {row.rel_error:>10.2e}  {verdict}")
        summary = "all gradients agree" if self.passed else "some gradients are wrong"
        lines.append(f"{summary} (tolerance {self.tol:g})")
        return "\n".join(lines)


def _likely_cause(analytic, numeric, name, tol):
    """Name the usual bug that explains the analytic gradient, from the numerical one."""
    if analytic.T.shape == numeric.shape and rel_error(analytic.T, numeric) < tol:
        return f"transposed gradient: d{name}.T matches, use delta.T @ A_prev"
    if analytic.shape != numeric.shape:
        return f"shape {analytic.shape} but the parameter has shape {numeric.shape}"
    if not np.any(analytic) and np.any(numeric):
        what = "bias" if name.startswith("b") else "parameter"
        return f"the {what} gradient is all zeros: was d{name} forgotten?"
    c = float(np.vdot(analytic, numeric) / max(float(np.vdot(numeric, numeric)), TINY))
    if rel_error(analytic, c * numeric) < tol:
        if abs(c + 1.0) < 1e-6:
            return "the sign is flipped: (y_hat - y) and (y - y_hat) swapped?"
        if abs(c) > 1.0:
            return f"analytic = {c:.4g} x numerical: a missing 1/N (is the batch size {c:.4g}?)"
        return f"analytic = {c:.4g} x numerical: an extra 1/N (is the batch size {1 / c:.4g}?)"
    return (
        "likely a wrong activation derivative (not a transpose, a constant factor or a zero "
        "bias gradient): f' must be taken at Z, not at A, and multiply dA elementwise"
    )


def check_gradients(params, grads, loss_fn, h=1e-5, tol=1e-7):
    """Compare analytic gradients with `numerical_gradient`, one parameter array at a time.

    params: [(W1, b1), ..., (WL, bL)] float64 arrays, perturbed in place and restored;
    grads: [(dW1, db1), ...] the analytic gradients to check; loss_fn(): the loss as a
    float, computed from the current values in params. Returns a `GradCheckReport` with one
    row per array (named W1, b1, W2, ...): its relative error (see `rel_error`), whether it
    is below `tol`, and on failure the likely cause (transposed gradient, missing 1/N,
    forgotten bias gradient, wrong activation derivative).
    """
    if len(grads) != len(params):
        raise ValueError(f"grads has {len(grads)} layers but params has {len(params)}")
    rows = []
    for l, (layer, layer_grads) in enumerate(zip(params, grads, strict=True), start=1):
        for symbol, p, g in zip("Wb", layer, layer_grads, strict=True):
            name = f"{symbol}{l}"
            numeric = numerical_gradient(lambda _: loss_fn(), p, h)
            analytic = np.zeros_like(p) if g is None else np.asarray(g, dtype=np.float64)
            if analytic.shape == p.shape:
                err = rel_error(analytic, numeric)
            else:
                err = float("inf")
            passed = err < tol
            cause = "" if passed else _likely_cause(analytic, numeric, name, tol)
            rows.append(GradCheckRow(name, p.shape, err, passed, cause))
    return GradCheckReport(rows, tol)
