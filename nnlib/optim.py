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

Each class is a thin loop over arrays around a pure update function of the same name
(`sgd_update`, `momentum_update`, `nesterov_update`, `adagrad_update`, `rmsprop_update`,
`adam_update`): the function takes θ, the gradient and the accumulators and returns new
arrays, never changing its inputs, so one step can be computed, printed and compared.
`minibatches` splits one epoch into the index batches of mini-batch gradient descent.

Where the slides give an update rule, the default follows it; a documented option gives
the variant that PyTorch and most libraries implement.
"""

from __future__ import annotations

import math

import numpy as np

from nnlib._checks import as_array, as_rng, same_shape


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


def minibatches(m: int, batch_size: int, shuffle: bool = True, rng=None) -> list[np.ndarray]:
    """The index batches of one epoch of mini-batch gradient descent.

    Visits the sample indices 0, ..., m − 1 once each: in an order drawn from `rng` when
    `shuffle` (a fresh permutation every call), in order 0, 1, ..., m − 1 otherwise, cut
    into consecutive batches of `batch_size` indices; the last batch holds the
    m mod batch_size left over, if any. batch_size = m gives batch gradient descent (one
    batch), batch_size = 1 stochastic gradient descent (m batches of one sample).

    Returns a list of ⌈m / batch_size⌉ int arrays of shapes (batch_size,), ...,
    (batch_size,) and then (m mod batch_size,) if that is not 0; together a partition of
    range(m). Index the data with them: `X[idx]`, `Y[idx]`.
    """
    m, batch_size = _count(m, "m", 0), _count(batch_size, "batch_size", 1)
    order = as_rng(rng).permutation(m) if shuffle else np.arange(m)
    return [order[start : start + batch_size] for start in range(0, m, batch_size)]


def _count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_rate(name: str, value: float) -> float:
    """A decay rate β ∈ [0, 1): β = 1 would never forget, β < 0 would oscillate."""
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def _update_arrays(theta, grad, **state) -> list[np.ndarray]:
    """θ, the gradient and the accumulators as float arrays, all of θ's shape."""
    theta = as_array(theta, "theta")
    arrays = [theta]
    for name, value in {"grad": grad, **state}.items():
        arr = as_array(value, name)
        same_shape(theta, arr, "theta", name)
        arrays.append(arr)
    return arrays


def sgd_update(theta, grad, eta):
    """One step of gradient descent: θ_t = θ_{t−1} − η ∇L.

    theta, grad: arrays of one shape (any); eta: the learning rate η.
    Returns the new θ, a new array of θ's shape.
    """
    theta, grad = _update_arrays(theta, grad)
    return theta - eta * grad


def momentum_update(theta, grad, v, eta=0.01, beta=0.9):
    """One step of gradient descent with momentum, in the slides' form:

        v_t = β v_{t−1} + (1 − β) ∇L,   θ_t = θ_{t−1} − η v_t.

    v is an exponential moving average of the gradients (v_0 = 0): β = 0.9 gives the
    current gradient 10 % of the weight. PyTorch's `SGD(momentum=β)` sums instead,
    v_t = β v_{t−1} + ∇L; that is this function with the gradient ∇L / (1 − β).
    theta, grad, v: arrays of one shape. Returns (θ_t, v_t), new arrays of that shape.
    """
    theta, grad, v = _update_arrays(theta, grad, v=v)
    beta = _check_rate("beta", beta)
    v = beta * v + (1.0 - beta) * grad
    return theta - eta * v, v


