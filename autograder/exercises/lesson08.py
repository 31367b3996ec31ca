"""08-optimizers: mini-batches and the update rules of SGD, momentum, RMSProp and Adam.

The update functions are pure: they return new arrays, so an output is compared as it
is. θ in the cases is of the order of one step, so that a wrong step changes the result
by far more than the tolerance. `minibatches` returns a random answer when it shuffles;
`autograder.verifiers.verify_minibatches` judges it by what every right answer has (see its
docstring for the probability that it fails a right one).

The update rules compare with the "numerical" tolerance (relative 1e-4, absolute 1e-6), so
that a step computed in float32 passes: float32 rounds a result that cancels (θ − η∇L or
β1 m + (1 − β1)∇L near 0) to about 1e-7 of its operands, which reach 10 here, and over 2,000
hidden seeds float32 answers needed up to 1.6e-7 absolute (benchmarks/sweep.py). Adam's β2
stays at most 0.999: for β2 nearer 1 a bias correction 1 − β2^t computed in float32 is off by
about 3e-8 / (1 − β2) relative, 1e-4 at β2 = 0.9997. Every case keeps a wrong step far above
the tolerance. Their inputs are read-only (`pure`): a function that changes θ, v, μ or m in
place fails, as the exercises ask for new arrays. A list in place of an array fails too.
"""

import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.results import array, arrays
from autograder.verifiers import floats, random_shape, verify_minibatches
from nnlib.optim import adam_update, minibatches, momentum_update, rmsprop_update

LESSON = "08-optimizers"


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


def _shape(rng):
    return random_shape(rng, int(rng.integers(0, 3)), 6)


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
            lambda theta, grad, eta: floats(theta) + eta * floats(grad),
        "η is missing: θ − η ∇L": lambda theta, grad, eta: floats(theta) - floats(grad),
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
    v = beta * floats(v) + floats(grad)
    return floats(theta) - eta * v, v


def _momentum_old_v(theta, grad, v, eta=0.01, beta=0.9):
    return floats(theta) - eta * floats(v), beta * floats(v) + (1 - beta) * floats(grad)


def _momentum_swapped(theta, grad, v, eta=0.01, beta=0.9):
    v = (1 - beta) * floats(v) + beta * floats(grad)
    return floats(theta) - eta * v, v


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
    g = floats(grad)
    new = beta * floats(mu) + (1 - beta) * (g * g if square else g)
    used = floats(mu) if old else new
    denom = used + eps if inside else (np.sqrt(used) if root else used) + eps
    if inside and root:
        denom = np.sqrt(denom)
    return floats(theta) - eta * g / denom, new


def _rms_eps_swapped(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-8, eps_inside_sqrt=True):
    return _rms(theta, grad, mu, eta, beta, eps, not eps_inside_sqrt)


def _rms_variant(**how):
    def wrong(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-8, eps_inside_sqrt=True):
        return _rms(theta, grad, mu, eta, beta, eps, eps_inside_sqrt, **how)
    return wrong


def _rms_climbs(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-8, eps_inside_sqrt=True):
    new_theta, mu = rmsprop_update(theta, grad, mu, eta, beta, eps, eps_inside_sqrt)
    return 2 * floats(theta) - new_theta, mu


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
    g = floats(grad)
    m_new = beta1 * floats(m) + (1 - beta1) * g
    v_new = beta2 * floats(v) + (1 - beta2) * (g * g if square else g)
    m_used, v_used = (floats(m), floats(v)) if old else (m_new, v_new)
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
    return floats(theta) - eta * m_used / denom, m_new, v_new


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
    return 2 * floats(theta) - new_theta, m, v


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
