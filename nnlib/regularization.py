"""Regularization: weight penalties, dropout, DropConnect, noise injection, early stopping.

Penalties act on the weight matrices of a parameter list (the 2-D arrays of
`[(W1, b1), (W2, b2), ...]`); biases and other 1-D arrays are not penalized.

The layers (`Dropout`, `DropConnect`, `GaussianNoise`) behave differently in training and
in inference, chosen by the `training` flag of `forward`:

- in training they draw fresh randomness from their own `rng` on every call and remember
  it, so `backward` can send the gradient through the same mask;
- in inference they are deterministic and replace the random layer by its expectation.
"""

from __future__ import annotations

import copy

import numpy as np

from nnlib._checks import as_array, as_rng, same_shape
from nnlib.optim import param_arrays


def _map_weights(params, fn):
    """Apply `fn` to each 2-D array of `params`, zeros to the others; keep the nesting."""
    if isinstance(params, np.ndarray):
        return fn(params) if params.ndim >= 2 else np.zeros_like(params)
    return type(params)(_map_weights(item, fn) for item in params)


class L2:
    """L2 (ridge) penalty: Ω = λ Σ_l ‖W(l)‖² = λ Σ_l Σ_ij (W(l)_ij)², gradient 2λW(l).

    `penalty(params)` returns Ω as a float; `penalty.grad(params)` returns ∂Ω/∂params with
    the nesting of `params` (zeros for biases), ready to add to the data gradients.
    """

    def __init__(self, lam: float = 0.01):
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        self.lam = float(lam)

    def __call__(self, params) -> float:
        return self.lam * sum(float(np.sum(W * W)) for W in param_arrays(params) if W.ndim >= 2)

    def grad(self, params):
        return _map_weights(params, lambda W: 2.0 * self.lam * W)


class L1(L2):
    """L1 (lasso) penalty: Ω = λ Σ_l Σ_ij |W(l)_ij|, gradient λ sign(W(l)) (0 at W = 0)."""

    def __call__(self, params) -> float:
        return self.lam * sum(float(np.sum(np.abs(W))) for W in param_arrays(params) if W.ndim >= 2)

    def grad(self, params):
        return _map_weights(params, lambda W: self.lam * np.sign(W))


class Dropout:
    """Dropout on activations A of shape (m, n); `p` is the probability of KEEPING a unit.

    Training: r ~ Bernoulli(p) elementwise, Ã = r ⊙ A (the slides' form), or
    Ã = r ⊙ A / p with `inverted=True` (what PyTorch and Keras do).
    Inference: classic dropout scales by p, Ã = p A, which is the slides' "z = p W a + b"
    (scaling the next layer's weights by p is the same as scaling its input); inverted
    dropout already scaled in training, so Ã = A. Either way E[Ã_train] = Ã_inference.

    The slides' equation uses p as the keep probability (r ~ Bernoulli(p)) while their
    figure calls p the "dropout rate"; at p = 0.5 the two readings agree. PyTorch's
    `Dropout(p)` takes the drop probability, 1 − p here.
    """

    def __init__(self, p: float = 0.5, inverted: bool = False, rng=None):
        if not 0 < p <= 1:
            raise ValueError(f"p (keep probability) must be in (0, 1], got {p}")
        self.p = float(p)
        self.inverted = bool(inverted)
        self.rng = as_rng(rng)
        self.mask: np.ndarray | None = None
        self.training = True

    def forward(self, A, training: bool = True, mask=None) -> np.ndarray:
        """Return Ã, A's shape. `mask` (0/1, A's shape) replaces the random draw."""
        A = as_array(A, "A")
        self.training = training
        if not training:
            return A if self.inverted else self.p * A
        if mask is None:
            mask = (self.rng.random(A.shape) < self.p).astype(np.float64)
        else:
            mask = as_array(mask, "mask")
            same_shape(A, mask, "A", "mask")
        self.mask = mask / self.p if self.inverted else mask
        return A * self.mask

    def backward(self, dA_tilde) -> np.ndarray:
        """dL/dA = dL/dÃ ⊙ r (divided by p if inverted); p dL/dÃ after a classic inference pass."""
        dA_tilde = as_array(dA_tilde, "dA_tilde")
        if not self.training:
            return dA_tilde if self.inverted else self.p * dA_tilde
        if self.mask is None:
            raise ValueError("backward needs a training forward pass first")
        same_shape(dA_tilde, self.mask, "dA_tilde", "the forward input")
        return dA_tilde * self.mask


