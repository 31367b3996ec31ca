"""07-losses: the regression and classification losses and their gradients dL/dy_hat.

Shapes follow nnlib.losses: a 1-D array is N samples of one output, an (N, K) array is N
samples of K outputs, and a loss is the mean over the N samples of the sum over the outputs.
For `cce` the classes are the last axis of an (N, K) array.

At a probability of exactly 0 or 1 the cross-entropies need a convention, because ln 0 is
-inf. nnlib clips p into [EPS, 1 - EPS] with EPS = 1e-12; a student may choose any clipping
constant eps up to 1e-7 (Keras uses 1e-7, scikit-learn used 1e-15) that keeps -ln eps finite:
with the usual clip into [eps, 1 - eps] that means eps above 2^-54 (about 1e-16, since
1 - eps rounds to 1 below it), or any eps down to 5e-324 when 1 - p is clipped on its own. The
checks therefore judge the elements where p is exactly 0 or 1 by properties every such
answer has (`project` maps a value with those properties to nnlib's value):

* certain and right (y == p): the loss term is between 0 and -ln(1 - 1e-7), about 1e-7;
  the gradient is -1/N (y = 1) or +1/N (y = 0) up to a relative 1e-6;
* certain and wrong (y == 1 - p): the loss term is between ln(1e7) = 16.1 and 745 (any
  finite -ln eps); the gradient has the right sign, is finite and at least 0.99e7/N;
* every other p in the cases stays within [1e-5, 1 - 1e-5], where clipping with such an eps
  changes nothing (and adding an eps <= 1e-12 inside the log changes little), and is
  compared with nnlib with the "stable" tolerance (relative 1e-6).

nan, inf and NumPy warnings fail (`strict_warnings`). Cases with a certain and wrong
prediction hold no other uncertain elements, so the interval for the loss cannot hide an
error elsewhere.

Every input array is read-only (`pure`), so a function that changes its inputs in place
(`y_hat -= y`, `np.clip(p, eps, 1 - eps, out=p)`) fails. A loss must be a number (a list or
an array of shape (1,) fails: `f"{loss:.3f}"` would raise) and a gradient an array, not a
list. The regression losses and their gradients accept a computation in float32 (relative
error about 1e-7 of the inputs' size), the cross-entropies do not: float32 cannot hold
1 - p for p near 1.
"""


import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.results import array, number, then
from nnlib import losses
from nnlib.activations import softmax

C_LOW, C_HIGH = float(np.log(1e7)), 745.2  # -ln eps for eps in [5e-324, 1e-7]
RIGHT_LOW, RIGHT_HIGH = -1.01e-7, 1.01e-7   # -ln(1 -+ eps) for eps <= 1e-7
GRAD_MIN = 0.99e7                           # |N dL/dp| at a certain wrong p: 1/eps >= 1e7


def _f(x):
    return np.asarray(x, dtype=float)


# ---- read-only inputs -------------------------------------------------------------------


def _rows(y):
    return _f(y).shape[0]


# ---- cases ------------------------------------------------------------------------------


def _regression_hidden(rng, delta=False):
    """Random vectors and batches (K >= 2, so the mean over samples differs from the mean
    over elements), one output column, exact zeros of the residual, one sample."""
    n, k = (int(v) for v in rng.integers(2, 7, size=2))
    size = int(rng.integers(1, 30))
    y_int = rng.integers(-3, 4, size=12).astype(float)
    residuals = rng.permutation([0.0, 0.0, 0.0, 0.5, -1.0, 2.0, -3.0, 0.25, 1e-3, -1e-3,
                                 1e-6, -1e-6])
    cases = [
        Case((rng.normal(size=size), rng.normal(scale=3.0, size=size)), note="a vector"),
        Case((rng.normal(size=(n, k)), rng.normal(scale=2.0, size=(n, k))), note="a batch"),
        Case((rng.normal(size=(n, 1)), rng.normal(scale=2.0, size=(n, 1))), note="one output"),
        Case((y_int, y_int + residuals),
             note="residuals 0, 0.25, +-0.5, -1, 2, -3, +-1e-3, +-1e-6"),
        Case((rng.normal(size=(1, k)), rng.normal(scale=2.0, size=(1, k))), note="one sample"),
    ]
    if delta:
        d = float(rng.choice([0.5, 1.5, 2.0]))
        cases = [Case(c.args, {"delta": d} if i % 2 else {}, c.note)
                 for i, c in enumerate(cases)]
        cases.append(Case((np.zeros(4), np.array([-d, d, d / 2, 3 * d])), {"delta": d},
                          "residuals exactly +-delta"))
        cases.append(Case((rng.normal(size=(n, k)), rng.normal(scale=2.0, size=(n, k))),
                          {"delta": float(rng.uniform(0.2, 3.0))}, "a random delta"))
    return cases


