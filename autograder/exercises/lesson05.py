"""05-forward: a dense layer, the forward pass through a network, parameter counting.

The cache a student's `dense_forward` or `forward` returns is their own business: only
the activations are compared. The mistakes are the shape slips of the matrix form.
"""

import numpy as np

from autograder.registry import Case, Exercise, register
from nnlib.activations import ACTIVATIONS
from nnlib.network import forward

HANDWORKED = dict(
    x=np.array([0.5, 0.8]),
    W1=np.array([[0.2, 0.4], [0.3, 0.1]]),
    b1=np.array([0.1, 0.2]),
    W2=np.array([[0.6, 0.5]]),
    b2=np.array([0.3]),
)



def _f(activation):
    return ACTIVATIONS[activation][0]


def _layer(rng, m, n_in, n_out):
    return (rng.normal(size=(m, n_in)), rng.normal(size=(n_out, n_in)),
            rng.normal(size=n_out))


def _dense_hidden(rng):
    cases = []
    for activation in ("sigmoid", "tanh", "relu", "linear"):
        m, n_in, n_out = rng.integers(1, 9, size=3)
        cases.append(Case(_layer(rng, m, n_in, n_out), {"activation": activation},
                          f"a random {activation} layer"))
    n = int(rng.integers(2, 6))
    cases.append(Case(_layer(rng, int(rng.integers(1, 6)), n, n), note="a square W"))
    A, W, b = _layer(rng, 1, int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    cases.append(Case((A[0], W, b), note="a single sample as a 1-D vector"))
    return cases


def _dense_public():
    h = HANDWORKED
    rng = np.random.default_rng(5)
    return [
        Case((h["x"], h["W1"], h["b1"]), note="the handworked hidden layer, one sample"),
        Case((np.array([[0.5, 0.8], [1.0, -1.0], [0.0, 0.0]]), h["W1"], h["b1"]),
             note="a batch of three samples in rows, square W"),
        Case(_layer(rng, 4, 3, 2), {"activation": "tanh"}, "W of shape (2, 3), tanh"),
        Case(_layer(rng, 2, 2, 5), {"activation": "relu"}, "W of shape (5, 2), ReLU"),
    ]


def _dense_transposed(A_prev, W, b, activation="sigmoid"):
    return _f(activation)(np.asarray(A_prev) @ W + b), None


def _dense_no_bias(A_prev, W, b, activation="sigmoid"):
    return _f(activation)(np.asarray(A_prev) @ np.asarray(W).T), None


def _dense_no_activation(A_prev, W, b, activation="sigmoid"):
    return np.asarray(A_prev) @ np.asarray(W).T + b, None


def _dense_bias_after(A_prev, W, b, activation="sigmoid"):
    return _f(activation)(np.asarray(A_prev) @ np.asarray(W).T) + b, None


register(Exercise(
    name="dense_forward",
    lessons=("05-forward",),
    signature='(A_prev, W, b, activation="sigmoid")',
    reference="nnlib.network.dense_forward",
    public=_dense_public,
    hidden=_dense_hidden,
    points=3,
    project=lambda out, case: out[0],
    mistakes={
        "W is used transposed: with W of shape (n_out, n_in), Z = A_prev W^T + b":
            _dense_transposed,
        "the bias b is missing": _dense_no_bias,
        "the activation is not applied: A = f(Z), not Z": _dense_no_activation,
        "the bias is added after the activation; it belongs inside: f(A_prev W^T + b)":
            _dense_bias_after,
    },
))


def _network(rng, sizes):
    """The list [(W1, b1), ..., (WL, bL)] the text promises."""
    return [(rng.normal(size=(n_out, n_in)), rng.normal(size=n_out))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


def _forward_hidden(rng):
    cases = []
    for depth in (1, 2, 3, 4):
        sizes = [int(n) for n in rng.integers(1, 8, size=depth + 1)]
        names = [str(a) for a in rng.choice(["sigmoid", "tanh", "relu", "linear"], size=depth)]
        X = rng.normal(size=(int(rng.integers(1, 9)), sizes[0]))
        cases.append(Case((X, _network(rng, sizes), names), note=f"{depth} layers {sizes}"))
    sizes = [int(n) for n in rng.integers(2, 6, size=3)]
    cases.append(Case((rng.normal(size=(3, sizes[0])), _network(rng, sizes), "tanh"),
                      note="one activation name for every layer"))
    return cases


def _forward_public():
    h = HANDWORKED
    rng = np.random.default_rng(7)
    return [
        Case((h["x"], [(h["W1"], h["b1"]), (h["W2"], h["b2"])], ["sigmoid", "sigmoid"]),
             note="the handworked 2 -> 2 -> 1 network"),
        Case((rng.normal(size=(4, 3)), _network(rng, [3, 5, 2]), ["relu", "sigmoid"]),
             note="a batch through 3 -> 5 -> 2"),
        Case((rng.normal(size=(2, 2)), _network(rng, [2, 2, 2, 2]), "tanh"),
             note="one name for all three layers"),
    ]


def _names(activations, n):
    return [activations] * n if isinstance(activations, str) else list(activations)


def _forward_last_linear(X, params, activations):
    names = _names(activations, len(params))
    return forward(X, params, names[:-1] + ["linear"])


def _forward_first_name(X, params, activations):
    return forward(X, params, _names(activations, len(params))[0])


def _forward_no_bias(X, params, activations):
    return forward(X, [(W, np.zeros_like(b)) for W, b in params], activations)


register(Exercise(
    name="forward",
    uses=("dense_forward",),
    lessons=("05-forward",),
    signature="(X, params, activations)",
    reference="nnlib.network.forward",
    public=_forward_public,
    hidden=_forward_hidden,
    points=2,
    project=lambda out, case: out[0],
    mistakes={
        "the last layer's activation is not applied": _forward_last_linear,
        "every layer uses the first activation name; layer l uses activations[l]":
            _forward_first_name,
        "the biases are missing": _forward_no_bias,
    },
))


def _count_hidden(rng):
    return [Case(([int(n) for n in rng.integers(1, 1000, size=depth)],),
                 note=f"{depth} layer widths") for depth in (2, 3, 4, 6)]


def _pairs(sizes):
    return list(zip(sizes[:-1], sizes[1:], strict=True))


register(Exercise(
    name="count_params",
    lessons=("05-forward",),
    signature="(sizes)",
    reference="nnlib.network.count_params",
    public=lambda: [
        Case(([2, 2, 1],), note="the handworked network"),
        Case(([784, 128, 64, 10],), note="the slides' MNIST network"),
        Case(([3, 1],), note="a single neuron with three inputs"),
    ],
    hidden=_count_hidden,
    tolerance="exact",
    points=1,
    mistakes={
        "the biases are not counted: each layer has n_l of them":
            lambda sizes: sum(a * b for a, b in _pairs(sizes)),
        "one bias per input unit was counted; there is one per output unit":
            lambda sizes: sum(a * (b + 1) for a, b in _pairs(sizes)),
        "the units were counted, not the weights and biases": lambda sizes: sum(sizes),
    },
))
