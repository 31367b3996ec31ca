"""Lesson 09's checks fail wrong answers and pass right ones however written; its plots.

Each graded function meets at least two wrong variants that must fail and a correct
variant written differently from nnlib that must pass the public and the hidden checks.
The random exercises (dropout, initializations) are judged by `verify`; their bounds are
shown to fail a right answer with probability below 1e-9 (the bounds computed here) and
the wrong variants are shown to fail on many independent draws.
"""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from checking import fails, passes  # noqa: E402

from autograder import registry, verifiers  # noqa: E402
from autograder.cases import SEED_ENV  # noqa: E402
from autograder.exercises import lesson09  # noqa: E402
from autograder.registry import Case  # noqa: E402
from nnlib import plot  # noqa: E402
from nnlib.regularization import early_stopping_epoch  # noqa: E402


@pytest.fixture(autouse=True)
def _hidden_seed(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "20240909")
    yield
    plt.close("all")


def _arr(x):
    return np.asarray(x, dtype=float)


# ---- l2_penalty, l2_grad ---------------------------------------------------------------


def l2_penalty_flat(params, lam):
    """Correct: one dot product of all weights, flattened."""
    w = np.concatenate([_arr(W).ravel() for W, _ in params])
    return lam * float(w @ w)


def l2_grad_loop(params, lam):
    """Correct: element by element, lists instead of tuples, integer zeros."""
    grads = []
    for W, b in params:
        W = _arr(W)
        dW = np.empty_like(W)
        for index in np.ndindex(W.shape):
            dW[index] = 2 * lam * W[index]
        grads.append([dW, np.zeros(len(b), dtype=int)])
    return grads


def l2_penalty_float32(params, lam):
    """Correct to float32 precision: the check's tolerance (rtol 1e-6) accepts it."""
    return float(np.float32(lam) * sum(np.sum(np.asarray(W, np.float32) ** 2) for W, _ in params))


def l2_grad_float32(params, lam):
    return [((2 * np.float32(lam) * np.asarray(W, np.float32)).astype(float), np.zeros(np.shape(b)))
            for W, b in params]


def test_l2_correct_variants_pass():
    passes("l2_penalty", l2_penalty_flat)
    passes("l2_penalty", lambda params, lam: lam * sum(float(np.trace(_arr(W).T @ _arr(W)))
                                                       for W, _ in params))
    passes("l2_grad", l2_grad_loop)
    for seed in ("1", "4", "7"):  # seeds on which float32 missed rtol 1e-7
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(SEED_ENV, seed)
            passes("l2_penalty", l2_penalty_float32)
            passes("l2_grad", l2_grad_float32)


def _penalty(params, lam):
    return lam * sum(float(np.sum(_arr(W) ** 2)) for W, _ in params)


@pytest.mark.parametrize("wrong, message", [
    (lambda params, lam: [_penalty(params, lam)], "list object; expected a number"),
    (lambda params, lam: np.array([[_penalty(params, lam)]]), "shape (1, 1)"),
    (lambda params, lam: lam * sum(np.mean(_arr(W) ** 2) for W, _ in params), "should be"),
    (lambda params, lam: lam * float(np.sum(_arr(params[-1][0]) ** 2)), "should be"),
])
def test_l2_penalty_wrong_types_and_reductions_fail(wrong, message):
    assert message in fails("l2_penalty", wrong)


def test_l2_grad_with_list_bias_gradients_fails():
    # `b -= eta * db` breaks on a list db: every dW and db must be an array
    wrong = lambda params, lam: [(2 * lam * _arr(W), [0.0] * len(b)) for W, b in params]  # noqa: E731
    assert "list, not an array" in fails("l2_grad", wrong)
    as_lists = lambda params, lam: [((2 * lam * _arr(W)).tolist(), np.zeros(len(b)))  # noqa: E731
                                    for W, b in params]
    assert "list, not an array" in fails("l2_grad", as_lists)


@pytest.mark.parametrize("wrong, cause", [
    (lambda params, lam: lam * sum(np.sum(_arr(W) ** 2) + np.sum(_arr(b) ** 2)
                                   for W, b in params), "biases are penalized"),
    (lambda params, lam: 0.5 * lam * sum(np.sum(_arr(W) ** 2) for W, _ in params), "1/2"),
    (lambda params, lam: sum(np.sum(_arr(W) ** 2) for W, _ in params), "λ is missing"),
    (lambda params, lam: lam * sum(np.linalg.norm(W) for W, _ in params), "not squared"),
])
def test_l2_penalty_wrong_variants_fail(wrong, cause):
    assert cause in fails("l2_penalty", wrong)


