"""09-regularization: L2 penalty and gradient, dropout and batch norm forward and backward,
initialization, early stopping.

`dropout_forward`, `xavier_init` and `he_init` return random draws, so no reference output
exists to compare with: their `verify` (`autograder.verifiers`) judges the properties every
right answer has, with bounds chosen so that a right answer fails with probability below
1e-9 (the computation is next to each bound) while the usual wrong variants fail for sure.
Biases are not penalized (the slides' Ω = λ Σ_l ‖W(l)‖²).

The two backward passes are judged twice by `gradient_verify`: against nnlib's backward,
and against central finite differences of the forward pass (lesson 06's numerical_gradient),
so a right gradient is one of the forward the lesson defines, whichever formula computes it.
"""

import math

import numpy as np

from autograder.judge import Unserializable
from autograder.registry import Case, Exercise, register
from autograder.results import array, arrays, kind, number
from autograder.verifiers import (
    LARGE,
    MIN_WEIGHTS,
    floats,
    gradient_verify,
    random_params,
    random_shape,
    verify_dropout,
    verify_init,
)
from nnlib.batchnorm import batchnorm_backward, batchnorm_forward
from nnlib.gradcheck import numerical_gradient
from nnlib.regularization import dropout_backward

# ---- l2_penalty, l2_grad ---------------------------------------------------------------


def _pairs_of_arrays(out, case=None):
    """`project` of l2_grad: a list db would break `b -= eta * db`, so every dW, db must be
    an array."""
    if not isinstance(out, (list, tuple)):
        return out
    return [tuple(array(x) for x in pair) if isinstance(pair, (list, tuple)) and len(pair) == 2
            else pair for pair in out]


def _random_params(rng, depth=None):
    depth = int(rng.integers(1, 5)) if depth is None else depth
    return random_params(rng, [int(n) for n in rng.integers(1, 7, size=depth + 1)])


def _params_public():
    small = [(np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([3.0, -4.0])),
             (np.array([[1.0, -0.5]]), np.array([10.0]))]
    deep = [(np.array([[0.2, 0.4], [0.3, 0.1]]), np.array([0.1, 0.2])),
            (np.array([[0.6, 0.5]]), np.array([0.3]))]
    three = [(np.arange(-6.0, 6.0).reshape(4, 3) / 4, np.ones(4)),
             (np.eye(4)[:2], np.full(2, -2.0)),
             (np.array([[-3.0, 1.0]]), np.array([5.0]))]
    return [
        Case((small, 0.1), note="two layers; large biases, which are not penalized"),
        Case((deep, 0.01), note="the 2→2→1 network of lesson 05 with the slides' λ = 0.01"),
        Case((three, 0.5), note="three layers"),
        Case((small, 0.0), note="λ = 0: no penalty"),
    ]


def _params_hidden(rng):
    cases = [Case((_random_params(rng), float(rng.uniform(0.001, 2.0))), note="a random network")
             for _ in range(4)]
    cases.append(Case((_random_params(rng, depth=1), float(rng.uniform(0.1, 1.0))),
                      note="one layer"))
    cases.append(Case((_random_params(rng, depth=5), 0.0), note="λ = 0"))
    return cases


def _penalty_with(weight_term, bias_term=lambda b: 0.0, factor=1.0):
    def penalty(params, lam):
        return float(factor * lam * sum(weight_term(floats(W)) + bias_term(floats(b))
                                        for W, b in params))
    return penalty


_SQ = lambda W: float(np.sum(W * W))  # noqa: E731

