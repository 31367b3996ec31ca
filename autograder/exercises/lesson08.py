"""08-optimizers: mini-batches and the update rules of SGD, momentum, RMSProp and Adam.

The update functions are pure: they return new arrays, so an output is compared as it
is. θ in the cases is of the order of one step, so that a wrong step changes the result
by far more than the tolerance. `minibatches` returns a random answer when it shuffles;
`verify_minibatches` judges it by what every right answer has (see its docstring for
the probability that it fails a right one).

The update rules compare with the "numerical" tolerance (relative 1e-4, absolute 1e-6), so
that a step computed in float32 passes: float32 rounds a result that cancels (θ − η∇L or
β1 m + (1 − β1)∇L near 0) to about 1e-7 of its operands, which reach 10 here, and over 2,000
hidden seeds float32 answers needed up to 1.6e-7 absolute (benchmarks/sweep.py). Adam's β2
stays at most 0.999: for β2 nearer 1 a bias correction 1 − β2^t computed in float32 is off by
about 3e-8 / (1 − β2) relative, 1e-4 at β2 = 0.9997. Every case keeps a wrong step far above
the tolerance. Their inputs are read-only (`pure`): a function that changes θ, v, μ or m in
place fails, as the exercises ask for new arrays. A list in place of an array fails too.
"""

from math import comb, factorial

import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.results import array, arrays
from nnlib.optim import adam_update, minibatches, momentum_update, rmsprop_update

LESSON = "08-optimizers"

# A shuffled epoch fails when this many neighbours are consecutive indices (i, i + 1), or
# this many are (i, i − 1). For a uniform random order of n indices
# P(#(i, i + 1) neighbours ≥ k) ≤ C(n − 1, k) (n − k)! / n! = (n − k) / (n k!) < 1 / k!
# (union bound over the k pairs glued together), so a right answer fails this test with
# probability below 2 / 14! ≈ 2.3e-11. An unshuffled epoch has n − 1 such neighbours.
RUN_LIMIT = 14
# The test that the batches are blocks of consecutive indices is made only where it would
# fail a uniform random order with probability below this.
BLOCK_ALARM = 1e-12
# The same bound holds for neighbours (i, i + d) for any fixed d (a chain i, i + d, ...), so a
# shuffled epoch also fails when one other difference d (|d| ≥ 2) occurs this often between
# neighbours: a deterministic scramble such as "the even indices, then the odd ones" or a
# stride repeats one difference almost everywhere. Union bound over the 2(n − 2) values of d.
STRIDE_LIMIT = 16


def succession_alarm(n: int) -> float:
    """Bound on the probability that a uniform random order of n indices fails the tests
    of neighbours: consecutive indices (either direction), or one other difference d."""
    ones = 2.0 * max(n - RUN_LIMIT, 0) / (n * factorial(RUN_LIMIT))
    others = 2.0 * max(n - 2, 0) * max(n - STRIDE_LIMIT, 0) / (n * factorial(STRIDE_LIMIT))
    return ones + others


def block_alarm(m: int, batch_size: int) -> float:
    """Bound on the probability that every full batch of a uniform random epoch is a block
    of consecutive indices.

    Batch j is a uniform draw of batch_size of the r = m − j·batch_size indices left, of
    which at most r − batch_size + 1 subsets are blocks. 1.0 when the test says nothing
    (batches of one index, or fewer than two batches).
    """
    if batch_size < 2 or m < 2 * batch_size:
        return 1.0
    p = 1.0
    for r in range(m, batch_size - 1, -batch_size):
        p *= (r - batch_size + 1) / comb(r, batch_size)
    return p


def _call(case: Case):
    """(m, batch_size, shuffle) of a minibatches case."""
    names = ("m", "batch_size", "shuffle", "rng")
    given = {**dict(zip(names, case.args)), **case.kwargs}
    return int(given["m"]), int(given["batch_size"]), bool(given.get("shuffle", True))