@pytest.mark.parametrize("wrong, cause", [
    (lambda params, lam: [(lam * _arr(W), np.zeros(len(b))) for W, b in params], "factor 2"),
    (lambda params, lam: [(2 * lam * _arr(W), 2 * lam * _arr(b)) for W, b in params],
     "biases are penalized"),
    (lambda params, lam: [(2 * _arr(W), np.zeros(len(b))) for W, b in params], "λ is missing"),
    (lambda params, lam: [2 * lam * _arr(W) for W, _ in params], "expected a tuple of 2 items"),
])
def test_l2_grad_wrong_variants_fail(wrong, cause):
    assert cause in fails("l2_grad", wrong)


# ---- dropout_forward -------------------------------------------------------------------


def dropout_by_choice(A, p, rng=None, inverted=False):
    """Correct, drawn differently: r = 1 where a uniform draw is >= 1 - p, bools, scaling
    the kept units by multiplying with 1/p."""
    A = _arr(A)
    keep = np.random.default_rng(rng).uniform(size=A.shape) >= 1 - p
    return np.where(keep, A * (1 / p if inverted else 1), 0.0), keep


def _draw_mask(A, p, rng):
    return (np.random.default_rng(rng).random(np.shape(A)) < p).astype(float)


def test_dropout_correct_variant_passes():
    passes("dropout_forward", dropout_by_choice)


@pytest.mark.parametrize("wrong, cause", [
    (lambda A, p, rng=None, inverted=False: lesson09._dropout_as_drop_rate(A, p, rng, inverted),
     "used as the drop probability"),
    (lambda A, p, rng=None, inverted=False: lesson09._dropout_scaled_by_p(A, p, rng, inverted),
     "scaled by p; inverted dropout divides by p"),
    (lambda A, p, rng=None, inverted=False: (
        _arr(A) * _draw_mask(A, p, rng), _draw_mask(A, p, rng)), "inverted dropout must divide"),
    (lambda A, p, rng=None, inverted=False: (
        _arr(A) * _draw_mask(A, p, rng) / p, _draw_mask(A, p, rng)),
     "classic dropout (the slides') keeps the units unchanged"),
    (lambda A, p, rng=None, inverted=False: (
        _arr(A) * _draw_mask(A, p, rng) / (p if inverted else 1), _draw_mask(A, p, rng) / p),
     "0 and 1/p"),
    (lambda A, p, rng=None, inverted=False: (p * _arr(A), np.ones(np.shape(A))), "match the mask"),
])
def test_dropout_wrong_variants_fail(wrong, cause):
    assert cause in fails("dropout_forward", wrong)


def _structured_masks():
    """Masks with the right kept fraction that use `rng` (so they pass the check that the
    seed matters) but keep a block of columns, or the units with the largest activations."""
    def first_columns(A, p, rng=None, inverted=False):
        A = _arr(A)
        kept = np.arange(A.shape[-1]) < round(p * A.shape[-1])
        r = np.roll(kept, np.random.default_rng(rng).integers(A.shape[-1])) * np.ones(A.shape)
        return A * r / (p if inverted else 1), r

    def largest(A, p, rng=None, inverted=False):
        A = _arr(A)
        noisy = A + 0.5 * A.std() * np.random.default_rng(rng).standard_normal(A.shape)
        r = (noisy >= np.quantile(noisy, 1 - p)).astype(float)
        return A * r / (p if inverted else 1), r

    return [(first_columns, "not spread evenly"), (largest, "depends on their activations")]


@pytest.mark.parametrize("index", [0, 1])
def test_dropout_masks_without_randomness_fail(index):
    wrong, cause = _structured_masks()[index]
    assert cause in fails("dropout_forward", wrong)


def _with_mask(draw):
    def dropout(A, p, rng=None, inverted=False):
        A = _arr(A)
        r = np.asarray(draw(np.random.default_rng(rng), A.shape, p), dtype=float)
        return A * r / (p if inverted else 1), r
    return dropout


def _fixed_count_per_row(g, shape, p):
    r = np.zeros(shape).reshape(shape[0] if len(shape) > 1 else 1, -1)
    for row in r:
        row[g.permutation(row.size)[:round(p * row.size)]] = 1
    return r.reshape(shape)


@pytest.mark.parametrize("draw, cause", [
    (lambda g, shape, p: np.broadcast_to(g.random(shape[-1]) < p, shape), ""),
    (lambda g, shape, p: np.broadcast_to(g.random(shape[:-1] + (1,)) < p, shape), ""),
    (_fixed_count_per_row, "the same number of units"),
    (lambda g, shape, p: g.random((shape[0], shape[1])) < p, "raised"),  # assumes 2-D A
])
def test_dropout_shared_masks_fixed_counts_and_2d_only_fail(draw, cause):
    assert cause in fails("dropout_forward", _with_mask(draw))