class DropConnect:
    """A dense layer whose weights, not units, are dropped: Z = A (M ⊙ W)ᵀ + b.

    M ~ Bernoulli(p) has W's shape (n_out, n_in) and is drawn once per forward pass (one
    mask for the mini-batch; Wan et al. draw one per sample). In inference the layer uses
    the expected weights, Z = A (p W)ᵀ + b.
    """

    def __init__(self, p: float = 0.5, rng=None):
        if not 0 < p <= 1:
            raise ValueError(f"p (keep probability) must be in (0, 1], got {p}")
        self.p = float(p)
        self.rng = as_rng(rng)
        self.mask: np.ndarray | None = None
        self.cache: tuple | None = None

    def forward(self, A, W, b, training: bool = True, mask=None) -> np.ndarray:
        """A (m, n_in), W (n_out, n_in), b (n_out,) -> Z (m, n_out)."""
        A, W, b = as_array(A, "A", 2), as_array(W, "W", 2), as_array(b, "b", 1)
        if A.shape[1] != W.shape[1] or b.shape[0] != W.shape[0]:
            raise ValueError(f"A {A.shape}, W {W.shape} and b {b.shape} do not chain")
        if not training:
            M = np.full(W.shape, self.p)
        elif mask is None:
            M = (self.rng.random(W.shape) < self.p).astype(np.float64)
        else:
            M = as_array(mask, "mask")
            same_shape(W, M, "W", "mask")
        self.mask = M
        self.cache = (A, W)
        return A @ (M * W).T + b

    def backward(self, dZ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """dZ (m, n_out) -> (dA, dW, db); dW = (dZᵀ A) ⊙ M, zero where a weight was dropped."""
        if self.cache is None:
            raise ValueError("backward needs a forward pass first")
        A, W = self.cache
        dZ = as_array(dZ, "dZ", 2)
        if dZ.shape != (A.shape[0], W.shape[0]):
            raise ValueError(f"dZ must have shape {(A.shape[0], W.shape[0])}, got {dZ.shape}")
        return dZ @ (self.mask * W), (dZ.T @ A) * self.mask, dZ.sum(axis=0)


class GaussianNoise:
    """Noise injection: Ã = A + σ ε with ε ~ N(0, 1) in training, Ã = A in inference.

    The noise does not depend on A, so dL/dA = dL/dÃ in both modes.
    """

    def __init__(self, sigma: float = 0.1, rng=None):
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        self.sigma = float(sigma)
        self.rng = as_rng(rng)

    def forward(self, A, training: bool = True) -> np.ndarray:
        A = as_array(A, "A")
        return A + self.sigma * self.rng.standard_normal(A.shape) if training else A

    def backward(self, dA_tilde) -> np.ndarray:
        return as_array(dA_tilde, "dA_tilde")


class EarlyStopping:
    """Stop when the monitored validation quantity has not improved for `patience` epochs.

    `update(value, params)` records one epoch and returns True when training should stop.
    An epoch improves on the best if value < best − min_delta (`mode="min"`, e.g. a loss)
    or value > best + min_delta (`mode="max"`, e.g. accuracy). With
    `restore_best_weights=True` it keeps a copy of the parameters of the best epoch, and
    `restore(params)` writes them back in place.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "min",
        restore_best_weights: bool = True,
    ):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError(f"patience and min_delta must be >= 0, got {patience}, {min_delta}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self.reset()

    def reset(self) -> None:
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch = -1
        self.best_params = None
        self.wait = 0
        self.epoch = -1

    def update(self, value: float, params=None) -> bool:
        self.epoch += 1
        sign = 1.0 if self.mode == "min" else -1.0
        if sign * (self.best - value) > self.min_delta:
            self.best, self.best_epoch, self.wait = float(value), self.epoch, 0
            if self.restore_best_weights and params is not None:
                self.best_params = copy.deepcopy(params)
            return False
        self.wait += 1
        return self.wait > self.patience

    def restore(self, params) -> None:
        """Copy the best epoch's arrays back into `params`, in place."""
        if self.best_params is None:
            return
        for W, W_best in zip(param_arrays(params), param_arrays(self.best_params)):
            W[...] = W_best