register(Exercise(
    name="l2_penalty",
    pure=True,
    lessons=("09-regularization",),
    signature="(params, lam)",
    reference="nnlib.regularization.l2_penalty",
    public=_params_public,
    hidden=_params_hidden,
    tolerance="stable",  # float32 arithmetic is right too
    points=2,
    project=number,
    mistakes={
        "the biases are penalized too; the slides sum over the weights W(l) only":
            _penalty_with(_SQ, _SQ),
        "a factor 1/2 (λ/2 Σ W²); the slides' penalty is λ Σ W² without 1/2":
            _penalty_with(_SQ, factor=0.5),
        "λ is missing": lambda params, lam: float(sum(np.sum(floats(W) ** 2) for W, _ in params)),
        "the norm is not squared: λ Σ_l ‖W(l)‖ instead of λ Σ_l ‖W(l)‖²":
            _penalty_with(lambda W: float(np.sqrt(np.sum(W * W)))),
        "this is the L1 penalty λ Σ |W|": _penalty_with(lambda W: float(np.sum(np.abs(W)))),
    },
))


def _grad_with(weight_grad, bias_grad=lambda b, lam: np.zeros_like(b)):
    def grad(params, lam):
        return [(weight_grad(floats(W), lam), bias_grad(floats(b), lam)) for W, b in params]
    return grad


register(Exercise(
    name="l2_grad",
    pure=True,
    lessons=("09-regularization",),
    signature="(params, lam)",
    reference="nnlib.regularization.l2_grad",
    public=_params_public,
    hidden=_params_hidden,
    tolerance="stable",  # float32 arithmetic is right too
    points=2,
    project=_pairs_of_arrays,
    mistakes={
        "the factor 2 is missing: the gradient of λ Σ W² is 2λW":
            _grad_with(lambda W, lam: lam * W),
        "λ is missing: the gradient of λ Σ W² is 2λW": _grad_with(lambda W, lam: 2 * W),
        "the biases are penalized too; their penalty gradient must be 0":
            _grad_with(lambda W, lam: 2 * lam * W, lambda b, lam: 2 * lam * b),
        "this is the L1 gradient λ sign(W)": _grad_with(lambda W, lam: lam * np.sign(W)),
    },
))


# ---- dropout_forward -------------------------------------------------------------------


def _dropout_case(rng, shape, p, inverted, seed, note):
    A = rng.uniform(0.5, 1.5, size=shape)
    return Case((A, p), {"rng": seed, "inverted": inverted}, note)


def _dropout_public():
    rng = np.random.default_rng(9)
    return [
        Case((np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]), 0.5), {"rng": 0},
             "classic dropout, p = 0.5"),
        Case((np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]), 0.5),
             {"rng": 1, "inverted": True}, "inverted dropout, p = 0.5"),
        Case((np.array([[0.3, 0.7]]), 1.0), {"rng": 2, "inverted": True},
             "p = 1 keeps every unit"),
        _dropout_case(rng, LARGE, 0.8, False, 3, "500 x 200 units, p = 0.8: about 80 % kept"),
        _dropout_case(rng, LARGE, 0.3, True, 4, "500 x 200 units, inverted, p = 0.3"),
    ]


def _dropout_hidden(rng):
    cases = []
    for inverted, ndim in ((False, 2), (True, 1)):  # A may have any shape
        shape = random_shape(rng, ndim, 9)
        A = rng.normal(size=shape)
        cases.append(Case((A, float(rng.uniform(0.2, 0.95))),
                          {"rng": int(rng.integers(2**31)), "inverted": inverted},
                          f"a small random {ndim}-D layer"))
    for inverted in (False, True):
        p = float(rng.choice([rng.uniform(0.15, 0.4), rng.uniform(0.6, 0.9)]))
        cases.append(_dropout_case(rng, LARGE, p, inverted, int(rng.integers(2**31)),
                                   "a large layer"))
    cases.append(Case((rng.normal(size=(2, 3, 4)), 1.0), {"rng": int(rng.integers(2**31))},
                      "p = 1, a 3-D array"))
    return cases


def _dropout_as_drop_rate(A, p, rng=None, inverted=False):
    r = (np.random.default_rng(rng).random(np.shape(A)) >= p).astype(float)
    return floats(A) * r / ((1 - p) if inverted else 1.0), r


