"""Optimizers against torch.optim over 20 steps, and the slides' forms pinned by hand."""

import math

import numpy as np
import pytest
import torch

from nnlib import optim

STEPS = 20
SHAPES = [(5, 4), (5,), (3, 5), (3,)]


def _problem(seed):
    """A random 4→5→3 tanh regression: initial parameters and a gradient function.

    The gradient comes from torch autograd on the same float64 loss, so both sides of a
    comparison see identical gradients for identical parameters.
    """
    rng = np.random.default_rng(seed)
    X = torch.from_numpy(rng.normal(size=(16, 4)))
    Y = torch.from_numpy(rng.normal(size=(16, 3)))
    init = [rng.normal(size=s) for s in SHAPES]

    def loss(W1, b1, W2, b2):
        return 0.5 * ((torch.tanh(X @ W1.T + b1) @ W2.T + b2 - Y) ** 2).sum() / len(X)

    def grad(arrays):
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        loss(*tensors).backward()
        return [t.grad.numpy() for t in tensors]

    return init, loss, grad


def _run_nnlib(opt, seed):
    init, _, grad = _problem(seed)
    params = [(init[0].copy(), init[1].copy()), (init[2].copy(), init[3].copy())]
    for _ in range(STEPS):
        flat = [a for pair in params for a in pair]
        g = grad(flat)
        opt.step(params, [(g[0], g[1]), (g[2], g[3])])
    return [a for pair in params for a in pair]


def _run_torch(make_opt, seed):
    init, loss, _ = _problem(seed)
    tensors = [torch.tensor(a, requires_grad=True) for a in init]
    opt = make_opt(tensors)
    for _ in range(STEPS):
        opt.zero_grad()
        loss(*tensors).backward()
        opt.step()
    return [t.detach().numpy() for t in tensors]


CASES = {
    "sgd": (lambda: optim.SGD(eta=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "classical momentum": (
        lambda: optim.Momentum(eta=0.05, beta=0.9, classical=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0),
    ),
    # v = EMA of gradients with rate η is the classical form with rate η(1 − β).
    "slides momentum": (
        lambda: optim.Momentum(eta=0.5, beta=0.8),
        lambda p: torch.optim.SGD(p, lr=0.5 * (1 - 0.8), momentum=0.8, dampening=0),
    ),
    "nesterov": (
        lambda: optim.Nesterov(eta=0.05, gamma=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    ),
    "adagrad": (
        lambda: optim.AdaGrad(eta=0.1, eps=1e-10),
        lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10),
    ),
    "adagrad initial accumulator": (
        lambda: optim.AdaGrad(eta=0.1, eps=1e-6, initial_accumulator_value=0.3),
        lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-6, initial_accumulator_value=0.3),
    ),
    "rmsprop eps outside": (
        lambda: optim.RMSProp(eta=0.01, beta=0.9, eps=1e-8, eps_inside_sqrt=False),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8),
    ),
    # With ε = 0 the slides' form and PyTorch's coincide.
    "rmsprop eps zero": (
        lambda: optim.RMSProp(eta=0.01, beta=0.99, eps=0.0),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=0.0),
    ),
    "adam": (
        lambda: optim.Adam(eta=0.01, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
    ),
    "adam other betas": (
        lambda: optim.Adam(eta=0.05, beta1=0.5, beta2=0.9, eps=1e-6, bias_correction=True),
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.5, 0.9), eps=1e-6),
    ),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_over_20_steps(case, seed):
    make_ours, make_torch = CASES[case]
    ours = _run_nnlib(make_ours(), seed)
    theirs = _run_torch(make_torch, seed)
    initial = _problem(seed)[0]
    for a, b, a0 in zip(ours, theirs, initial):
        assert not np.allclose(a, a0)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_torch_dampening_is_not_the_slides_momentum():
    # torch seeds its buffer with the raw gradient, so dampening=1−β differs at step 1.
    ours = _run_nnlib(optim.Momentum(eta=0.5, beta=0.8), 0)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.8, dampening=0.2), 0)
    assert max(np.abs(a - b).max() for a, b in zip(ours, theirs)) > 1e-3


def test_slides_momentum_by_hand():
    beta, eta = 0.9, 0.1
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    W = np.array([1.0, 1.0])
    opt = optim.Momentum(eta=eta, beta=beta)
    opt.step([W], [g1])
    np.testing.assert_allclose(opt.state[0]["v"], (1 - beta) * g1)
    opt.step([W], [g2])
    v2 = beta * (1 - beta) * g1 + (1 - beta) * g2
    np.testing.assert_allclose(opt.state[0]["v"], v2)
    np.testing.assert_allclose(W, 1.0 - eta * (1 - beta) * g1 - eta * v2)
    assert opt.t == 2