def test_dropout_a_mask_shared_by_the_rows_fails_even_with_the_right_fractions():
    # every row keeps the columns j with j % 5 != 0: the kept fraction is exactly 0.8 in
    # the whole and in every block, and independent of A; only the neighbour test sees it
    ex = registry.get("dropout_forward")
    case = lesson09._dropout_public()[3]
    A, p = case.args
    r = np.broadcast_to(np.arange(A.shape[1]) % 5 != 0, A.shape).astype(float)
    assert "neighbouring rows (samples) agree" in ex.verify((A * r, r), case)
    column_mask = np.broadcast_to((np.arange(A.shape[0]) % 5 != 0)[:, None], A.shape) * 1.0
    assert "neighbouring" in ex.verify((A * column_mask, column_mask), case)


def test_dropout_results_must_be_arrays():
    def as_lists(A, p, rng=None, inverted=False):
        right = _with_mask(lambda g, shape, p: g.random(shape) < p)
        return tuple(x.tolist() for x in right(A, p, rng, inverted))
    assert "must be NumPy arrays" in fails("dropout_forward", as_lists)


def test_dropout_more_right_draws_pass():
    passes("dropout_forward", _with_mask(lambda g, shape, p: g.binomial(1, p, shape)))
    passes("dropout_forward", _with_mask(lambda g, shape, p: g.random(shape) <= p))


def test_dropout_bounds_are_below_1e9_and_hold_for_many_right_draws():
    n = verifiers.LARGE[0] * verifiers.LARGE[1]
    fraction = 2 * math.exp(-2 * n * verifiers.FRACTION_TOL**2)
    blocks = 16 * 2 * math.exp(-2 * (n / 16) * verifiers.BLOCK_TOL**2)
    independence = 2 * math.exp(-2 * verifiers.HOEFFDING_C**2)
    assert fraction + blocks + independence < 1e-11
    pairs = 2 * 2 * math.exp(-2 * (n / 2) * verifiers.PAIR_TOL**2)
    sigma2 = verifiers.LARGE[1] * 0.15 * 0.85  # the smallest row-count variance, p = 0.15
    t = 1 - verifiers.ROW_SPREAD
    spread = math.exp(-verifiers.LARGE[0] * t**2 / (2 * (3 + 1 / sigma2)))
    assert pairs + spread < 1e-19
    # 60 fresh draws of the reference on the large cases all pass; the drop-rate and the
    # keep-largest variants fail every one of them
    ex = registry.get("dropout_forward")
    large = [c for c in lesson09._dropout_public() if np.size(c.args[0]) >= n]
    keep_largest, _ = _structured_masks()[1]
    for seed in range(30):
        for case in large:
            case = Case(case.args, {**case.kwargs, "rng": seed + 100})
            out = ex.reference_fn(*case.args, **case.kwargs)
            assert ex.verify(out, case) is None
            assert ex.verify(lesson09._dropout_as_drop_rate(*case.args, **case.kwargs), case)
            assert ex.verify(keep_largest(*case.args, **case.kwargs), case)


def test_dropout_expected_activations():
    """E[Ã] = p A for classic dropout and A for inverted, within 5 standard errors."""
    from nnlib.regularization import dropout_forward

    a, p, n = np.array([0.5, 1.0, 3.0]), 0.7, 40_000
    classic = dropout_forward(np.tile(a, (n, 1)), p, rng=0)[0].mean(axis=0)
    inverted = dropout_forward(np.tile(a, (n, 1)), p, rng=1, inverted=True)[0].mean(axis=0)
    assert np.all(np.abs(classic - p * a) < 5 * a * math.sqrt(p * (1 - p) / n))
    assert np.all(np.abs(inverted - a) < 5 * a * math.sqrt((1 - p) / (p * n)))


# ---- dropout_backward ------------------------------------------------------------------


def dropout_backward_where(dA_tilde, r, p, inverted=False):
    """Correct: np.where on the kept units, the scale as a product by 1/p."""
    kept = _arr(r) > 0.5
    return np.where(kept, _arr(dA_tilde) * (1.0 / p if inverted else 1.0), 0.0)


def test_dropout_backward_correct_variants_pass():
    passes("dropout_backward", dropout_backward_where)
    passes("dropout_backward", lambda dA_tilde, r, p, inverted=False: dA_tilde * r / p**inverted)


@pytest.mark.parametrize("wrong, cause", [
    (lambda dA_tilde, r, p, inverted=False: dA_tilde / (p if inverted else 1.0),
     "the mask is forgotten"),
    (lambda dA_tilde, r, p, inverted=False: dA_tilde * r, "inverted dropout must divide"),
    (lambda dA_tilde, r, p, inverted=False: dA_tilde * r / p, "classic dropout does not scale"),
    (lambda dA_tilde, r, p, inverted=False: dA_tilde * r / ((1 - p) if inverted else 1.0),
     "1 − p"),
    (lambda dA_tilde, r, p, inverted=False: dA_tilde * (1 - r), "flipped"),
])
def test_dropout_backward_wrong_variants_fail(wrong, cause):
    with np.errstate(all="ignore"):
        assert cause in fails("dropout_backward", wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda dA_tilde, r, p, inverted=False: (dA_tilde * r).tolist(), "list, not an array"),
    (lambda dA_tilde, r, p, inverted=False: dA_tilde.__imul__(r), "changes an input in place"),
])
def test_dropout_backward_wrong_types_and_in_place_fail(wrong, message):
    assert message in fails("dropout_backward", wrong)