def verify_minibatches(output, case: Case) -> str | None:
    """None if `output` is a right answer for `case`, else what is wrong with it.

    Every right answer is a list of integer index arrays of the sizes batch_size, ...,
    batch_size, m mod batch_size (if not 0) that together hold each of 0, ..., m − 1 once;
    in the order 0, 1, ..., m − 1 when shuffle is False. When shuffle is True the order is
    random, and two tests fail an order that was not shuffled: too many neighbours that are
    consecutive indices (see RUN_LIMIT), and batches that are all blocks of consecutive
    indices (only where `block_alarm` < BLOCK_ALARM). A right answer fails them with
    probability at most `succession_alarm(m)` + BLOCK_ALARM per case.
    """
    m, size, shuffle = _call(case)
    if isinstance(output, np.ndarray) and output.ndim == 2:
        output = list(output)
    if not isinstance(output, (list, tuple)):
        return ("the result should be a list of index arrays, one per batch; got "
                f"{type(output).__name__}")
    want = [size] * (m // size) + ([m % size] if m % size else [])
    batches = []
    for i, batch in enumerate(output):
        try:
            batch = np.asarray(batch)
        except (ValueError, TypeError):
            return f"batch {i} is not an array of indices"
        if batch.ndim != 1 or batch.dtype.kind not in "iu":
            kind = f"holds {batch.dtype}" if batch.ndim == 1 else f"has shape {batch.shape}"
            return (f"batch {i} {kind}: each batch should be a 1-D array of integer "
                    "indices (such as a slice of np.arange(m) or of a permutation)")
        batches.append(batch)
    if len(batches) != len(want):
        hint = ""
        if m % size and len(batches) == m // size:
            hint = (f": the last, smaller batch of the m mod batch_size = {m % size} "
                    "left-over samples is missing")
        return (f"there are {len(batches)} batches; there should be ⌈m / batch_size⌉ = "
                f"⌈{m} / {size}⌉ = {len(want)}{hint}")
    for i, (batch, n) in enumerate(zip(batches, want)):
        if len(batch) != n:
            return (f"batch {i} has {len(batch)} indices but should have {n}: every batch "
                    "has batch_size indices except the last, which holds the "
                    "m mod batch_size left over")
    order = np.concatenate(batches) if batches else np.zeros(0, dtype=int)
    if order.size and (order.min() < 0 or order.max() >= m):
        bad = order[(order < 0) | (order >= m)][0]
        return f"index {bad} is not a sample index: they run from 0 to m − 1 = {m - 1}"
    counts = np.bincount(order, minlength=m)
    if np.any(counts != 1):
        twice, missing = np.flatnonzero(counts > 1), np.flatnonzero(counts == 0)
        return (f"index {twice[0]} appears {counts[twice[0]]} times and {missing[0]} not at "
                "all: an epoch visits every sample exactly once (a permutation of "
                "range(m), not draws with replacement)")
    if not shuffle:
        if np.any(order != np.arange(m)):
            first = int(np.flatnonzero(order != np.arange(m))[0])
            return (f"with shuffle=False the samples come in order 0, 1, ..., m − 1, but "
                    f"position {first} holds index {order[first]}")
        return None
    steps = np.diff(order)
    for step, words in ((1, "(i, i + 1)"), (-1, "(i + 1, i)")):
        runs = int(np.sum(steps == step))
        if runs >= RUN_LIMIT:
            return (f"the order is not shuffled: {runs} of the {m - 1} neighbours are "
                    f"consecutive indices {words}, where a random order has about one; "
                    "draw a permutation of all m indices from rng before cutting batches")
    values, counts = np.unique(steps[np.abs(steps) >= 2], return_counts=True)
    if counts.size and counts.max() >= STRIDE_LIMIT:
        d = int(values[np.argmax(counts)])
        return (f"the order is not shuffled: {counts.max()} of the {m - 1} neighbours differ "
                f"by the same {d} (i, i {'+' if d > 0 else '−'} {abs(d)}), where a random "
                "order has a few at most; draw a permutation of all m indices from rng")
    full = [b for b in batches if len(b) == size]
    if block_alarm(m, size) < BLOCK_ALARM and all(np.ptp(b) == size - 1 for b in full):
        return ("every batch is a block of consecutive indices: shuffle the samples, "
                "not only the order of the batches or the order inside each batch")
    return None


def _generator(rng):
    return np.random.default_rng(int(rng.integers(2**63)))


def _minibatches_hidden(rng):
    size = int(rng.integers(3, 13))
    m = size * int(rng.integers(6, 14)) + int(rng.integers(1, size))
    k = int(rng.integers(2, 9))
    n1, n_single = int(rng.integers(20, 61)), int(rng.integers(20, 51))
    return [
        Case((m, size), {"rng": _generator(rng)}, "shuffled, with a smaller last batch"),
        Case((k * int(rng.integers(10, 31)), k), {"rng": _generator(rng)},
             "shuffled, batch_size divides m"),
        Case((n1, 1), {"rng": _generator(rng)}, "stochastic: batches of one"),
        Case((n_single, n_single + int(rng.integers(0, 21))), {"rng": _generator(rng)},
             "batch_size >= m: one shuffled batch"),
        Case((int(rng.integers(40, 101)), int(rng.integers(10, 41))),
             {"shuffle": True, "rng": int(rng.integers(2**31))}, "shuffled, rng an int seed"),
        Case((int(rng.integers(1, 101)), int(rng.integers(1, 31))), {"shuffle": False},
             "in order"),
        Case((n1, n1), {"shuffle": False}, "in order, one batch"),
    ]


register(Exercise(
    name="minibatches",
    lessons=(LESSON,),
    signature="(m, batch_size, shuffle=True, rng=None)",
    reference="nnlib.optim.minibatches",
    public=lambda: [
        Case((10, 4), {"shuffle": False}, "in order: [0..3], [4..7], [8, 9]"),
        Case((12, 4), {"shuffle": False}, "in order, batch_size divides m"),
        Case((7, 10), {"shuffle": False}, "batch_size > m: one batch of 7"),
        Case((100, 32), {"rng": 0}, "shuffled: 3 batches of 32, then one of 4"),
        Case((50, 1), {"rng": 1}, "stochastic gradient descent: 50 batches of one"),
        Case((60, 60), {"rng": 2}, "batch gradient descent: one shuffled batch"),
    ],
    hidden=_minibatches_hidden,
    tolerance="exact",
    points=2,
    verify=verify_minibatches,
    mistakes={
        "the samples are not shuffled": lambda m, batch_size, shuffle=True, rng=None:
            minibatches(m, batch_size, shuffle=False),
    },
))


# ---- the update rules -----------------------------------------------------------------


def _arr(x):
    return np.asarray(x, dtype=float)


def _shape(rng):
    return tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(0, 3))))


