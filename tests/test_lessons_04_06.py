"""The checks of lessons 04-06 fail typical wrong answers and pass right ones however written.

Each graded function meets at least two wrong variants (the mistakes students make) that
must fail, and one correct variant written differently from nnlib that must pass, through
`autograder.checker.check` on the public and the hidden cases.
"""

import math

import numpy as np
import pytest
from checking import fails, passes

from autograder.cases import SEED_ENV
from nnlib.activations import ACTIVATIONS


@pytest.fixture(autouse=True)
def _hidden_seed(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "20240607")


def _arr(z):
    return np.asarray(z, dtype=float)


def _sig(z):
    return 0.5 * (1.0 + np.tanh(0.5 * _arr(z)))  # sigma(z) = (1 + tanh(z / 2)) / 2


def _f_prime(name, Z):
    return ACTIVATIONS[name][1](Z)


# ---- 04-activations -------------------------------------------------------------------

def _relu(Z):
    return np.maximum(Z, 0.0)


def gradient_sizes_by_layer(X, params, activation):
    """Correct: the deltas kept in a list, each layer's from the one above, einsum for W."""
    f = {"sigmoid": _sig, "tanh": np.tanh, "relu": _relu}[activation]
    Zs, A = [], _arr(X)
    for W, b in params:
        Zs.append(np.einsum("mi,oi->mo", A, _arr(W)) + b)
        A = f(Zs[-1])
    deltas = [_f_prime(activation, Zs[-1])]
    for l in range(len(params) - 2, -1, -1):
        deltas.insert(0, np.einsum("mo,oi->mi", deltas[0], _arr(params[l + 1][0]))
                      * _f_prime(activation, Zs[l]))
    return np.array([float(np.mean(np.abs(d))) for d in deltas])


def dead_units_by_max(X, params):
    """Correct: a unit is dead when its largest Z over the rows is <= 0."""
    A, dead = _arr(X), []
    for W, b in params:
        Z = A @ _arr(W).T + b
        dead.append(Z.max(axis=0) <= 0)
        A = _relu(Z)
    return dead


def revive_all_rows(X, params):
    """Correct, another bias: a dead unit is switched on for every row (1 - its minimum)."""
    A, out = _arr(X), []
    for W, b in params:
        weighted = A @ _arr(W).T
        dead = (weighted + b).max(axis=0) <= 0
        b = np.where(dead, 1.0 - weighted.min(axis=0), b)
        out.append([_arr(W).copy(), b])
        A = _relu(weighted + b)
    return out


def _revive_on_original(X, params):
    """Wrong: decides which units are dead on the network as given."""
    dead_before = dead_units_by_max(X, params)
    A, out = _arr(X), []
    for (W, b), dead in zip(params, dead_before):
        weighted = A @ _arr(W).T
        b = np.where(dead, 1.0 - np.median(weighted, axis=0), b)
        out.append((_arr(W), b))
        A = _relu(weighted + b)
    return out


def _revive_by_weights(X, params):
    """Wrong: flips the sign of a dead unit's weights instead of changing its bias."""
    A, out = _arr(X), []
    for W, b in params:
        dead = (A @ _arr(W).T + b).max(axis=0) <= 0
        W = np.where(dead[:, None], -_arr(W), W)
        out.append((W, np.where(dead, 1.0, b)))
        A = _relu(A @ W.T + out[-1][1])
    return out


CORRECT_04 = {
    "sigmoid_prime": lambda z: 0.25 / np.cosh(0.5 * _arr(z)) ** 2,
    "relu_prime": lambda z: np.heaviside(_arr(z), 0.0),
    "softmax": lambda z, axis=-1: np.exp(
        _arr(z) - np.logaddexp.reduce(_arr(z), axis=axis, keepdims=True)),
    "gradient_sizes": gradient_sizes_by_layer,
    "dead_units": dead_units_by_max,
    "revive_dead_units": revive_all_rows,
}


