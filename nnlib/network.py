"""A fully connected network: dense layers, forward pass and backpropagation.

Parameters are a list of (W, b) pairs, one per layer l = 1..L, with W.shape == (n_out, n_in)
and b.shape == (n_out,). A batch has samples in rows, A(0) = X of shape (m, n_0), and layer l
computes

    Z(l) = A(l-1) W(l)^T + b(l),    A(l) = f_l(Z(l)).

Backpropagation goes the other way. With dA = dL/dA(l) (shape (m, n_l)):

    delta(l) = dL/dZ(l) = dA * f_l'(Z(l))     (`output_delta`; the softmax uses its Jacobian)
    dL/dW(l) = delta(l)^T A(l-1)              (n_l, n_(l-1)), W's shape
    dL/db(l) = sum over the rows of delta(l)  (n_l,), b's shape
    dL/dA(l-1) = delta(l) W(l)                (m, n_(l-1))

A single sample may also be given as a 1-D vector of length n_0.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from nnlib._checks import as_array, as_rng
from nnlib.activations import ACTIVATIONS, softmax, softmax_backward

INITS = ("zeros", "normal", "xavier", "he")


def _check_fan(n_in, n_out):
    """n_in and n_out as positive ints, or ValueError naming them."""
    if int(n_in) != n_in or int(n_out) != n_out or n_in < 1 or n_out < 1:
        raise ValueError(f"n_in and n_out must be positive ints, got n_in={n_in}, n_out={n_out}")
    return int(n_in), int(n_out)


def xavier_init(n_in, n_out, rng=None):
    """Xavier/Glorot weights for a layer n_in -> n_out, for sigmoid and tanh units.

    W_ij ~ N(0, sigma^2) with sigma^2 = 2 / (n_in + n_out), W of shape (n_out, n_in).
    The variance is the compromise between 1/n_in, which keeps the variance of the
    activations constant going forward, and 1/n_out, which keeps that of the gradients
    constant going backward. The uniform form U(-r, r) with r = sqrt(6 / (n_in + n_out)) has
    the same variance (r^2 / 3). The slides write N(0, sqrt(2 / (n_in + n_out))) with the
    standard deviation as second argument.
    """
    n_in, n_out = _check_fan(n_in, n_out)
    return np.sqrt(2.0 / (n_in + n_out)) * as_rng(rng).standard_normal((n_out, n_in))


def he_init(n_in, n_out, rng=None):
    """He (Kaiming) weights for a layer n_in -> n_out, for ReLU units.

    W_ij ~ N(0, sigma^2) with sigma^2 = 2 / n_in, W of shape (n_out, n_in): a ReLU passes
    half of the variance of its input on average, and the factor 2 gives it back. The
    uniform form U(-r, r) with r = sqrt(6 / n_in) has the same variance.
    """
    n_in, n_out = _check_fan(n_in, n_out)
    return np.sqrt(2.0 / n_in) * as_rng(rng).standard_normal((n_out, n_in))


def init_params(sizes, init="xavier", rng=None, std=1.0):
    """Random (W, b) for every layer of a network with layer widths `sizes`.

    sizes: [n_0, n_1, ..., n_L] (at least two positive ints). Returns L pairs with
    W(l).shape == (n_l, n_(l-1)) and b(l) = 0 of shape (n_l,). The weights are drawn as

        "zeros":  W = 0 (every unit the same: symmetry is never broken)
        "normal": W_ij ~ N(0, std^2), std = 1 by default (large enough to saturate sigmoids)
        "xavier": `xavier_init`, W_ij ~ N(0, 2 / (n_in + n_out)), for sigmoid/tanh
        "he":     `he_init`, W_ij ~ N(0, 2 / n_in), for ReLU

    where N(0, s^2) is the normal distribution of standard deviation s (the slides write
    N(0, s)). `std` is used by "normal" only.
    """
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    rng = as_rng(rng)
    draw = {
        "zeros": lambda n_in, n_out: np.zeros((n_out, n_in)),
        "normal": lambda n_in, n_out: std * rng.standard_normal((n_out, n_in)),
        "xavier": lambda n_in, n_out: xavier_init(n_in, n_out, rng),
        "he": lambda n_in, n_out: he_init(n_in, n_out, rng),
    }[init]
    return [(draw(n_in, n_out), np.zeros(n_out)) for n_in, n_out in pairwise(sizes)]


def count_params(sizes):
    """Number of weights and biases: sum over layers of n_l (n_(l-1) + 1)."""
    sizes = [int(n) for n in sizes]
    return sum(n_out * (n_in + 1) for n_in, n_out in pairwise(sizes))


def _activation(name):
    """(f, f') for a name of `ACTIVATIONS`, or (softmax, None) for "softmax"."""
    if name == "softmax":
        return softmax, None
    if name not in ACTIVATIONS:
        known = ", ".join([*ACTIVATIONS, "softmax"])
        raise ValueError(f"unknown activation {name!r}; known: {known}")
    return ACTIVATIONS[name]


def _activation_names(activations, n_layers):
    """One activation name per layer: a single name is used for every layer."""
    if isinstance(activations, str):
        return [activations] * n_layers
    names = list(activations)
    if len(names) != n_layers:
        raise ValueError(
            f"activations must name one activation per layer ({n_layers}), got {len(names)}"
        )
    return names


def _dense_forward(A_prev, W, b, activation, names=("A_prev", "W", "b")):
    """Z = A_prev W^T + b and A = f(Z), after checking the shapes; `names` for messages."""
    name_A, name_W, name_b = names
    if W.ndim != 2:
        raise ValueError(f"{name_W} must be 2-D (n_out, n_in), got shape {W.shape}")
    if A_prev.shape[-1] != W.shape[1]:
        hint = ""
        if A_prev.shape[-1] == W.shape[0]:
            hint = f"; {name_W}.T (shape {W.T.shape}) would fit: is {name_W} transposed?"
        raise ValueError(
            f"{name_W} must have shape (n_out, n_in) with n_in = {name_A}.shape[-1], "
            f"got {name_A} shape {A_prev.shape} and {name_W} shape {W.shape}{hint}"
        )
    if b.shape != (W.shape[0],):
        raise ValueError(
            f"{name_b} must have shape (n_out,) = ({W.shape[0]},) to match {name_W} shape "
            f"{W.shape}, got {name_b} shape {b.shape}"
        )
    f, _ = _activation(activation)
    Z = A_prev @ W.T
    Z += b
    return f(Z), (A_prev, Z)


def dense_forward(A_prev, W, b, activation="sigmoid"):
    """One dense layer: Z = A_prev W^T + b, A = f(Z).

    A_prev: (m, n_in) or (n_in,); W: (n_out, n_in); b: (n_out,).
    Returns A: (m, n_out) (or (n_out,)) and the cache (A_prev, Z) that `dense_backward` needs.
    """
    A_prev = as_array(A_prev, "A_prev", ndim=(1, 2))
    W = as_array(W, "W")
    b = as_array(b, "b")
    return _dense_forward(A_prev, W, b, activation)


def output_delta(dA, Z, activation="sigmoid"):
    """The delta of a layer from the gradient of its output: delta = dL/dZ = dA * f'(Z).

    At the output layer this is delta(L) = dL/dA(L) * f'(Z(L)) (the slides'
    dL/da * sigma'(z)); the softmax uses its Jacobian instead of an elementwise f'.
    dA, Z: (m, n) (or (n,) for one sample). Returns delta of the same shape.
    """
    _, f_prime = _activation(activation)
    dA = as_array(dA, "dA")
    Z = as_array(Z, "Z")
    if dA.shape != Z.shape:
        raise ValueError(
            f"dA must have the shape of the layer's output Z, got dA shape {dA.shape} "
            f"and Z shape {Z.shape}"
        )
    if f_prime is None:
        return softmax_backward(dA, Z)
    delta = f_prime(Z)
    delta *= dA
    return delta


def hidden_delta(delta_next, W_next, Z, activation="sigmoid"):
    """The delta of hidden layer l from the layer above: delta(l) = (delta(l+1) W(l+1)) * f'(Z(l)).

    In rows this is the slides' (W(l+1))^T delta(l+1) * sigma'(z(l)) transposed.
    delta_next: (m, n_next); W_next: (n_next, n), the weights into layer l+1; Z: (m, n).
    Returns delta(l) of shape (m, n).
    """
    delta_next = as_array(delta_next, "delta_next")
    W_next = as_array(W_next, "W_next", ndim=2)
    if delta_next.shape[-1] != W_next.shape[0]:
        raise ValueError(
            f"W_next must have shape (n_next, n) with n_next = delta_next.shape[-1], got "
            f"delta_next shape {delta_next.shape} and W_next shape {W_next.shape}"
        )
    return output_delta(delta_next @ W_next, Z, activation)


def _dense_backward(dA, cache, W, activation, need_dA_prev=True):
    """`dense_backward` without checking W; need_dA_prev=False skips the product delta W,
    which the first layer does not need and which costs as much as its forward pass."""
    A_prev, Z = cache
    delta = output_delta(dA, Z, activation)
    if delta.ndim == 1:
        dW = np.outer(delta, A_prev)
        db = delta
    else:
        dW = delta.T @ A_prev
        db = delta.sum(axis=0)
    dA_prev = delta @ W if need_dA_prev else None
    return dA_prev, dW, db


def dense_backward(dA, cache, W, activation="sigmoid"):
    """Backpropagate through one dense layer.

    dA: dL/dA of this layer, (m, n_out) or (n_out,); cache: (A_prev, Z) from
    `dense_forward`; W: (n_out, n_in). With delta = dL/dZ = dA * f'(Z) returns
    dA_prev = delta W (A_prev's shape), dW = delta^T A_prev (W's shape) and
    db = sum of delta over the rows (b's shape).
    """
    W = as_array(W, "W")
    A_prev, Z = cache
    if W.shape != (Z.shape[-1], A_prev.shape[-1]):
        raise ValueError(
            f"W must have shape (n_out, n_in) = {(Z.shape[-1], A_prev.shape[-1])} for this "
            f"cache (A_prev shape {A_prev.shape}, Z shape {Z.shape}), got W shape {W.shape}"
        )
    return _dense_backward(dA, cache, W, activation)


def forward(X, params, activations):
    """Forward pass through every layer: A(0) = X, A(l) = f_l(A(l-1) W(l)^T + b(l)).

    X: (m, n_0) or (n_0,); params: [(W1, b1), ..., (WL, bL)]; activations: one name per layer
    or a single name for all. Returns Y_hat = A(L), (m, n_L) or (n_L,), and the list of the
    layers' caches for `backward`.
    """
    names = _activation_names(activations, len(params))
    A = as_array(X, "X", ndim=(1, 2))
    caches = []
    for l, ((W, b), name) in enumerate(zip(params, names, strict=True), start=1):
        layer_names = ("X" if l == 1 else f"A{l - 1}", f"W{l}", f"b{l}")
        W = as_array(W, layer_names[1])
        b = as_array(b, layer_names[2])
        A, cache = _dense_forward(A, W, b, name, layer_names)
        caches.append(cache)
    return A, caches


def backward(dY_hat, caches, params, activations):
    """Backpropagation: the gradients of the loss for every layer, from dL/dY_hat.

    dY_hat: dL/dA(L), Y_hat's shape; caches from `forward`; params and activations as given
    to `forward`. Returns [(dW1, db1), ..., (dWL, dbL)], each of its parameter's shape. The
    gradient with respect to X is not needed and not computed.
    """
    names = _activation_names(activations, len(params))
    if len(caches) != len(params):
        raise ValueError(f"caches has {len(caches)} layers but params has {len(params)}")
    grads = [None] * len(params)
    dA = dY_hat
    for l in range(len(params) - 1, -1, -1):
        dA, dW, db = _dense_backward(dA, caches[l], params[l][0], names[l], need_dA_prev=l > 0)
        grads[l] = (dW, db)
    return grads


class MLP:
    """A multi-layer perceptron holding its parameters and the caches of its last forward.

    sizes: [n_0, ..., n_L]; activations: one name per layer or one for all; init and rng as
    in `init_params`. `params` is the list of (W, b) pairs, updated in place by optimizers.
    """

    def __init__(self, sizes, activations="sigmoid", init="xavier", rng=None):
        self.sizes = [int(n) for n in sizes]
        self.params = init_params(self.sizes, init=init, rng=rng)
        self.activations = _activation_names(activations, len(self.params))
        self._caches = None

    def forward(self, X):
        """Y_hat = A(L) for a batch X (m, n_0); keeps the caches for `backward`."""
        Y_hat, self._caches = forward(X, self.params, self.activations)
        return Y_hat

    __call__ = forward

    def backward(self, dY_hat):
        """[(dW, db), ...] for dL/dY_hat at the inputs of the last `forward` call."""
        if self._caches is None:
            raise RuntimeError("call forward(X) before backward(dY_hat)")
        return backward(dY_hat, self._caches, self.params, self.activations)

    def predict(self, X):
        """Class labels for X: argmax over the outputs, or Y_hat >= 0.5 for a single output.

        Returns ints of shape (m,) (or a scalar int array for a single 1-D sample).
        """
        Y_hat, _ = forward(X, self.params, self.activations)
        if Y_hat.shape[-1] == 1:
            return (Y_hat[..., 0] >= 0.5).astype(np.int64)
        return Y_hat.argmax(axis=-1)

    def __repr__(self):
        layers = " -> ".join(map(str, self.sizes))
        return f"MLP({layers}, activations={self.activations})"