def _regression_public(delta=False):
    cases = [
        Case((np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 1.0, 3.0, 7.0])),
             note="4 samples of one output: residuals 0.5, -1, 0, 3"),
        Case((np.array([[7.5, 8.2, 7.7], [6.0, 7.1, 6.4]]),
              np.array([[7.0, 8.0, 8.0], [6.5, 6.0, 6.4]])),
             note="2 films, 3 ratings each: sum over the 3 outputs, mean over the 2 samples"),
    ]
    if delta:
        cases.append(Case((np.zeros(5), np.array([-4.0, -2.0, 0.5, 2.0, 4.0])), {"delta": 2.0},
                          "delta = 2"))
    return cases


def _binary_hidden(rng):
    n, k = (int(v) for v in rng.integers(2, 7, size=2))
    size = int(rng.integers(1, 30))
    y_vec = rng.integers(0, 2, size=size).astype(float)
    y_mat = rng.integers(0, 2, size=(n, k)).astype(float)
    near = np.array([1e-5, 1e-4, 1e-3, 1 - 1e-3, 1 - 1e-4, 1 - 1e-5])
    y_near = rng.integers(0, 2, size=(4, 6)).astype(float)
    y_sure = rng.integers(0, 2, size=10).astype(float)
    wrong = rng.permutation(10) < rng.integers(1, 5)
    p_sure = np.where(wrong, 1.0 - y_sure, y_sure)
    y_right = rng.integers(0, 2, size=(n, 3)).astype(float)
    p_right = np.hstack([y_right[:, :2], rng.uniform(0.05, 0.95, size=(n, 1))])
    y_grid = rng.integers(0, 2, size=(n, k)).astype(float)
    p_grid = rng.integers(0, 2, size=(n, k)).astype(float)
    p_grid[0, 0] = 1.0 - y_grid[0, 0]  # at least one certain and wrong prediction
    return [
        Case((y_vec, rng.uniform(0.02, 0.98, size=size)), note="a vector"),
        Case((y_mat, rng.uniform(0.02, 0.98, size=(n, k))), note="a batch of K outputs"),
        Case((y_near, np.tile(near, (4, 1))), note="p near 0 and 1"),
        Case((y_right, p_right), note="certain and right (p == y) next to uncertain"),
        Case((y_sure, p_sure), note="p in {0, 1}, some certain and wrong"),
        Case((y_grid, p_grid), note="a batch of certain predictions, right and wrong"),
    ]


def _binary_public():
    return [
        Case((np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.9, 0.2, 0.6, 0.4])),
             note="4 samples"),
        Case((np.array([[1.0]]), np.array([[0.4740]])),
             note="the seed's output unit 6: target 1, output 0.474"),
        Case((np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]),
              np.array([[0.7, 0.1], [0.5, 0.3], [0.99, 0.8]])),
             note="3 samples of 2 binary outputs: sum over outputs, mean over samples"),
        Case((np.array([1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.5])),
             note="certain and right: p = y = 1 and p = y = 0"),
        Case((np.array([1.0, 0.0]), np.array([0.0, 1.0])),
             note="certain and wrong: must stay finite (clip p)"),
    ]


def _one_hot(rng, n, k):
    return np.eye(k)[rng.integers(0, k, size=n)]


