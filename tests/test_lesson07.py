"""The checks of lesson 07 fail wrong losses and pass right ones however written.

Every graded function meets at least two wrong variants that must fail and one correct
variant written differently from nnlib that must pass the public and the hidden checks.
The cross-entropies are also tried with the clipping constants students really use
(Keras's 1e-7, 1e-12, scikit-learn's 1e-15, machine epsilon, PyTorch's log clamp at -100):
all must pass; an unclipped version (nan, inf, warnings) must fail.
"""

import numpy as np
import pytest
from checking import fails, passes

from autograder.check import SEED_ENV

SEEDS = ["20240607", "7", "99"]


@pytest.fixture(params=SEEDS)
def seed(request, monkeypatch):
    monkeypatch.setenv(SEED_ENV, request.param)
    return request.param


def _arr(x):
    return np.asarray(x, dtype=float)


def _n(y):
    return _arr(y).shape[0]


# ---- correct variants, written unlike nnlib ----------------------------------------------


def mse_rows(y, y_hat):
    r = (_arr(y) - _arr(y_hat)).reshape(_n(y), -1)
    return float(np.mean(np.einsum("ij,ij->i", r, r)))


def mse_grad_loop(y, y_hat):
    out = np.empty_like(_arr(y_hat))
    for i in np.ndindex(out.shape):
        out[i] = 2.0 * (y_hat[i] - y[i]) / len(y)
    return out


def mae_rows(y, y_hat):
    return float(np.abs(_arr(y_hat) - _arr(y)).reshape(_n(y), -1).sum(axis=1).mean())


def mae_grad_where(y, y_hat):
    r = _arr(y_hat) - _arr(y)
    return (np.where(r > 0, 1.0, 0.0) - np.where(r < 0, 1.0, 0.0)) / _n(y)


def huber_min_form(y, y_hat, delta=1.0):
    """Huber as 1/2 q^2 + delta (|r| - q) with q = min(|r|, delta)."""
    a = np.abs(_arr(y) - _arr(y_hat))
    q = np.minimum(a, delta)
    return float(np.sum(0.5 * q ** 2 + delta * (a - q))) / _n(y)


def huber_grad_where(y, y_hat, delta=1.0):
    r = _arr(y_hat) - _arr(y)
    return np.where(np.abs(r) <= delta, r, delta * np.sign(r)) / _n(y)


def bce_clipped(eps):
    def bce(y, p):
        y, p = _arr(y), np.clip(_arr(p), eps, 1 - eps)
        return float(-np.mean(np.sum((y * np.log(p) + (1 - y) * np.log(1 - p)).reshape(
            len(y), -1), axis=1)))
    return bce


def bce_log_clamp(y, p):
    """PyTorch's convention: each log clamped at -100."""
    y, p = _arr(y), _arr(p)
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_q = np.maximum(np.log1p(-p), -100.0)
    return float(-np.sum(y * log_p + (1 - y) * log_q)) / len(y)


def bce_grad_clipped(eps):
    def bce_grad(y, p):
        y, p = _arr(y), np.clip(_arr(p), eps, 1 - eps)
        return (p - y) / (p * (1 - p)) / len(y)
    return bce_grad


def cce_clipped(eps):
    def cce(y, p):
        y, p = _arr(y), _arr(p)
        true_p = np.sum(y * p, axis=-1)  # one-hot y picks the true class
        return float(-np.mean(np.log(np.clip(true_p, eps, 1.0))))
    return cce


def cce_grad_clipped(eps):
    def cce_grad(y, p):
        y, p = _arr(y), np.clip(_arr(p), eps, 1 - eps)
        return -np.divide(y, p) / y.shape[0]
    return cce_grad


CORRECT = {
    "mse": mse_rows,
    "mse_grad": mse_grad_loop,
    "mae": mae_rows,
    "mae_grad": mae_grad_where,
    "huber": huber_min_form,
    "huber_grad": huber_grad_where,
    "bce": bce_clipped(1e-15),
    "bce_grad": bce_grad_clipped(1e-15),
    "cce": cce_clipped(1e-15),
    "cce_grad": cce_grad_clipped(1e-15),
}


# Right answers that rely on what the text promises (arrays, so `y.shape[0]`, `p.clip` and
# `(y_hat - y).clip` work without np.asarray); test_case_contracts.py runs them.


def typed_huber(y, y_hat, delta=1.0):
    r = abs(y_hat - y)
    return float(np.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta)).sum()
                 / y.shape[0])