def _gradient_sizes_with(top_delta_one=False, prime_of_a=False):
    def gradient_sizes(X, params, activation):
        f = {"sigmoid": _sig, "tanh": np.tanh, "relu": _relu}[activation]
        A, Zs, As = _arr(X), [], []
        for W, b in params:
            Zs.append(A @ _arr(W).T + b)
            A = f(Zs[-1])
            As.append(A)
        dA, sizes = np.ones_like(A), []
        for l in reversed(range(len(params))):
            at = As[l] if prime_of_a else Zs[l]
            delta = dA if top_delta_one and l == len(params) - 1 else dA * _f_prime(activation, at)
            sizes.insert(0, np.abs(delta).mean())
            dA = delta @ _arr(params[l][0])
        return np.array(sizes)
    return gradient_sizes


WRONG_04 = {
    "sigmoid_prime": [(_sig, "returns σ(z)"), (lambda z: _arr(z) * (1 - _arr(z)), "z(1 − z)")],
    "relu_prime": [(lambda z: (_arr(z) >= 0).astype(float), "relu_prime(0) = 0"),
                   (lambda z: np.maximum(_arr(z), 0), "returns relu(z)")],
    "softmax": [(lambda z, axis=-1: np.exp(_arr(z)) / np.exp(_arr(z)).sum(axis=0), ""),
                (lambda z, axis=-1: np.exp(_arr(z) - _arr(z).max()) /
                 np.exp(_arr(z) - _arr(z).max()).sum(), "whole array")],
    "gradient_sizes": [(_gradient_sizes_with(top_delta_one=True), "delta(L) = 1"),
                       (_gradient_sizes_with(prime_of_a=True), "activation A(l)")],
    "dead_units": [(lambda X, params: [(Z.max(axis=0) < 0) for Z in _pre_activations(X, params)],
                    "tests Z < 0"),
                   (lambda X, params: [(Z.min(axis=0) <= 0) for Z in _pre_activations(X, params)],
                    "on any row")],
    "revive_dead_units": [(_revive_on_original, "original network"),
                          (_revive_by_weights, "weights")],
}


def _pre_activations(X, params):
    A, Zs = _arr(X), []
    for W, b in params:
        Zs.append(A @ _arr(W).T + b)
        A = _relu(Zs[-1])
    return Zs


@pytest.mark.parametrize("name", sorted(CORRECT_04))
def test_activation_correct_variant_passes(name):
    passes(name, CORRECT_04[name])


@pytest.mark.parametrize("name, index", [(n, i) for n in sorted(WRONG_04) for i in (0, 1)])
def test_activation_wrong_variant_fails(name, index):
    wrong, cause = WRONG_04[name][index]
    with np.errstate(all="ignore"):
        message = fails(name, wrong)
    assert cause in message


def test_the_activations_nnlib_references_agree_with_numerical_derivatives():
    z = np.linspace(-4, 4, 801)
    z = z[np.abs(z) > 1e-3]
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu"):
        f, f_prime = ACTIVATIONS[name]
        numerical = (f(z + 1e-6) - f(z - 1e-6)) / 2e-6
        assert np.max(np.abs(f_prime(z) - numerical)) < 1e-8, name


def test_a_revival_unlike_the_reference_is_accepted_and_leaves_no_dead_unit():
    from autograder import registry
    from nnlib.diagnostics import dead_units

    for case in registry.get("dead_units").public():
        revived = revive_all_rows(*case.args)
        assert not any(d.any() for d in dead_units(case.args[0], revived))


# ---- 05-forward -----------------------------------------------------------------------


def dense_forward_columns(A_prev, W, b, activation="sigmoid"):
    """Correct, written in the column convention and transposed back."""
    A_cols = np.atleast_2d(_arr(A_prev)).T
    Z = (_arr(W) @ A_cols + _arr(b)[:, None]).T
    Z = Z.reshape(np.shape(A_prev)[:-1] + (len(b),))
    return ACTIVATIONS[activation][0](Z), "cache"


def forward_recursive(X, params, activations):
    names = [activations] * len(params) if isinstance(activations, str) else activations
    if not params:
        return _arr(X), []
    A, _ = dense_forward_columns(X, *params[0], names[0])
    Y_hat, caches = forward_recursive(A, params[1:], names[1:])
    return Y_hat, [None, *caches]