def _dropout_scaled_by_p(A, p, rng=None, inverted=False):
    r = (np.random.default_rng(rng).random(np.shape(A)) < p).astype(float)
    return floats(A) * r * (p if inverted else 1.0), r


register(Exercise(
    name="dropout_forward",
    pure=True,
    lessons=("09-regularization",),
    signature="(A, p, rng=None, inverted=False)",
    reference="nnlib.regularization.dropout_forward",
    public=_dropout_public,
    hidden=_dropout_hidden,
    points=2,
    verify=verify_dropout,
    mistakes={
        "p is used as the drop probability; in the slides p is the probability of keeping":
            _dropout_as_drop_rate,
        "inverted dropout scales by p instead of 1/p": _dropout_scaled_by_p,
    },
))


# ---- dropout_backward ------------------------------------------------------------------


def _mask_case(rng, shape, p, inverted, note):
    r = (rng.random(shape) < p).astype(float)
    if not r.any():  # with every unit dropped, any scaling of the kept ones would pass
        r.flat[rng.integers(r.size)] = 1.0
    return Case((rng.normal(size=shape), r, p), {"inverted": inverted}, note)


def _dropout_back_public():
    dA_tilde = np.array([[0.5, -1.0, 2.0], [1.5, 3.0, -0.5]])
    r = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    rng = np.random.default_rng(19)
    return [
        Case((dA_tilde, r, 0.8), note="classic dropout, p = 0.8"),
        Case((dA_tilde, r, 0.8), {"inverted": True}, "inverted dropout, p = 0.8"),
        Case((dA_tilde, np.ones((2, 3)), 1.0), {"inverted": True}, "p = 1: every unit kept"),
        _mask_case(rng, (2, 3, 4), 0.3, True, "a 3-D layer, inverted, p = 0.3"),
    ]


def _dropout_back_hidden(rng):
    cases = []
    for inverted in (False, True, False, True):
        shape = random_shape(rng, int(rng.integers(1, 4)), 9)
        cases.append(_mask_case(rng, shape, float(rng.uniform(0.1, 0.95)), inverted,
                                "a random layer"))
    cases.append(_mask_case(rng, (int(rng.integers(2, 6)), int(rng.integers(2, 6))), 1.0,
                            True, "p = 1"))
    return cases


def _dropout_columns(case):
    dA_tilde, r, p = floats(case.args[0]), floats(case.args[1]), float(case.args[2])
    inverted = bool(case.kwargs.get("inverted", False))
    scale = 1.0 / p if inverted else 1.0
    A = np.zeros_like(dA_tilde)
    numeric = numerical_gradient(lambda A_: float(np.sum(dA_tilde * r * A_ * scale)), A)
    yield "dA", (0,), numeric, max(float(np.max(np.abs(dA_tilde), initial=0.0)) * scale, 1e-300)


register(Exercise(
    name="dropout_backward",
    pure=True,
    lessons=("09-regularization",),
    signature="(dA_tilde, r, p, inverted=False)",
    reference="nnlib.regularization.dropout_backward",
    public=_dropout_back_public,
    hidden=_dropout_back_hidden,
    tolerance="stable",
    points=2,
    project=array,
    verify=gradient_verify(dropout_backward, _dropout_columns),
    vectorized=lambda rows: Case((np.linspace(-1.0, 1.0, 4 * rows).reshape(rows, 4),
                                  np.resize([1.0, 0.0, 1.0], (rows, 4)), 0.8),
                                 {"inverted": True}, note=f"a batch of {rows} samples"),
    mistakes={
        "the mask is forgotten: a dropped unit passes no gradient, dA = dÃ ⊙ r (/ p)":
            lambda dA_tilde, r, p, inverted=False: floats(dA_tilde) / (p if inverted else 1.0),
        "inverted dropout must divide the gradient by p too, as its forward pass does":
            lambda dA_tilde, r, p, inverted=False: floats(dA_tilde) * floats(r),
        "classic dropout does not scale in training; only inverted dropout divides by p":
            lambda dA_tilde, r, p, inverted=False: floats(dA_tilde) * floats(r) / p,
        "it divides by 1 − p, the drop rate; p is the keep probability":
            lambda dA_tilde, r, p, inverted=False:
                floats(dA_tilde) * floats(r) / ((1 - p) if inverted else 1.0),
        "it multiplies by p instead of dividing by p":
            lambda dA_tilde, r, p, inverted=False:
                floats(dA_tilde) * floats(r) * (p if inverted else 1.0),
        "the mask is flipped: r = 1 means kept": lambda dA_tilde, r, p, inverted=False:
            floats(dA_tilde) * (1 - floats(r)) / (p if inverted else 1.0),
    },
))


