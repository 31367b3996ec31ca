"""06-backprop: deltas, a dense layer's backward pass, backpropagation, numerical gradients,
automatic differentiation.

`sigmoid_prime` is graded in lesson 04; this lesson imports nnlib's. A cache is the pair
(A_prev, Z) that nnlib's `dense_forward` keeps; hidden cases draw networks of random depth
and widths, so a function that only works for the shapes of the lesson fails them.
"""

from dataclasses import replace
from functools import partial

import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.verifiers import random_layer, random_one_hot, random_params, random_shape
from nnlib.activations import ACTIVATIONS
from nnlib.autodiff import Program
from nnlib.gradcheck import numerical_gradient
from nnlib.losses import bce, half_sse, softmax_cross_entropy
from nnlib.network import forward

NAMES = ("sigmoid", "tanh", "relu", "linear")


def _prime(name, Z):
    return ACTIVATIONS[name][1](Z)


def _value(name, Z):
    return ACTIVATIONS[name][0](Z)


def _prime_at_A(name, Z):
    return ACTIVATIONS[name][1](ACTIVATIONS[name][0](Z))


def _layer_backward(dA, cache, W, name, deriv=_prime, scale=1.0):
    """(dA_prev, dW, db) of one layer, with a choice of derivative and a factor on dW, db."""
    A_prev, Z = (np.asarray(x, float) for x in cache)
    delta = np.asarray(dA, float) * deriv(name, Z)
    return delta @ np.asarray(W, float), scale * delta.T @ A_prev, scale * delta.sum(axis=0)


def _backprop(dY_hat, caches, params, activations, layer=_layer_backward):
    names = [activations] * len(params) if isinstance(activations, str) else list(activations)
    grads, dA = [], dY_hat
    for cache, (W, _), name in reversed(list(zip(caches, params, names, strict=True))):
        dA, dW, db = layer(dA, cache, W, name)
        grads.append((dW, db))
    return grads[::-1]


def _cache(rng, m, n_in, n_out):
    A_prev, W, b = random_layer(rng, m, n_in, n_out)
    return (A_prev, A_prev @ W.T + b), W


def _delta_cases(rng, count):
    cases = []
    for name in NAMES[:count]:
        m, n = rng.integers(1, 8, size=2)
        cases.append(Case((rng.normal(size=(m, n)), rng.normal(scale=2.0, size=(m, n))),
                          {"activation": name}, f"a random {name} layer"))
    return cases


def _output_delta_public():
    return [
        Case((np.array([[-0.526]]), np.array([[-0.1045]])),
             note="the slides' output unit 6: dE/dO6 = O6 - T6 for E = (T - O)^2 / 2"),
        Case((np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([[0.0, 1.0], [-3.0, 2.0]])),
             {"activation": "tanh"}, "a tanh layer"),
        Case((np.array([[1.0, 1.0, 1.0]]), np.array([[-1.0, 0.0, 2.0]])),
             {"activation": "relu"}, "ReLU: no gradient where z <= 0"),
    ]


register(Exercise(
    name="output_delta",
    lessons=("06-backprop",),
    signature='(dA, Z, activation="sigmoid")',
    reference="nnlib.network.output_delta",
    public=_output_delta_public,
    hidden=lambda rng: _delta_cases(rng, 4),
    points=1,
    mistakes={
        "uses f(Z) where f'(Z) is needed": lambda dA, Z, activation="sigmoid":
            np.asarray(dA) * _value(activation, Z),
        "takes the derivative at A = f(Z) instead of at Z": lambda dA, Z, activation="sigmoid":
            np.asarray(dA) * _prime_at_A(activation, Z),
        "the factor f'(Z) is missing": lambda dA, Z, activation="sigmoid": np.asarray(dA, float),
    },
))


def _hidden_delta_case(rng, name, m, n, n_next):
    return Case((rng.normal(size=(m, n_next)), rng.normal(size=(n_next, n)),
                 rng.normal(scale=2.0, size=(m, n))), {"activation": name},
                f"{name}, {n} units feeding {n_next}")


def _hidden_delta_public():
    return [
        Case((np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]),
              np.zeros((3, 2))), {"activation": "tanh"}, "a square W_next, tanh"),
        Case((np.array([[0.1311]]), np.array([[-0.3, -0.2]]), np.array([[-0.7, 0.1]])),
             note="the slides' hidden units 4 and 5"),
        Case((np.array([[1.0, -1.0]]), np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]),
              np.array([[1.0, -1.0, 0.5]])), {"activation": "relu"},
             "W_next of shape (2, 3), ReLU"),
    ]


