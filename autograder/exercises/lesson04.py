"""04-activations: derivatives, softmax, vanishing gradients and dead ReLU units.

`sigmoid` is graded in lesson 03; this lesson uses it without grading it again. A
derivative takes the value from the left at a kink, so relu_prime(0) == 0.

The network exercises (`gradient_sizes`, `dead_units`, `revive_dead_units`) take X of
shape (m, n_0) and params, a list of (W, b) pairs with W (n_l, n_(l-1)) and b (n_l,), as in
lesson 05. Their cases are built so that the slips students make change the answer: units
stuck at z == 0 exactly (zero weights and bias), units dead only because the layer below is
dead, and an odd number of rows (so a bias of minus the median leaves fewer than half of
the rows active).
"""

import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.verifiers import random_params, verify_revived
from nnlib import activations as act
from nnlib import diagnostics

KINK_VALUES = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])


def _elementwise_hidden(rng):
    """Random vectors and batches, the kink at 0, extremes and an empty batch."""
    return [
        Case((rng.normal(scale=3.0, size=rng.integers(1, 50)),), note="random inputs"),
        Case((rng.normal(size=(rng.integers(1, 6), rng.integers(1, 6))),), note="a 2-D batch"),
        Case((np.array([0.0, -0.0, 1e-300, -1e-300, 30.0, -30.0]),), note="at and near zero"),
        Case((np.array([-1000.0, -50.0, 50.0, 1000.0]),), note="extreme inputs"),
        Case((np.zeros(0),), note="an empty batch"),
    ]


def _elementwise_public():
    return [
        Case((KINK_VALUES,), note="negative, zero and positive"),
        Case((np.array([[-1.0, 2.0, -3.0], [0.25, 0.0, -0.25]]),),
             note="a 2-D array keeps its shape"),
    ]


def _elementwise(name, points=1, **fields):
    register(Exercise(
        name=name,
        lessons=fields.pop("lessons", ("04-activations",)),
        signature="(z)",
        reference=f"nnlib.activations.{name}",
        public=_elementwise_public,
        hidden=_elementwise_hidden,
        points=points,
        **fields,
    ))


_elementwise(
    "sigmoid_prime",
    uses=("sigmoid",),
    mistakes={
        "returns σ(z) where σ′(z) = σ(z)(1 − σ(z)) is expected": act.sigmoid,
        "computes z(1 − z): the formula a(1 − a) needs a = σ(z) first":
            lambda z: np.asarray(z, float) * (1 - np.asarray(z, float)),
    },
)
_elementwise(
    "relu_prime",
    mistakes={
        "gives 1 at z = 0; the convention here is relu_prime(0) = 0 (use z > 0)":
            lambda z: (np.asarray(z, float) >= 0).astype(float),
        "returns relu(z) instead of its derivative": act.relu,
    },
)


def _softmax_hidden(rng):
    m, n = rng.integers(1, 7), rng.integers(2, 9)
    return [
        Case((rng.normal(scale=3.0, size=(m, n)),), note="a random batch of rows"),
        Case((rng.normal(scale=3.0, size=rng.integers(2, 12)),), note="one vector"),
        Case((rng.normal(size=(n, m)),), {"axis": 0}, "normalise the columns"),
        Case((rng.normal(size=(2, 3, 4)),), {"axis": 1}, "a 3-D array, middle axis"),
        Case((np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -1000.0]]),),
             note="extreme logits"),
    ]


def _softmax_all(z, axis=-1):
    e = np.exp(np.asarray(z, float) - np.max(z))
    return e / e.sum()


register(Exercise(
    name="softmax",
    lessons=("04-activations",),
    signature="(z, axis=-1)",
    reference="nnlib.activations.softmax",
    public=lambda: [
        Case((np.array([1.0, 2.0, 3.0]),), note="one vector"),
        Case((np.array([[0.0, 0.0], [1.0, -1.0], [3.0, 1.0]]),), note="each row separately"),
        Case((np.array([[0.0, 0.0], [1.0, -1.0], [3.0, 1.0]]),), {"axis": 0},
             "along axis 0: each column separately"),
        Case((np.array([1000.0, 1001.0, 999.0]),), note="large logits must not overflow"),
    ],
    hidden=_softmax_hidden,
    points=2,
    mistakes={
        "normalises along the wrong axis: sum with axis=axis and keepdims=True":
            lambda z, axis=-1: act.softmax(z, axis=0 if axis in (-1, np.ndim(z) - 1) else -1),
        "divides by the sum over the whole array, not along the axis": _softmax_all,
    },
))


# ---- networks: vanishing gradients and dead units -----------------------------------------