# ---- batchnorm_forward -----------------------------------------------------------------


def _batchnorm_with(mean_var, normalize):
    def batchnorm_forward(Z, gamma, beta, eps=1e-5):
        Z = floats(Z)
        mu, var = mean_var(Z)
        return floats(gamma) * normalize(Z - mu, var, eps) + floats(beta), None
    return batchnorm_forward


_OVER_BATCH = lambda Z: (Z.mean(axis=0), Z.var(axis=0))  # noqa: E731
_INSIDE = lambda Zc, var, eps: Zc / np.sqrt(var + eps)  # noqa: E731


def _bn_case(rng, m, n, note, small_var=False, eps=1e-5):
    Z = rng.normal(rng.uniform(-5, 5, size=n), rng.uniform(0.1, 4.0, size=n), size=(m, n))
    if small_var:
        Z[:, 0] = 1.0 + 2e-3 * rng.standard_normal(m)
    return Case((Z, rng.normal(size=n), rng.normal(size=n)), {"eps": eps}, note)


def _bn_public():
    Z = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    Z_small = np.array([[1.000, 4.0], [1.002, 0.0], [0.998, 2.0], [1.004, -2.0]])
    Z_square = np.array([[1.0, 0.0, 2.0, 4.0], [3.0, 1.0, 1.0, 0.0], [0.0, 5.0, 2.0, 1.0],
                         [2.0, 2.0, 7.0, 3.0]])
    return [
        Case((Z, np.ones(2), np.zeros(2)), note="γ = 1, β = 0: every column to mean 0, variance 1"),
        Case((Z, np.array([2.0, 0.5]), np.array([1.0, -1.0])), note="scale by γ, shift by β"),
        Case((Z_small, np.ones(2), np.zeros(2)),
             note="a feature of variance 5e-6, where ε = 1e-5 matters"),
        Case((Z_square, np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4)), {"eps": 0.1},
             note="a square batch, ε = 0.1"),
        Case((np.array([[2.0, -1.0], [2.0, 3.0]]), np.ones(2), np.array([0.5, 0.0])),
             note="two samples; the first feature is constant (variance 0)"),
    ]


def _bn_hidden(rng):
    cases = [_bn_case(rng, int(rng.integers(2, 40)), int(rng.integers(1, 10)), "a random batch",
                      eps=float(rng.choice([1e-5, 1e-3, 0.1])))
             for _ in range(3)]
    cases.append(_bn_case(rng, int(rng.integers(5, 30)), int(rng.integers(2, 6)),
                          "a feature of tiny variance", small_var=True))
    n = int(rng.integers(2, 8))
    square = _bn_case(rng, n, n, "a square batch of integers")
    cases.append(Case((np.round(square.args[0]).astype(int), *square.args[1:]), square.kwargs,
                      square.note))
    cases.append(_bn_case(rng, 2, int(rng.integers(1, 6)), "a batch of two samples"))
    return cases


def _bn_output(out, case=None):
    """Y of the pair (Y, cache); Y alone, or Y as a list, is a mismatch."""
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return array(out[0])
    return Unserializable(f"{kind(out)} instead of the pair (Y, cache),")