def _categorical_hidden(rng):
    n, k = int(rng.integers(2, 8)), int(rng.integers(2, 7))
    y = _one_hot(rng, n, k)
    p_near = softmax(rng.normal(size=(n, k)))
    p_near = 0.5 * p_near + 0.5 * np.where(y == 1, 0.0, 1.0 / (k - 1))
    p_near[0] = np.where(y[0] == 1, 1e-5, (1 - 1e-5) / (k - 1))
    y_right = _one_hot(rng, n, k)
    p_right = softmax(rng.normal(size=(n, k)))
    p_right[: n // 2 + 1] = y_right[: n // 2 + 1]
    y_sure = _one_hot(rng, n, k)
    p_sure = y_sure.copy()
    wrong = rng.permutation(n)[: rng.integers(1, n + 1)]
    p_sure[wrong] = np.roll(y_sure[wrong], 1, axis=1)
    return [
        Case((y, softmax(rng.normal(scale=2.0, size=(n, k)))), note="a batch"),
        Case((_one_hot(rng, 1, k), softmax(rng.normal(size=(1, k)))), note="one sample"),
        Case((_one_hot(rng, n, 2), softmax(rng.normal(size=(n, 2)))), note="two classes"),
        Case((y, p_near), note="p of the true class down to 1e-5"),
        Case((y_right, p_right), note="certain and right rows (p == y) next to uncertain"),
        Case((y_sure, p_sure), note="one-hot p, some on the wrong class"),
    ]


def _categorical_public():
    return [
        Case((np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
              np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])), note="2 samples, 3 classes"),
        Case((np.array([[0.0, 1.0, 0.0, 0.0]]), np.array([[0.1, 0.6, 0.2, 0.1]])),
             note="one sample, 4 classes"),
        Case((np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]),
              np.array([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]])), note="3 samples, 2 classes"),
        Case((np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
              np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])),
             note="certain and right: p = 1 on the true class, 0 elsewhere"),
        Case((np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])),
             note="certain and wrong: must stay finite (clip p)"),
    ]


# ---- projections for p in {0, 1} --------------------------------------------------------


def _extremes(case, categorical):
    """Masks of the elements that are certain and right / certain and wrong, and N."""
    y, p = (_f(a) for a in case.args)
    certain = (p == 0.0) | (p == 1.0)
    if categorical:
        # Only the true class contributes; y == 0 elements must add exactly 0.
        right = certain & (y == 1.0) & (p == 1.0)
        wrong = certain & (y == 1.0) & (p == 0.0)
        n = max(int(np.prod(y.shape[:-1])), 1)
    else:
        right = certain & (y == p)
        wrong = certain & (y == 1.0 - p)
        n = y.shape[0] if y.ndim else 1
    return y, p, right, wrong, n


def _number(out):
    arr = np.asarray(out)
    if arr.dtype.kind not in "biuf" or arr.size != 1:
        return None
    return float(arr.reshape(()))


def _terms(y, p, categorical):
    """The loss terms of uncertain elements (0 < p < 1), undivided by N."""
    with np.errstate(all="ignore"):
        if categorical:
            return np.where(y == 1.0, -np.log(p), 0.0)
        return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def _project_loss(reference, categorical):
    """A loss is nnlib's value when its terms at p in {0, 1} lie in the accepted ranges."""
    def project(out, case):
        y, p, right, wrong, n = _extremes(case, categorical)
        value = _number(out)
        if value is None or not (right.any() or wrong.any()) or not np.isfinite(value):
            return out
        rest = float(np.sum(_terms(y, p, categorical)[~(right | wrong) & (p > 0) & (p < 1)]))
        low = rest + wrong.sum() * C_LOW + right.sum() * RIGHT_LOW
        high = rest + wrong.sum() * C_HIGH + right.sum() * RIGHT_HIGH
        slack = 1e-12 + 1e-7 * high
        if low - slack <= n * value <= high + slack:
            return reference(*case.args)
        return value
    return project


def _project_grad(reference, categorical):
    """A gradient is nnlib's value at p in {0, 1} where it has the accepted properties."""
    def project(out, case):
        y, p, right, wrong, n = _extremes(case, categorical)
        expected = reference(*case.args)
        try:
            g = np.array(out, dtype=float)
        except (TypeError, ValueError):
            return out
        if g.shape != expected.shape or not (right.any() or wrong.any()):
            return out
        with np.errstate(all="ignore"):
            ok_right = right & np.isclose(g, expected, rtol=1e-6, atol=0.0)
            ok_wrong = (wrong & np.isfinite(g) & (np.sign(g) == np.sign(expected))
                        & (np.abs(n * g) >= GRAD_MIN))
        return np.where(ok_right | ok_wrong, expected, g)
    return project


# ---- registrations ----------------------------------------------------------------------


def _reg(name, signature, public, hidden, points, mistakes, project=None, **fields):
    typed = array if name.endswith("_grad") else number
    register(Exercise(
        name=name,
        lessons=("07-losses",),
        signature=signature,
        reference=f"nnlib.losses.{name}",
        public=public,
        hidden=hidden,
        pure=True,
        project=then(typed, project) if project else typed,
        points=points,
        mistakes=mistakes,
        **fields,
    ))