def test_nesterov_is_the_slides_look_ahead_formula():
    _, _, grad = _problem(3)
    gamma, eta = 0.9, 0.05
    theta = _problem(3)[0]
    v = [np.zeros_like(a) for a in theta]
    phi = [a.copy() for a in theta]
    opt = optim.Nesterov(eta=eta, gamma=gamma)
    for _ in range(STEPS):
        # the slides: v_t = γ v + η ∇J(θ − γ v), θ_t = θ − v_t
        g = grad([t - gamma * vi for t, vi in zip(theta, v)])
        v = [gamma * vi + eta * gi for vi, gi in zip(v, g)]
        theta = [t - vi for t, vi in zip(theta, v)]
        opt.step(phi, grad(phi))
    for p, t, vi, s in zip(phi, theta, v, opt.state):
        np.testing.assert_allclose(s["v"], vi, rtol=0, atol=1e-12)
        np.testing.assert_allclose(p, t - gamma * vi, rtol=0, atol=1e-12)


def test_adagrad_first_step_is_a_signed_step():
    # The slides' sum to t − 1 would divide by zero here; the current gradient is included.
    W = np.array([0.0, 0.0, 0.0])
    g = np.array([3.0, -0.02, 1e-3])
    optim.AdaGrad(eta=0.1).step([W], [g])
    np.testing.assert_allclose(W, -0.1 * np.sign(g), rtol=1e-6)


def test_rmsprop_slides_eps_inside_sqrt_by_hand():
    beta, eta, eps = 0.9, 0.01, 1e-2
    g1, g2 = np.array([0.1, -0.3]), np.array([0.2, 0.05])
    W = np.zeros(2)
    opt = optim.RMSProp(eta=eta, beta=beta, eps=eps)
    opt.step([W], [g1])
    mu1 = (1 - beta) * g1**2
    opt.step([W], [g2])
    mu2 = beta * mu1 + (1 - beta) * g2**2
    np.testing.assert_allclose(opt.state[0]["mu"], mu2)
    np.testing.assert_allclose(W, -eta * g1 / np.sqrt(mu1 + eps) - eta * g2 / np.sqrt(mu2 + eps))


def test_adam_slides_form_without_bias_correction_by_hand():
    b1, b2, eta, eps = 0.9, 0.999, 0.001, 1e-8
    g1, g2 = np.array([0.5, -1.0]), np.array([0.25, 2.0])
    W = np.zeros(2)
    opt = optim.Adam(eta=eta, beta1=b1, beta2=b2, eps=eps)  # the default: no correction
    opt.step([W], [g1])
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    step1 = eta * m1 / (np.sqrt(v1) + eps)
    np.testing.assert_allclose(W, -step1)
    opt.step([W], [g2])
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    np.testing.assert_allclose(opt.state[0]["m"], m2)
    np.testing.assert_allclose(opt.state[0]["v"], v2)
    np.testing.assert_allclose(W, -step1 - eta * m2 / (np.sqrt(v2) + eps))
    # Without correction the first step is (1 − β1)/√(1 − β2) ≈ 3.16 times η, with it η.
    W_corr = np.zeros(2)
    optim.Adam(eta=eta, bias_correction=True).step([W_corr], [g1])
    np.testing.assert_allclose(np.abs(W_corr), eta, rtol=1e-6)