def _dense_wrong(formula):
    return lambda A_prev, W, b, activation="sigmoid": (
        ACTIVATIONS[activation][0](formula(_arr(A_prev), _arr(W), _arr(b))), None)


def _forward_with(layer):
    def forward(X, params, activations):
        names = [activations] * len(params) if isinstance(activations, str) else activations
        A = X
        for (W, b), name in zip(params, names, strict=True):
            A, _ = layer(A, W, b, name)
        return A, []
    return forward


def test_dense_forward_correct_variant_passes():
    passes("dense_forward", dense_forward_columns)


@pytest.mark.parametrize("formula, cause", [
    (lambda A, W, b: A @ W + b, "W is used transposed"),
    (lambda A, W, b: A @ W.T, "the bias b is missing"),
])
def test_dense_forward_shape_mistakes_are_named(formula, cause):
    assert cause in fails("dense_forward", _dense_wrong(formula))


def test_dense_forward_without_activation_fails():
    wrong = lambda A_prev, W, b, activation="sigmoid": (_arr(A_prev) @ _arr(W).T + b, None)  # noqa: E731
    assert "the activation is not applied" in fails("dense_forward", wrong)


def test_forward_correct_variant_passes():
    passes("forward", forward_recursive)


def test_forward_wrong_variants_fail():
    assert "biases are missing" in fails(
        "forward", _forward_with(_dense_wrong(lambda A, W, b: A @ W.T)))

    def first_name_only(X, params, activations):
        names = [activations] * len(params) if isinstance(activations, str) else activations
        return forward_recursive(X, params, names[0])

    assert "first activation name" in fails("forward", first_name_only)


def test_count_params_variants():
    passes("count_params", lambda sizes: int(np.dot(sizes[1:], np.add(sizes[:-1], 1))))
    assert "biases are not counted" in fails(
        "count_params", lambda sizes: int(np.dot(sizes[1:], sizes[:-1])))
    assert "one bias per input unit" in fails(
        "count_params", lambda sizes: int(np.dot(np.add(sizes[1:], 1), sizes[:-1])))


# ---- 06-backprop ----------------------------------------------------------------------


def output_delta_loop(dA, Z, activation="sigmoid"):
    f_prime = ACTIVATIONS[activation][1]
    out = np.empty_like(_arr(Z))
    for i in np.ndindex(out.shape):
        out[i] = dA[i] * f_prime(np.array([Z[i]]))[0]
    return out


def hidden_delta_einsum(delta_next, W_next, Z, activation="sigmoid"):
    return np.einsum("mk,kj->mj", delta_next, W_next) * _f_prime(activation, Z)


def dense_backward_einsum(dA, cache, W, activation="sigmoid"):
    A_prev, Z = cache
    delta = output_delta_loop(dA, Z, activation)
    return (np.einsum("mj,ji->mi", delta, W), np.einsum("mj,mi->ji", delta, A_prev),
            np.einsum("mj->j", delta))


def backward_recursive(dY_hat, caches, params, activations):
    names = [activations] * len(params) if isinstance(activations, str) else activations
    dA_prev, dW, db = dense_backward_einsum(dY_hat, caches[-1], params[-1][0], names[-1])
    if len(params) == 1:
        return [(dW, db)]
    return [*backward_recursive(dA_prev, caches[:-1], params[:-1], names[:-1]), (dW, db)]


def _dense_backward_with(deriv=_f_prime, transpose_dW=False, scale=1.0):
    def dense_backward(dA, cache, W, activation="sigmoid"):
        A_prev, Z = cache
        delta = dA * deriv(activation, Z)
        dW = A_prev.T @ delta if transpose_dW else delta.T @ A_prev
        return delta @ W, scale * dW, scale * delta.sum(axis=0)
    return dense_backward


