"""What the activations do to a network's signals: vanishing gradients and dead ReLU units.

A network is a list of (W, b) pairs, one per layer l = 1..L, with the notation of
`nnlib.network`: A(0) = X of shape (m, n_0), Z(l) = A(l-1) W(l)^T + b(l), A(l) = f(Z(l)).
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import as_array
from nnlib.activations import ACTIVATIONS

GRADIENT_ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _layers(X, params):
    X = as_array(X, "X", 2)
    layers = [(as_array(W, f"W({l})", 2), as_array(b, f"b({l})", 1))
              for l, (W, b) in enumerate(params, start=1)]
    n_prev = X.shape[1]
    for l, (W, b) in enumerate(layers, start=1):
        if W.shape[1] != n_prev or b.shape != (W.shape[0],):
            raise ValueError(f"layer {l}: W{W.shape} and b{b.shape} do not take an input of "
                             f"{n_prev} units")
        n_prev = W.shape[0]
    return X, layers


def gradient_sizes(X, params, activation):
    """Mean |dL/dZ(l)| in each layer, for L = the sum of the outputs (dL/dA(L) = 1).

    Every layer uses `activation`, a name of `nnlib.activations.ACTIVATIONS` (the exercise
    of lesson 04 asks for GRADIENT_ACTIVATIONS: "sigmoid", "tanh", "relu"). Backward:
    delta(L) = f'(Z(L)), delta(l) = (delta(l+1) W(l+1)) * f'(Z(l)).
    X (m, n_0), params [(W(l) (n_l, n_(l-1)), b(l) (n_l,))]; returns (L,), entry l-1 is the
    mean over all m * n_l elements of |delta(l)|.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    f, f_prime = ACTIVATIONS[activation]
    A, layers = _layers(X, params)
    Zs = []
    for W, b in layers:
        Zs.append(A @ W.T + b)
        A = f(Zs[-1])
    dA, sizes = np.ones_like(A), []
    for (W, _), Z in zip(reversed(layers), reversed(Zs)):
        delta = dA * f_prime(Z)
        sizes.append(np.abs(delta).mean())
        dA = delta @ W
    return np.array(sizes[::-1])


def _dead(A_prev, W, b):
    """The ReLU units of one layer whose Z = A_prev W^T + b is <= 0 on every row."""
    return np.all(A_prev @ W.T + b <= 0, axis=0)


def dead_units(X, params):
    """Which units of a ReLU network are dead on the inputs X: Z(l)[:, j] <= 0 on every row,
    so A(l)[:, j] = 0 and relu'(Z(l)[:, j]) = 0 (relu'(0) = 0) and no gradient reaches
    W(l)[j] or b(l)[j].

    Every layer uses ReLU. X (m, n_0) with m >= 1; returns a list of L boolean arrays, the
    l-th of shape (n_l,).
    """
    A, layers = _layers(X, params)
    dead = []
    for W, b in layers:
        dead.append(_dead(A, W, b))
        A = np.maximum(A @ W.T + b, 0.0)
    return dead


def revive_dead_units(X, params):
    """A copy of a ReLU network in which no unit is dead on X, changed only in the biases of
    the dead units.

    Layer by layer from the first, on the input A(l-1) of the already revived layers below,
    every dead unit j gets b_j = 1 - median_i (A(l-1) W(l)^T)_ij, so that its Z > 0 on at
    least half of the m rows. X (m, n_0); returns a new list of (W, b) pairs.
    """
    A, layers = _layers(X, params)
    revived = []
    for W, b in layers:
        Z = A @ W.T
        b = np.where(_dead(A, W, b), 1.0 - np.median(Z, axis=0), b)
        revived.append((W.copy(), b))
        A = np.maximum(Z + b, 0.0)
    return revived
