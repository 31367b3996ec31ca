"""The checks of lesson 08 fail wrong answers and pass right ones however written.

Each graded function meets wrong variants (the mistakes students make) that must fail and
a correct variant written differently from nnlib that must pass, through
`autograder.checker.check` on the public and the hidden cases. `minibatches` is judged by
`autograder.verifiers.verify_minibatches`; its probability of failing a right answer is
bounded and checked.
"""

import numpy as np
import pytest
from checking import fails, passes

from autograder import registry, verifiers
from autograder.cases import SEED_ENV, cases_for
from autograder.judge import run_case
from nnlib import optim


@pytest.fixture(autouse=True)
def _hidden_seed(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "20240808")


def _a(x):
    return np.asarray(x, dtype=float)


# ---- minibatches ----------------------------------------------------------------------


def minibatches_split(m, batch_size, shuffle=True, rng=None):
    """Correct, written with Generator.shuffle and np.split at the batch boundaries."""
    order = np.arange(m)
    if shuffle:
        np.random.default_rng(rng).shuffle(order)
    return np.split(order, range(batch_size, m, batch_size))


def minibatches_choice(m, batch_size, shuffle=True, rng=None):
    """Correct, a tuple of lists drawn with choice(replace=False)."""
    order = (np.random.default_rng(rng).choice(m, size=m, replace=False) if shuffle
             else list(range(m)))
    return tuple(list(order[i:i + batch_size]) for i in range(0, m, batch_size))


def _cut(order, size):
    return [order[i:i + size] for i in range(0, len(order), size)]