def _backward_with(layer):
    def backward(dY_hat, caches, params, activations):
        names = [activations] * len(params) if isinstance(activations, str) else activations
        grads, dA = [], dY_hat
        for cache, (W, _), name in reversed(list(zip(caches, params, names, strict=True))):
            dA, dW, db = layer(dA, cache, W, name)
            grads.insert(0, (dW, db))
        return grads
    return backward


def _value(name, Z):
    return ACTIVATIONS[name][0](Z)


def test_output_delta_variants():
    passes("output_delta", output_delta_loop)
    assert "uses f(Z) where f'(Z) is needed" in fails(
        "output_delta", lambda dA, Z, activation="sigmoid": dA * _value(activation, Z))
    assert "the factor f'(Z) is missing" in fails(
        "output_delta", lambda dA, Z, activation="sigmoid": _arr(dA))


def test_hidden_delta_variants():
    passes("hidden_delta", hidden_delta_einsum)
    assert "W_next is used transposed" in fails(
        "hidden_delta", lambda d, W, Z, activation="sigmoid":
        (d @ W.T) * _f_prime(activation, Z))
    assert "uses f(Z) where f'(Z) is needed" in fails(
        "hidden_delta", lambda d, W, Z, activation="sigmoid": (d @ W) * _value(activation, Z))


def test_dense_backward_variants():
    passes("dense_backward", dense_backward_einsum)
    assert "uses f(Z) where f'(Z) is needed" in fails(
        "dense_backward", _dense_backward_with(deriv=_value))
    assert "transposed" in fails("dense_backward", _dense_backward_with(transpose_dW=True))
    fails("dense_backward", _dense_backward_with(scale=0.25))  # an extra 1/m


def test_backward_variants():
    passes("backward", backward_recursive)
    assert "uses f(Z) where f'(Z) is needed" in fails(
        "backward", _backward_with(_dense_backward_with(deriv=_value)))
    message = fails("backward", _backward_with(_dense_backward_with(transpose_dW=True)))
    assert "transposed" in message
    assert "from the last layer to the first" in fails(
        "backward", lambda *args: backward_recursive(*args)[::-1])


def numerical_gradient_copying(f, x, h=1e-5):
    """Correct, evaluating f on perturbed copies instead of perturbing x in place."""
    grad = np.zeros(np.shape(x))
    for i in np.ndindex(np.shape(x)):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def test_numerical_gradient_variants():
    passes("numerical_gradient", numerical_gradient_copying)

    def one_sided(f, x, h=1e-5):
        grad = np.zeros(np.shape(x))
        for i in np.ndindex(np.shape(x)):
            up = x.copy()
            up[i] += h
            grad[i] = (f(up) - f(x)) / h
        return grad

    assert "one-sided" in fails("numerical_gradient", one_sided)
    assert "divided by h instead of 2h" in fails(
        "numerical_gradient", lambda f, x, h=1e-5: 2 * numerical_gradient_copying(f, x, h))


# ---- 05-forward: universal approximation ----------------------------------------------


def _sigmoid_steps(knots, heights, steepness, offset):
    """params of y = offset + sum_k heights[k] sigma(steepness (x - knots[k]))."""
    knots, heights = np.asarray(knots, float), np.asarray(heights, float)
    return [(np.full((len(knots), 1), steepness), -steepness * knots),
            (heights.reshape(1, -1), np.array([offset], float))]


def staircase_loop(f, low, high, n):
    """The steps one by one, in a Python loop."""
    h = (high - low) / n
    level = lambda i: float(f(np.array([low + (i + 0.5) * h]))[0])  # noqa: E731
    knots, heights = [], []
    for i in range(1, n):
        knots.append(low + i * h)
        heights.append(level(i) - level(i - 1))
    return _sigmoid_steps(knots, heights, 200.0 / h, level(0))


def staircase_bumps(f, low, high, n):
    """Nielsen's bumps: one pair of units per piece, up at its left edge, down at its right
    (the outer edges moved a piece outwards, so that they do not halve the ends)."""
    h = (high - low) / n
    levels = f(low + (np.arange(n) + 0.5) * h)
    left = low + np.arange(n) * h
    right = left + h
    left[0], right[-1] = low - h, high + h
    return _sigmoid_steps(np.concatenate([left, right]), np.concatenate([levels, -levels]),
                          100.0 / h, 0.0)


