"""06-backprop: deltas, a dense layer's backward pass, backpropagation, numerical gradients.

`sigmoid_prime` is registered with lesson 04 and graded here again. A cache is the pair
(A_prev, Z) that nnlib's `dense_forward` keeps; hidden cases draw networks of random depth
and widths, so a function that only works for the shapes of the lesson fails them.
"""

from functools import partial

import numpy as np

from autograder.registry import Case, Exercise, register
from nnlib.activations import ACTIVATIONS
from nnlib.gradcheck import numerical_gradient
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
    A_prev, W, b = rng.normal(size=(m, n_in)), rng.normal(size=(n_out, n_in)), rng.normal(
        size=n_out)
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
             note="the seed's output unit 6: dE/dO6 = O6 - T6 for E = (T - O)^2 / 2"),
        Case((np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([[0.0, 1.0], [-3.0, 2.0]])),
             {"activation": "tanh"}, "a tanh layer"),
        Case((np.array([[1.0, 1.0, 1.0]]), np.array([[-1.0, 0.0, 2.0]])),
             {"activation": "relu"}, "ReLU: no gradient where z <= 0"),
    ]


register(Exercise(
    name="output_delta",
    uses=("sigmoid_prime",),
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
             note="the seed's hidden units 4 and 5"),
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
    uses=("output_delta", "sigmoid_prime"),
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
    params = [(rng.normal(size=(n_out, n_in)), rng.normal(size=n_out))
              for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    names = [str(a) for a in rng.choice(NAMES, size=len(params))]
    Y_hat, caches = forward(rng.normal(size=(m, sizes[0])), params, names)
    return Case((rng.normal(size=Y_hat.shape), list(caches), params, names),
                note=f"{len(params)} layers {sizes}, batch of {m}")


def _backward_hidden(rng):
    return [_random_network(rng, [int(n) for n in rng.integers(1, 8, size=depth + 1)],
                            int(rng.integers(1, 9))) for depth in (1, 2, 3, 4, 5)]


def _backward_public():
    rng = np.random.default_rng(8)
    return [_random_network(rng, [3, 2, 1], 1), _random_network(rng, [2, 4, 3, 2], 5)]


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


def _cubes(x):
    return float(np.sum(x ** 3) / 3.0)


def _wave(x):
    return float(np.sum(np.sin(x) * x))


def _layer_loss(X, Y, b, W):
    """Half the squared error of a sigmoid layer, as a function of its weights W."""
    return 0.5 * float(np.sum((Y - ACTIVATIONS["sigmoid"][0](X @ W.T + b)) ** 2))


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
    m, n_in, n_out = (int(k) for k in rng.integers(1, 6, size=3))
    loss = partial(_layer_loss, rng.normal(size=(m, n_in)), rng.uniform(size=(m, n_out)),
                   rng.normal(size=n_out))
    return [
        Case((_cubes, rng.normal(size=rng.integers(1, 12))), note="sum of x^3 / 3"),
        Case((_wave, rng.normal(size=(rng.integers(1, 4), rng.integers(1, 4), 2))),
             note="a 3-D x"),
        Case((loss, rng.normal(size=(n_out, n_in))), note="the loss of a layer as f(W)"),
        Case((_wave, rng.normal(size=5)), {"h": 1e-4}, "another step h"),
        Case((_cubes, np.array(rng.normal())), note="a 0-d x"),
    ]


register(Exercise(
    name="numerical_gradient",
    lessons=("06-backprop",),
    signature="(f, x, h=1e-5)",
    reference="nnlib.gradcheck.numerical_gradient",
    public=lambda: [
        Case((_cubes, np.array([-1.0, 0.5, 2.0])), note="f(x) = sum(x^3) / 3, gradient x^2"),
        Case((_wave, np.array([[0.0, 1.0], [2.0, -1.5]])), note="f(x) = sum(x sin x), 2-D x"),
        Case((_cubes, np.array([1.0, 2.0])), {"h": 1e-3}, "a larger step h"),
    ],
    hidden=_numerical_hidden,
    tolerance="iterative",
    points=2,
    mistakes={
        "a one-sided difference (f(x + h) - f(x)) / h; use the central one":
            _one_sided,
        "x is not restored after each entry, so later entries see a shifted x": _no_restore,
        "the difference is divided by h instead of 2h":
            lambda f, x, h=1e-5: 2 * numerical_gradient(f, x, h),
    },
))

