"""07-losses: the Huber loss, binary cross-entropy, softmax + cross-entropy from the logits
and its gradient, and the output activation and loss that suit a task.

Shapes follow nnlib.losses: a 1-D array is N samples of one output, an (N, K) array is N
samples of K outputs, and a loss is the mean over the N samples of the sum over the outputs.
For the softmax exercises the classes are the last axis of an (N, K) array of logits.

At a probability of exactly 0 or 1 the binary cross-entropy needs a convention, because
ln 0 is -inf. nnlib clips p into [EPS, 1 - EPS] with EPS = 1e-12; a student may choose any
clipping constant eps up to 1e-7 (Keras uses 1e-7, scikit-learn used 1e-15) that keeps
-ln eps finite: with the usual clip into [eps, 1 - eps] that means eps above 2^-54 (about
1e-16, since 1 - eps rounds to 1 below it), or any eps down to 5e-324 when 1 - p is clipped
on its own. The check therefore judges the elements where p is exactly 0 or 1 by properties
every such answer has (`project` maps a value with those properties to nnlib's value):

* certain and right (y == p): the loss term is between 0 and -ln(1 - 1e-7), about 1e-7;
* certain and wrong (y == 1 - p): the loss term is between ln(1e7) = 16.1 and 745 (any
  finite -ln eps);
* every other p in the cases stays within [1e-5, 1 - 1e-5], where clipping with such an eps
  changes nothing (and adding an eps <= 1e-12 inside the log changes little), and is
  compared with nnlib with the "stable" tolerance (relative 1e-6).

Cases with a certain and wrong prediction hold no other uncertain elements, so the interval
for the loss cannot hide an error elsewhere. The softmax exercises need no convention: from
the logits, ln p_k = z_k - ln sum_m e^(z_m) is finite for any finite logits, and their cases
hold logits far enough apart (up to 2000) that going through clipped probabilities fails.

nan, inf and NumPy warnings fail (`strict_warnings`) where stability is the point. Every
input array is passed as a copy and compared afterwards (`pure`), so a function that changes
its inputs in place (`y_hat -= y`, `np.clip(p, eps, 1 - eps, out=p)`) fails. A loss must be
a number (a list or an array of shape (1,) fails: `f"{loss:.3f}"` would raise) and a
gradient an array, not a list. The Huber loss accepts a computation in float32 (relative
error about 1e-7 of the inputs' size), the cross-entropies do not: float32 cannot hold
1 - p for p near 1.
"""


import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.results import array, number, then
from autograder.verifiers import floats, random_one_hot
from nnlib import losses
from nnlib.activations import sigmoid, softmax

C_LOW, C_HIGH = float(np.log(1e7)), 745.2  # -ln eps for eps in [5e-324, 1e-7]
RIGHT_LOW, RIGHT_HIGH = -1.01e-7, 1.01e-7   # -ln(1 -+ eps) for eps <= 1e-7


def _rows(y):
    return floats(y).shape[0]


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
             note="the slides' output unit 6: target 1, output 0.474"),
        Case((np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]),
              np.array([[0.7, 0.1], [0.5, 0.3], [0.99, 0.8]])),
             note="3 samples of 2 binary outputs: sum over outputs, mean over samples"),
        Case((np.array([1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.5])),
             note="certain and right: p = y = 1 and p = y = 0"),
        Case((np.array([1.0, 0.0]), np.array([0.0, 1.0])),
             note="certain and wrong: must stay finite (clip p)"),
    ]


# ---- projections for p in {0, 1} --------------------------------------------------------


def _extremes(case):
    """Masks of the elements that are certain and right / certain and wrong, and N."""
    y, p = (floats(a) for a in case.args)
    certain = (p == 0.0) | (p == 1.0)
    return y, p, certain & (y == p), certain & (y == 1.0 - p), y.shape[0] if y.ndim else 1


def _number(out):
    arr = np.asarray(out)
    if arr.dtype.kind not in "biuf" or arr.size != 1:
        return None
    return float(arr.reshape(()))