def _r(y, y_hat):
    return _f(y) - _f(y_hat)


_reg("mse", "(y, y_hat)", _regression_public, _regression_hidden, 1, {
    "sums over the samples: divide by N, the number of samples": lambda y, y_hat:
        float(np.sum(_r(y, y_hat) ** 2)),
    "averages over every element: the course's MSE sums over the outputs and averages "
    "over the N samples (rows)": lambda y, y_hat: float(np.mean(_r(y, y_hat) ** 2)),
    "returns the RMSE: no square root in the MSE": losses.rmse,
    "has a factor 1/2 (that is half the SSE divided by N)": lambda y, y_hat:
        losses.half_sse(y, y_hat) / _rows(y),
}, tolerance="iterative")

_reg("mse_grad", "(y, y_hat)", _regression_public, _regression_hidden, 1, {
    "the sign is flipped: d/dy_hat (y - y_hat)^2 = -2 (y - y_hat) = 2 (y_hat - y)":
        lambda y, y_hat: -losses.mse_grad(y, y_hat),
    "the 1/N is missing: the loss averages over samples, so its gradient does too":
        lambda y, y_hat: 2.0 * (_f(y_hat) - _f(y)),
    "the factor 2 of the square is missing": lambda y, y_hat: losses.mse_grad(y, y_hat) / 2,
    "divides by the number of elements instead of the number of samples N":
        lambda y, y_hat: 2.0 * (_f(y_hat) - _f(y)) / _f(y).size,
}, tolerance="numerical")

_reg("mae", "(y, y_hat)", _regression_public, _regression_hidden, 1, {
    "sums over the samples: divide by N": lambda y, y_hat: float(np.sum(np.abs(_r(y, y_hat)))),
    "averages over every element: sum over the outputs, mean over the N samples":
        lambda y, y_hat: float(np.mean(np.abs(_r(y, y_hat)))),
    "the absolute value is missing: positive and negative residuals cancel":
        lambda y, y_hat: float(np.sum(_r(y, y_hat))) / _rows(y),
}, tolerance="iterative")

_reg("mae_grad", "(y, y_hat)", _regression_public, _regression_hidden, 1, {
    "gives +1 where y_hat == y; the convention is 0 there (np.sign(0) == 0)":
        lambda y, y_hat: np.where(_f(y_hat) >= _f(y), 1.0, -1.0) / _rows(y),
    "gives -1 where y_hat == y; the convention is 0 there (np.sign(0) == 0)":
        lambda y, y_hat: np.where(_f(y_hat) > _f(y), 1.0, -1.0) / _rows(y),
    "the sign is flipped: d|y - y_hat|/dy_hat = sign(y_hat - y)":
        lambda y, y_hat: np.sign(_r(y, y_hat)) / _rows(y),
    "the 1/N is missing": lambda y, y_hat: np.sign(-_r(y, y_hat)),
})


def _huber_variant(half=0.5, scale_linear=True, swap=False):
    def huber(y, y_hat, delta=1.0):
        a = np.abs(_r(y, y_hat))
        inner = a > delta if swap else a <= delta
        linear = delta * (a - 0.5 * delta) if scale_linear else a - 0.5 * delta
        return float(np.where(inner, half * a * a, linear).sum()) / _rows(y)
    return huber


_reg("huber", "(y, y_hat, delta=1.0)", lambda: _regression_public(delta=True),
     lambda rng: _regression_hidden(rng, delta=True), 2, {
         "the quadratic branch lacks the 1/2 (as on the slide): the branches must meet at "
         "|r| = delta, so it is r^2 / 2": _huber_variant(half=1.0),
         "the linear branch lacks the factor delta: delta (|r| - delta / 2)":
             _huber_variant(scale_linear=False),
         "the branches are swapped: quadratic for |r| <= delta, linear beyond":
             _huber_variant(swap=True),
         "sums over the samples: divide by N": lambda y, y_hat, delta=1.0:
             losses.huber(y, y_hat, delta) * _rows(y),
         "ignores delta and always uses 1": lambda y, y_hat, delta=1.0: losses.huber(y, y_hat),
     }, tolerance="iterative")