# ---- batchnorm_forward -----------------------------------------------------------------


def batchnorm_by_hand(Z, gamma, beta, eps=1e-5):
    """Correct: sums written out, rsqrt form, returns Y alone with an empty cache."""
    Z = _arr(Z)
    m = Z.shape[0]
    mu = Z.sum(axis=0) / m
    var = np.einsum("ij,ij->j", Z - mu, Z - mu) / m
    return (Z - mu) * (1.0 / np.sqrt(var + eps)) * gamma + beta, {}


def test_batchnorm_correct_variant_passes():
    passes("batchnorm_forward", batchnorm_by_hand)
    one_pass = lambda Z, g, b, eps=1e-5: ((Z - Z.mean(0)) / np.sqrt(  # noqa: E731
        (Z * Z).mean(0) - Z.mean(0) ** 2 + eps) * g + b, None)
    passes("batchnorm_forward", lambda Z, g, b, eps=1e-5: list(one_pass(_arr(Z), g, b, eps)))


def _bn_in_place(Z, gamma, beta, eps=1e-5):
    Z -= Z.mean(axis=0)  # mutates the caller's batch; fails on an integer batch
    Z /= np.sqrt((Z * Z).mean(axis=0) + eps)
    return gamma * Z + beta, None


@pytest.mark.parametrize("wrong, message", [
    (lambda Z, g, b, eps=1e-5: batchnorm_by_hand(Z, g, b, eps)[0], "instead of the pair"),
    (lambda Z, g, b, eps=1e-5: (batchnorm_by_hand(Z, g, b, eps)[0].tolist(), None),
     "list, not an array"),
    (_bn_in_place, "changed its argument Z in place"),
    (lambda Z, g, b, eps=1e-5: ((Z - Z.mean()) / np.sqrt(Z.var() + eps) * g + b, None), "should"),
])
def test_batchnorm_wrong_types_and_in_place_fail(wrong, message):
    with np.errstate(all="ignore"):
        assert message in fails("batchnorm_forward", wrong)


def test_a_mistake_that_cannot_run_never_stands_as_text_for_the_expected_value():
    # the wrong-axis mistake cannot run on a non-square batch; a result of one element
    # must still be judged, and get a message about its shape
    message = fails("batchnorm_forward", lambda Z, g, b, eps=1e-5: (np.zeros((1, 1)), None))
    assert "shape" in message


@pytest.mark.parametrize("wrong, cause", [
    (lambda Z, g, b, eps=1e-5: (g * (Z - Z.mean(0)) / np.sqrt(Z.var(0, ddof=1) + eps) + b, None),
     "ddof=1"),
    (lambda Z, g, b, eps=1e-5: (g * (Z - Z.mean(1, keepdims=True))
                                / np.sqrt(Z.var(1, keepdims=True) + eps) + b, None),
     "wrong axis"),
    (lambda Z, g, b, eps=1e-5: (g * (Z - Z.mean(0)) / (np.sqrt(Z.var(0)) + eps) + b, None),
     "ε is outside the square root"),
    (lambda Z, g, b, eps=1e-5: ((Z - Z.mean(0)) / np.sqrt(Z.var(0) + eps), None),
     "not scaled by γ"),
])
def test_batchnorm_wrong_variants_fail(wrong, cause):
    with np.errstate(all="ignore"):
        message = fails("batchnorm_forward", wrong)
    assert cause in message


# ---- batchnorm_backward ----------------------------------------------------------------


def batchnorm_backward_graph(dY, Z, gamma, eps=1e-5):
    """Correct: the step-by-step graph, node by node backward (μ, Z − μ, σ², √, 1/√, Ẑ)."""
    Z, m = _arr(Z), len(Z)
    mu = Z.mean(axis=0)
    Zc = Z - mu
    var = (Zc**2).mean(axis=0)
    std = np.sqrt(var + eps)
    inv = 1.0 / std
    Z_hat = Zc * inv
    dZ_hat = dY * gamma
    dinv = np.sum(dZ_hat * Zc, axis=0)
    dZc = dZ_hat * inv
    dvar = 0.5 * (-dinv / std**2) / std
    dZc = dZc + 2.0 * Zc * dvar / m
    dZ = dZc - dZc.sum(axis=0) / m
    return dZ, np.sum(dY * Z_hat, axis=0), dY.sum(axis=0)