def _terms(y, p):
    """The loss terms of uncertain elements (0 < p < 1), undivided by N."""
    with np.errstate(all="ignore"):
        return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def _project_loss(reference):
    """A loss is nnlib's value when its terms at p in {0, 1} lie in the accepted ranges."""
    def project(out, case):
        y, p, right, wrong, n = _extremes(case)
        value = _number(out)
        if value is None or not (right.any() or wrong.any()) or not np.isfinite(value):
            return out
        rest = float(np.sum(_terms(y, p)[~(right | wrong) & (p > 0) & (p < 1)]))
        low = rest + wrong.sum() * C_LOW + right.sum() * RIGHT_LOW
        high = rest + wrong.sum() * C_HIGH + right.sum() * RIGHT_HIGH
        slack = 1e-12 + 1e-7 * high
        if low - slack <= n * value <= high + slack:
            return reference(*case.args)
        return value
    return project


# ---- registrations ----------------------------------------------------------------------


def _reg(name, signature, public, hidden, points, mistakes, project=None, **fields):
    register(Exercise(
        name=name,
        lessons=("07-losses",),
        signature=signature,
        reference=f"nnlib.losses.{name}",
        public=public,
        hidden=hidden,
        pure=True,
        project=then(number, project) if project else number,
        points=points,
        mistakes=mistakes,
        **fields,
    ))


def _r(y, y_hat):
    return floats(y) - floats(y_hat)


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

_reg("bce", "(y, p)", _binary_public, _binary_hidden, 2, {
    "y and p are swapped: the argument order is (y, p), targets first":
        lambda y, p: losses.bce(p, y),
    "sums over the samples: divide by N": lambda y, p: losses.bce(y, p) * _rows(y),
    "averages over every element: sum over the outputs, mean over the N samples":
        lambda y, p: losses.bce(y, p) * _rows(y) / floats(y).size,
    "the minus sign is missing: ln p < 0, so the loss needs -": lambda y, p: -losses.bce(y, p),
    "the (1 - y) ln(1 - p) term is missing: samples with y = 0 must count too":
        lambda y, p: -float(np.sum(floats(y) * np.log(np.maximum(floats(p), losses.EPS))))
        / _rows(y),
}, project=_project_loss(losses.bce),
    tolerance="stable", strict_warnings=True)


def _logits_hidden(rng):
    """Random batches, one sample, two classes, equal logits, and logits so far apart that
    a probability underflows (below 1e-12, or to exactly 0 beyond a gap of 745)."""
    n, k = int(rng.integers(2, 8)), int(rng.integers(2, 7))
    y_far, far = random_one_hot(rng, n, k), rng.normal(scale=100.0, size=(n, k))
    y_extreme, extreme = random_one_hot(rng, n, k), rng.choice([-1000.0, 0.0, 1000.0], size=(n, k))
    far[0] = np.where(y_far[0] == 1, -60.0, 60.0)  # at least one p_true below 1e-12
    extreme[0] = np.where(y_extreme[0] == 1, -1000.0, 1000.0)
    return [
        Case((random_one_hot(rng, n, k), rng.normal(scale=2.0, size=(n, k))), note="a batch"),
        Case((random_one_hot(rng, 1, k), rng.normal(size=(1, k))), note="one sample"),
        Case((random_one_hot(rng, n, 2), rng.normal(scale=3.0, size=(n, 2))), note="two classes"),
        Case((random_one_hot(rng, n, k), np.full((n, k), float(rng.normal()))),
             note="equal logits: the loss is ln K"),
        Case((y_far, far), note="logits far apart (scale 100)"),
        Case((y_extreme, extreme), note="logits of -1000, 0 and 1000"),
    ]


