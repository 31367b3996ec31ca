"""Batch normalization of a layer's pre-activations Z, shape (m, n): one feature per column.

Training (statistics of the mini-batch, per feature j):
    μ_j = (1/m) Σ_i Z_ij,   σ²_j = (1/m) Σ_i (Z_ij − μ_j)²,
    Ẑ = (Z − μ) / √(σ² + ε),   Y = γ ⊙ Ẑ + β.
Inference uses running averages instead of the batch's statistics, so a sample's output
no longer depends on the other samples of its batch:
    running_mean := (1 − momentum) running_mean + momentum μ
    running_var  := (1 − momentum) running_var + momentum σ²_unbiased
(σ²_unbiased = m σ² / (m − 1)), the same convention as PyTorch's `BatchNorm1d`.
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import as_array


def batchnorm_forward(Z, gamma, beta, eps: float = 1e-5):
    """Normalize Z (m, n) with its own batch statistics; gamma, beta (n,).

    Returns `(Y, cache)`; Y has Z's shape and `cache` feeds `backward_from_cache`.
    """
    Z = as_array(Z, "Z", 2)
    gamma, beta = as_array(gamma, "gamma", 1), as_array(beta, "beta", 1)
    if not Z.shape[1] == gamma.shape[0] == beta.shape[0]:
        raise ValueError(
            f"Z has {Z.shape[1]} features (shape {Z.shape}) but gamma has shape {gamma.shape} "
            f"and beta {beta.shape}"
        )
    if Z.shape[0] < 2:
        raise ValueError(f"batch statistics need at least 2 samples, got Z of shape {Z.shape}")
    mu = Z.mean(axis=0)
    Zc = Z - mu
    var = np.mean(Zc * Zc, axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    Z_hat = Zc * inv_std
    return gamma * Z_hat + beta, (Z_hat, inv_std, gamma, mu, var)


def batchnorm_backward(dY, Z, gamma, eps: float = 1e-5):
    """Gradients of a training-mode batch norm of Z (m, n) with gamma (n,), for dY = ∂L/∂Y.

    Returns `(dZ, dgamma, dbeta)` of the shapes of Z, gamma and gamma. β only shifts Y, so
    its value does not enter. See `backward_from_cache` for the formulas.
    """
    gamma = as_array(gamma, "gamma", 1)
    _, cache = batchnorm_forward(Z, gamma, np.zeros_like(gamma), eps)
    return backward_from_cache(dY, cache)


def backward_from_cache(dY, cache):
    """Gradients of a training-mode batch norm from the cache of `batchnorm_forward`.

    dβ = Σ_i dY_i,  dγ = Σ_i dY_i ⊙ Ẑ_i, and with dẐ = dY ⊙ γ, because μ and σ² depend on
    every sample:  dZ = (1/m) (1/√(σ² + ε)) (m dẐ − Σ_i dẐ_i − Ẑ ⊙ Σ_i dẐ_i ⊙ Ẑ_i).
    dY (m, n) -> (dZ (m, n), dgamma (n,), dbeta (n,)).
    """
    Z_hat, inv_std, gamma, _, _ = cache
    dY = as_array(dY, "dY", 2)
    if dY.shape != Z_hat.shape:
        raise ValueError(f"dY must have the forward input's shape {Z_hat.shape}, got {dY.shape}")
    m = dY.shape[0]
    dbeta = dY.sum(axis=0)
    dgamma = np.sum(dY * Z_hat, axis=0)
    dZ_hat = dY * gamma
    dZ = (inv_std / m) * (m * dZ_hat - dZ_hat.sum(axis=0) - Z_hat * np.sum(dZ_hat * Z_hat, axis=0))
    return dZ, dgamma, dbeta


class BatchNorm:
    """A batch-normalization layer over n features with learnable γ (ones) and β (zeros).

    `params` is `[(gamma, beta)]`, so an optimizer can update it like a dense layer's
    `(W, b)`; `forward(Z, training)` and `backward(dY)` -> `(dZ, [(dgamma, dbeta)])`.
    In training, forward normalizes with the batch statistics and updates the running
    ones; in inference it normalizes with the running statistics and leaves them alone.
    """

    def __init__(self, n: int, momentum: float = 0.1, eps: float = 1e-5):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.gamma = np.ones(n)
        self.beta = np.zeros(n)
        self.params = [(self.gamma, self.beta)]
        self.running_mean = np.zeros(n)
        self.running_var = np.ones(n)
        self.cache: tuple | None = None
        self.training = True

    def forward(self, Z, training: bool = True) -> np.ndarray:
        self.training = training
        if training:
            Y, self.cache = batchnorm_forward(Z, self.gamma, self.beta, self.eps)
            m = Y.shape[0]
            mu, var = self.cache[3], self.cache[4]
            self.running_mean *= 1.0 - self.momentum
            self.running_mean += self.momentum * mu
            self.running_var *= 1.0 - self.momentum
            self.running_var += self.momentum * var * m / (m - 1)
            return Y
        Z = as_array(Z, "Z", 2)
        if Z.shape[1] != self.gamma.shape[0]:
            raise ValueError(f"Z must have {self.gamma.shape[0]} features, got shape {Z.shape}")
        inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
        Z_hat = (Z - self.running_mean) * inv_std
        self.cache = (Z_hat, inv_std, self.gamma, self.running_mean, self.running_var)
        return self.gamma * Z_hat + self.beta

    def backward(self, dY):
        """Training mode: `backward_from_cache`. Inference mode: the statistics are
        constants, so dZ = dY ⊙ γ / √(running_var + ε)."""
        if self.cache is None:
            raise ValueError("backward needs a forward pass first")
        if self.training:
            dZ, dgamma, dbeta = backward_from_cache(dY, self.cache)
        else:
            Z_hat, inv_std = self.cache[0], self.cache[1]
            dY = as_array(dY, "dY", 2)
            dZ, dgamma, dbeta = dY * self.gamma * inv_std, np.sum(dY * Z_hat, 0), dY.sum(0)
        return dZ, [(dgamma, dbeta)]