def nesterov_update(theta, grad, v, eta=0.01, gamma=0.9):
    """One step of Nesterov accelerated gradient, for the gradient at the look-ahead point.

    The slides: v_t = γ v_{t−1} + η ∇J(θ_{t−1} − γ v_{t−1}),   θ_t = θ_{t−1} − v_t.
    Here `theta` is the look-ahead point itself, φ = θ − γ v, and `grad` = ∇J(φ), so
    the caller evaluates the gradient at the parameters it holds. Substituting gives

        v_t = γ v_{t−1} + η ∇J(φ_{t−1}),   φ_t = φ_{t−1} − (γ v_t + η ∇J(φ_{t−1}))

    (PyTorch's `SGD(momentum=γ, nesterov=True)`, whose velocity is v/η). With v_0 = 0,
    φ_0 = θ_0; at any step θ = φ + γ v.
    theta, grad, v: arrays of one shape. Returns (φ_t, v_t), new arrays of that shape.
    """
    theta, grad, v = _update_arrays(theta, grad, v=v)
    gamma = _check_rate("gamma", gamma)
    v = gamma * v + eta * grad
    return theta - (gamma * v + eta * grad), v


def adagrad_update(theta, grad, G, eta=0.01, eps=1e-10):
    """One step of AdaGrad: a rate per weight that shrinks with its squared gradients.

        G_t = G_{t−1} + (∇L)²,   θ_t = θ_{t−1} − η ∇L / (√G_t + ε).

    The slides sum the squares up to t − 1 only, which divides by zero at the first step;
    this sum includes the current gradient, as in Duchi et al. and PyTorch's `Adagrad`.
    theta, grad, G: arrays of one shape. Returns (θ_t, G_t), new arrays of that shape.
    """
    theta, grad, G = _update_arrays(theta, grad, G=G)
    G = G + grad * grad
    return theta - eta * grad / (np.sqrt(G) + eps), G


def rmsprop_update(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-8, eps_inside_sqrt=True):
    """One step of RMSProp: AdaGrad with a moving average of the squared gradients.

    Slides' form (default): μ_t = β μ_{t−1} + (1 − β)(∇L)²,   θ_t = θ_{t−1} − η ∇L / √(μ_t + ε).
    `eps_inside_sqrt=False`: θ_t = θ_{t−1} − η ∇L / (√μ_t + ε), PyTorch's `RMSprop(alpha=β)`.
    theta, grad, mu: arrays of one shape. Returns (θ_t, μ_t), new arrays of that shape.
    """
    theta, grad, mu = _update_arrays(theta, grad, mu=mu)
    beta = _check_rate("beta", beta)
    mu = beta * mu + (1.0 - beta) * grad * grad
    denom = np.sqrt(mu + eps) if eps_inside_sqrt else np.sqrt(mu) + eps
    return theta - eta * grad / denom, mu


def adam_update(
    theta, grad, m, v, t, eta=0.001, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=False
):
    """One step of Adam: momentum on the gradient, RMSProp's scaling per weight.

    The slides' form (default):

        m_t = β1 m_{t−1} + (1 − β1) ∇L,   v_t = β2 v_{t−1} + (1 − β2)(∇L)²,
        θ_t = θ_{t−1} − η m_t / (√v_t + ε).

    `bias_correction=True` is Kingma & Ba's Adam and PyTorch's: it divides out the pull
    towards the zero start, m̂_t = m_t / (1 − β1^t), v̂_t = v_t / (1 − β2^t), and steps
    θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε). t is the number of this step, 1 for the first.
    Without the correction the first step is (1 − β1)/√(1 − β2) ≈ 3.2 times larger.
    theta, grad, m, v: arrays of one shape. Returns (θ_t, m_t, v_t), new arrays of that
    shape.
    """
    theta, grad, m, v = _update_arrays(theta, grad, m=m, v=v)
    beta1, beta2 = _check_rate("beta1", beta1), _check_rate("beta2", beta2)
    t = _count(t, "t (the step number, 1 for the first step)", 1)
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    m_hat, v_hat = m, v
    if bias_correction:
        m_hat, v_hat = m / (1.0 - beta1**t), v / (1.0 - beta2**t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps), m, v