def _network(rng, sizes, scale=1.0):
    """Weights of standard deviation scale / √n_in, so that Z has a spread of about `scale`
    whatever the width, and biases of standard deviation 0.5."""
    return random_params(rng, sizes, scale=scale, bias_scale=0.5)


def _stuck_at_zero(params, layer, unit):
    """The network with one unit whose weights and bias are 0: its Z is exactly 0."""
    params = [(W.copy(), b.copy()) for W, b in params]
    params[layer][0][unit] = 0.0
    params[layer][1][unit] = 0.0
    return params


def _f_prime_of(activation, Z):
    return act.ACTIVATIONS[activation][1](Z)


def _sizes_with(delta_top=None, prime_at=None, reverse=False, absolute=True):
    """gradient_sizes with one slip: delta(L) = 1, f' of A instead of Z, the layers in
    reverse order, or the mean of delta instead of |delta|."""
    def gradient_sizes(X, params, activation):
        f = act.ACTIVATIONS[activation][0]
        A, Zs, As = np.asarray(X, float), [], []
        for W, b in params:
            Zs.append(A @ np.asarray(W).T + b)
            A = f(Zs[-1])
            As.append(A)
        dA, sizes = np.ones_like(A), []
        for l in reversed(range(len(params))):
            at = As[l] if prime_at == "A" else Zs[l]
            delta = dA if (delta_top and l == len(params) - 1) else dA * _f_prime_of(activation,
                                                                                      at)
            sizes.append((np.abs(delta) if absolute else delta).mean())
            dA = delta @ np.asarray(params[l][0])
        return np.array(sizes if reverse else sizes[::-1])
    return gradient_sizes


def _gradient_public():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(5, 3))
    params = _network(rng, [3, 4, 4, 2])
    relu_params = _stuck_at_zero(params, 1, 2)
    deep = _network(rng, [4] + [6] * 8)
    return [
        Case((X, params, "sigmoid"), note="3 layers 3 -> 4 -> 4 -> 2, sigmoid"),
        Case((X, params, "tanh"), note="the same network with tanh"),
        Case((X, relu_params, "relu"),
             note="ReLU, unit 3 of layer 2 has Z = 0 exactly (relu'(0) = 0)"),
        Case((rng.normal(size=(7, 4)), deep, "sigmoid"), note="8 sigmoid layers: it vanishes"),
    ]


def _gradient_hidden(rng):
    cases = []
    for activation in diagnostics.GRADIENT_ACTIVATIONS:
        depth = int(rng.integers(1, 11))
        sizes = [int(n) for n in rng.integers(1, 13, size=depth + 1)]
        params = _network(rng, sizes, scale=float(rng.uniform(0.5, 3.0)))
        if activation == "relu":
            layer = int(rng.integers(depth))
            params = _stuck_at_zero(params, layer, int(rng.integers(sizes[layer + 1])))
        X = rng.normal(size=(int(rng.integers(1, 40)), sizes[0]))
        cases.append(Case((X, params, activation), note=f"{depth} random {activation} layers"))
    X = rng.normal(size=(int(rng.integers(5, 30)), 16))
    cases.append(Case((X, _network(rng, [16] * 13), "sigmoid"), note="12 sigmoid layers"))
    return cases


register(Exercise(
    name="gradient_sizes",
    lessons=("04-activations",),
    signature="(X, params, activation)",
    reference="nnlib.diagnostics.gradient_sizes",
    public=_gradient_public,
    hidden=_gradient_hidden,
    points=3,
    uses=("sigmoid_prime", "relu_prime"),
    pure=True,
    mistakes={
        "starts with delta(L) = 1: the output layer's delta is dL/dA(L) * f'(Z(L))":
            _sizes_with(delta_top=True),
        "takes f' of the activation A(l) instead of the pre-activation Z(l)":
            _sizes_with(prime_at="A"),
        "lists the layers from the last to the first: entry 0 is layer 1":
            _sizes_with(reverse=True),
        "averages delta, not |delta|: positive and negative elements cancel":
            _sizes_with(absolute=False),
    },
))


def _dead_with(dead=lambda Z: np.all(Z <= 0, axis=0), relu_between=True):
    """dead_units with one slip in the test for a dead unit or in the forward pass."""
    def dead_units(X, params):
        A, found = np.asarray(X, float), []
        for W, b in params:
            Z = A @ np.asarray(W).T + b
            found.append(dead(Z))
            A = np.maximum(Z, 0.0) if relu_between else Z
        return found
    return dead_units