register(Exercise(
    name="batchnorm_forward",
    pure=True,
    lessons=("09-regularization",),
    signature="(Z, gamma, beta, eps=1e-5)",
    reference="nnlib.batchnorm.batchnorm_forward",
    public=_bn_public,
    hidden=_bn_hidden,
    points=3,
    project=_bn_output,
    mistakes={
        "the variance has ddof=1 (divides by m − 1); batch norm divides by m":
            _batchnorm_with(lambda Z: (Z.mean(axis=0), Z.var(axis=0, ddof=1)), _INSIDE),
        "the statistics are over the wrong axis: one mean and variance per feature (column), "
        "over the samples (axis 0)": _batchnorm_with(
            lambda Z: (Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)), _INSIDE),
        "ε is outside the square root: divide by √(σ² + ε)":
            _batchnorm_with(_OVER_BATCH, lambda Zc, var, eps: Zc / (np.sqrt(var) + eps)),
        "ε is missing": _batchnorm_with(_OVER_BATCH, lambda Zc, var, eps: Zc / np.sqrt(var)),
        "γ and β are swapped": lambda Z, gamma, beta, eps=1e-5: _batchnorm_with(
            _OVER_BATCH, _INSIDE)(Z, beta, gamma, eps),
        "the result is not scaled by γ and shifted by β": lambda Z, gamma, beta, eps=1e-5:
            _batchnorm_with(_OVER_BATCH, _INSIDE)(Z, np.ones_like(floats(gamma)),
                                                  np.zeros_like(floats(beta)), eps),
    },
))


# ---- batchnorm_backward ----------------------------------------------------------------


def _bn_back_with(dZ_of):
    """A batch-norm backward whose dZ is `dZ_of(dZ_hat, Z_hat, inv_std, Z)`; dγ, dβ right."""
    def batchnorm_backward(dY, Z, gamma, eps=1e-5):
        dY, Z, gamma = floats(dY), floats(Z), floats(gamma)
        Zc = Z - Z.mean(axis=0)
        inv_std = 1.0 / np.sqrt(Zc.var(axis=0) + eps)
        Z_hat = Zc * inv_std
        return (dZ_of(dY * gamma, Z_hat, inv_std, Z, eps), np.sum(dY * Z_hat, axis=0),
                dY.sum(axis=0))
    return batchnorm_backward


def _compact(dZ_hat, Z_hat, inv_std):
    m = len(dZ_hat)
    return inv_std / m * (m * dZ_hat - dZ_hat.sum(axis=0)
                          - Z_hat * np.sum(dZ_hat * Z_hat, axis=0))


def _unbiased_in_backward(dZ_hat, Z_hat, inv_std, Z, eps):
    """The graph with the variance's gradient taken as if σ² divided by m − 1."""
    m, Zc = len(Z), Z - Z.mean(axis=0)
    dvar = np.sum(dZ_hat * Zc, axis=0) * -0.5 * inv_std**3
    dmu = -np.sum(dZ_hat * inv_std, axis=0)
    return dZ_hat * inv_std + dvar * 2 * Zc / (m - 1) + dmu / m


def _bn_back_public():
    Z = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    dY = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    Z_small = np.array([[1.000, 4.0], [1.002, 0.0], [0.998, 2.0], [1.004, -2.0]])
    return [
        Case((dY, Z, np.ones(2)), note="γ = 1, the gradient of the first output alone"),
        Case((np.array([[0.5, -1.0], [2.0, 1.0], [-1.0, 0.5]]), Z, np.array([2.0, -0.5])),
             note="γ = (2, −0.5)"),
        Case((np.ones((3, 2)), Z, np.ones(2)),
             note="dY = 1 everywhere: dZ is 0, since Y's column sums do not depend on Z"),
        Case((np.array([[1.0, 0.5], [-2.0, 0.0], [0.5, 1.0], [0.0, -1.0]]), Z_small,
              np.array([1.0, 3.0])), note="a feature of variance 5e-6, where ε matters"),
        Case((np.array([[1.0, -1.0, 2.0], [0.0, 3.0, -2.0]]), np.array([[2.0, 1.0, 0.0],
              [2.0, 3.0, 4.0]]), np.array([1.0, 2.0, -1.0])), {"eps": 0.1},
             note="two samples, ε = 0.1; the first feature is constant"),
    ]


