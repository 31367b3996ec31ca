"""The checks of lesson 07 fail wrong losses and pass right ones however written.

Every graded function meets at least two wrong variants that must fail and one correct
variant written differently from nnlib that must pass the public and the hidden checks.
The binary cross-entropy is also tried with the clipping constants students really use
(Keras's 1e-7, 1e-12, scikit-learn's 1e-15, machine epsilon, PyTorch's log clamp at -100):
all must pass; an unclipped version (nan, inf, warnings) must fail. The softmax exercises
need no clipping: from the logits every right answer is exact, and going through clipped
probabilities fails.
"""

import numpy as np
import pytest
from checking import fails, passes

from autograder.cases import SEED_ENV

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


def huber_min_form(y, y_hat, delta=1.0):
    """Huber as 1/2 q^2 + delta (|r| - q) with q = min(|r|, delta)."""
    a = np.abs(_arr(y) - _arr(y_hat))
    q = np.minimum(a, delta)
    return float(np.sum(0.5 * q ** 2 + delta * (a - q))) / _n(y)


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


def _log_softmax_rows(logits):
    """ln softmax by rows with NumPy's log-sum-exp (no max subtracted by hand)."""
    z = _arr(logits)
    return z - np.logaddexp.reduce(z, axis=1, keepdims=True)


def sce_logaddexp(y, logits):
    return float(-np.einsum("ik,ik->", _arr(y), _log_softmax_rows(logits))) / _n(y)


def sce_true_class(y, logits):
    """Picks the true class's logit by its index, then subtracts each row's log-sum-exp."""
    z = _arr(logits)
    true = np.argmax(_arr(y), axis=1)
    top = z.max(axis=1)
    lse = top + np.log(np.sum(np.exp(z - top[:, None]), axis=1))
    return float(np.mean(lse - z[np.arange(len(z)), true]))


def sce_grad_loop(y, logits):
    out = np.empty_like(_arr(logits))
    for i, row in enumerate(_arr(logits)):
        e = np.exp(row - row.max())
        out[i] = (e / e.sum() - y[i]) / len(out)
    return out


def output_gradient_by_cases(y, z, task):
    """Each pair's dL/dZ written out: sigma as (1 + tanh(z / 2)) / 2, the softmax from
    the log-sum-exp."""
    y, z = _arr(y), _arr(z)
    if task == "regression":
        a = z
    elif task == "binary":
        a = 0.5 * (1.0 + np.tanh(0.5 * z))
    else:
        a = np.exp(_log_softmax_rows(z))
    return (2.0 if task == "regression" else 1.0) * (a - y) / len(y)


CORRECT = {
    "huber": huber_min_form,
    "bce": bce_clipped(1e-15),
    "softmax_cross_entropy": sce_logaddexp,
    "softmax_cross_entropy_grad": sce_grad_loop,
    "output_gradient": output_gradient_by_cases,
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


def typed_sce(y, logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return float(-(y * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))).sum()
                 / y.shape[0])


def typed_sce_grad(y, logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True) - y) / y.shape[0]


def typed_output_gradient(y, z, task):
    if task == "regression":
        return 2.0 * (z - y) / y.shape[0]
    if task == "binary":
        e = np.exp(-abs(z))
        return (np.where(z >= 0, 1.0, e) / (1.0 + e) - y) / y.shape[0]
    return typed_sce_grad(y, z)


TYPED = {
    "huber": typed_huber,
    "bce": typed_bce,
    "softmax_cross_entropy": typed_sce,
    "softmax_cross_entropy_grad": typed_sce_grad,
    "output_gradient": typed_output_gradient,
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_a_correct_variant_passes(name, seed):
    passes(name, CORRECT[name])


EPSILONS = [1e-7, 1e-10, 1e-12, 1e-15, float(np.finfo(float).eps)]


@pytest.mark.parametrize("eps", EPSILONS)
def test_every_usual_clipping_constant_passes(eps, seed):
    passes("bce", bce_clipped(eps))


def test_the_log_clamp_passes(seed):
    passes("bce", bce_log_clamp)


# ---- wrong variants ----------------------------------------------------------------------


def _unclipped_bce(y, p):
    y, p = _arr(y), _arr(p)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))) / len(y)


def _sce_through_p(eps):
    def softmax_cross_entropy(y, logits):
        e = np.exp(_arr(logits) - _arr(logits).max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return float(-np.sum(_arr(y) * np.log(np.maximum(p, eps)))) / _n(y)
    return softmax_cross_entropy


def _sce_unshifted(y, logits):
    """The log-sum-exp without the maximum subtracted: e^1000 overflows."""
    z = _arr(logits)
    return float(-np.sum(_arr(y) * (z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))))) \
        / _n(y)