def _hidden_delta_hidden(rng):
    cases = [_hidden_delta_case(rng, name, *rng.integers(1, 7, size=3)) for name in NAMES]
    n = int(rng.integers(2, 6))
    cases.append(_hidden_delta_case(rng, "sigmoid", int(rng.integers(1, 5)), n, n))
    return cases


register(Exercise(
    name="hidden_delta",
    uses=("output_delta",),
    lessons=("06-backprop",),
    signature='(delta_next, W_next, Z, activation="sigmoid")',
    reference="nnlib.network.hidden_delta",
    public=_hidden_delta_public,
    hidden=_hidden_delta_hidden,
    points=2,
    mistakes={
        "W_next is used transposed: in rows, delta_next (m, n_next) times W_next (n_next, n)":
            lambda d, W, Z, activation="sigmoid":
                (np.asarray(d) @ np.asarray(W).T) * _prime(activation, Z),
        "uses f(Z) where f'(Z) is needed": lambda d, W, Z, activation="sigmoid":
            (np.asarray(d) @ W) * _value(activation, Z),
        "the factor f'(Z) is missing": lambda d, W, Z, activation="sigmoid": np.asarray(d) @ W,
        "takes the derivative at A = f(Z) instead of at Z": lambda d, W, Z, activation="sigmoid":
            (np.asarray(d) @ W) * _prime_at_A(activation, Z),
    },
))


def _dense_backward_hidden(rng):
    cases = []
    for name in NAMES:
        m, n_in, n_out = (int(k) for k in rng.integers(1, 9, size=3))
        cache, W = _cache(rng, m, n_in, n_out)
        cases.append(Case((rng.normal(size=(m, n_out)), cache, W), {"activation": name},
                          f"a random {name} layer"))
    n = int(rng.integers(2, 6))
    cache, W = _cache(rng, 3, n, n)
    cases.append(Case((rng.normal(size=(3, n)), cache, W), note="a square W"))
    return cases


def _dense_backward_public():
    rng = np.random.default_rng(6)
    square_cache, square_W = _cache(rng, 4, 2, 2)
    wide_cache, wide_W = _cache(rng, 3, 4, 2)
    return [
        Case((rng.normal(size=(4, 2)), square_cache, square_W), note="4 samples, W (2, 2)"),
        Case((rng.normal(size=(3, 2)), wide_cache, wide_W), {"activation": "tanh"},
             "3 samples, W (2, 4), tanh"),
        Case((np.ones((1, 3)), *_cache(rng, 1, 2, 3)), {"activation": "relu"},
             "one sample, W (3, 2), ReLU"),
    ]


def _dense_mistake(**options):
    return lambda dA, cache, W, activation="sigmoid": _layer_backward(
        dA, cache, W, activation, **options)


def _dense_dA_prev_transposed(dA, cache, W, activation="sigmoid"):
    _, dW, db = _layer_backward(dA, cache, W, activation)
    A_prev, Z = cache
    return (np.asarray(dA) * _prime(activation, Z)) @ np.asarray(W).T, dW, db


def _dense_dW_transposed(dA, cache, W, activation="sigmoid"):
    dA_prev, dW, db = _layer_backward(dA, cache, W, activation)
    return dA_prev, dW.T, db


register(Exercise(
    name="dense_backward",
    uses=("output_delta", "hidden_delta"),
    lessons=("06-backprop",),
    signature='(dA, cache, W, activation="sigmoid")',
    reference="nnlib.network.dense_backward",
    public=_dense_backward_public,
    hidden=_dense_backward_hidden,
    points=3,
    mistakes={
        "uses f(Z) where f'(Z) is needed": _dense_mistake(deriv=_value),
        "takes the derivative at A = f(Z) instead of at Z": _dense_mistake(deriv=_prime_at_A),
        "dW is transposed: dL/dW = delta^T A_prev has W's shape (n_out, n_in)":
            _dense_dW_transposed,
        "dA_prev uses W transposed: in rows, dA_prev = delta W":
            _dense_dA_prev_transposed,
    },
))


def _random_network(rng, sizes, m):
    params = random_params(rng, sizes)
    names = [str(a) for a in rng.choice(NAMES, size=len(params))]
    Y_hat, caches = forward(rng.normal(size=(m, sizes[0])), params, names)
    return Case((rng.normal(size=Y_hat.shape), list(caches), params, names),
                note=f"{len(params)} layers {sizes}, batch of {m}")