def typed_bce(y, p):
    p = p.clip(1e-12, 1.0 - 1e-12)
    return float(-(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)).sum() / y.shape[0])


def typed_bce_grad(y, p):
    p = p.clip(1e-12, 1.0 - 1e-12)
    return ((1.0 - y) / (1.0 - p) - y / p) / y.shape[0]


TYPED = {
    "mse": lambda y, y_hat: float(((y - y_hat) ** 2).sum() / y.shape[0]),
    "mse_grad": lambda y, y_hat: 2.0 * (y_hat - y) / y.shape[0],
    "mae": lambda y, y_hat: float(abs(y - y_hat).sum() / y.shape[0]),
    "mae_grad": lambda y, y_hat: np.sign(y_hat - y) / y.shape[0],
    "huber": typed_huber,
    "huber_grad": lambda y, y_hat, delta=1.0: (y_hat - y).clip(-delta, delta) / y.shape[0],
    "bce": typed_bce,
    "bce_grad": typed_bce_grad,
    "cce": lambda y, p: float(-(y * np.log(p.clip(1e-12, None))).sum() / y.shape[0]),
    "cce_grad": lambda y, p: -y / p.clip(1e-12, None) / y.shape[0],
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_a_correct_variant_passes(name, seed):
    passes(name, CORRECT[name])


BINARY = [("bce", bce_clipped), ("bce_grad", bce_grad_clipped)]
CATEGORICAL = [("cce", cce_clipped), ("cce_grad", cce_grad_clipped)]
EPSILONS = [1e-7, 1e-10, 1e-12, 1e-15, float(np.finfo(float).eps)]


@pytest.mark.parametrize("eps", EPSILONS)
@pytest.mark.parametrize("name, make", BINARY + CATEGORICAL)
def test_every_usual_clipping_constant_passes(name, make, eps, seed):
    passes(name, make(eps))


@pytest.mark.parametrize("name, make", CATEGORICAL)
def test_cce_needs_no_upper_clip_so_a_tiny_eps_passes(name, make, seed):
    passes(name, make(1e-300))


def test_additive_epsilon_and_the_log_clamp_pass(seed):
    passes("bce", bce_log_clamp)
    passes("cce", lambda y, p: float(-np.sum(_arr(y) * np.log(_arr(p) + 1e-12))) / len(y))
    passes("cce_grad", lambda y, p: -_arr(y) / (_arr(p) + 1e-13) / len(y))


# ---- wrong variants ----------------------------------------------------------------------


def _unclipped_bce(y, p):
    y, p = _arr(y), _arr(p)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))) / len(y)


WRONG = {
    "mse": [(lambda y, y_hat: float(np.sum((_arr(y) - y_hat) ** 2)), "divide by N"),
            (lambda y, y_hat: float(np.mean((_arr(y) - y_hat) ** 2)), "every element")],
    "mse_grad": [(lambda y, y_hat: 2 * (_arr(y) - y_hat) / len(y), "sign is flipped"),
                 (lambda y, y_hat: 2 * (_arr(y_hat) - y), "1/N is missing")],
    "mae": [(lambda y, y_hat: float(np.sum(np.abs(_arr(y) - y_hat))), "divide by N"),
            (lambda y, y_hat: float(np.mean(np.abs(_arr(y) - y_hat))), "every element")],
    "mae_grad": [(lambda y, y_hat: np.where(_arr(y_hat) > y, 1.0, -1.0) / len(y),
                  "where y_hat == y"),
                 (lambda y, y_hat: np.sign(_arr(y) - y_hat) / len(y), "sign is flipped")],
    "huber": [(lambda y, y_hat, delta=1.0: float(np.sum(np.where(
        np.abs(_arr(y) - y_hat) <= delta, (_arr(y) - y_hat) ** 2,
        delta * (np.abs(_arr(y) - y_hat) - delta / 2)))) / len(y), "lacks the 1/2"),
              (lambda y, y_hat, delta=1.0: float(np.sum(np.where(
                  np.abs(_arr(y) - y_hat) > delta, 0.5 * (_arr(y) - y_hat) ** 2,
                  delta * (np.abs(_arr(y) - y_hat) - delta / 2)))) / len(y), "swapped")],
    "huber_grad": [(lambda y, y_hat, delta=1.0: np.clip(_arr(y_hat) - y, -1, 1) / len(y),
                    "delta"),
                   (lambda y, y_hat, delta=1.0: np.clip(_arr(y_hat) - y, -delta, delta),
                    "1/N is missing")],
    "bce": [(_unclipped_bce, ""),
            (lambda y, p: bce_clipped(1e-12)(p, y), "swapped"),
            (bce_clipped(1e-3), "")],
    "bce_grad": [(lambda y, p: (_arr(y) - p) / (_arr(p) * (1 - _arr(p))) / len(y), ""),
                 (lambda y, p: (_arr(p) - y) / len(y), "sigmoid's input z")],
    "cce": [(lambda y, p: float(np.mean(-np.sum(_arr(y) * np.log(
        np.clip(p, 1e-12, 1)), axis=0))), "averages over the classes"),
            (lambda y, p: float(-np.sum(_arr(y) * np.log(p))) / len(y), "")],
    "cce_grad": [(lambda y, p: (_arr(p) - y) / len(y), "with respect to the logits"),
                 (lambda y, p: -_arr(y) / _arr(p) / len(y), "")],
}