def batchnorm_backward_jacobian(dY, Z, gamma, eps=1e-5):
    """Correct: one feature at a time through the Jacobian
    ∂Ẑ_i/∂Z_k = (m [i = k] − 1 − Ẑ_i Ẑ_k) / (m √(σ² + ε)), dZ = Jᵀ (dY ⊙ γ)."""
    Z, dY = _arr(Z), _arr(dY)
    m, n = Z.shape
    dZ, dgamma, dbeta = np.empty_like(Z), np.empty(n), np.empty(n)
    for j in range(n):
        z = Z[:, j]
        inv = 1.0 / np.sqrt(z.var() + eps)
        z_hat = (z - z.mean()) * inv
        J = (m * np.eye(m) - 1.0 - np.outer(z_hat, z_hat)) * inv / m
        dZ[:, j] = J.T @ (dY[:, j] * gamma[j])
        dgamma[j], dbeta[j] = dY[:, j] @ z_hat, dY[:, j].sum()
    return dZ, dgamma, dbeta


def batchnorm_backward_via_forward(dY, Z, gamma, eps=1e-5):
    """Correct, as the notebook suggests: Ẑ from the student's own batchnorm_forward with
    γ = 1 and β = 0, then the compact formula."""
    Z_hat = typed_batchnorm(Z, np.ones_like(gamma), np.zeros_like(gamma), eps)[0]
    inv = 1.0 / np.sqrt(Z.var(axis=0) + eps)
    dZ_hat = dY * gamma
    dZ = inv * (dZ_hat - dZ_hat.mean(axis=0) - Z_hat * np.mean(dZ_hat * Z_hat, axis=0))
    return dZ, np.sum(dY * Z_hat, axis=0), dY.sum(axis=0)


@pytest.mark.parametrize("right", [batchnorm_backward_graph, batchnorm_backward_jacobian,
                                   batchnorm_backward_via_forward])
def test_batchnorm_backward_correct_variants_pass(right):
    passes("batchnorm_backward", right)


def test_finite_differences_agree_with_nnlib_on_many_hidden_seeds():
    """The verify's second judge: the numerical gradient of the forward pass, column by
    column, matches nnlib's backward far inside FD_TOL on every case of 30 seeds."""
    from autograder.cases import cases_for
    from nnlib.batchnorm import batchnorm_backward
    worst = 0.0
    for seed in range(30):
        for case in cases_for(registry.get("batchnorm_backward"), True, seed):
            expected = batchnorm_backward(*case.args, **case.kwargs)
            for _, index, numeric, size in lesson09._bn_columns(case):
                gap = np.max(np.abs(expected[index[0]][index[1:]] - numeric)) / size
                worst = max(worst, float(gap))
    assert worst < verifiers.FD_TOL / 100


def _off_by(factor):
    def wrong(dY, Z, gamma, eps=1e-5):
        dZ, dgamma, dbeta = batchnorm_backward_graph(dY, Z, gamma, eps)
        return dZ * factor, dgamma, dbeta
    return wrong


@pytest.mark.parametrize("name", list(registry.get("batchnorm_backward").mistakes))
def test_finite_differences_alone_fail_every_named_mistake(name):
    """The second judge does not lean on nnlib's backward: on the public cases the
    numerical gradient of the forward pass tells each named mistake from a right answer."""
    wrong = registry.get("batchnorm_backward").mistakes[name]
    gaps = []
    for case in registry.get("batchnorm_backward").public():
        out = wrong(*case.args, **case.kwargs)
        gaps += [np.max(np.abs(_arr(out[index[0]])[index[1:]] - numeric)) / size
                 for _, index, numeric, size in lesson09._bn_columns(case)]
    assert max(gaps) > 100 * verifiers.FD_TOL


@pytest.mark.parametrize("wrong, cause", [
    (lambda dY, Z, g, eps=1e-5: (dY * g / np.sqrt(Z.var(0) + eps), np.sum(dY * (
        Z - Z.mean(0)) / np.sqrt(Z.var(0) + eps), 0), dY.sum(0)), "paths through the batch mean"),
    (_off_by(1.0 + 1e-3), "should be"),
    (lambda dY, Z, g, eps=1e-5: (batchnorm_backward_graph(dY, Z, g, eps)[0],
                                 np.sum(dY * Z, 0), dY.sum(0)), "not dY ⊙ Z"),
    (lambda dY, Z, g, eps=1e-5: batchnorm_backward_graph(dY, Z, g, eps)[:2], "3 items"),
    (lambda dY, Z, g, eps=1e-5: [x.tolist() for x in batchnorm_backward_graph(dY, Z, g, eps)],
     "not an array"),
])
def test_batchnorm_backward_wrong_variants_fail(wrong, cause):
    with np.errstate(all="ignore"):
        assert cause in fails("batchnorm_backward", wrong)