def _backward_hidden(rng):
    cases = [_random_network(rng, [int(n) for n in rng.integers(1, 8, size=depth + 1)],
                             int(rng.integers(1, 9))) for depth in (1, 2, 3, 4, 5)]
    # the text allows a single name for every layer
    one = cases[2]
    return cases + [replace(one, args=(*one.args[:3], one.args[3][0]),
                            note=one.note + ", one activation name for all layers")]


# The slides' worked example: w14 w24 w34 w15 w25 w35 theta4 theta5 w46 w56 theta6.
WORKED_WEIGHTS = np.array([0.2, 0.4, -0.5, -0.3, 0.1, 0.2, -0.4, 0.2, -0.3, -0.2, 0.1])


def _worked_network():
    """The slides' 3 -> 2 -> 1 network on x = (1, 0, 1), T = 1, all sigmoid: dE/dO6 =
    O6 - T for E = (T - O6)^2 / 2, so backward gives the gradients of the slides' update."""
    W, b = WORKED_WEIGHTS[:6].reshape(2, 3), WORKED_WEIGHTS[6:8]
    params = [(W, b), (WORKED_WEIGHTS[8:10].reshape(1, 2), WORKED_WEIGHTS[10:])]
    O6, caches = forward(np.array([[1.0, 0.0, 1.0]]), params, "sigmoid")
    return Case((O6 - 1.0, list(caches), params, ["sigmoid", "sigmoid"]),
                note="the slides' 3 -> 2 -> 1 network: dE/dO6 = O6 - T, x = (1, 0, 1), T = 1")


def _backward_public():
    rng = np.random.default_rng(8)
    return [_worked_network(), _random_network(rng, [3, 2, 1], 1),
            _random_network(rng, [2, 4, 3, 2], 5)]


register(Exercise(
    name="backward",
    uses=("dense_backward", "output_delta", "hidden_delta"),
    lessons=("06-backprop",),
    signature="(dY_hat, caches, params, activations)",
    reference="nnlib.network.backward",
    public=_backward_public,
    hidden=_backward_hidden,
    points=3,
    mistakes={
        "uses f(Z) where f'(Z) is needed": partial(
            _backprop, layer=partial(_layer_backward, deriv=_value)),
        "takes the derivative at A = f(Z) instead of at Z": partial(
            _backprop, layer=partial(_layer_backward, deriv=_prime_at_A)),
        "the activations are used in reverse order: layer l has activations[l]":
            lambda dY, caches, params, names: _backprop(
                dY, caches, params, names[::-1]),
        "the gradients are listed from the last layer to the first":
            lambda *args: _backprop(*args)[::-1],
    },
))


# The functions f are nnlib's losses with the target fixed: cases are pickled into the
# grading kernel, which has nnlib but not this module. The softmax cross-entropy couples
# the entries of a row, so an x left shifted after one entry changes the others' gradients.


def _half_sse(y):
    return partial(half_sse, y)


def _cross_entropy(rng, shape):
    """f(x) = softmax cross-entropy of the logits x against random one-hot targets."""
    return partial(softmax_cross_entropy, random_one_hot(rng, shape[:-1], shape[-1]))


def _one_sided(f, x, h=1e-5):
    grad = np.empty_like(x)
    base = float(f(x))
    for i in np.ndindex(x.shape):
        x_i = x[i]
        x[i] = x_i + h
        grad[i] = (float(f(x)) - base) / h
        x[i] = x_i
    return grad


def _no_restore(f, x, h=1e-5):
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = float(f(x))
        x[i] -= 2 * h
        grad[i] = (f_plus - float(f(x))) / (2 * h)
    return grad


def _numerical_hidden(rng):
    m, K = (int(k) for k in rng.integers(2, 6, size=2))
    shape3 = random_shape(rng, 3, 4)
    return [
        Case((_cross_entropy(rng, (m, K)), rng.normal(size=(m, K))),
             note=f"softmax cross-entropy of {m} x {K} logits"),
        Case((_cross_entropy(rng, (K,)), rng.normal(size=K)), {"h": 1e-4},
             note="one row of logits, another step h"),
        Case((partial(bce, rng.integers(0, 2, size=m).astype(float)),
              rng.uniform(0.1, 0.9, size=m)), note="binary cross-entropy of probabilities"),
        Case((_half_sse(rng.normal(size=shape3)), rng.normal(size=shape3)), note="a 3-D x"),
        Case((_half_sse(np.array(rng.normal())), np.array(rng.normal())), note="a 0-d x"),
        # x + h - h, x - h + h and x + h - 2h + h each change one of these entries' bits
        Case((_half_sse(rng.normal(size=3)), np.array([0.1, -1.3, 1e-6 / 3])),
             note="x is restored bit for bit"),
    ]