def _logits_public():
    return [
        Case((np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
              np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])), note="2 samples, 3 classes"),
        Case((np.array([[0.0, 1.0, 0.0, 0.0]]), np.array([[0.3, 1.2, -0.4, 0.0]])),
             note="one sample, 4 classes"),
        Case((np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[-50.0, 50.0], [-50.0, 50.0]])),
             note="logits 100 apart: the wrong sample's p_true = e^-100, its loss 100"),
        Case((np.array([[0.0, 1.0, 0.0]]), np.array([[1000.0, -1000.0, 0.0]])),
             note="extreme logits: p_true underflows to 0, the loss is 2000"),
    ]


register(Exercise(
    name="softmax_cross_entropy",
    lessons=("07-losses",),
    signature="(y, logits)",
    reference="nnlib.losses.softmax_cross_entropy",
    public=_logits_public,
    hidden=_logits_hidden,
    tolerance="stable",
    points=2,
    pure=True,
    project=number,
    strict_warnings=True,
    mistakes={
        "goes through clipped probabilities: -ln p stops at -ln eps (27.6 for eps = 1e-12) "
        "once the logits are far apart; use ln p_k = z_k - ln sum_m e^(z_m)":
            lambda y, logits: losses.cce(y, softmax(logits)),
        "forgets the ln sum_m e^(z_m) term: that is minus the mean logit of the true class":
            lambda y, logits: -float(np.sum(floats(y) * floats(logits))) / _rows(y),
        "normalises over the samples (axis 0); each row is one sample's distribution":
            lambda y, logits: losses.softmax_cross_entropy(floats(y).T, floats(logits).T)
            * floats(y).shape[1] / _rows(y),
        "sums over the samples: divide by N":
            lambda y, logits: losses.softmax_cross_entropy(y, logits) * _rows(y),
        "averages over every element: sum over the classes, mean over the N samples":
            lambda y, logits: losses.softmax_cross_entropy(y, logits) / floats(y).shape[-1],
        "the minus sign is missing":
            lambda y, logits: -losses.softmax_cross_entropy(y, logits),
    },
))


def _diagonal_only(y, logits):
    """-y/p pushed through p_k (1 - p_k) alone, the diagonal of the softmax Jacobian."""
    p = softmax(logits)
    return -floats(y) * (1.0 - p) / _rows(y)


register(Exercise(
    name="softmax_cross_entropy_grad",
    lessons=("07-losses",),
    signature="(y, logits)",
    reference="nnlib.losses.softmax_cross_entropy_grad",
    public=_logits_public,
    hidden=_logits_hidden,
    tolerance="stable",
    points=3,
    pure=True,
    project=array,
    strict_warnings=True,
    mistakes={
        "the 1/N is missing: the loss averages over the samples, so its gradient does too":
            lambda y, logits: softmax(logits) - floats(y),
        "the sign is flipped: dL/dz = (softmax(z) - y) / N":
            lambda y, logits: (floats(y) - softmax(logits)) / _rows(y),
        "forgets the softmax: (z - y) / N; the gradient is (p - y) / N with p = softmax(z)":
            lambda y, logits: (floats(logits) - floats(y)) / _rows(y),
        "takes the softmax over the samples (axis 0); each row is one sample":
            lambda y, logits: (softmax(logits, axis=0) - floats(y)) / _rows(y),
        "returns dL/dp = -y / (N p), the gradient with respect to the probabilities; push it "
        "through the softmax Jacobian p_k (delta_kj - p_j)":
            lambda y, logits: losses.cce_grad(y, softmax(logits)),
        "keeps only the diagonal p_k (1 - p_k) of the softmax Jacobian, as if each class had "
        "its own sigmoid; the off-diagonal terms -p_k p_j give the + p_j": _diagonal_only,
    },
))


def _task_cases(rng, n, k):
    """One case per task: real targets, 0/1 targets (k independent outputs), one-hot."""
    return [
        Case((rng.normal(scale=2.0, size=(n, k)), rng.normal(scale=2.0, size=(n, k)),
              "regression"), note="regression"),
        Case((rng.integers(0, 2, size=(n, k)).astype(float), rng.normal(scale=3.0, size=(n, k)),
              "binary"), note="binary"),
        Case((random_one_hot(rng, n, k + 1), rng.normal(scale=3.0, size=(n, k + 1)), "multiclass"),
             note="multiclass"),
    ]