@pytest.mark.parametrize("name, index", [(n, i) for n in sorted(WRONG)
                                         for i in range(len(WRONG[n]))])
def test_a_wrong_variant_fails(name, index):
    wrong, cause = WRONG[name][index]
    assert cause in fails(name, wrong)


@pytest.mark.parametrize("name, make", BINARY)
def test_bce_with_an_eps_below_machine_precision_fails(name, make):
    # 1 - 1e-17 == 1.0, so ln(1 - p) or 1/(1 - p) is infinite at p = 1
    assert "is nan" in fails(name, make(1e-17)) or "is inf" in fails(name, make(1e-17))


@pytest.mark.parametrize("name, make", BINARY + CATEGORICAL)
def test_a_large_clipping_constant_fails(name, make):
    fails(name, make(1e-3))  # it changes the loss of ordinary confident predictions


def test_a_numpy_warning_fails_even_when_the_value_is_right():
    def bce_where(y, p):
        """Right values at p = y = 1, but np.where evaluates ln(1 - 1) = -inf and warns."""
        y, p = _arr(y), _arr(p)
        terms = np.where(y == 1, np.log(np.maximum(p, 1e-12)), np.log(1 - p))
        return float(-np.sum(terms)) / len(y)

    assert "NumPy warned" in fails("bce", bce_where)


# ---- regressions found by red-teaming --------------------------------------------------


def _f32(x):
    return np.asarray(x, dtype=np.float32)


FLOAT32 = {
    "mse": lambda y, y_hat: float(np.sum((_f32(y) - _f32(y_hat)) ** 2)) / len(y),
    "mse_grad": lambda y, y_hat: (2 * (_f32(y_hat) - _f32(y)) / len(y)).astype(float),
    "mae": lambda y, y_hat: float(np.sum(np.abs(_f32(y) - _f32(y_hat)))) / len(y),
    "huber_grad": lambda y, y_hat, delta=1.0: (np.clip(_f32(y_hat) - _f32(y), -delta, delta)
                                               / len(y)).astype(float),
}


@pytest.mark.parametrize("name", sorted(FLOAT32))
def test_a_regression_loss_computed_in_float32_passes(name, seed):
    passes(name, FLOAT32[name])


def _mse_in_place(y, y_hat):
    r = np.asarray(y_hat)  # a view of the caller's array
    r -= y
    return float(np.sum(r * r)) / len(r)


def _bce_clip_in_place(y, p):
    p = np.asarray(p)
    np.clip(p, 1e-12, 1 - 1e-12, out=p)  # changes the caller's probabilities
    return bce_clipped(1e-12)(y, p)


REGRESSIONS = [
    ("mse", _mse_in_place, "read-only"),
    ("bce", _bce_clip_in_place, "read-only"),
    ("mse", lambda y, y_hat: np.array([float(np.sum((_arr(y) - y_hat) ** 2)) / len(y)]),
     "expected a number"),
    ("cce", lambda y, p: [cce_clipped(1e-12)(y, p)], "expected a number"),
    ("mse_grad", lambda y, y_hat: (2 * (_arr(y_hat) - y) / len(y)).tolist(), "not an array"),
    ("mae_grad", lambda y, y_hat: np.tanh(1e3 * (_arr(y_hat) - y)) / len(y), ""),
    ("mae_grad", lambda y, y_hat: (_arr(y_hat) - y) / (np.abs(_arr(y_hat) - y) + 1e-8)
     / len(y), ""),
]


@pytest.mark.parametrize("index", range(len(REGRESSIONS)))
def test_regressions_fail_on_every_seed(index, seed):
    name, wrong, words = REGRESSIONS[index]
    assert words in fails(name, wrong)