def _sigmoid_mse_pair(y, z, task):
    if task != "binary":
        return output_gradient_by_cases(y, z, task)
    a = 0.5 * (1.0 + np.tanh(0.5 * _arr(z)))
    return 2.0 * (a - y) * a * (1.0 - a) / _n(y)


def _sigmoid_per_class(y, z, task):
    task = "binary" if task == "multiclass" else task
    return output_gradient_by_cases(y, z, task)


WRONG = {
    "huber": [(lambda y, y_hat, delta=1.0: float(np.sum(np.where(
        np.abs(_arr(y) - y_hat) <= delta, (_arr(y) - y_hat) ** 2,
        delta * (np.abs(_arr(y) - y_hat) - delta / 2)))) / len(y), "lacks the 1/2"),
              (lambda y, y_hat, delta=1.0: float(np.sum(np.where(
                  np.abs(_arr(y) - y_hat) > delta, 0.5 * (_arr(y) - y_hat) ** 2,
                  delta * (np.abs(_arr(y) - y_hat) - delta / 2)))) / len(y), "swapped")],
    "bce": [(_unclipped_bce, ""),
            (lambda y, p: bce_clipped(1e-12)(p, y), "swapped"),
            (bce_clipped(1e-3), "")],
    "softmax_cross_entropy": [(_sce_through_p(1e-12), "clipped probabilities"),
                              (_sce_through_p(1e-300), ""),
                              (_sce_unshifted, ""),
                              (lambda y, logits: sce_logaddexp(y, logits) * len(y),
                               "divide by N")],
    "softmax_cross_entropy_grad": [
        (lambda y, logits: (_arr(logits) - y) / len(y), "forgets the softmax"),
        (lambda y, logits: sce_grad_loop(y, logits) * len(y), "1/N is missing"),
        (lambda y, logits: -_arr(y) * (1.0 - sce_grad_loop(y, logits) * len(y) - y) / len(y),
         "diagonal")],
    "output_gradient": [(_sigmoid_mse_pair, "sigmoid with MSE"),
                        (_sigmoid_per_class, "sigmoid per class"),
                        (lambda y, z, task: output_gradient_by_cases(y, z, task)
                         / (2.0 if task == "regression" else 1.0), "half the squared error")],
}


@pytest.mark.parametrize("name, index", [(n, i) for n in sorted(WRONG)
                                         for i in range(len(WRONG[n]))])
def test_a_wrong_variant_fails(name, index):
    wrong, cause = WRONG[name][index]
    assert cause in fails(name, wrong)


def test_bce_with_an_eps_below_machine_precision_fails():
    # 1 - 1e-17 == 1.0, so ln(1 - p) is infinite at p = 1
    message = fails("bce", bce_clipped(1e-17))
    assert "is nan" in message or "is inf" in message


def test_a_large_clipping_constant_fails():
    fails("bce", bce_clipped(1e-3))  # it changes the loss of ordinary confident predictions


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
    "huber": lambda y, y_hat, delta=1.0: float(np.sum(np.where(
        np.abs(_f32(y) - _f32(y_hat)) <= delta, 0.5 * (_f32(y) - _f32(y_hat)) ** 2,
        delta * (np.abs(_f32(y) - _f32(y_hat)) - delta / 2)))) / len(y),
}


@pytest.mark.parametrize("name", sorted(FLOAT32))
def test_a_regression_loss_computed_in_float32_passes(name, seed):
    passes(name, FLOAT32[name])


def _huber_in_place(y, y_hat, delta=1.0):
    r = np.asarray(y_hat)  # a view of the caller's array
    r -= y
    return huber_min_form(np.zeros_like(r), r, delta)


def _bce_clip_in_place(y, p):
    p = np.asarray(p)
    np.clip(p, 1e-12, 1 - 1e-12, out=p)  # changes the caller's probabilities
    return bce_clipped(1e-12)(y, p)


REGRESSIONS = [
    ("huber", _huber_in_place, "read-only"),
    ("bce", _bce_clip_in_place, "read-only"),
    ("huber", lambda y, y_hat, delta=1.0: np.array([huber_min_form(y, y_hat, delta)]),
     "expected a number"),
    ("softmax_cross_entropy", lambda y, logits: [sce_logaddexp(y, logits)], "expected a number"),
    ("softmax_cross_entropy_grad", lambda y, logits: sce_grad_loop(y, logits).tolist(),
     "not an array"),
]


@pytest.mark.parametrize("index", range(len(REGRESSIONS)))
def test_regressions_fail_on_every_seed(index, seed):
    name, wrong, words = REGRESSIONS[index]
    assert words in fails(name, wrong)