def _step_sized(rng, shape, eta):
    """θ of the order of one step η, so a wrong step shows far above the tolerance."""
    return rng.normal(scale=eta, size=shape)


def _sgd_hidden(rng):
    cases = []
    for _ in range(4):
        shape, eta = _shape(rng), float(rng.uniform(0.001, 1.0))
        cases.append(Case((_step_sized(rng, shape, eta), rng.normal(size=shape), eta),
                          note=f"random arrays of shape {shape}"))
    cases.append(Case((np.zeros((2, 3)), rng.normal(size=(2, 3)), 0.5), note="θ = 0"))
    return cases


register(Exercise(
    name="sgd_update",
    lessons=(LESSON,),
    signature="(theta, grad, eta)",
    reference="nnlib.optim.sgd_update",
    pure=True,
    public=lambda: [
        Case((np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.5, -1.0]), 0.1), note="a vector"),
        Case((np.zeros((2, 2)), np.array([[1.0, -2.0], [0.0, 4.0]]), 0.25),
             note="a matrix, θ = 0: the result is the step itself"),
        Case((np.array(3.0), np.array(-2.0), 0.5), note="a single number (0-d array)"),
    ],
    hidden=_sgd_hidden,
    project=array,
    tolerance="numerical",
    points=1,
    mistakes={
        "the update climbs: θ − η ∇L, not θ + η ∇L":
            lambda theta, grad, eta: _arr(theta) + eta * _arr(grad),
        "η is missing: θ − η ∇L": lambda theta, grad, eta: _arr(theta) - _arr(grad),
    },
))


def _momentum_hidden(rng):
    cases = []
    for _ in range(4):
        shape = _shape(rng)
        eta, beta = float(rng.uniform(0.001, 1.0)), float(rng.uniform(0.0, 0.99))
        cases.append(Case((_step_sized(rng, shape, eta), rng.normal(size=shape),
                           rng.normal(size=shape)), {"eta": eta, "beta": beta},
                          note=f"random arrays of shape {shape}"))
    cases.append(Case((rng.normal(scale=0.01, size=3), rng.normal(size=3), np.zeros(3)),
                      note="the first step, default eta and beta"))
    return cases