def approximate_by_continuity(f, low, high, eps):
    """The number of pieces from an estimate of the largest slope: within each piece f
    moves at most slope * h / 2 from its midpoint value."""
    x = np.linspace(low, high, 100_001)
    slope = np.max(np.abs(np.diff(f(x)))) / (x[1] - x[0])
    n = max(2, int(np.ceil(slope * (high - low) / eps)))
    return staircase_loop(f, low, high, n)


def approximate_doubling(f, low, high, eps):
    """More bumps until the error on a fine grid is at most eps / 2."""
    x = np.linspace(low, high, 10_001)
    n = 2
    while True:
        (W1, b1), (W2, b2) = params = staircase_bumps(f, low, high, n)
        y = 1.0 / (1.0 + np.exp(-np.clip(np.outer(x, W1[:, 0]) + b1, -500, 500))) @ W2[0] + b2
        if np.max(np.abs(y - f(x))) <= eps / 2:
            return params
        n *= 2


def test_staircase_right_answers_pass():
    passes("staircase", staircase_loop)
    passes("staircase", staircase_bumps)


def test_staircase_wrong_answers_fail_with_their_cause():
    def gentle(f, low, high, n):
        (W1, b1), (W2, b2) = staircase_loop(f, low, high, n)
        return [(W1 / 100, b1 / 100), (W2, b2)]

    assert "not steep enough" in fails("staircase", gentle)
    assert "left end of its piece" in fails(
        "staircase", lambda f, low, high, n: staircase_loop(
            lambda x: f(x - (high - low) / (2 * n)), low, high, n))

    def transposed(f, low, high, n):
        (W1, b1), (W2, b2) = staircase_loop(f, low, high, n)
        return [(W1.T, b1), (W2, b2)]

    assert "W1 has shape (1," in fails("staircase", transposed)


def test_approximate_right_answers_pass():
    passes("approximate", approximate_by_continuity)
    passes("approximate", approximate_doubling)


def test_approximate_wrong_answers_fail_with_their_cause():
    def edges_on_the_ends(f, low, high, eps):
        (W1, b1), (W2, b2) = approximate_by_continuity(f, low, high, eps / 2)
        steepness = W1[0, 0]
        # a bump pair per piece whose outer edges sit on low and high
        knots, heights = -b1 / steepness, W2[0]
        levels = b2[0] + np.concatenate([[0.0], np.cumsum(heights)])
        edges = np.concatenate([[low], knots, [high]])
        return _sigmoid_steps(np.concatenate([edges[:-1], edges[1:]]),
                              np.concatenate([levels, -levels]), steepness, 0.0)

    message = fails("approximate", edges_on_the_ends)
    assert "only the end of the interval is off" in message
    coarse = fails("approximate", lambda f, low, high, eps: approximate_by_continuity(
        f, low, high, 8 * eps))
    assert "must be at most eps" in coarse and "more (narrower) pieces" in coarse


def test_approximate_takes_only_a_network_of_one_hidden_layer():
    """A table of values, or a deeper network, is not the promised shape: the grader runs
    its own forward pass of W1, b1, W2, b2 and needs exactly those."""
    def table(f, low, high, eps):
        x = np.linspace(low, high, 5001)
        return [(x.reshape(-1, 1), f(x)), (np.ones((1, 5001)), np.zeros(1))]

    def deeper(f, low, high, eps):
        (W1, b1), (W2, b2) = approximate_by_continuity(f, low, high, eps)
        return [(W1, b1), (np.eye(len(b1)), np.zeros(len(b1))), (W2, b2)]

    assert "could not be read" in fails("approximate", table)
    assert "one hidden layer" in fails("approximate", deeper)


# ---- 06-backprop: automatic differentiation ----------------------------------------------


