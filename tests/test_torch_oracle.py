"""PyTorch (float64, CPU) as an independent oracle: activations and their autograd
derivatives, losses and their gradients, and a 3-layer MLP's parameter gradients, all to
1e-10."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnlib import activations as act
from nnlib import losses, network

TOL = 1e-10

TORCH_ACTIVATIONS = {
    "linear": lambda t: t,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "elu": lambda t: F.elu(t, 1.0),
    "selu": F.selu,
    # torch switches to the identity above `threshold` (20 by default), an approximation.
    "softplus": lambda t: F.softplus(t, threshold=50.0),
    "gelu": lambda t: F.gelu(t, approximate="none"),
    "silu": F.silu,
}


def close(ours, theirs, tol=TOL):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def value_and_grad(fn, x):
    """fn(x) and its gradient with respect to x (for a scalar fn), by autograd."""
    t = torch.tensor(x, requires_grad=True)
    out = fn(t)
    (grad,) = torch.autograd.grad(out.sum(), t)
    return out, grad


def inputs(seed=0):
    """Random inputs over a wide range, clear of the kinks at 0."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.01, 12.0, (20, 8)) * rng.choice([-1.0, 1.0], (20, 8))
    return np.concatenate([z.ravel(), [-40.0, -8.5, 8.5, 40.0]])


def test_every_elementwise_activation_has_an_oracle():
    assert set(TORCH_ACTIVATIONS) | {"step"} == set(act.ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(TORCH_ACTIVATIONS))
def test_activation_and_derivative_match_torch(name):
    f, f_prime = act.ACTIVATIONS[name]
    z = inputs()
    value, grad = value_and_grad(TORCH_ACTIVATIONS[name], z)
    close(f(z), value)
    close(f_prime(z), grad)


def test_step_matches_torch_heaviside():
    z = np.concatenate([inputs(), [0.0]])
    close(act.step(z), torch.heaviside(torch.tensor(z), torch.tensor(1.0, dtype=torch.float64)))


def test_relu_derivative_at_zero_matches_torch():
    _, grad = value_and_grad(torch.relu, np.zeros(3))
    close(act.relu_prime(np.zeros(3)), grad)


def test_prelu_matches_torch_in_z_and_alpha():
    rng = np.random.default_rng(1)
    z = inputs().reshape(-1, 4)
    alpha = rng.uniform(0.05, 0.5, 4)
    tz = torch.tensor(z, requires_grad=True)
    ta = torch.tensor(alpha, requires_grad=True)
    out = F.prelu(tz, ta)
    dz, da = torch.autograd.grad(out.sum(), (tz, ta))
    close(act.prelu(z, alpha), out)
    close(act.prelu_prime(z, alpha), dz)
    close(act.prelu_grad_alpha(z, alpha).sum(axis=0), da)


def test_softmax_and_its_jacobian_match_torch():
    z = np.random.default_rng(2).normal(size=(3, 5)) * 4
    close(act.softmax(z), torch.softmax(torch.tensor(z), dim=-1))
    for i, row in enumerate(z):
        J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), torch.tensor(row))
        close(act.softmax_prime(z)[i], J)


def test_maxout_and_its_mask_match_torch():
    Z = np.random.default_rng(3).normal(size=(4, 6))
    value, grad = value_and_grad(lambda t: t.reshape(4, 2, 3).amax(-1), Z)
    close(act.maxout(Z, 3), value)
    close(act.maxout_prime(Z, 3), grad)


def regression_case(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(6, 3))
    return y, y + rng.uniform(0.1, 2.0, y.shape) * rng.choice([-1.0, 1.0], y.shape)


N = 6
TORCH_LOSSES = {
    "half_sse": lambda y, p: 0.5 * ((y - p) ** 2).sum(),
    "mse": lambda y, p: ((y - p) ** 2).sum() / N,
    "mae": lambda y, p: F.l1_loss(p, y, reduction="sum") / N,
    "rmse": lambda y, p: torch.sqrt(((y - p) ** 2).sum() / N),
    "huber": lambda y, p: F.huber_loss(p, y, reduction="sum", delta=1.0) / N,
    "bce": lambda y, p: F.binary_cross_entropy(p, y, reduction="sum") / N,
    "cce": lambda y, p: -(y * torch.log(p)).sum() / N,
    "softmax_cross_entropy": lambda y, z: F.cross_entropy(z, y),
}


def loss_case(name):
    rng = np.random.default_rng(4)
    if name == "bce":
        return rng.integers(0, 2, (N, 3)).astype(float), rng.uniform(0.02, 0.98, (N, 3))
    if name in ("cce", "softmax_cross_entropy"):
        y = np.eye(4)[rng.integers(0, 4, N)]
        z = rng.normal(size=(N, 4)) * 3
        return y, act.softmax(z) if name == "cce" else z
    return regression_case(5)


@pytest.mark.parametrize("name", sorted(TORCH_LOSSES))
def test_loss_and_gradient_match_torch(name):
    loss, grad = losses.LOSSES[name]
    y, y_hat = loss_case(name)
    value, g = value_and_grad(lambda t: TORCH_LOSSES[name](torch.tensor(y), t), y_hat)
    assert loss(y, y_hat) == pytest.approx(value.item(), rel=TOL, abs=TOL)
    close(grad(y, y_hat), g)


TORCH_LAYERS = {"softmax": lambda t: torch.softmax(t, -1), **TORCH_ACTIVATIONS}

MLP_CASES = [
    (["sigmoid", "tanh", "linear"], "softmax_cross_entropy"),
    (["relu", "gelu", "softmax"], "cce"),
    (["elu", "silu", "sigmoid"], "bce"),
    (["leaky_relu", "softplus", "linear"], "mse"),
    (["selu", "tanh", "linear"], "huber"),
]


@pytest.mark.parametrize("activations, loss_name", MLP_CASES)
def test_three_layer_mlp_gradients_match_torch(activations, loss_name):
    rng = np.random.default_rng(6)
    sizes = [5, 7, 6, 4]
    X = rng.normal(size=(N, sizes[0]))
    params = [(W, rng.normal(size=b.shape) * 0.1) for W, b in network.init_params(sizes, rng=7)]
    if loss_name == "bce":
        Y = rng.integers(0, 2, (N, 4)).astype(float)
    elif loss_name in ("cce", "softmax_cross_entropy"):
        Y = np.eye(4)[rng.integers(0, 4, N)]
    else:
        Y = rng.normal(size=(N, 4))
    loss, loss_grad = losses.LOSSES[loss_name]

    Y_hat, caches = network.forward(X, params, activations)
    grads = network.backward(loss_grad(Y, Y_hat), caches, params, activations)

    tparams = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
               for W, b in params]  # fmt: skip
    A = torch.tensor(X)
    for (W, b), name in zip(tparams, activations, strict=True):
        A = TORCH_LAYERS[name](F.linear(A, W, b))
    L = TORCH_LOSSES[loss_name](torch.tensor(Y), A)
    L.backward()

    close(Y_hat, A)
    assert loss(Y, Y_hat) == pytest.approx(L.item(), rel=TOL, abs=TOL)
    for (dW, db), (W, b) in zip(grads, tparams, strict=True):
        close(dW, W.grad)
        close(db, b.grad)
