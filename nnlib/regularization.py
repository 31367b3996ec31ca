"""Regularization: weight penalties, dropout, DropConnect, noise injection, early stopping.

Penalties act on the weight matrices of a parameter list (the 2-D arrays of
`[(W1, b1), (W2, b2), ...]`); biases and other 1-D arrays are not penalized, as in the
slides' Ω = λ Σ_l ‖W(l)‖² (a bias shifts a unit, it does not make the fit wigglier, and
pulling it to 0 only adds bias to the model).

The pure functions (`l2_penalty`, `l2_grad`, `l1_penalty`, `l1_grad`, `dropout_forward`,
`dropout_backward`, `early_stopping_epoch`) hold the formulas; the classes are thin,
stateful wrappers of them for `nnlib.train.fit`.

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


def _weights(params, lam):
    """The weight matrices (arrays with ndim >= 2) of `params`, after checking lam >= 0."""
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    return [W for W in param_arrays(params) if W.ndim >= 2]


def l2_penalty(params, lam) -> float:
    """L2 (ridge) penalty Ω = λ Σ_l ‖W(l)‖² = λ Σ_l Σ_ij (W(l)_ij)², biases not penalized.

    params: [(W1, b1), ..., (WL, bL)] (any nesting of arrays; 1-D arrays count as biases).
    Returns a float.
    """
    return float(lam) * sum(float(np.sum(W * W)) for W in _weights(params, lam))


def l2_grad(params, lam):
    """∂Ω/∂params of `l2_penalty`: 2λ W(l) for each weight matrix, zeros for the biases.

    Returns the nesting of `params`, e.g. [(2λ W1, 0 * b1), ...], ready to add to the data
    gradients.
    """
    _weights(params, lam)
    return _map_weights(params, lambda W: 2.0 * lam * W)


def l1_penalty(params, lam) -> float:
    """L1 (lasso) penalty Ω = λ Σ_l Σ_ij |W(l)_ij|, biases not penalized. Returns a float."""
    return float(lam) * sum(float(np.sum(np.abs(W))) for W in _weights(params, lam))


def l1_grad(params, lam):
    """∂Ω/∂params of `l1_penalty`: λ sign(W(l)) (0 where W = 0), zeros for the biases."""
    _weights(params, lam)
    return _map_weights(params, lambda W: lam * np.sign(W))


class L2:
    """L2 (ridge) penalty with a fixed λ: `penalty(params)` is `l2_penalty(params, λ)`,
    `penalty.grad(params)` is `l2_grad(params, λ)`."""

    penalty_fn, grad_fn = staticmethod(l2_penalty), staticmethod(l2_grad)

    def __init__(self, lam: float = 0.01):
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        self.lam = float(lam)

    def __call__(self, params) -> float:
        return self.penalty_fn(params, self.lam)

    def grad(self, params):
        return self.grad_fn(params, self.lam)


class L1(L2):
    """L1 (lasso) penalty with a fixed λ: `l1_penalty` and `l1_grad`."""

    penalty_fn, grad_fn = staticmethod(l1_penalty), staticmethod(l1_grad)


def _apply_mask(A, r, p, inverted):
    """Ã = r ⊙ A, or r ⊙ A / p for inverted dropout."""
    return A * (r / p) if inverted else A * r


def dropout_forward(A, p, rng=None, inverted=False):
    """Dropout in training: keep each unit with probability p, zero it otherwise.

    A: activations of any shape, e.g. (m, n); p in (0, 1]: the probability of KEEPING a
    unit, as in the slides' r ~ Bernoulli(p). Draws r_ij ~ Bernoulli(p) from `rng` and
    returns `(A_tilde, r)`: r is the 0/1 mask (float, A's shape) and

        classic (the slides):     Ã = r ⊙ A          (inference then uses p A)
        inverted (PyTorch, Keras): Ã = r ⊙ A / p      (inference then uses A)

    so that E[Ã] equals what inference computes.
    """
    A = as_array(A, "A")
    if not 0 < p <= 1:
        raise ValueError(f"p (keep probability) must be in (0, 1], got {p}")
    r = (as_rng(rng).random(A.shape) < p).astype(np.float64)
    return _apply_mask(A, r, p, inverted), r


def dropout_backward(dA_tilde, r, p, inverted=False):
    """The gradient through dropout with the mask r of the forward pass.

    Ã = r ⊙ A (classic) or r ⊙ A / p (inverted) is linear in A, so
        dL/dA = dL/dÃ ⊙ r   or   dL/dÃ ⊙ r / p:
    a dropped unit passes no gradient. dA_tilde and r (0/1) have A's shape; p in (0, 1].
    """
    dA_tilde, r = as_array(dA_tilde, "dA_tilde"), as_array(r, "r")
    same_shape(dA_tilde, r, "dA_tilde", "r")
    if not 0 < p <= 1:
        raise ValueError(f"p (keep probability) must be in (0, 1], got {p}")
    return _apply_mask(dA_tilde, r, p, inverted)


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
            A_tilde, mask = dropout_forward(A, self.p, self.rng, self.inverted)
        else:
            mask = as_array(mask, "mask")
            same_shape(A, mask, "A", "mask")
            A_tilde = _apply_mask(A, mask, self.p, self.inverted)
        self.mask = mask
        return A_tilde

    def backward(self, dA_tilde) -> np.ndarray:
        """dL/dA = dL/dÃ ⊙ r (divided by p if inverted); p dL/dÃ after a classic inference pass."""
        dA_tilde = as_array(dA_tilde, "dA_tilde")
        if not self.training:
            return dA_tilde if self.inverted else self.p * dA_tilde
        if self.mask is None:
            raise ValueError("backward needs a training forward pass first")
        same_shape(dA_tilde, self.mask, "dA_tilde", "the forward input")
        return dropout_backward(dA_tilde, self.mask, self.p, self.inverted)


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


def early_stopping_epoch(val_losses, patience, min_delta=0.0):
    """Where early stopping stops on a sequence of per-epoch validation losses.

    Epochs are counted from 0. Epoch t improves if val_losses[t] < best − min_delta, where
    best is the lowest loss of the improving epochs before t (epoch 0 always improves).
    Training tolerates `patience` epochs in a row without improvement and stops at the
    next one, the (patience + 1)-th: with the best at epoch t*, it stops at t* + patience + 1
    (patience = 0 stops at the first epoch that does not improve).

    val_losses: 1-D, at least one value; patience: int >= 0; min_delta >= 0.
    Returns `(best_epoch, stop_epoch)`: the last improving epoch, and the epoch at which
    the rule stops training, or the last epoch, len(val_losses) − 1, if it never fires.
    """
    losses = as_array(val_losses, "val_losses", 1)
    if losses.size == 0:
        raise ValueError("val_losses must hold at least one epoch, got an empty array")
    if int(patience) != patience or patience < 0:
        raise ValueError(f"patience must be an int >= 0, got {patience}")
    if min_delta < 0:
        raise ValueError(f"min_delta must be >= 0, got {min_delta}")
    best, best_epoch = np.inf, 0
    # sequential by nature: whether epoch t improves depends on the best before it
    for t, loss in enumerate(losses):
        if loss < best - min_delta:
            best, best_epoch = loss, t
        elif t - best_epoch > patience:
            return best_epoch, t
    return best_epoch, len(losses) - 1


class EarlyStopping:
    """Stop when the monitored validation quantity has not improved for `patience` epochs.

    `update(value, params)` records one epoch and returns True when training should stop,
    by the rule of `early_stopping_epoch` (stop at the (patience + 1)-th epoch in a row
    without improvement). An epoch improves on the best if value < best − min_delta
    (`mode="min"`, e.g. a loss) or value > best + min_delta (`mode="max"`, e.g. accuracy).
    With `restore_best_weights=True` it keeps a copy of the parameters of the best epoch,
    and `restore(params)` writes them back in place.
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
        self._losses: list[float] = []

    def update(self, value: float, params=None) -> bool:
        self.epoch += 1
        # a quantity to maximize is a loss to minimize once negated
        self._losses.append(float(value) if self.mode == "min" else -float(value))
        best_epoch, stop_epoch = early_stopping_epoch(self._losses, self.patience, self.min_delta)
        if best_epoch == self.epoch:
            self.best, self.best_epoch = float(value), best_epoch
            if self.restore_best_weights and params is not None:
                self.best_params = copy.deepcopy(params)
        self.wait = self.epoch - self.best_epoch
        return stop_epoch - best_epoch > self.patience

    def restore(self, params) -> None:
        """Copy the best epoch's arrays back into `params`, in place."""
        if self.best_params is None:
            return
        for W, W_best in zip(param_arrays(params), param_arrays(self.best_params)):
            W[...] = W_best