class LocalValue:
    """A Value that stores its local derivatives instead of a closure, and sorts the graph
    without recursion (Kahn's algorithm on the number of unvisited users of each node)."""

    def __init__(self, data, parents=(), local=()):
        self.data, self.grad, self.parents, self.local = float(data), 0.0, parents, local

    def __add__(self, other):
        other = other if isinstance(other, LocalValue) else LocalValue(other)
        return LocalValue(self.data + other.data, (self, other), (1.0, 1.0))

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = other if isinstance(other, LocalValue) else LocalValue(other)
        return LocalValue(self.data * other.data, (self, other), (other.data, self.data))

    def __rmul__(self, other):
        return self * other

    def tanh(self):
        t = math.tanh(self.data)
        return LocalValue(t, (self,), (1.0 - t * t,))

    def exp(self):
        e = math.exp(self.data)
        return LocalValue(e, (self,), (e,))

    def backward(self):
        users, stack, seen = {}, [self], {id(self)}
        while stack:
            node = stack.pop()
            for parent in node.parents:
                users[id(parent)] = users.get(id(parent), 0) + 1
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
        self.grad, ready = 1.0, [self]
        while ready:
            node = ready.pop()
            for parent, local in zip(node.parents, node.local):
                parent.grad += local * node.grad
                users[id(parent)] -= 1
                if users[id(parent)] == 0:
                    ready.append(parent)


def value_and_grad_local(expr, x):
    inputs = [LocalValue(v) for v in x.tolist()]
    out = expr(*inputs)
    out.backward()
    return out.data, np.array([v.grad for v in inputs])


class ClosureValue:
    """micrograd's Value: each result keeps a closure that passes its grad on; the graph is
    sorted by a recursive post-order walk that visits the second operand first."""

    def __init__(self, data, children=()):
        self.data, self.grad, self.children = data, 0.0, children
        self.pass_on = lambda: None

    def _make(self, data, children, locals_):
        out = ClosureValue(data, children)

        def pass_on():
            for child, local in zip(children, locals_):
                child.grad += local * out.grad

        out.pass_on = pass_on
        return out

    def __add__(self, other):
        other = other if isinstance(other, ClosureValue) else ClosureValue(float(other))
        return self._make(self.data + other.data, (self, other), (1.0, 1.0))

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, ClosureValue) else ClosureValue(float(other))
        return self._make(self.data * other.data, (self, other), (other.data, self.data))

    __rmul__ = __mul__

    def tanh(self):
        t = (math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1)
        return self._make(t, (self,), (1 - t ** 2,))

    def exp(self):
        return self._make(math.exp(self.data), (self,), (math.exp(self.data),))

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for child in reversed(node.children):
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in order[::-1]:
            node.pass_on()


def value_and_grad_closures(expr, x):
    inputs = [ClosureValue(float(v)) for v in x]
    out = expr(*inputs)
    out.backward()
    return out.data, np.array([v.grad for v in inputs])


def test_value_and_grad_right_answers_pass():
    passes("value_and_grad", value_and_grad_local)
    passes("value_and_grad", value_and_grad_closures)


@pytest.mark.parametrize("slip", ["accumulated", "topological", "1 - tanh", "set to 1"])
def test_value_and_grad_mistakes_fail_and_are_named(slip):
    from autograder import registry

    wrong = next(fn for cause, fn in registry.get("value_and_grad").mistakes.items()
                 if slip in cause)
    assert slip in fails("value_and_grad", wrong)


class Number(float):
    """A float with the methods expr calls, and no graph."""

    def __add__(self, other):
        return Number(float(self) + other)

    __radd__ = __add__

    def __mul__(self, other):
        return Number(float(self) * other)

    __rmul__ = __mul__

    def tanh(self):
        return Number(math.tanh(self))

    def exp(self):
        return Number(math.exp(self))


def value_and_grad_differences(expr, x):
    """No graph at all: central differences of expr on plain numbers, each a new call."""
    def f(values):
        return float(expr(*[Number(v) for v in values]))

    h, grad = 1e-6, np.zeros(len(x))
    for k in range(len(x)):
        step = np.eye(len(x))[k] * h
        grad[k] = (f(x + step) - f(x - step)) / (2 * h)
    return f(x), grad


