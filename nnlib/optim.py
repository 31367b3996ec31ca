"""Gradient-descent optimizers and learning-rate schedules.

Every optimizer shares one contract, `opt.step(params, grads)`:

- `params` is the parameter list of `nnlib.network` (a list of `(W, b)` pairs) or any
  nested list/tuple of float ndarrays; `grads` has the same structure and shapes (the
  list of `(dW, db)` that `nnlib.network.backward` returns).
- The arrays in `params` are updated in place, so a model that holds them sees the step.
- `opt.t` counts the steps taken; `opt.state` is a list with one dict per parameter array
  (in the order `W1, b1, W2, b2, ...`) holding that array's accumulators (`"v"`, `"G"`,
  `"mu"`, `"m"`), so the course can print or plot them.
- `opt.eta` is the learning rate and may be changed between steps (see the schedules).

Where the slides give an update rule, the default follows it; a documented option gives
the variant that PyTorch and most libraries implement.
"""

from __future__ import annotations

import math

import numpy as np

from nnlib._checks import same_shape


def param_arrays(tree, name: str = "params") -> list[np.ndarray]:
    """Flatten a nested list/tuple of float ndarrays (e.g. `[(W1, b1), ...]`), in order.

    The arrays themselves are returned, not copies, so updating them updates `tree`.
    """
    if isinstance(tree, np.ndarray):
        if not np.issubdtype(tree.dtype, np.floating):
            raise TypeError(f"{name} must hold float arrays, got dtype {tree.dtype}")
        return [tree]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in param_arrays(item, name)]
    raise TypeError(
        f"{name} must be ndarrays in (nested) lists or tuples, got {type(tree).__name__}"
    )