def _sick_network(rng, m, sizes):
    """A ReLU network with dead units of every kind: biases far below the weighted input,
    a unit stuck at Z = 0, and in layer 2 a unit fed only by dead units of layer 1 (dead
    before layer 1 is revived, alive after). m is odd, so half the rows is not a whole row."""
    X = rng.normal(size=(m, sizes[0]))
    params = _network(rng, sizes)
    n1 = sizes[1]
    killed = rng.permutation(n1)[: max(2, n1 // 3)]
    params[0][1][killed] = -6.0 - 3.0 * rng.random(killed.size)
    params = _stuck_at_zero(params, 0, int(rng.choice(np.setdiff1d(np.arange(n1), killed))))
    for _, b in params[1:]:
        down = rng.random(b.size) < 0.3
        b[down] = -8.0 - 2.0 * rng.random(down.sum())
    W2, b2 = params[1]
    W2[0] = 0.0
    W2[0, killed] = rng.uniform(0.5, 1.5, killed.size)
    b2[0] = -1e-3
    return X, params


def _dead_public():
    X = np.array([[1.0, 2.0], [2.0, 0.5], [0.5, 1.0], [3.0, 1.0], [1.5, 2.5]])
    params = [
        (np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]),
         np.array([0.0, -10.0, -10.0, 0.0])),
        (np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0]]),
         np.array([-0.5, 0.0, 0.0])),
    ]
    rng = np.random.default_rng(5)
    return [
        Case((X, params), note="layer 1: units 2 and 3 have b = -10, unit 4 has Z = 0; "
             "layer 2: unit 1 is fed only by the dead units 2 and 3, unit 3 by -unit 1"),
        Case(_sick_network(rng, 9, [3, 8, 6, 4]), note="a 3 -> 8 -> 6 -> 4 network, 9 rows"),
    ]


def _dead_hidden(rng):
    cases = []
    for _ in range(3):
        depth = int(rng.integers(2, 5))
        sizes = [int(n) for n in rng.integers(3, 12, size=depth + 1)]
        m = 2 * int(rng.integers(2, 20)) + 1
        cases.append(Case(_sick_network(rng, m, sizes), note=f"{depth} layers, {m} rows"))
    sizes = [int(n) for n in rng.integers(2, 8, size=3)]
    cases.append(Case((rng.normal(size=(int(rng.integers(1, 4)) * 2 + 1, sizes[0])),
                       _network(rng, sizes)), note="a small network, few rows"))
    return cases


def _masks_as_numbers(out, case):
    """Each layer's mask as 0.0/1.0 (the judge compares numbers), True/False or 1/0 alike."""
    if not isinstance(out, (list, tuple)):
        return out
    return [np.asarray(m, dtype=float) if isinstance(m, np.ndarray) and m.dtype.kind in "biuf"
            else m for m in out]


register(Exercise(
    name="dead_units",
    lessons=("04-activations",),
    signature="(X, params)",
    reference="nnlib.diagnostics.dead_units",
    public=_dead_public,
    hidden=_dead_hidden,
    tolerance="exact",
    points=2,
    pure=True,
    project=_masks_as_numbers,
    mistakes={
        "tests Z < 0: a unit with Z = 0 on every row outputs 0 too, and relu'(0) = 0 "
        "(use Z <= 0)": _dead_with(dead=lambda Z: np.all(Z < 0, axis=0)),
        "calls a unit dead when it is off on any row; it is dead when it is off on every row":
            _dead_with(dead=lambda Z: np.any(Z <= 0, axis=0)),
        "feeds Z(l-1) to the next layer: its input is A(l-1) = max(0, Z(l-1))":
            _dead_with(relu_between=False),
    },
))


def _revive_with(on_original=False, bias=lambda Z: 1.0 - np.median(Z, axis=0), every=False):
    """revive_dead_units with one slip: which units it changes, or the bias it gives."""
    def revive_dead_units(X, params):
        dead_before = diagnostics.dead_units(X, params)
        A, out = np.asarray(X, float), []
        for l, (W, b) in enumerate(params):
            Z = A @ np.asarray(W).T
            dead = dead_before[l] if on_original else np.all(Z + b <= 0, axis=0)
            b = bias(Z) if every else np.where(dead, bias(Z), b)
            out.append((np.array(W), b))
            A = np.maximum(Z + b, 0.0)
        return out
    return revive_dead_units


register(Exercise(
    name="revive_dead_units",
    lessons=("04-activations",),
    signature="(X, params)",
    reference="nnlib.diagnostics.revive_dead_units",
    public=_dead_public,
    hidden=_dead_hidden,
    tolerance="exact",
    points=3,
    pure=True,
    verify=verify_revived,
    uses=("dead_units",),
    mistakes={
        "judges the units on the original network, not on the revived layers below":
            _revive_with(on_original=True),
        "gives a dead unit the bias -median: the median row gets Z = 0, which is not > 0":
            _revive_with(bias=lambda Z: -np.median(Z, axis=0)),
        "changes the biases of every unit, the live ones too": _revive_with(every=True),
    },
))