def _tasks_public():
    Y_cls = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    return [
        Case((np.array([[2.0], [-1.0], [0.5]]), np.array([[1.5], [-1.0], [2.0]]), "regression"),
             note="house prices: 3 samples, one real output"),
        Case((np.array([[1.0], [0.0], [1.0], [0.0]]), np.array([[2.0], [-1.0], [-6.0], [0.0]]),
              "binary"), note="spam or not: 4 samples, one 0/1 output"),
        Case((Y_cls, np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), "multiclass"),
             note="one of three classes: 2 samples"),
        Case((np.array([[1.0, 0.0]]), np.array([[-1000.0, 1000.0]]), "binary"),
             note="binary, extreme logits"),
    ]


def _tasks_hidden(rng):
    n, k = int(rng.integers(2, 8)), int(rng.integers(1, 5))
    extreme = rng.choice([-1000.0, 0.0, 1000.0], size=(n, k + 1))
    return [*_task_cases(rng, n, k), *_task_cases(rng, 1, 1),
            Case((rng.integers(0, 2, size=(n, k + 1)).astype(float), extreme, "binary"),
                 note="binary, logits of -1000, 0 and 1000"),
            Case((random_one_hot(rng, n, k + 1), extreme, "multiclass"),
                 note="multiclass, logits of -1000, 0 and 1000")]


def _pair_with(regression=None, binary=None, multiclass=None):
    """output_gradient with another pair for some tasks (None: the right one)."""
    def output_gradient(y, z, task):
        wrong = {"regression": regression, "binary": binary, "multiclass": multiclass}[task]
        return (wrong or losses.output_gradient)(y, z, task)
    return output_gradient


def _sigmoid_mse(y, z, task):
    a = sigmoid(z)
    return losses.mse_grad(y, a) * a * (1.0 - a)


def _softmax_mse(y, z, task):
    """MSE's gradient 2 (p - y) / N pushed through the softmax Jacobian."""
    p = softmax(z)
    g = losses.mse_grad(y, p)
    return p * (g - np.sum(g * p, axis=-1, keepdims=True))


register(Exercise(
    name="output_gradient",
    lessons=("07-losses",),
    signature="(y, z, task)",
    reference="nnlib.losses.output_gradient",
    public=_tasks_public,
    hidden=_tasks_hidden,
    tolerance="stable",
    points=3,
    pure=True,
    project=array,
    strict_warnings=True,
    uses=("softmax_cross_entropy_grad",),
    mistakes={
        "pairs the binary task's sigmoid with MSE: the factor sigma'(z) = a (1 - a) stays "
        "and the gradient vanishes on confident mistakes; pair it with BCE":
            _pair_with(binary=_sigmoid_mse),
        "gives the multi-class task a sigmoid per class (with BCE): (sigma(z) - y) / N; one "
        "label among K needs the softmax, which ties the classes together":
            _pair_with(multiclass=lambda y, z, task: (sigmoid(z) - floats(y)) / _rows(y)),
        "pairs the softmax with MSE: pair it with the cross-entropy, whose gradient is "
        "(softmax(z) - y) / N": _pair_with(multiclass=_softmax_mse),
        "puts a sigmoid on the regression output: real-valued targets need the linear "
        "output, whose MSE gradient is 2 (z - y) / N": _pair_with(regression=_sigmoid_mse),
        "uses half the squared error for regression: MSE = (1/N) sum r^2 gives 2 (z - y) / N":
            _pair_with(regression=lambda y, z, task: (floats(z) - floats(y)) / _rows(y)),
        "the 1/N is missing": lambda y, z, task: losses.output_gradient(y, z, task) * _rows(y),
        "the sign is flipped: dL/dz is positive where the output is too large":
            lambda y, z, task: -losses.output_gradient(y, z, task),
    },
))