def _batchnorm_by_differences(dY, Z, gamma, eps=1e-5):
    """dZ by central differences of the forward pass, one element at a time: accurate,
    and no backward pass at all."""
    dY, Z, gamma = (np.array(a, dtype=float) for a in (dY, Z, gamma))

    def loss(Z_):
        return float(np.sum(dY * gamma * (Z_ - Z_.mean(axis=0)) / np.sqrt(Z_.var(axis=0) + eps)))

    dZ = np.zeros_like(Z)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            h = 1e-5 * np.sqrt(Z[:, j].var() + eps)
            up, down = Z.copy(), Z.copy()
            up[i, j] += h
            down[i, j] -= h
            dZ[i, j] = (loss(up) - loss(down)) / (2 * h)
    Z_hat = (Z - Z.mean(axis=0)) / np.sqrt(Z.var(axis=0) + eps)
    return dZ, np.sum(dY * Z_hat, axis=0), dY.sum(axis=0)


def _dropout_by_elements(dA_tilde, r, p, inverted=False):
    out = np.zeros(np.shape(dA_tilde))
    for index in np.ndindex(out.shape):
        out[index] = dA_tilde[index] * r[index] / (p if inverted else 1.0)
    return out


@pytest.mark.parametrize("name, loop", [("batchnorm_backward", _batchnorm_by_differences),
                                        ("dropout_backward", _dropout_by_elements)])
def test_a_backward_pass_computed_element_by_element_fails(name, loop):
    """The texts ask for array operations; a loop over the samples, such as finite
    differences of the forward pass, is told so."""
    assert "loop" in fails(name, loop)


def test_batchnorm_backward_unbiased_variance_fails():
    """The variance's gradient with m − 1 while the forward pass divides by m."""
    def unbiased(dY, Z, gamma, eps=1e-5):
        m = len(Z)
        Zc = Z - Z.mean(axis=0)
        std = np.sqrt(Zc.var(axis=0) + eps)
        dZ_hat = dY * gamma
        dvar = -0.5 * np.sum(dZ_hat * Zc, axis=0) / std**3
        dZ = dZ_hat / std + 2 * Zc * dvar / (m - 1) - np.sum(dZ_hat / std, axis=0) / m
        return dZ, np.sum(dY * Zc / std, axis=0), dY.sum(axis=0)
    assert "m − 1" in fails("batchnorm_backward", unbiased)


# ---- xavier_init, he_init --------------------------------------------------------------


def xavier_uniform(n_in, n_out, rng=None):
    r = math.sqrt(6 / (n_in + n_out))
    return np.random.default_rng(rng).uniform(-r, r, size=(n_out, n_in))


def he_normal_scaled(n_in, n_out, rng=None):
    return np.random.default_rng(rng).normal(size=(n_out, n_in)) * math.sqrt(2) / math.sqrt(n_in)


def _normal(variance):
    return lambda n_in, n_out, rng=None: np.random.default_rng(rng).normal(
        0.0, math.sqrt(variance(n_in, n_out)), size=(n_out, n_in))


def _uniform(variance):
    return lambda n_in, n_out, rng=None: np.random.default_rng(rng).uniform(
        -1, 1, size=(n_out, n_in)) * math.sqrt(3 * variance(n_in, n_out))


XAVIER = lambda n_in, n_out: 2 / (n_in + n_out)  # noqa: E731
HE = lambda n_in, n_out: 2 / n_in  # noqa: E731


def test_init_correct_variants_pass_in_both_forms():
    for name, target in (("xavier_init", XAVIER), ("he_init", HE)):
        passes(name, _normal(target))
        passes(name, _uniform(target))
    passes("xavier_init", xavier_uniform)
    passes("he_init", he_normal_scaled)


def _tiled_rows(variance):
    return lambda n_in, n_out, rng=None: np.tile(np.random.default_rng(rng).normal(
        0, math.sqrt(variance(n_in, n_out)), n_in), (n_out, 1))


def _sorted(variance):
    return lambda n_in, n_out, rng=None: np.sort(_normal(variance)(n_in, n_out, rng), axis=None
                                                 ).reshape(n_out, n_in)