def _momentum_classical(theta, grad, v, eta=0.01, beta=0.9):
    v = beta * _arr(v) + _arr(grad)
    return _arr(theta) - eta * v, v


def _momentum_old_v(theta, grad, v, eta=0.01, beta=0.9):
    return _arr(theta) - eta * _arr(v), beta * _arr(v) + (1 - beta) * _arr(grad)


def _momentum_swapped(theta, grad, v, eta=0.01, beta=0.9):
    v = (1 - beta) * _arr(v) + beta * _arr(grad)
    return _arr(theta) - eta * v, v


def _momentum_climbs(theta, grad, v, eta=0.01, beta=0.9):
    theta, v = momentum_update(theta, grad, v, eta, beta)
    return 2 * (theta + eta * v) - theta, v


register(Exercise(
    name="momentum_update",
    lessons=(LESSON,),
    signature="(theta, grad, v, eta=0.01, beta=0.9)",
    reference="nnlib.optim.momentum_update",
    pure=True,
    public=lambda: [
        Case((np.array([1.0, 1.0]), np.array([1.0, -2.0]), np.zeros(2)),
             {"eta": 0.1, "beta": 0.9}, "the first step: v = (1 − β) ∇L"),
        Case((np.zeros(2), np.array([1.0, -2.0]), np.array([0.5, -0.5])),
             {"eta": 0.1, "beta": 0.9}, "a later step, θ = 0: θ_t = −η v_t"),
        Case((np.array([[0.01, -0.02], [0.0, 0.03]]), np.array([[1.0, 2.0], [-3.0, 0.5]]),
              np.array([[0.2, 0.0], [-0.1, 0.4]])), note="a matrix, default eta and beta"),
        Case((np.array([0.5, -0.5]), np.array([2.0, 1.0]), np.array([9.0, 9.0])),
             {"eta": 0.1, "beta": 0.0}, "β = 0: plain gradient descent"),
    ],
    hidden=_momentum_hidden,
    project=arrays,
    tolerance="numerical",
    points=2,
    mistakes={
        "v = β v + ∇L is PyTorch's form; the slides average: v = β v + (1 − β) ∇L":
            _momentum_classical,
        "θ is updated with the old velocity: compute v_t first, then θ_t = θ − η v_t":
            _momentum_old_v,
        "β and 1 − β are swapped: v = β v + (1 − β) ∇L": _momentum_swapped,
        "the update climbs: θ − η v_t, not θ + η v_t": _momentum_climbs,
    },
))


def _rmsprop_hidden(rng):
    cases = []
    for eps in (1e-8, 1e-4, 1e-2):
        shape = _shape(rng)
        eta, beta = float(rng.uniform(0.001, 0.1)), float(rng.uniform(0.5, 0.99))
        scale = float(10.0 ** rng.uniform(-3, 1))
        cases.append(Case((_step_sized(rng, shape, eta), rng.normal(scale=scale, size=shape),
                           rng.uniform(0.0, scale**2, size=shape)),
                          {"eta": eta, "beta": beta, "eps": eps,
                           "eps_inside_sqrt": bool(rng.integers(2))},
                          note=f"random arrays of shape {shape}"))
    # Small gradients, so that the default ε = 1e-8 shows against μ.
    cases.append(Case((np.zeros(4), rng.normal(scale=1e-4, size=4), np.zeros(4)),
                      note="the first step from μ = 0, default rates, small gradients"))
    cases.append(Case((rng.normal(scale=0.001, size=(2, 3)), rng.normal(scale=1e-3, size=(2, 3)),
                       rng.uniform(0, 1e-6, size=(2, 3))), {"eps_inside_sqrt": False},
                      "ε outside, default rates, small gradients"))
    return cases


def _rms(theta, grad, mu, eta, beta, eps, inside, square=True, old=False, root=True):
    g = _arr(grad)
    new = beta * _arr(mu) + (1 - beta) * (g * g if square else g)
    used = _arr(mu) if old else new
    denom = used + eps if inside else (np.sqrt(used) if root else used) + eps
    if inside and root:
        denom = np.sqrt(denom)
    return _arr(theta) - eta * g / denom, new


