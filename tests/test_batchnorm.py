"""Batch normalization: gradients, torch.nn.BatchNorm1d, training versus inference."""

import numpy as np
import pytest
import torch

from nnlib.batchnorm import BatchNorm, batchnorm_backward, batchnorm_forward
from nnlib.gradcheck import numerical_gradient, rel_error


def test_gradients_match_numerical():
    rng = np.random.default_rng(0)
    Z = rng.normal(2.0, 3.0, size=(8, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    C = rng.normal(size=(8, 5))

    def f(_):
        return float(np.sum(C * batchnorm_forward(Z, gamma, beta)[0]))

    dZ, dgamma, dbeta = batchnorm_backward(C, Z, gamma)
    assert rel_error(dZ, numerical_gradient(f, Z)) < 1e-7
    assert rel_error(dgamma, numerical_gradient(f, gamma)) < 1e-8
    assert rel_error(dbeta, numerical_gradient(f, beta)) < 1e-8


def test_inference_gradient_matches_numerical():
    rng = np.random.default_rng(1)
    layer = BatchNorm(4)
    layer.forward(rng.normal(size=(10, 4)))
    layer.gamma[:] = rng.normal(size=4)
    Z, C = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def f(_):
        return float(np.sum(C * layer.forward(Z, training=False)))

    f(None)
    dZ, [(dgamma, dbeta)] = layer.backward(C)
    assert rel_error(dZ, numerical_gradient(f, Z)) < 1e-8
    assert rel_error(dgamma, numerical_gradient(f, layer.gamma)) < 1e-8
    assert rel_error(dbeta, numerical_gradient(f, layer.beta)) < 1e-8


def test_matches_torch_batchnorm1d_in_training_and_eval():
    rng = np.random.default_rng(2)
    n, momentum, eps = 6, 0.3, 1e-3
    ours = BatchNorm(n, momentum=momentum, eps=eps)
    theirs = torch.nn.BatchNorm1d(n, momentum=momentum, eps=eps, dtype=torch.float64)
    gamma, beta = rng.normal(size=n), rng.normal(size=n)
    ours.gamma[:], ours.beta[:] = gamma, beta
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(gamma))
        theirs.bias.copy_(torch.from_numpy(beta))
    theirs.train()
    for _ in range(4):
        Z, dY = rng.normal(1.0, 2.0, size=(16, n)), rng.normal(size=(16, n))
        Zt = torch.tensor(Z, requires_grad=True)
        Yt = theirs(Zt)
        Yt.backward(torch.from_numpy(dY))
        np.testing.assert_allclose(ours.forward(Z), Yt.detach().numpy(), atol=1e-12)
        dZ, [(dgamma, dbeta)] = ours.backward(dY)
        np.testing.assert_allclose(dZ, Zt.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(dgamma, theirs.weight.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(dbeta, theirs.bias.grad.numpy(), atol=1e-12)
        theirs.zero_grad()
        # running variance uses the unbiased batch variance
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), atol=1e-12)
    theirs.eval()
    Z = rng.normal(size=(5, n))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(Z)).numpy()
    np.testing.assert_allclose(ours.forward(Z, training=False), expected, atol=1e-12)


def test_training_uses_the_batch_and_inference_the_running_statistics():
    rng = np.random.default_rng(3)
    layer = BatchNorm(3, momentum=0.5)
    Z = rng.normal(5.0, 2.0, size=(50, 3))
    # training: each batch is normalized by its own statistics (gamma = 1, beta = 0)
    Y = layer.forward(Z)
    np.testing.assert_allclose(Y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Y.var(axis=0), 1.0, rtol=1e-3)
    # so one sample's output depends on the rest of its batch ...
    assert not np.allclose(layer.forward(Z[:10])[0], layer.forward(Z[:20])[0])
    # ... and the running statistics move toward the data's with every training pass
    for _ in range(20):
        layer.forward(Z)
    np.testing.assert_allclose(layer.running_mean, Z.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.running_var, Z.var(axis=0, ddof=1), rtol=1e-6)
    # inference: fixed statistics, so a sample gives the same output in any batch,
    # even alone, and inference does not touch the running statistics
    before = layer.running_mean.copy()
    alone = layer.forward(Z[:1], training=False)
    np.testing.assert_allclose(alone, layer.forward(Z, training=False)[:1], atol=1e-15)
    np.testing.assert_array_equal(layer.running_mean, before)
    expected = (Z[:1] - layer.running_mean) / np.sqrt(layer.running_var + layer.eps)
    np.testing.assert_allclose(alone, expected)


def test_bad_input():
    with pytest.raises(ValueError, match=r"Z has 3 features.*gamma has shape \(2,\)"):
        batchnorm_forward(np.zeros((4, 3)), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="at least 2 samples"):
        BatchNorm(3).forward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="forward pass first"):
        BatchNorm(3).backward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(3, momentum=2.0)