@pytest.mark.parametrize("name, wrong, cause", [
    ("xavier_init", _tiled_rows(XAVIER), "neighbouring rows of W are correlated"),
    ("he_init", _tiled_rows(HE), "neighbouring rows of W are correlated"),
    ("he_init", _sorted(HE), "correlated"),
    ("xavier_init", lambda n_in, n_out, rng=None: _normal(XAVIER)(n_in, n_out, rng).tolist(),
     "NumPy array, not a list"),
    ("xavier_init", _normal(lambda n_in, n_out: 1 / n_in), "1/n_in"),
    ("xavier_init", _uniform(lambda n_in, n_out: 1 / n_in), "1/n_in"),
    ("xavier_init", _normal(lambda n_in, n_out: math.sqrt(2 / (n_in + n_out))),
     "standard deviation"),
    ("xavier_init", _normal(HE), "He's 2/n_in"),
    ("xavier_init", lambda n_in, n_out, rng=None: np.random.default_rng(rng).uniform(
        -1, 1, (n_out, n_in)) * math.sqrt(2 / (n_in + n_out)), "bound is the standard deviation"),
    ("xavier_init", lambda n_in, n_out, rng=None: _normal(XAVIER)(n_out, n_in, rng), "transposed"),
    ("he_init", _normal(lambda n_in, n_out: 2 / n_out), "2/n_out"),
    ("he_init", _uniform(lambda n_in, n_out: 1 / n_in), "1/n_in"),
    ("he_init", _normal(XAVIER), "Xavier's"),
    ("he_init", lambda n_in, n_out, rng=None: np.abs(_normal(HE)(n_in, n_out, rng)), "mean"),
])
def test_init_wrong_variants_fail(name, wrong, cause):
    assert cause in fails(name, wrong)


def test_init_bounds_are_below_1e9_and_hold_for_many_right_draws():
    n, t = verifiers.MIN_WEIGHTS, verifiers.VAR_TOL
    chi2_upper = math.exp(-n / 2 * (t - math.log1p(t)))
    chi2_lower = math.exp(-n / 2 * (-t - math.log1p(-t)))
    uniform_var = 2 * math.exp(-2 * n * t**2 / 9)
    uniform_mean = 2 * math.exp(-2 * n * verifiers.MEAN_TOL**2 / 12)
    normal_mean = math.erfc(verifiers.MEAN_TOL * math.sqrt(n) / math.sqrt(2))
    normal_max = 1e7 * math.erfc(verifiers.MAX_SIGMAS / math.sqrt(2))
    total = chi2_upper + chi2_lower + uniform_var + uniform_mean + normal_mean + normal_max
    assert total < 1e-15
    # neighbour correlation: N' >= 48,000 products; Chernoff (normal), Hoeffding (uniform)
    c, pairs = verifiers.CORR_TOL, 48_000
    normal_corr = 2 * math.exp(min(-pairs * (c * t + math.log(1 - t * t) / 2)
                                   for t in np.linspace(0.01, 0.5, 50)))
    uniform_corr = 2 * math.exp(-2 * pairs * c**2 / 36)
    assert normal_corr + uniform_corr < 1e-11
    # many independent draws of right answers pass; wrong variances fail all of them
    for name, target, wrongs in (
        ("xavier_init", XAVIER, [lambda a, b: 1 / a, lambda a, b: 1 / b, HE]),
        ("he_init", HE, [lambda a, b: 2 / b, lambda a, b: 1 / a, XAVIER]),
    ):
        ex = registry.get(name)
        rng = np.random.default_rng(7)
        for trial in range(8):
            for case in ex.hidden(rng):
                for right in (_normal(target), _uniform(target)):
                    assert ex.verify(right(*case.args, **case.kwargs), case) is None
            failed = [any(ex.verify(_normal(w)(*c.args, **c.kwargs), c) for c in ex.hidden(rng))
                      for w in wrongs]
            assert all(failed), (name, trial, failed)


# ---- early_stopping_epoch --------------------------------------------------------------


def early_stopping_running_min(val_losses, patience, min_delta=0.0):
    """Correct, written without a `waited` counter: scan for the next improvement."""
    losses = list(val_losses)
    best_epoch = 0
    while True:
        nxt = next((t for t in range(best_epoch + 1, len(losses))
                    if losses[t] < losses[best_epoch] - min_delta), None)
        limit = best_epoch + patience + 1
        if nxt is None or nxt > limit:
            return best_epoch, min(limit, len(losses) - 1)
        best_epoch = nxt


def test_early_stopping_correct_variant_passes():
    passes("early_stopping_epoch", early_stopping_running_min)
    passes("early_stopping_epoch", lambda val_losses, patience, min_delta=0.0: [
        np.int64(t) for t in early_stopping_running_min(val_losses, patience, min_delta)])


@pytest.mark.parametrize("wrong, message", [
    (lesson09._stopper(lambda loss, best, d: loss < best * (1 - d), lesson09._PAST),
     "should be"),  # min_delta taken as relative
    (lambda val_losses, patience, min_delta=0.0: tuple(
        float(t) for t in early_stopping_running_min(val_losses, patience, min_delta)),
     "float, not an int"),
    (lambda val_losses, patience, min_delta=0.0: early_stopping_running_min(
        val_losses + [], patience, min_delta), "raised"),  # a list only: [] + an array fails
])
def test_early_stopping_relative_delta_floats_and_list_only_fail(wrong, message):
    assert message in fails("early_stopping_epoch", wrong)