def test_value_and_grad_by_evaluating_expr_again_fails_and_says_why():
    """The text asks for one call of expr and backward(); finite differences, however
    accurate, are refused by every case, which allows one evaluation."""
    message = fails("value_and_grad", value_and_grad_differences)
    assert "expr was already evaluated" in message and "backward()" in message


# ---- right answers that rely on what the text promises -----------------------------------
# Arrays, so `z > 0`, `z.max(axis=...)`, `W.T` and `delta.sum(axis=0)` work without
# np.asarray; test_case_contracts.py runs them on the public and hidden cases.


def _typed_sigma(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def typed_softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def typed_dense_forward(A_prev, W, b, activation="sigmoid"):
    Z = A_prev @ W.T + b
    return ACTIVATIONS[activation][0](Z), (A_prev, Z)


def typed_forward(X, params, activations):
    names = [activations] * len(params) if isinstance(activations, str) else activations
    A, caches = X, []
    for (W, b), name in zip(params, names):
        A, cache = typed_dense_forward(A, W, b, name)
        caches.append(cache)
    return A, caches


def typed_output_delta(dA, Z, activation="sigmoid"):
    if activation == "sigmoid":
        s = _typed_sigma(Z)
        return dA * s * (1.0 - s)
    return dA * _f_prime(activation, Z)


def typed_dense_backward(dA, cache, W, activation="sigmoid"):
    A_prev, Z = cache
    delta = typed_output_delta(dA, Z, activation)
    return delta @ W, delta.T @ A_prev, delta.sum(axis=0)


def typed_backward(dY_hat, caches, params, activations):
    names = [activations] * len(params) if isinstance(activations, str) else activations
    grads, dA = [], dY_hat
    for l in reversed(range(len(params))):
        dA, dW, db = typed_dense_backward(dA, caches[l], params[l][0], names[l])
        grads.append((dW, db))
    return grads[::-1]


def typed_numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def typed_gradient_sizes(X, params, activation):
    Zs, A = [], X
    for W, b in params:
        Zs.append(A @ W.T + b)
        A = {"sigmoid": _typed_sigma, "tanh": np.tanh, "relu": _relu}[activation](Zs[-1])
    sizes, dA = [], np.ones_like(A)
    for (W, _), Z in zip(params[::-1], Zs[::-1]):
        delta = dA * _f_prime(activation, Z)
        sizes.append(abs(delta).mean())
        dA = delta @ W
    return np.array(sizes[::-1])


def typed_dead_units(X, params):
    A, dead = X, []
    for W, b in params:
        Z = A @ W.T + b
        dead.append((Z <= 0).all(axis=0))
        A = Z.clip(min=0.0)
    return dead


def typed_revive_dead_units(X, params):
    A, out = X, []
    for W, b in params:
        weighted = A @ W.T
        b = np.where(((weighted + b) <= 0).all(axis=0), 1.0 - np.median(weighted, axis=0), b)
        out.append((W.copy(), b))
        A = (weighted + b).clip(min=0.0)
    return out


TYPED = {
    "sigmoid_prime": lambda z: _typed_sigma(z) * _typed_sigma(-z),
    "relu_prime": lambda z: (z > 0).astype(float),
    "softmax": typed_softmax,
    "gradient_sizes": typed_gradient_sizes,
    "dead_units": typed_dead_units,
    "revive_dead_units": typed_revive_dead_units,
    "dense_forward": typed_dense_forward,
    "forward": typed_forward,
    "count_params": lambda sizes: sum(n_in * n_out + n_out
                                      for n_in, n_out in zip(sizes, sizes[1:])),
    "output_delta": typed_output_delta,
    "hidden_delta": lambda delta_next, W_next, Z, activation="sigmoid": typed_output_delta(
        delta_next @ W_next, Z, activation),
    "dense_backward": typed_dense_backward,
    "backward": typed_backward,
    "numerical_gradient": typed_numerical_gradient,
    "value_and_grad": value_and_grad_local,
}