def test_step_updates_network_params_in_place_and_reset():
    W, b = np.ones((2, 3)), np.zeros(2)
    params = [(W, b)]
    opt = optim.Adam(eta=0.1)
    opt.step(params, [(np.ones((2, 3)), np.ones(2))])
    assert params[0][0] is W and np.all(W < 1) and np.all(b < 0)
    assert [sorted(s) for s in opt.state] == [["m", "v"], ["m", "v"]]
    opt.reset()
    assert opt.t == 0 and opt.state == []


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"params\[0\] and grads\[0\].*\(2,\).*\(3,\)"):
        optim.SGD(0.1).step([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match="params has 2 arrays but grads has 1"):
        optim.SGD(0.1).step([(np.zeros(2), np.zeros(1))], [np.zeros(2)])
    with pytest.raises(TypeError, match="float arrays"):
        optim.SGD(0.1).step([np.zeros(2, dtype=int)], [np.zeros(2)])
    with pytest.raises(TypeError, match="ndarrays"):
        optim.SGD(0.1).step([[0.0, 1.0]], [np.zeros(2)])
    with pytest.raises(ValueError, match="eta"):
        optim.Adam(eta=0)
    with pytest.raises(ValueError, match="beta"):
        optim.Momentum(beta=1.0)
    opt = optim.Momentum()
    opt.step([np.zeros(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="reset"):
        opt.step([np.zeros(2), np.zeros(1)], [np.ones(2), np.ones(1)])


def _torch_lrs(make_scheduler, epochs):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_schedules_match_torch():
    epochs = 30
    sched = torch.optim.lr_scheduler
    cases = [
        (
            lambda e: optim.step_decay(0.1, e, drop=0.3, every=7),
            lambda o: sched.StepLR(o, step_size=7, gamma=0.3),
        ),
        (
            lambda e: optim.exponential_decay(0.1, e, gamma=0.9),
            lambda o: sched.ExponentialLR(o, gamma=0.9),
        ),
        (
            lambda e: optim.cosine_annealing(0.1, e, epochs=epochs, eta_min=0.01),
            lambda o: sched.CosineAnnealingLR(o, T_max=epochs, eta_min=0.01),
        ),
    ]
    for ours, theirs in cases:
        np.testing.assert_allclose(
            [ours(e) for e in range(epochs)], _torch_lrs(theirs, epochs), rtol=1e-12
        )
    assert optim.cosine_annealing(0.1, 10, 10) == pytest.approx(0.0, abs=1e-15)
    assert optim.cosine_annealing(0.1, 5, 10) == pytest.approx(0.05)
    assert optim.step_decay(1.0, 25, drop=0.5, every=10) == 0.25
    assert optim.exponential_decay(2.0, 3, gamma=0.5) == pytest.approx(2.0 * math.pow(0.5, 3))


# ---- the pure update functions and minibatches ------------------------------------------

UPDATE_CALLS = {
    "sgd_update": lambda th, g, s: optim.sgd_update(th, g, 0.1),
    "momentum_update": lambda th, g, s: optim.momentum_update(th, g, s[0], 0.1, 0.8),
    "nesterov_update": lambda th, g, s: optim.nesterov_update(th, g, s[0], 0.1, 0.8),
    "adagrad_update": lambda th, g, s: optim.adagrad_update(th, g, s[0], 0.1),
    "rmsprop_update": lambda th, g, s: optim.rmsprop_update(th, g, s[0], 0.1),
    "adam_update": lambda th, g, s: optim.adam_update(th, g, s[0], s[1], 3, 0.1,
                                                      bias_correction=True),
}


@pytest.mark.parametrize("name", list(UPDATE_CALLS))
def test_update_functions_are_pure(name):
    rng = np.random.default_rng(0)
    theta, g = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    state = [rng.uniform(size=(3, 2)), rng.uniform(size=(3, 2))]
    saved = [a.copy() for a in (theta, g, *state)]
    out = UPDATE_CALLS[name](theta, g, state)
    for before, after in zip(saved, (theta, g, *state)):
        np.testing.assert_array_equal(before, after)
    for a in (out,) if isinstance(out, np.ndarray) else out:
        assert a.shape == (3, 2) and not any(np.shares_memory(a, b) for b in (theta, *state))


def test_classes_keep_the_functions_state():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(5, 4))
    theta, m, v = np.zeros(4), np.zeros(4), np.zeros(4)
    W = np.zeros(4)
    opt = optim.Adam(eta=0.01)
    for t, g in enumerate(grads, start=1):
        theta, m, v = optim.adam_update(theta, g, m, v, t, eta=0.01)
        opt.step([W], [g])
    np.testing.assert_array_equal(W, theta)
    np.testing.assert_array_equal(opt.state[0]["m"], m)
    np.testing.assert_array_equal(opt.state[0]["v"], v)


def test_update_functions_by_hand_and_bad_arguments():
    theta, g = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    np.testing.assert_allclose(optim.sgd_update(theta, g, 0.1), [0.95, -1.2])
    new, v = optim.momentum_update(theta, g, np.array([1.0, 0.0]), eta=0.1, beta=0.5)
    np.testing.assert_allclose(v, [0.75, 1.0])
    np.testing.assert_allclose(new, [0.925, -1.1])
    new, m, v = optim.adam_update(np.zeros(2), g, np.zeros(2), np.zeros(2), 1, eps=0.0)
    np.testing.assert_allclose(new, -0.001 * 0.1 / np.sqrt(0.001) * np.sign(g))
    with pytest.raises(ValueError, match=r"theta and grad .*\(2,\) and \(3,\)"):
        optim.sgd_update(theta, np.zeros(3), 0.1)
    with pytest.raises(ValueError, match=r"theta and mu"):
        optim.rmsprop_update(theta, g, np.zeros((2, 1)))
    with pytest.raises(ValueError, match="t .*step number"):
        optim.adam_update(theta, g, theta, theta, 0, bias_correction=True)
    with pytest.raises(ValueError, match="beta2"):
        optim.adam_update(theta, g, theta, theta, 1, beta2=1.0)


def test_minibatches_partition_sizes_and_order():
    batches = optim.minibatches(10, 4, shuffle=False)
    assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    shuffled = optim.minibatches(103, 10, rng=0)
    assert [len(b) for b in shuffled] == [10] * 10 + [3]
    order = np.concatenate(shuffled)
    assert sorted(order) == list(range(103)) and order.dtype.kind == "i"
    assert not np.array_equal(order, np.arange(103))
    same = np.concatenate(optim.minibatches(103, 10, rng=0))
    np.testing.assert_array_equal(order, same)
    assert optim.minibatches(0, 5) == []
    assert len(optim.minibatches(7, 100, shuffle=False)) == 1
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            optim.minibatches(10, bad)