register(Exercise(
    name="numerical_gradient",
    lessons=("06-backprop",),
    signature="(f, x, h=1e-5)",
    reference="nnlib.gradcheck.numerical_gradient",
    public=lambda: [
        Case((_half_sse(np.array([1.0, -2.0, 0.5])), np.array([-1.0, 0.5, 2.0])),
             note="f(x) = sum((y - x)^2) / 2, gradient x - y"),
        Case((partial(softmax_cross_entropy, np.array([[1.0, 0.0], [0.0, 1.0]])),
              np.array([[0.0, 1.0], [2.0, -1.5]])), note="softmax cross-entropy, 2-D x"),
        Case((_half_sse(np.zeros(2)), np.array([1.0, 2.0])), {"h": 1e-3}, "a larger step h"),
    ],
    hidden=_numerical_hidden,
    tolerance="iterative",
    points=2,
    restores=True,
    mistakes={
        "a one-sided difference (f(x + h) - f(x)) / h; use the central one":
            _one_sided,
        "x is not restored after each entry, so later entries see a shifted x": _no_restore,
        "the difference is divided by h instead of 2h":
            lambda f, x, h=1e-5: 2 * numerical_gradient(f, x, h),
    },
))



# ---- automatic differentiation: a micrograd-style Value ----------------------------------
#
# The grader calls the student's `value_and_grad(expr, x)`, which runs `expr` on the
# student's own Values. Each expression is an nnlib `Program` (data the grading kernel can
# unpickle), shown in messages as its lines, e.g. "t2 = x0 * x1; t3 = tanh(t2)".


def _random_ops(rng, x, n_ops):
    """A random program whose nodes stay in [-3, 3]. The first operand is mostly the last
    node, the other any earlier one, so most nodes lead to the output, some by several
    paths. It ends with a diamond: t = tanh(last) reaches the output directly and through
    tanh(t * node), so t gathers two contributions, the direct one first."""
    values = [float(v) for v in x]
    ops = []
    while len(ops) < n_ops:
        j = int(rng.integers(len(values)))
        i = len(values) - 1 if rng.uniform() < 0.7 else int(rng.integers(len(values)))
        c = float(np.round(rng.uniform(-2, 2), 2))
        name = str(rng.choice(["+", "*", "+c", "c+", "*c", "c*", "tanh", "exp"]))
        second = {"+": values[j], "*": values[j]}.get(name, c)
        value = {"+": values[i] + second, "*": values[i] * second, "+c": values[i] + c,
                 "c+": c + values[i], "*c": values[i] * c, "c*": c * values[i],
                 "tanh": np.tanh(values[i]), "exp": np.exp(values[i])}[name]
        if abs(value) > 3:
            continue
        ops.append((name, i, j) if name in ("+", "*") else
                   (name, i) if name in ("tanh", "exp") else (name, i, c))
        values.append(float(value))
    t = len(values)
    return ops + [("tanh", t - 1), ("*", t, int(rng.integers(t))), ("tanh", t + 1),
                  ("+", t, t + 2)]


def _value_and_grad_hidden(rng):
    cases = []
    for n_inputs, n_ops in ((1, 4), (2, 8), (3, 12), (4, 16), (5, 20)):
        x = rng.uniform(-1, 1, n_inputs)
        cases.append(Case((Program(n_inputs, _random_ops(rng, x, n_ops), evaluations=1), x),
                          note=f"a random graph of {n_ops + 4} operations on {n_inputs} inputs"))
    return cases