@pytest.mark.parametrize("wrong, cause", [
    (lesson09._stopper(lesson09._STRICT, lambda waited, patience: waited >= patience),
     "off by one"),
    (lesson09._stopper(lambda loss, best, d: loss <= best - d, lesson09._PAST), "equal"),
    (lesson09._stopper(lambda loss, best, d: loss < best, lesson09._PAST), "min_delta"),
    (lesson09._stopper(lesson09._STRICT, lesson09._PAST, one_based=True), "counted from 1"),
    (lambda val_losses, patience, min_delta=0.0: (int(np.argmin(val_losses)), len(val_losses) - 1),
     "should be 3"),
])
def test_early_stopping_wrong_variants_fail(wrong, cause):
    assert cause in fails("early_stopping_epoch", wrong)


def test_early_stopping_rule_and_errors():
    assert early_stopping_epoch([5.0, 3.0, 4.0, 2.0, 2.5, 2.1, 3.0, 1.0], 2) == (3, 6)
    assert early_stopping_epoch([1.0, 2.0], 0) == (0, 1)
    assert early_stopping_epoch([1.0, 2.0], 1) == (0, 1)  # never fires: the last epoch
    for bad, match in (([], "at least one"), ([[1.0]], "1-D")):
        with pytest.raises(ValueError, match=match):
            early_stopping_epoch(bad, 1)
    with pytest.raises(ValueError, match="patience"):
        early_stopping_epoch([1.0], -1)
    with pytest.raises(ValueError, match="min_delta"):
        early_stopping_epoch([1.0], 1, min_delta=-0.1)


# ---- plots -----------------------------------------------------------------------------


def test_plot_early_stopping_marks_best_and_stop():
    val = [3.0, 2.0, 1.0, 1.5, 1.6, 1.7, 1.2]
    ax = plot.plot_early_stopping(val, 2, 4, train_losses=np.linspace(3, 0.5, 7))
    xs = sorted({float(line.get_xdata()[0]) for line in ax.lines
                 if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]})
    assert xs == [2.0, 4.0]
    run_line = [line for line in ax.lines if line.get_label() == "validation loss"][0]
    np.testing.assert_array_equal(run_line.get_ydata(), val[:5])
    with pytest.raises(ValueError, match="best_epoch"):
        plot.plot_early_stopping(val, 5, 4)


def test_plot_layer_stats_and_histograms():
    ax = plot.plot_layer_stats({"a": [1.0, 0.1, 0.0], "b": [1.0, 1.0, 1.0]}, "std")
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    assert ax.lines[0].get_ydata()[2] > 0  # a zero is drawn at the bottom, not dropped
    layers = [np.zeros((5, 3)), np.arange(6.0)]
    axes = plot.plot_layer_histograms(layers, bins=4)
    assert len(axes) == 2
    assert sum(patch.get_height() for patch in axes[0].patches) == 15
    assert "std 0" in axes[0].get_title()
    with pytest.raises(ValueError, match="2 layers but 3 axes"):
        plot.plot_layer_histograms(layers, axes=plt.subplots(1, 3)[1])


@pytest.mark.parametrize("name, in_place", [
    ("l2_grad", lambda params, lam: [(W.__imul__(2 * lam), np.zeros_like(b)) for W, b in params]),
    ("batchnorm_forward", lambda Z, gamma, beta, eps=1e-5: (
        Z.__isub__(Z.mean(axis=0)), None)),
    ("batchnorm_backward", lambda dY, Z, gamma, eps=1e-5: (
        dY.__imul__(2.0), np.zeros_like(gamma), np.zeros_like(gamma))),
])
def test_changing_an_input_in_place_fails(name, in_place):
    assert "changes an input in place" in fails(name, in_place)


# ---- right answers that rely on what the text promises -----------------------------------
# Arrays, so `W ** 2`, `A.shape` and `Z.mean(axis=0)` work without np.asarray;
# test_case_contracts.py runs them on the public and hidden cases.


def typed_dropout(A, p, rng=None, inverted=False):
    rng = np.random.default_rng(rng)
    r = (rng.random(A.shape) < p).astype(float)
    return (A * r / p if inverted else A * r), r


def typed_batchnorm(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(axis=0), Z.var(axis=0)
    Z_hat = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_hat + beta, (Z_hat, mu, var)


TYPED = {
    "l2_penalty": lambda params, lam: float(lam * sum((W**2).sum() for W, _ in params)),
    "l2_grad": lambda params, lam: [(2 * lam * W, np.zeros_like(b)) for W, b in params],
    "dropout_forward": typed_dropout,
    "batchnorm_forward": typed_batchnorm,
    "dropout_backward": lambda dA_tilde, r, p, inverted=False: dA_tilde * r / (p if inverted
                                                                               else 1.0),
    "batchnorm_backward": batchnorm_backward_via_forward,
}