def _rms_eps_swapped(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-8, eps_inside_sqrt=True):
    return _rms(theta, grad, mu, eta, beta, eps, not eps_inside_sqrt)


def _rms_variant(**how):
    def wrong(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-8, eps_inside_sqrt=True):
        return _rms(theta, grad, mu, eta, beta, eps, eps_inside_sqrt, **how)
    return wrong


def _rms_climbs(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-8, eps_inside_sqrt=True):
    new_theta, mu = rmsprop_update(theta, grad, mu, eta, beta, eps, eps_inside_sqrt)
    return 2 * _arr(theta) - new_theta, mu


register(Exercise(
    name="rmsprop_update",
    lessons=(LESSON,),
    signature="(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-08, eps_inside_sqrt=True)",
    reference="nnlib.optim.rmsprop_update",
    pure=True,
    public=lambda: [
        Case((np.zeros(2), np.array([0.1, -0.3]), np.zeros(2)),
             {"eta": 0.01, "beta": 0.9, "eps": 1e-2}, "the first step, a large ε"),
        Case((np.array([0.001, -0.002]), np.array([0.2, 0.05]), np.array([0.04, 0.01])),
             note="a later step, default rates"),
        Case((np.zeros((2, 2)), np.array([[1e-3, -2.0], [0.5, 0.0]]),
              np.array([[1e-6, 0.1], [0.2, 0.0]])),
             {"eta": 0.01, "eps": 1e-4, "eps_inside_sqrt": False},
             "a matrix, ε outside the root (PyTorch's form)"),
    ],
    hidden=_rmsprop_hidden,
    project=arrays,
    tolerance="numerical",
    points=2,
    mistakes={
        "ε is on the wrong side of the square root: the slides use √(μ + ε); "
        "eps_inside_sqrt=False means √μ + ε": _rms_eps_swapped,
        "the gradient is not squared: μ = β μ + (1 − β)(∇L)²": _rms_variant(square=False),
        "θ is updated with the old μ: compute μ_t first, then θ_t": _rms_variant(old=True),
        "the square root is missing: divide by √(μ + ε)": _rms_variant(root=False),
        "the update climbs: θ − η ∇L / √(μ + ε), not θ + ...": _rms_climbs,
    },
))


def _adam_hidden(rng):
    cases = []
    for correct in (False, True, False, True):
        shape = _shape(rng)
        eta = float(rng.uniform(0.0005, 0.05))
        beta1, beta2 = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.999))
        scale = float(10.0 ** rng.uniform(-2, 1))
        cases.append(Case(
            (_step_sized(rng, shape, eta), rng.normal(scale=scale, size=shape),
             rng.normal(scale=0.3 * scale, size=shape),
             rng.uniform(0.0, 0.3 * scale**2, size=shape), int(rng.integers(1, 60))),
            {"eta": eta, "beta1": beta1, "beta2": beta2, "eps": float(rng.choice([1e-8, 1e-3])),
             "bias_correction": correct},
            note=f"random arrays of shape {shape}"))
    cases.append(Case((np.zeros(3), rng.normal(size=3), np.zeros(3), np.zeros(3), 1),
                      {"bias_correction": True}, "the first step, corrected"))
    cases.append(Case((rng.normal(scale=0.001, size=(2, 2)), rng.normal(scale=1e-3, size=(2, 2)),
                       rng.normal(scale=1e-4, size=(2, 2)), rng.uniform(0, 1e-8, size=(2, 2)),
                       int(rng.integers(2, 10))),
                      note="default rates, no correction, small gradients (ε = 1e-8 shows)"))
    # where the correction and ε go shows only when ε is large against √v̂ and t is small
    cases.append(Case((rng.normal(scale=0.01, size=3), rng.normal(scale=0.05, size=3),
                       rng.normal(scale=0.01, size=3), rng.uniform(1e-5, 1e-4, size=3),
                       int(rng.integers(2, 4))),
                      {"eta": 0.01, "beta1": 0.8, "beta2": 0.9, "eps": 1e-2,
                       "bias_correction": True}, "corrected, a large ε, an early step"))
    return cases