def _bn_back_hidden(rng):
    cases = []
    for case in _bn_hidden(rng):
        Z, gamma = case.args[0], case.args[1]
        cases.append(Case((rng.normal(size=np.shape(Z)), Z, gamma), case.kwargs, case.note))
    return cases


def _bn_columns(case):
    dY, Z, gamma = (floats(x) for x in case.args)
    eps = float(case.kwargs.get("eps", 1e-5))
    for j in range(Z.shape[1]):
        # batch norm ignores a shift of the column: centring it keeps a step of h spreads
        # from being rounded away next to large values
        yield from _bn_column(j, Z[:, [j]] - Z[:, j].mean(), gamma[[j]], dY[:, [j]], eps)


def _bn_column(j, column, g, d, eps):
    """Central differences of L = Σ dY ⊙ BN(Z) for column j, in Z, γ and β, each with the
    size its error is measured against."""
    spread = np.sqrt(column.var() + eps)
    zero = np.zeros_like(column)

    def loss(U, gamma_=g, beta_=None):
        beta_ = np.zeros(1) if beta_ is None else beta_
        return float(np.sum(d * batchnorm_forward(column + spread * U, gamma_, beta_,
                                                  eps)[0]))
    # the sizes: of dY ⊙ γ / √(σ² + ε), the first term of dZ, and of the sums
    # dγ = Σ dY ⊙ Ẑ and dβ = Σ dY (Ẑ is at most √m in size)
    size = float(np.abs(d).max() * abs(g[0])) / spread + 1e-300
    yield (f"dZ[:, {j}]", (0, slice(None), j),
           numerical_gradient(loss, zero.copy())[:, 0] / spread, size)
    yield f"dgamma[{j}]", (1, j), numerical_gradient(
        lambda g_: loss(zero, gamma_=g_), g.copy())[0], \
        float(np.abs(d).sum()) * np.sqrt(len(d)) + 1e-300
    yield f"dbeta[{j}]", (2, j), numerical_gradient(
        lambda b_: loss(zero, beta_=b_), np.zeros(1))[0], \
        float(np.abs(d).sum()) + 1e-300


register(Exercise(
    name="batchnorm_backward",
    pure=True,
    lessons=("09-regularization",),
    signature="(dY, Z, gamma, eps=1e-5)",
    reference="nnlib.batchnorm.batchnorm_backward",
    public=_bn_back_public,
    hidden=_bn_back_hidden,
    tolerance="stable",
    points=4,
    project=arrays,
    verify=gradient_verify(batchnorm_backward, _bn_columns),
    vectorized=lambda rows: Case((np.cos(np.arange(3.0 * rows)).reshape(rows, 3),
                                  np.sin(np.arange(3.0 * rows)).reshape(rows, 3),
                                  np.array([1.5, 0.5, -1.0])), note=f"a batch of {rows} samples"),
    uses=("batchnorm_forward",),
    mistakes={
        "dZ misses the paths through the batch mean and variance: μ and σ² depend on every "
        "sample, so dZ is not just dY ⊙ γ / √(σ² + ε)":
            _bn_back_with(lambda dZ_hat, Z_hat, inv_std, Z, eps: dZ_hat * inv_std),
        "dZ misses the path through the variance σ²":
            _bn_back_with(lambda dZ_hat, Z_hat, inv_std, Z, eps:
                          inv_std * (dZ_hat - dZ_hat.mean(axis=0))),
        "dZ misses the path through the mean μ":
            _bn_back_with(lambda dZ_hat, Z_hat, inv_std, Z, eps:
                          inv_std * (dZ_hat - Z_hat * np.mean(dZ_hat * Z_hat, axis=0))),
        "the variance's gradient uses m − 1 (the unbiased variance) while the forward pass "
        "divides by m: use the same σ² in both": _bn_back_with(_unbiased_in_backward),
        "dγ must sum dY ⊙ Ẑ (the normalized Z), not dY ⊙ Z": lambda dY, Z, gamma, eps=1e-5: (
            _bn_back_with(lambda dZ_hat, Z_hat, inv_std, Z_, eps_: _compact(
                dZ_hat, Z_hat, inv_std))(dY, Z, gamma, eps)[0],
            np.sum(floats(dY) * floats(Z), axis=0), floats(dY).sum(axis=0)),
        "dZ is missing the factor γ (dẐ = dY ⊙ γ)": lambda dY, Z, gamma, eps=1e-5:
            _bn_back_with(lambda dZ_hat, Z_hat, inv_std, Z_, eps_: _compact(
                dZ_hat / floats(gamma), Z_hat, inv_std))(dY, Z, gamma, eps),
    },
))