class Optimizer:
    """Base class: checks arguments, keeps `t` and `state`, and loops over the arrays.

    Subclasses define `_new_state(W)` (the accumulators of one array) and
    `_update(W, g, state)` (one in-place step of one array).
    """

    def __init__(self, eta: float):
        if not eta > 0:
            raise ValueError(f"eta must be positive, got {eta}")
        self.eta = float(eta)
        self.t = 0
        self.state: list[dict[str, np.ndarray]] = []

    def _new_state(self, W: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def _update(self, W: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def step(self, params, grads) -> None:
        """Update every array of `params` in place from the matching array of `grads`."""
        P = param_arrays(params, "params")
        G = param_arrays(grads, "grads")
        if len(P) != len(G):
            raise ValueError(f"params has {len(P)} arrays but grads has {len(G)}")
        for i, (W, g) in enumerate(zip(P, G)):
            same_shape(W, g, f"params[{i}]", f"grads[{i}]")
        if not self.state:
            self.state = [self._new_state(W) for W in P]
        elif len(self.state) != len(P):
            raise ValueError(
                f"this optimizer holds state for {len(self.state)} arrays, got {len(P)}; "
                "call reset() before using it on another model"
            )
        self.t += 1
        for W, g, state in zip(P, G, self.state):
            self._update(W, g, state)

    def reset(self) -> None:
        """Forget the step count and the accumulators."""
        self.t = 0
        self.state = []


class SGD(Optimizer):
    """Plain gradient descent: W := W − η ∇L.

    With the gradient of the whole training set this is batch gradient descent, with one
    sample stochastic gradient descent, with a mini-batch mini-batch gradient descent.
    """

    def _update(self, W, g, state):
        W -= self.eta * g


class Momentum(Optimizer):
    """Gradient descent with momentum.

    Slides' form (default): v_t = β v_{t−1} + (1 − β) ∇L,   W := W − η v_t.
    `classical=True`:        v_t = β v_{t−1} + ∇L,           W := W − η v_t
    (PyTorch's `SGD(momentum=β, dampening=0)`). The slides' form with rate η is the
    classical form with rate η(1 − β): v is then an exponential moving average of the
    gradients instead of their discounted sum. PyTorch's `dampening=1 − β` is not the
    slides' form: it sets v_1 = ∇L on the first step instead of (1 − β) ∇L.
    State per array: `"v"`, the velocity, same shape as W.
    """

    def __init__(self, eta: float = 0.01, beta: float = 0.9, classical: bool = False):
        super().__init__(eta)
        if not 0 <= beta < 1:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = float(beta)
        self.classical = bool(classical)

    def _new_state(self, W):
        return {"v": np.zeros_like(W)}

    def _update(self, W, g, state):
        v = state["v"]
        v *= self.beta
        v += g if self.classical else (1.0 - self.beta) * g
        W -= self.eta * v


class Nesterov(Optimizer):
    """Nesterov accelerated gradient, in the slides' symbols.

    The slides evaluate the gradient at the look-ahead point θ − γ v_{t−1}:
        v_t = γ v_{t−1} + η ∇J(θ_{t−1} − γ v_{t−1}),   θ_t = θ_{t−1} − v_t.
    `step` receives the gradient at the parameters it is given, so the parameters it keeps
    are the look-ahead point itself, φ = θ − γ v. Substituting gives, with g = ∇J(φ),
        v_t = γ v_{t−1} + η g,   φ_t = φ_{t−1} − (γ v_t + η g),
    which is what this class does and what PyTorch's `SGD(momentum=γ, nesterov=True)`
    does with velocity v/η. Since v_0 = 0, φ_0 = θ_0; at any step θ = φ + γ v.
    State per array: `"v"`, same shape as W.
    """

    def __init__(self, eta: float = 0.01, gamma: float = 0.9):
        super().__init__(eta)
        if not 0 <= gamma < 1:
            raise ValueError(f"gamma must be in [0, 1), got {gamma}")
        self.gamma = float(gamma)

    def _new_state(self, W):
        return {"v": np.zeros_like(W)}

    def _update(self, W, g, state):
        v = state["v"]
        v *= self.gamma
        v += self.eta * g
        W -= self.gamma * v + self.eta * g


class AdaGrad(Optimizer):
    """AdaGrad: a per-weight rate that shrinks with the squared gradients seen so far.

        G_t = G_{t−1} + (∇L)²,   W := W − η ∇L / (√G_t + ε).

    The slides sum the squares up to t − 1 only, which divides by zero on the first step;
    the sum here includes the current gradient, as in Duchi et al. and PyTorch's
    `Adagrad` (same ε placement, `initial_accumulator_value` = G_0).
    State per array: `"G"`, same shape as W.
    """

    def __init__(
        self, eta: float = 0.01, eps: float = 1e-10, initial_accumulator_value: float = 0.0
    ):
        super().__init__(eta)
        if initial_accumulator_value < 0:
            raise ValueError(
                f"initial_accumulator_value must be >= 0, got {initial_accumulator_value}"
            )
        self.eps = float(eps)
        self.initial_accumulator_value = float(initial_accumulator_value)

    def _new_state(self, W):
        return {"G": np.full_like(W, self.initial_accumulator_value)}

    def _update(self, W, g, state):
        G = state["G"]
        G += g * g
        W -= self.eta * g / (np.sqrt(G) + self.eps)


class RMSProp(Optimizer):
    """RMSProp: AdaGrad with an exponential moving average of the squared gradients.

    Slides' form (default): μ_t = β μ_{t−1} + (1 − β)(∇L)²,   W := W − η ∇L / √(μ_t + ε).
    `eps_inside_sqrt=False`: W := W − η ∇L / (√μ_t + ε), PyTorch's `RMSprop(alpha=β)`.
    State per array: `"mu"`, same shape as W.
    """

    def __init__(
        self,
        eta: float = 0.001,
        beta: float = 0.9,
        eps: float = 1e-8,
        eps_inside_sqrt: bool = True,
    ):
        super().__init__(eta)
        if not 0 <= beta < 1:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = float(beta)
        self.eps = float(eps)
        self.eps_inside_sqrt = bool(eps_inside_sqrt)

    def _new_state(self, W):
        return {"mu": np.zeros_like(W)}

    def _update(self, W, g, state):
        mu = state["mu"]
        mu *= self.beta
        mu += (1.0 - self.beta) * g * g
        denom = np.sqrt(mu + self.eps) if self.eps_inside_sqrt else np.sqrt(mu) + self.eps
        W -= self.eta * g / denom


class Adam(Optimizer):
    """Adam: momentum on the gradient plus RMSProp's per-weight scaling.

        m_t = β1 m_{t−1} + (1 − β1) ∇L,   v_t = β2 v_{t−1} + (1 − β2)(∇L)²
        m̂_t = m_t / (1 − β1^t),           v̂_t = v_t / (1 − β2^t)
        W := W − η m̂_t / (√v̂_t + ε)

    Bias correction (m̂, v̂) is on by default, as in Kingma & Ba and PyTorch's `Adam`.
    `bias_correction=False` gives the slides' form W := W − η m_t / (√v_t + ε), whose
    first steps are too small because m and v start at zero.
    State per array: `"m"` and `"v"`, same shape as W.
    """

    def __init__(
        self,
        eta: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        bias_correction: bool = True,
    ):
        super().__init__(eta)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta}")
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self.bias_correction = bool(bias_correction)

    def _new_state(self, W):
        return {"m": np.zeros_like(W), "v": np.zeros_like(W)}

    def _update(self, W, g, state):
        m, v = state["m"], state["v"]
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        eta, scale_v = self.eta, 1.0
        if self.bias_correction:
            eta /= 1.0 - self.beta1**self.t
            scale_v = math.sqrt(1.0 - self.beta2**self.t)
        denom = np.sqrt(v)
        denom /= scale_v
        denom += self.eps
        W -= eta * m / denom


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
}


def step_decay(eta0: float, epoch: int, drop: float = 0.5, every: int = 10) -> float:
    """Step decay: η = η0 · drop^⌊epoch / every⌋ (PyTorch's `StepLR`)."""
    return eta0 * drop ** (epoch // every)


def exponential_decay(eta0: float, epoch: int, gamma: float = 0.95) -> float:
    """Exponential decay: η = η0 · γ^epoch (PyTorch's `ExponentialLR`)."""
    return eta0 * gamma**epoch


def cosine_annealing(eta0: float, epoch: int, epochs: int, eta_min: float = 0.0) -> float:
    """Cosine annealing from η0 down to η_min over `epochs` epochs:

    η = η_min + (η0 − η_min)(1 + cos(π · epoch / epochs)) / 2 (PyTorch's `CosineAnnealingLR`
    with `T_max=epochs`, for epoch ≤ epochs).
    """
    return eta_min + (eta0 - eta_min) * (1.0 + math.cos(math.pi * epoch / epochs)) / 2.0