class Optimizer:
    """Base class: checks arguments, keeps `t` and `state`, and loops over the arrays.

    Subclasses define `_new_state(W)` (the accumulators of one array) and
    `_update(W, g, state)` (one step of one array: W is overwritten in place, the
    accumulators in `state` are replaced), which calls the class's update function.
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
    """Plain gradient descent: W := W − η ∇L (`sgd_update`).

    With the gradient of the whole training set this is batch gradient descent, with one
    sample stochastic gradient descent, with a mini-batch mini-batch gradient descent.
    """

    def _update(self, W, g, state):
        W[...] = sgd_update(W, g, self.eta)


class Momentum(Optimizer):
    """Gradient descent with momentum (`momentum_update`).

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
        self.beta = _check_rate("beta", beta)
        self.classical = bool(classical)

    def _new_state(self, W):
        return {"v": np.zeros_like(W)}

    def _update(self, W, g, state):
        # the classical sum β v + ∇L is the slides' average of the gradient ∇L / (1 − β)
        g = g / (1.0 - self.beta) if self.classical else g
        W[...], state["v"] = momentum_update(W, g, state["v"], self.eta, self.beta)


class Nesterov(Optimizer):
    """Nesterov accelerated gradient (`nesterov_update`), in the slides' symbols.

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
        self.gamma = _check_rate("gamma", gamma)

    def _new_state(self, W):
        return {"v": np.zeros_like(W)}

    def _update(self, W, g, state):
        W[...], state["v"] = nesterov_update(W, g, state["v"], self.eta, self.gamma)


class AdaGrad(Optimizer):
    """AdaGrad (`adagrad_update`): a per-weight rate that shrinks with its squared gradients.

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
        W[...], state["G"] = adagrad_update(W, g, state["G"], self.eta, self.eps)


class RMSProp(Optimizer):
    """RMSProp (`rmsprop_update`): AdaGrad with a moving average of the squared gradients.

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
        self.beta = _check_rate("beta", beta)
        self.eps = float(eps)
        self.eps_inside_sqrt = bool(eps_inside_sqrt)

    def _new_state(self, W):
        return {"mu": np.zeros_like(W)}

    def _update(self, W, g, state):
        W[...], state["mu"] = rmsprop_update(
            W, g, state["mu"], self.eta, self.beta, self.eps, self.eps_inside_sqrt
        )


class Adam(Optimizer):
    """Adam (`adam_update`): momentum on the gradient plus RMSProp's per-weight scaling.

    Slides' form (default):
        m_t = β1 m_{t−1} + (1 − β1) ∇L,   v_t = β2 v_{t−1} + (1 − β2)(∇L)²,
        W := W − η m_t / (√v_t + ε).
    `bias_correction=True` gives Kingma & Ba's Adam and PyTorch's `Adam`:
        m̂_t = m_t / (1 − β1^t),   v̂_t = v_t / (1 − β2^t),   W := W − η m̂_t / (√v̂_t + ε).
    m and v start at zero, so early on m_t ≈ (1 − β1^t) ∇L and √v_t ≈ √(1 − β2^t) |∇L|:
    without the correction the first steps are (1 − β1^t)/√(1 − β2^t) times the corrected
    ones, 3.2 times at t = 1 for the default betas (and up to about 6.5 times later).
    State per array: `"m"` and `"v"`, same shape as W.
    """

    def __init__(
        self,
        eta: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        bias_correction: bool = False,
    ):
        super().__init__(eta)
        self.beta1 = _check_rate("beta1", beta1)
        self.beta2 = _check_rate("beta2", beta2)
        self.eps = float(eps)
        self.bias_correction = bool(bias_correction)

    def _new_state(self, W):
        return {"m": np.zeros_like(W), "v": np.zeros_like(W)}

    def _update(self, W, g, state):
        W[...], state["m"], state["v"] = adam_update(
            W, g, state["m"], state["v"], self.t, self.eta, self.beta1, self.beta2, self.eps,
            self.bias_correction,
        )


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