def _adam(theta, grad, m, v, t, eta, beta1, beta2, eps, correct, *, t_shift=0, square=True,
          old=False, eps_inside=False, only=None, fold=False, returns_corrected=False):
    """Adam and its variants: `only` ("m" or "v") corrects one moment; `fold` puts the
    correction into the step size, η √(1 − β2^t) / (1 − β1^t), so that ε is not corrected;
    `returns_corrected` returns m̂, v̂ in place of m_t, v_t."""
    g = _arr(grad)
    m_new = beta1 * _arr(m) + (1 - beta1) * g
    v_new = beta2 * _arr(v) + (1 - beta2) * (g * g if square else g)
    m_used, v_used = (_arr(m), _arr(v)) if old else (m_new, v_new)
    if correct and fold:
        eta = eta * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    elif correct:
        if only != "v":
            m_used = m_used / (1 - beta1 ** (t + t_shift))
        if only != "m":
            v_used = v_used / (1 - beta2 ** (t + t_shift))
    denom = np.sqrt(v_used + eps) if eps_inside else np.sqrt(v_used) + eps
    if returns_corrected:
        m_new, v_new = m_used, v_used
    return _arr(theta) - eta * m_used / denom, m_new, v_new


def _adam_variant(flip_correction=False, **how):
    def wrong(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
              bias_correction=False):
        correct = (not bias_correction) if flip_correction else bias_correction
        return _adam(theta, grad, m, v, t, eta, beta1, beta2, eps, correct, **how)
    return wrong


def _adam_climbs(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
                 bias_correction=False):
    new_theta, m, v = adam_update(theta, grad, m, v, t, eta, beta1, beta2, eps,
                                  bias_correction)
    return 2 * _arr(theta) - new_theta, m, v


register(Exercise(
    name="adam_update",
    lessons=(LESSON,),
    signature="(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-08, "
              "bias_correction=False)",
    reference="nnlib.optim.adam_update",
    pure=True,
    public=lambda: [
        Case((np.zeros(2), np.array([0.5, -1.0]), np.zeros(2), np.zeros(2), 1),
             note="the first step, the slides' form: about 3.16 η per weight"),
        Case((np.zeros(2), np.array([0.5, -1.0]), np.zeros(2), np.zeros(2), 1),
             {"bias_correction": True}, "the first step, bias-corrected: exactly η"),
        Case((np.array([[0.001, -0.002], [0.0, 0.003]]), np.array([[0.3, -1.0], [2.0, 0.1]]),
              np.array([[0.05, -0.1], [0.2, 0.0]]), np.array([[0.01, 0.02], [0.1, 0.001]]), 5),
             {"eta": 0.01, "bias_correction": True}, "a later step t = 5, corrected"),
        Case((np.zeros(3), np.array([0.01, -0.02, 0.5]), np.array([0.001, 0.0, 0.05]),
              np.array([1e-5, 1e-4, 0.02]), 3),
             {"eps": 1e-3}, "a later step, the slides' form, a large ε"),
    ],
    hidden=_adam_hidden,
    project=arrays,
    tolerance="numerical",
    points=3,
    mistakes={
        "bias correction is applied when it should not be, or missing when "
        "bias_correction=True": _adam_variant(flip_correction=True),
        "the correction uses t + 1: t is the number of this step, 1 at the first":
            _adam_variant(t_shift=1),
        "θ is updated with the old m and v: compute m_t and v_t first":
            _adam_variant(old=True),
        "the gradient is not squared in v: v = β2 v + (1 − β2)(∇L)²":
            _adam_variant(square=False),
        "ε is inside the square root: Adam divides by √v + ε": _adam_variant(eps_inside=True),
        "only m is corrected: with bias_correction=True, v̂ = v_t / (1 − β2^t) too":
            _adam_variant(only="m"),
        "only v is corrected: with bias_correction=True, m̂ = m_t / (1 − β1^t) too":
            _adam_variant(only="v"),
        "the correction is folded into the step size, η √(1 − β2^t) / (1 − β1^t), which "
        "leaves ε uncorrected: divide m̂ by √v̂ + ε": _adam_variant(fold=True),
        "the corrected m̂, v̂ are returned: return m_t and v_t, which the next step needs":
            _adam_variant(returns_corrected=True),
        "the update climbs: θ − η m / (√v + ε), not θ + ...": _adam_climbs,
    },
))
