"""05-forward: a dense layer, the forward pass, parameter counting, universal approximation.

The cache a student's `dense_forward` or `forward` returns is their own business: only
the activations are compared. The mistakes are the shape slips of the matrix form.
"""

import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.verifiers import (
    random_layer,
    random_params,
    staircase_grid,
    verify_approximate,
    verify_staircase,
)
from nnlib.activations import ACTIVATIONS
from nnlib.approximation import GRID_POINTS, MAX_HIDDEN, one_hidden_layer, staircase
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


def _dense_hidden(rng):
    cases = []
    for activation in ("sigmoid", "tanh", "relu", "linear"):
        m, n_in, n_out = rng.integers(1, 9, size=3)
        cases.append(Case(random_layer(rng, m, n_in, n_out), {"activation": activation},
                          f"a random {activation} layer"))
    n = int(rng.integers(2, 6))
    cases.append(Case(random_layer(rng, int(rng.integers(1, 6)), n, n), note="a square W"))
    A, W, b = random_layer(rng, 1, int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    cases.append(Case((A[0], W, b), note="a single sample as a 1-D vector"))
    return cases


def _dense_public():
    h = HANDWORKED
    rng = np.random.default_rng(5)
    return [
        Case((h["x"], h["W1"], h["b1"]), note="the handworked hidden layer, one sample"),
        Case((np.array([[0.5, 0.8], [1.0, -1.0], [0.0, 0.0]]), h["W1"], h["b1"]),
             note="a batch of three samples in rows, square W"),
        Case(random_layer(rng, 4, 3, 2), {"activation": "tanh"}, "W of shape (2, 3), tanh"),
        Case(random_layer(rng, 2, 2, 5), {"activation": "relu"}, "W of shape (5, 2), ReLU"),
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
    vectorized=lambda rows: Case((np.linspace(-1.0, 1.0, 3 * rows).reshape(rows, 3),
                                  np.array([[0.2, -0.4, 0.1], [0.3, 0.1, -0.2]]),
                                  np.array([0.1, -0.2])), note=f"a batch of {rows} samples"),
    mistakes={
        "W is used transposed: with W of shape (n_out, n_in), Z = A_prev W^T + b":
            _dense_transposed,
        "the bias b is missing": _dense_no_bias,
        "the activation is not applied: A = f(Z), not Z": _dense_no_activation,
        "the bias is added after the activation; it belongs inside: f(A_prev W^T + b)":
            _dense_bias_after,
    },
))


def _forward_hidden(rng):
    cases = []
    for depth in (1, 2, 3, 4):
        sizes = [int(n) for n in rng.integers(1, 8, size=depth + 1)]
        names = [str(a) for a in rng.choice(["sigmoid", "tanh", "relu", "linear"], size=depth)]
        X = rng.normal(size=(int(rng.integers(1, 9)), sizes[0]))
        cases.append(Case((X, random_params(rng, sizes), names), note=f"{depth} layers {sizes}"))
    sizes = [int(n) for n in rng.integers(2, 6, size=3)]
    cases.append(Case((rng.normal(size=(3, sizes[0])), random_params(rng, sizes), "tanh"),
                      note="one activation name for every layer"))
    return cases