WRONG_MINIBATCHES = {
    "not shuffled": (lambda m, bs, shuffle=True, rng=None: _cut(np.arange(m), bs),
                     "not shuffled"),
    "drawn with replacement": (
        lambda m, bs, shuffle=True, rng=None: _cut(
            np.random.default_rng(rng).integers(0, m, m) if shuffle else np.arange(m), bs),
        "exactly once"),
    "last batch dropped": (
        lambda m, bs, shuffle=True, rng=None: [b for b in optim.minibatches(m, bs, shuffle, rng)
                                                if len(b) == bs],
        "left-over samples is missing"),
    "balanced sizes (np.array_split)": (
        lambda m, bs, shuffle=True, rng=None: np.array_split(
            np.random.default_rng(rng).permutation(m) if shuffle else np.arange(m),
            -(-m // bs)),
        "indices but should have"),
    "only the batch order shuffled": (
        lambda m, bs, shuffle=True, rng=None: [
            _cut(np.arange(m), bs)[i]
            for i in (np.random.default_rng(rng).permutation(-(-m // bs)) if shuffle
                      else range(-(-m // bs)))],
        "not shuffled"),
    "only shuffled inside each batch": (
        lambda m, bs, shuffle=True, rng=None: [
            np.random.default_rng(rng).permutation(b) if shuffle else b
            for b in _cut(np.arange(m), bs)],
        "block of consecutive indices"),
    "reversed instead of shuffled": (
        lambda m, bs, shuffle=True, rng=None: _cut(np.arange(m)[::-1] if shuffle
                                                   else np.arange(m), bs),
        "(i + 1, i)"),
    "shuffled even when shuffle=False": (
        lambda m, bs, shuffle=True, rng=None: optim.minibatches(m, bs, True, rng),
        "with shuffle=False"),
    "float indices": (
        lambda m, bs, shuffle=True, rng=None: [b.astype(float) for b in
                                               optim.minibatches(m, bs, shuffle, rng)],
        "integer indices"),
}


@pytest.mark.parametrize("correct", [minibatches_split, minibatches_choice])
def test_minibatches_correct_variants_pass(correct):
    passes("minibatches", correct)


@pytest.mark.parametrize("mistake", list(WRONG_MINIBATCHES))
def test_minibatches_wrong_variants_fail(mistake):
    wrong, words = WRONG_MINIBATCHES[mistake]
    assert words in fails("minibatches", wrong)


def test_minibatches_verify_passes_the_reference_on_many_hidden_draws():
    ex = registry.get("minibatches")
    for seed in range(200):
        for case in cases_for(ex, hidden=True, seed=seed):
            outcome = run_case(optim.minibatches, case)
            assert ex.verify(outcome.value, case) is None, case.note


def test_minibatches_false_failure_probability_is_below_1e_9():
    """Sum of the bounds over every shuffled case of one check, public or hidden."""
    ex = registry.get("minibatches")
    for cases in [ex.public(), *(cases_for(ex, True, seed) for seed in range(200))]:
        total = 0.0
        for case in cases:
            m, size, shuffle = verifiers.minibatches_call(case)
            if shuffle:
                block = verifiers.block_alarm(m, size)
                total += verifiers.succession_alarm(m)
                total += block if block < verifiers.BLOCK_ALARM else 0.0
        assert total < 1e-9
    assert verifiers.succession_alarm(2) == 0.0
    assert verifiers.succession_alarm(1000) < 2.0 / 87178291200 + 2000.0 / 20922789888000
    # 2 / 14! + 2 n / 16!


def test_the_succession_bound_against_an_exact_count():
    """P(≥ k neighbours (i, i + 1)) ≤ (n − k) / (n k!), counted over all orders of n = 7."""
    from itertools import permutations
    from math import factorial

    n = 7
    counts = np.array([sum(b == a + 1 for a, b in zip(p, p[1:]))
                       for p in permutations(range(n))])
    for k in range(1, n):
        exact = np.mean(counts >= k)
        assert exact <= (n - k) / (n * factorial(k)) + 1e-15


def test_minibatches_shuffled_cases_are_large_enough_to_catch_no_shuffle():
    """Every shuffled hidden case can detect an unshuffled order (n − 1 ≥ RUN_LIMIT)."""
    ex = registry.get("minibatches")
    for seed in range(50):
        cases = cases_for(ex, True, seed)
        shuffled = [call for call in map(verifiers.minibatches_call, cases) if call[2]]
        assert all(m - 1 >= verifiers.RUN_LIMIT for m, _, _ in shuffled)
        # and at least one of them can see batches that are blocks
        assert any(verifiers.block_alarm(m, b) < verifiers.BLOCK_ALARM for m, b, _ in shuffled)


def test_block_alarm_bound_holds_empirically():
    """The bound is above the frequency of all-block epochs for a small case."""
    rng = np.random.default_rng(0)
    m, b, hits, trials = 8, 2, 0, 20000
    for _ in range(trials):
        batches = optim.minibatches(m, b, rng=rng)
        hits += all(np.ptp(x) == b - 1 for x in batches)
    assert hits / trials <= verifiers.block_alarm(m, b) * 1.5 + 3e-4


def test_verify_messages_name_the_problem():
    case = registry.Case((10, 4), {"shuffle": False})
    verify = verifiers.verify_minibatches
    assert "list of index arrays" in verify(np.arange(10), case)
    assert "there are 2 batches" in verify([np.arange(4), np.arange(4, 8)], case)
    assert "not a sample index" in verify([np.arange(1, 5), np.arange(5, 9), np.array([9, 10])],
                                          case)
    assert verify(optim.minibatches(10, 4, shuffle=False), case) is None
    assert verify(np.arange(12).reshape(3, 4), registry.Case((12, 4), {"shuffle": False})) is None


# ---- the update rules -----------------------------------------------------------------


def sgd_in_place_on_a_copy(theta, grad, eta):
    theta = np.array(theta, dtype=float, copy=True)
    theta -= eta * np.asarray(grad)
    return theta


def momentum_written_as_ema(theta, grad, v, eta=0.01, beta=0.9):
    v = np.array(v, dtype=float) + (1 - beta) * (_a(grad) - _a(v))  # v + (1−β)(g − v)
    return _a(theta) - eta * v, v


def rmsprop_with_power(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-08, eps_inside_sqrt=True):
    g = _a(grad)
    mu = np.add(beta * _a(mu), (1 - beta) * np.square(g))
    scale = (mu + eps) ** -0.5 if eps_inside_sqrt else 1.0 / (mu**0.5 + eps)
    return _a(theta) - eta * g * scale, mu


def adam_with_corrected_rate(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999,
                             eps=1e-08, bias_correction=False):
    """Correct, Kingma & Ba's efficient form: the correction folded into η and ε."""
    g = _a(grad)
    m = beta1 * _a(m) + (1 - beta1) * g
    v = beta2 * _a(v) + (1 - beta2) * g * g
    if bias_correction:
        root = np.sqrt(1 - beta2**t)
        rate = eta * root / (1 - beta1**t)
        return _a(theta) - rate * m / (np.sqrt(v) + eps * root), m, v
    return _a(theta) - eta * m / (np.sqrt(v) + eps), m, v


CORRECT = {
    "sgd_update": sgd_in_place_on_a_copy,
    "momentum_update": momentum_written_as_ema,
    "rmsprop_update": rmsprop_with_power,
    "adam_update": adam_with_corrected_rate,
}


def typed_adam(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-08,
               bias_correction=False):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat, v_hat = (m / (1 - beta1**t), v / (1 - beta2**t)) if bias_correction else (m, v)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), m, v


def typed_rmsprop(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-08, eps_inside_sqrt=True):
    mu = beta * mu + (1 - beta) * grad**2
    denom = np.sqrt(mu + eps) if eps_inside_sqrt else np.sqrt(mu) + eps
    return theta - eta * grad / denom, mu


def typed_momentum(theta, grad, v, eta=0.01, beta=0.9):
    v = beta * v + (1 - beta) * grad
    return theta - eta * v, v


# Right answers that rely on the arrays the text promises (`theta - eta * grad` fails on
# lists); test_case_contracts.py runs them.
TYPED = {
    "sgd_update": lambda theta, grad, eta: theta - eta * grad,
    "momentum_update": typed_momentum,
    "rmsprop_update": typed_rmsprop,
    "adam_update": typed_adam,
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_update_correct_variants_pass(name):
    passes(name, CORRECT[name])


def _momentum(theta, grad, v, eta, beta, *, sum_form=False, old_v=False, climb=False):
    v_new = beta * _a(v) + (_a(grad) if sum_form else (1 - beta) * _a(grad))
    step = eta * (_a(v) if old_v else v_new)
    return (_a(theta) + step if climb else _a(theta) - step), v_new


def _rmsprop(theta, grad, mu, eta, beta, eps, inside, *, square=True, old=False, climb=False):
    g = _a(grad)
    mu_new = beta * _a(mu) + (1 - beta) * (g * g if square else g)
    used = _a(mu) if old else mu_new
    step = eta * g / (np.sqrt(used + eps) if inside else np.sqrt(used) + eps)
    return (_a(theta) + step if climb else _a(theta) - step), mu_new


def _adam(theta, grad, m, v, t, eta, b1, b2, eps, correct, *, flip=False, t0=False,
          square=True, old=False, inside=False, climb=False, swap=False):
    g = _a(grad)
    if swap:
        b1, b2 = b2, b1
    m_new = b1 * _a(m) + (1 - b1) * g
    v_new = b2 * _a(v) + (1 - b2) * (g * g if square else g)
    mu, vu = (_a(m), _a(v)) if old else (m_new, v_new)
    if correct != flip:
        tt = t + 1 if t0 else t
        mu, vu = mu / (1 - b1**tt), vu / (1 - b2**tt)
    step = eta * mu / (np.sqrt(vu + eps) if inside else np.sqrt(vu) + eps)
    return (_a(theta) + step if climb else _a(theta) - step), m_new, v_new


def _momentum_wrong(**how):
    return lambda theta, grad, v, eta=0.01, beta=0.9: _momentum(theta, grad, v, eta, beta,
                                                                **how)


def _rmsprop_wrong(flip=False, **how):
    def wrong(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-08, eps_inside_sqrt=True):
        return _rmsprop(theta, grad, mu, eta, beta, eps, eps_inside_sqrt != flip, **how)
    return wrong


def _adam_wrong(**how):
    def wrong(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-08,
              bias_correction=False):
        return _adam(theta, grad, m, v, t, eta, beta1, beta2, eps, bias_correction, **how)
    return wrong


WRONG = [
    ("sgd_update", lambda theta, grad, eta: _a(theta) + eta * _a(grad), "the update climbs"),
    ("sgd_update", lambda theta, grad, eta: _a(theta) - _a(grad), "η is missing"),
    ("sgd_update", lambda theta, grad, eta: _a(theta) - eta * np.abs(_a(grad)), ""),
    ("momentum_update", _momentum_wrong(sum_form=True), "PyTorch's form"),
    ("momentum_update", _momentum_wrong(old_v=True), "old velocity"),
    ("momentum_update", _momentum_wrong(climb=True), "the update climbs"),
    ("momentum_update", lambda theta, grad, v, eta=0.01, beta=0.9: (
        _a(theta) - eta * _a(grad), beta * _a(v) + (1 - beta) * _a(grad)), ""),
    ("rmsprop_update", _rmsprop_wrong(flip=True), "wrong side of the square root"),
    ("rmsprop_update", _rmsprop_wrong(square=False), "not squared"),
    ("rmsprop_update", _rmsprop_wrong(old=True), "old μ"),
    ("rmsprop_update", _rmsprop_wrong(climb=True), "the update climbs"),
    ("rmsprop_update", lambda theta, grad, mu, eta=0.001, beta=0.9, eps=1e-08,
     eps_inside_sqrt=True: _rmsprop(theta, grad, mu, eta, beta, eps, True), ""),
    ("adam_update", _adam_wrong(flip=True), "bias correction is applied"),
    ("adam_update", _adam_wrong(t0=True), "uses t + 1"),
    ("adam_update", _adam_wrong(old=True), "old m and v"),
    ("adam_update", _adam_wrong(square=False), "not squared"),
    ("adam_update", _adam_wrong(inside=True), "ε is inside the square root"),
    ("adam_update", _adam_wrong(climb=True), "the update climbs"),
    ("adam_update", _adam_wrong(swap=True), ""),
]


@pytest.mark.parametrize("index", range(len(WRONG)))
def test_update_wrong_variants_fail(index):
    name, wrong, cause = WRONG[index]
    assert cause in fails(name, wrong)


def test_return_order_is_checked_and_in_place_steps_fail():
    # (v, θ) instead of (θ, v)
    fails("momentum_update", lambda *a, **k: optim.momentum_update(*a, **k)[::-1])

    def in_place(theta, grad, eta):
        theta -= eta * grad  # changes the caller's θ: the exercise asks for a new array
        return theta

    assert "read-only" in fails("sgd_update", in_place)

    def momentum_in_place(theta, grad, v, eta=0.01, beta=0.9):
        v = np.asarray(v, dtype=float)  # a view of the caller's v, not a copy
        v *= beta
        v += (1 - beta) * _a(grad)
        return _a(theta) - eta * v, v

    assert "read-only" in fails("momentum_update", momentum_in_place)
    passes("sgd_update", lambda theta, grad, eta: np.array(theta, dtype=float).__isub__(
        eta * _a(grad)))  # in place on its own copy is fine


def test_a_list_instead_of_an_array_fails():
    assert "not an array" in fails("sgd_update", lambda theta, grad, eta: (
        _a(theta) - eta * _a(grad)).tolist())
    assert "not an array" in fails("rmsprop_update", lambda *a, **k: tuple(
        x.tolist() for x in optim.rmsprop_update(*a, **k)))


def test_a_deterministic_scramble_is_not_a_shuffle():
    def evens_then_odds(m, batch_size, shuffle=True, rng=None):
        order = np.r_[np.arange(0, m, 2), np.arange(1, m, 2)] if shuffle else np.arange(m)
        return _cut(order, batch_size)

    assert "differ by the same 2" in fails("minibatches", evens_then_odds)


def _f32(x):
    return np.asarray(x, dtype=np.float32)


def sgd_float32(theta, grad, eta):
    return (_f32(theta) - np.float32(eta) * _f32(grad)).astype(float)


def adam_float32(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-08,
                 bias_correction=False):
    g, b1, b2 = _f32(grad), np.float32(beta1), np.float32(beta2)
    m, v = b1 * _f32(m) + (1 - b1) * g, b2 * _f32(v) + (1 - b2) * g * g
    c1, c2 = (1 - b1**t, 1 - b2**t) if bias_correction else (1, 1)
    theta = _f32(theta) - np.float32(eta) * (m / c1) / (np.sqrt(v / c2) + np.float32(eps))
    return theta, m, v


@pytest.mark.parametrize("seed", ["1", "2", "424242"])
def test_a_step_computed_in_float32_passes(seed, monkeypatch):
    monkeypatch.setenv(SEED_ENV, seed)
    passes("sgd_update", sgd_float32)
    passes("adam_update", adam_float32)


def test_a_wrong_default_epsilon_fails():
    def rmsprop_eps(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-06, eps_inside_sqrt=True):
        return optim.rmsprop_update(theta, grad, mu, eta, beta, eps, eps_inside_sqrt)

    def adam_eps(theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-07,
                 bias_correction=False):
        return optim.adam_update(theta, grad, m, v, t, eta, beta1, beta2, eps, bias_correction)

    fails("rmsprop_update", rmsprop_eps)
    fails("adam_update", adam_eps)


def test_each_exercise_has_the_registered_points():
    points = {e.name: e.points for e in registry.all_exercises("08-optimizers")}
    assert points == {"minibatches": 2, "sgd_update": 1, "momentum_update": 2,
                      "rmsprop_update": 2, "adam_update": 3}