# ---- xavier_init, he_init --------------------------------------------------------------


def _init_public():
    return [
        Case((1000, 100), {"rng": 0}, "1000 inputs, 100 units"),
        Case((100, 2000), {"rng": 1}, "100 inputs, 2000 units"),
        Case((3, 5), {"rng": 2}, "a small layer: shape (n_out, n_in) = (5, 3)"),
    ]


def _init_hidden(rng):
    cases = []
    for fan_in_is_small in (True, False):
        few = int(rng.integers(40, 120))
        many = max(MIN_WEIGHTS // few + 1, int(rng.integers(1000, 3000)))
        n_in, n_out = (few, many) if fan_in_is_small else (many, few)
        cases.append(Case((n_in, n_out), {"rng": int(rng.integers(2**31))}, "a large layer"))
    cases.append(Case(tuple(int(n) for n in rng.integers(1, 12, size=2)),
                      {"rng": int(rng.integers(2**31))}, "a small layer"))
    return cases


def _normal_with(variance):
    return lambda n_in, n_out, rng=None: math.sqrt(variance(n_in, n_out)) * \
        np.random.default_rng(rng).standard_normal((n_out, n_in))


register(Exercise(
    name="xavier_init",
    lessons=("09-regularization",),
    signature="(n_in, n_out, rng=None)",
    reference="nnlib.network.xavier_init",
    public=_init_public,
    hidden=_init_hidden,
    points=1,
    verify=verify_init(lambda n_in, n_out: 2.0 / (n_in + n_out)),
    mistakes={
        "the variance is 1/n_in (LeCun's), not 2/(n_in + n_out)":
            _normal_with(lambda n_in, n_out: 1.0 / n_in),
        "the standard deviation is 2/(n_in + n_out); it should be its square root":
            _normal_with(lambda n_in, n_out: (2.0 / (n_in + n_out)) ** 2),
    },
))

register(Exercise(
    name="he_init",
    lessons=("09-regularization",),
    signature="(n_in, n_out, rng=None)",
    reference="nnlib.network.he_init",
    public=_init_public,
    hidden=_init_hidden,
    points=1,
    verify=verify_init(lambda n_in, n_out: 2.0 / n_in),
    mistakes={
        "the variance is 2/n_out: He uses the fan-in n_in":
            _normal_with(lambda n_in, n_out: 2.0 / n_out),
        "the variance is 1/n_in; He's has the factor 2 for ReLU":
            _normal_with(lambda n_in, n_out: 1.0 / n_in),
    },
))


# ---- early_stopping_epoch --------------------------------------------------------------


def _stopper(improves, fires, one_based=False):
    """An early-stopping rule built from an improvement test and a firing test."""
    def early_stopping_epoch(val_losses, patience, min_delta=0.0):
        best, best_epoch = math.inf, 0
        losses = list(val_losses)
        for t, loss in enumerate(losses):
            if improves(loss, best, min_delta):
                best, best_epoch = loss, t
            elif fires(t - best_epoch, patience):
                return best_epoch + one_based, t + one_based
        return best_epoch + one_based, len(losses) - 1 + one_based
    return early_stopping_epoch


_STRICT = lambda loss, best, min_delta: loss < best - min_delta  # noqa: E731
_PAST = lambda waited, patience: waited > patience  # noqa: E731


def _es_public():
    return [
        Case(([5.0, 3.0, 4.0, 2.0, 2.5, 2.1, 3.0, 1.0], 2),
             note="best 2.0 at epoch 3; epochs 4 and 5 are tolerated, epoch 6 stops"),
        Case(([3.0, 2.0, 2.5, 1.0], 0), note="patience 0 stops at the first epoch without "
             "improvement"),
        Case(([5.0, 4.0, 3.0, 2.0, 1.0], 1), note="always improving: never stops"),
        Case(([2.0, 1.0, 1.0, 1.0, 0.5], 1), note="an equal loss is not an improvement"),
        Case(([10.0, 9.7, 9.4, 9.2, 9.0, 8.95, 5.0], 2), {"min_delta": 0.5},
             "min_delta 0.5: only drops of more than 0.5 below the best count"),
        Case(([0.7], 3), note="one epoch"),
    ]


def _es_hidden(rng):
    cases = []
    for i in range(5):
        n = int(rng.integers(5, 60))
        t = np.linspace(0, 1, n)
        turn = rng.uniform(0.2, 0.9)
        losses = 1.0 + (t - turn) ** 2 * rng.uniform(1, 5) + rng.normal(scale=0.05, size=n)
        # losses far from 1 and min_delta > 0 in three curves: min_delta is absolute
        scale = 1.0 if i < 2 else float(rng.choice([rng.uniform(0.02, 0.2), rng.uniform(5, 50)]))
        min_delta = 0.0 if i < 2 else scale * float(rng.uniform(0.005, 0.05))
        losses = np.round(losses, 3) * scale
        cases.append(Case((losses if i == 0 else losses.tolist(), int(rng.integers(0, 7))),
                          {"min_delta": min_delta},
                          "a noisy validation curve" + (" as an array" if i == 0 else "")))
    losses = np.round(rng.uniform(0.5, 1.5, size=int(rng.integers(3, 12))), 1).tolist()
    cases.append(Case((losses, int(rng.integers(0, 3))), note="values with ties"))
    return cases


def _epochs(out, case=None):
    """A pair of ints; an epoch returned as a float or an array is a mismatch."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return out
    return tuple(x if isinstance(x, (int, np.integer)) and not isinstance(x, bool)
                 else Unserializable(f"{kind(x)}, not an int,") for x in out)


register(Exercise(
    name="early_stopping_epoch",
    pure=True,
    lessons=("09-regularization",),
    signature="(val_losses, patience, min_delta=0.0)",
    reference="nnlib.regularization.early_stopping_epoch",
    public=_es_public,
    hidden=_es_hidden,
    tolerance="exact",
    points=2,
    project=_epochs,
    mistakes={
        "off by one: it stops after `patience` epochs without improvement; the rule "
        "tolerates `patience` of them and stops at the next one":
            _stopper(_STRICT, lambda waited, patience: waited >= patience),
        "an equal (or within min_delta) loss counts as an improvement":
            _stopper(lambda loss, best, min_delta: loss <= best - min_delta, _PAST),
        "min_delta is ignored": _stopper(lambda loss, best, min_delta: loss < best, _PAST),
        "the epochs are counted from 1; count from 0 like Python indices":
            _stopper(_STRICT, _PAST, one_based=True),
    },
))