def _forward_public():
    h = HANDWORKED
    rng = np.random.default_rng(7)
    return [
        Case((h["x"], [(h["W1"], h["b1"]), (h["W2"], h["b2"])], ["sigmoid", "sigmoid"]),
             note="the handworked 2 -> 2 -> 1 network"),
        Case((rng.normal(size=(4, 3)), random_params(rng, [3, 5, 2]), ["relu", "sigmoid"]),
             note="a batch through 3 -> 5 -> 2"),
        Case((rng.normal(size=(2, 2)), random_params(rng, [2, 2, 2, 2]), "tanh"),
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


# ---- universal approximation: a network built, not trained ------------------------------
#
# f is a NumPy function (a ufunc, np.sinc or a Polynomial): cases are pickled into the
# grading kernel, which has NumPy but not this module.


def _lipschitz(f, low, high):
    x = np.linspace(low, high, 20_001)
    return float(np.max(np.abs(np.diff(f(x)))) / (x[1] - x[0]))


def _target(rng):
    """(f, low, high, note): a smooth, kinked, growing or wiggly function on an interval."""
    kind = int(rng.integers(6))
    if kind == 0:
        low = float(rng.uniform(-4, 2))
        return np.sin, low, low + float(rng.uniform(2, 7)), "sin"
    if kind == 1:
        return np.abs, -float(rng.uniform(0.5, 2)), float(rng.uniform(0.5, 2)), "|x|, a kink"
    if kind == 2:
        return np.tanh, -float(rng.uniform(1, 4)), float(rng.uniform(1, 4)), "tanh"
    if kind == 3:
        return np.exp, -float(rng.uniform(1, 3)), float(rng.uniform(0, 1.2)), "exp"
    if kind == 4:
        return np.sinc, -float(rng.uniform(1, 3)), float(rng.uniform(1, 3)), "sinc"
    low, high = -float(rng.uniform(0.5, 1.5)), float(rng.uniform(0.5, 1.5))
    p = np.polynomial.Polynomial(rng.normal(size=int(rng.integers(2, 5))))
    # Scaled to a range of 1 to 3 on the interval, like the other functions.
    p = p * (float(rng.uniform(1, 3)) / np.ptp(p(np.linspace(low, high, 1001))))
    return p, low, high, f"a polynomial of degree {p.degree()}"


def _units(params):
    return np.shape(params[0][0])[0]


def _staircase_project(out, case):
    f, low, high, n = case.args
    if _units(out) > 2 * n:
        raise ValueError(f"{_units(out)} hidden units for {n} pieces; at most 2n = {2 * n}")
    return one_hidden_layer(staircase_grid(low, high, n)[0], out)


def _staircase_left_ends(f, low, high, n):
    h = (high - low) / n
    return staircase(lambda x: f(x - h / 2), low, high, n)


def _staircase_from_zero(f, low, high, n):
    (W1, b1), (W2, _) = staircase(f, low, high, n)
    return [(W1, b1), (W2, np.zeros(1))]


def _staircase_levels_as_heights(f, low, high, n):
    (W1, b1), (_, b2) = staircase(f, low, high, n)
    h = (high - low) / n
    return [(W1, b1), (np.asarray(f(low + (np.arange(1, n) + 0.5) * h)).reshape(1, -1), b2)]


def _staircase_hidden(rng):
    cases = []
    for _ in range(5):
        f, low, high, note = _target(rng)
        n = int(rng.integers(2, 60))
        cases.append(Case((f, low, high, n), note=f"{note} on [{low:.3g}, {high:.3g}], {n} pieces"))
    return cases


register(Exercise(
    name="staircase",
    lessons=("05-forward",),
    signature="(f, low, high, n)",
    reference="nnlib.approximation.staircase",
    public=lambda: [
        Case((np.sin, 0.0, 2 * np.pi, 8), note="sin on [0, 2π], 8 pieces"),
        Case((np.abs, -1.0, 1.0, 5), note="|x| on [-1, 1], 5 pieces"),
        Case((np.polynomial.Polynomial([0.0, 1.0, 0.0, -1.0]), -1.5, 1.5, 12),
             note="x - x³ on [-1.5, 1.5], 12 pieces"),
    ],
    hidden=_staircase_hidden,
    tolerance="numerical",
    points=2,
    project=_staircase_project,
    verify=verify_staircase,
    mistakes={
        "each level is f at the left end of its piece; the text asks for the midpoint":
            _staircase_left_ends,
        "the staircase starts at 0: b2 must be the first level f(c_0)": _staircase_from_zero,
        "each step's height is the level itself; a step adds the difference to the "
        "previous level": _staircase_levels_as_heights,
    },
))


def _approximate_project(out, case):
    f, low, high, eps = case.args
    if _units(out) > MAX_HIDDEN:
        raise ValueError(f"{_units(out)} hidden units; at most {MAX_HIDDEN}")
    return one_hidden_layer(np.linspace(low, high, GRID_POINTS), out)


def _approximate_hidden(rng):
    cases = []
    for _ in range(5):
        f, low, high, note = _target(rng)
        # At most about 100 pieces for a midpoint staircase within eps / 2.
        eps = max(float(rng.uniform(0.02, 0.1)), _lipschitz(f, low, high) * (high - low) / 100)
        cases.append(Case((f, low, high, eps),
                          note=f"{note} on [{low:.3g}, {high:.3g}] within {eps:.3g}"))
    return cases


register(Exercise(
    name="approximate",
    uses=("staircase", "forward"),
    lessons=("05-forward",),
    signature="(f, low, high, eps)",
    reference="nnlib.approximation.approximate",
    public=lambda: [
        Case((np.sin, 0.0, 2 * np.pi, 0.05), note="sin on [0, 2π] within 0.05"),
        Case((np.abs, -1.0, 1.0, 0.02), note="|x| on [-1, 1] within 0.02"),
        Case((np.exp, -1.0, 1.0, 0.05), note="exp on [-1, 1] within 0.05"),
    ],
    hidden=_approximate_hidden,
    tolerance="numerical",
    points=3,
    project=_approximate_project,
    verify=verify_approximate,
    mistakes={
        "2 pieces: the error was measured at the pieces' midpoints only, where a "
        "staircase is exact": lambda f, low, high, eps: staircase(f, low, high, 2),
    },
))