def worked_example_program():
    """The slides' 3 -> 2 -> 1 network on x = (1, 0, 1), T = 1, as a program of its 9
    weights and biases (w14 w24 w34 w15 w25 w35 theta4 theta5 w46 w56 theta6 = nodes
    0..10) returning E = (T - O6)^2 / 2, with sigma(z) = (1 + tanh(z / 2)) / 2; like every
    graded case, it may be evaluated once."""
    ops, n = [], 11

    def op(*o):
        ops.append(o)
        return n + len(ops) - 1

    def sigma(z):
        return op("c+", op("c*", op("tanh", op("c*", z, 0.5)), 0.5), 0.5)

    x = (1.0, 0.0, 1.0)
    hidden = []
    for unit, theta in ((0, 6), (3, 7)):  # the weights into unit 4, then unit 5
        z = theta
        for k in range(3):
            z = op("+", z, op("*c", unit + k, x[k]))
        hidden.append(sigma(z))
    z6 = op("+", op("+", op("*", 8, hidden[0]), op("*", 9, hidden[1])), 10)
    error = op("+c", sigma(z6), -1.0)
    op("c*", op("*", error, error), 0.5)
    return Program(n, ops, evaluations=1)


def _value_and_grad_public():
    return [
        Case((Program(5, [("*", 0, 1), ("*", 2, 3), ("+", 5, 6), ("+", 7, 4), ("tanh", 8)],
                      evaluations=1),
              np.array([2.0, -3.0, 0.0, 1.0, 6.8813735870195432])),
             note="a neuron tanh(x1 w1 + x2 w2 + b): inputs x1, w1, x2, w2, b"),
        Case((Program(1, [("*", 0, 0), ("+", 1, 0), ("c*", 2, 3.0)], evaluations=1),
              np.array([-1.5])),
             note="x used three times: 3 (x * x + x)"),
        Case((Program(2, [("*", 0, 1), ("tanh", 2), ("*", 3, 0), ("exp", 4), ("+", 3, 5)],
                      evaluations=1),
              np.array([0.5, -1.2])),
             note="a diamond: t = tanh(x y) reaches the output directly and through exp(t x)"),
        Case((worked_example_program(), WORKED_WEIGHTS.copy()),
             note="the slides' 3 -> 2 -> 1 network: E of its 11 weights and biases"),
    ]


class _Node:
    """A Value with a slip or two, for the named mistakes."""

    accumulate = True
    topological = True
    tanh_prime = staticmethod(lambda t: 1.0 - t * t)
    seed = 1.0

    def __init__(self, data, parents=(), local=()):
        self.data, self.grad, self.parents, self.local = float(data), 0.0, parents, local

    def _lift(self, other):
        return other if isinstance(other, _Node) else type(self)(other)

    def __add__(self, other):
        other = self._lift(other)
        return type(self)(self.data + other.data, (self, other), (1.0, 1.0))

    __radd__ = __add__

    def __mul__(self, other):
        other = self._lift(other)
        return type(self)(self.data * other.data, (self, other), (other.data, self.data))

    __rmul__ = __mul__

    def tanh(self):
        t = np.tanh(self.data)
        return type(self)(t, (self,), (self.tanh_prime(t),))

    def exp(self):
        e = np.exp(self.data)
        return type(self)(e, (self,), (e,))

    def backward(self):
        if self.topological:
            order, seen = [], set()

            def visit(node):
                if node not in seen:
                    seen.add(node)
                    for parent in node.parents:
                        visit(parent)
                    order.append(node)

            visit(self)
            order.reverse()
        else:  # breadth first from the output, each node once
            order, seen = [self], {self}
            for node in order:
                for parent in node.parents:
                    if parent not in seen:
                        seen.add(parent)
                        order.append(parent)
        self.grad = self.seed
        for node in order:
            for parent, local in zip(node.parents, node.local, strict=True):
                parent.grad = parent.grad + local * node.grad if self.accumulate else \
                    local * node.grad


def _with_node(**slips):
    node = type("Slipped", (_Node,), slips)

    def value_and_grad(expr, x):
        inputs = [node(v) for v in x]
        out = expr(*inputs)
        out.backward()
        return out.data, np.array([v.grad for v in inputs])

    return value_and_grad


register(Exercise(
    name="value_and_grad",
    lessons=("06-backprop",),
    signature="(expr, x)",
    reference="nnlib.autodiff.value_and_grad",
    public=_value_and_grad_public,
    hidden=_value_and_grad_hidden,
    points=4,
    mistakes={
        "grad is assigned (=), not accumulated (+=): a node used twice keeps only one "
        "path's share": _with_node(accumulate=False),
        "backward visits the nodes breadth first from the output, not in reverse "
        "topological order: a node passes its grad on before every path has reached it":
            _with_node(topological=False),
        "tanh's local derivative is taken as tanh(a); it is 1 - tanh(a)^2":
            _with_node(tanh_prime=staticmethod(lambda t: t)),
        "the output's grad is not set to 1 before the backward sweep": _with_node(seed=0.0),
    },
))