_reg("huber_grad", "(y, y_hat, delta=1.0)", lambda: _regression_public(delta=True),
     lambda rng: _regression_hidden(rng, delta=True), 1, {
         "outside delta the slope is delta * sign(r), not sign(r)":
             lambda y, y_hat, delta=1.0: np.where(
                 np.abs(_r(y, y_hat)) <= delta, -_r(y, y_hat), -np.sign(_r(y, y_hat)))
             / _rows(y),
         "the sign is flipped: dL/dy_hat = clip(y_hat - y, -delta, delta) / N":
             lambda y, y_hat, delta=1.0: -losses.huber_grad(y, y_hat, delta),
         "the 1/N is missing": lambda y, y_hat, delta=1.0:
             np.clip(-_r(y, y_hat), -delta, delta),
         "uses the slide's quadratic branch r^2 (slope 2r) inside delta":
             lambda y, y_hat, delta=1.0: np.where(
                 np.abs(_r(y, y_hat)) <= delta, -2 * _r(y, y_hat),
                 -delta * np.sign(_r(y, y_hat))) / _rows(y),
         "ignores delta and always uses 1": lambda y, y_hat, delta=1.0:
             losses.huber_grad(y, y_hat),
     }, tolerance="numerical")


_reg("bce", "(y, p)", _binary_public, _binary_hidden, 2, {
    "y and p are swapped: the argument order is (y, p), targets first":
        lambda y, p: losses.bce(p, y),
    "sums over the samples: divide by N": lambda y, p: losses.bce(y, p) * _rows(y),
    "averages over every element: sum over the outputs, mean over the N samples":
        lambda y, p: losses.bce(y, p) * _rows(y) / _f(y).size,
    "the minus sign is missing: ln p < 0, so the loss needs -": lambda y, p: -losses.bce(y, p),
    "the (1 - y) ln(1 - p) term is missing: samples with y = 0 must count too":
        lambda y, p: -float(np.sum(_f(y) * np.log(np.maximum(_f(p), losses.EPS)))) / _rows(y),
}, project=_project_loss(losses.bce, categorical=False),
    tolerance="stable", strict_warnings=True)

_reg("bce_grad", "(y, p)", _binary_public, _binary_hidden, 2, {
    "returns (p - y) / N, the gradient with respect to the sigmoid's input z; "
    "here the gradient with respect to p is asked": lambda y, p: (_f(p) - _f(y)) / _rows(y),
    "the sign is flipped: dL/dp = ((1 - y)/(1 - p) - y/p) / N":
        lambda y, p: -losses.bce_grad(y, p),
    "the 1/N is missing": lambda y, p: losses.bce_grad(y, p) * _rows(y),
}, project=_project_grad(losses.bce_grad, categorical=False),
    tolerance="stable", strict_warnings=True)


def _cce_wrong_axis(y, p):
    """Sums over the samples (axis 0) and averages over the classes."""
    return float(np.mean(-np.sum(_f(y) * np.log(np.maximum(_f(p), losses.EPS)), axis=0)))


_reg("cce", "(y, p)", _categorical_public, _categorical_hidden, 2, {
    "sums over the samples and averages over the classes: sum over the classes "
    "(axis=-1), mean over the N samples": _cce_wrong_axis,
    "sums over the samples: divide by N": lambda y, p: losses.cce(y, p) * _rows(y),
    "averages over every element: sum over the classes, mean over the N samples":
        lambda y, p: losses.cce(y, p) / _f(y).shape[-1],
    "the minus sign is missing": lambda y, p: -losses.cce(y, p),
    "adds the (1 - y) ln(1 - p) terms of the binary cross-entropy; with softmax only the "
    "true class's -ln p counts": lambda y, p: losses.bce(y, p),
    "y and p are swapped: the argument order is (y, p), targets first":
        lambda y, p: losses.cce(p, y),
}, project=_project_loss(losses.cce, categorical=True),
    tolerance="stable", strict_warnings=True)

_reg("cce_grad", "(y, p)", _categorical_public, _categorical_hidden, 1, {
    "returns (p - y) / N, the gradient of softmax + cross-entropy with respect to the "
    "logits; here the gradient with respect to p is asked":
        lambda y, p: (_f(p) - _f(y)) / _rows(y),
    "the sign is flipped: dL/dp = -y / (N p)": lambda y, p: -losses.cce_grad(y, p),
    "the 1/N is missing": lambda y, p: losses.cce_grad(y, p) * _rows(y),
}, project=_project_grad(losses.cce_grad, categorical=True),
    tolerance="stable", strict_warnings=True)
