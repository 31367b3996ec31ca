"""Property-based tests (hypothesis) of shapes, broadcasting and extreme inputs.

"No NumPy warnings" is checked with every warning turned into an error and NumPy raising on
overflow, division by zero and invalid operations. Underflow is left to NumPy's default
(ignored): a result such as sigmoid(-1000) = 5e-435 rounds to 0.0, which is the correctly
rounded float64, not a failure.
"""

import warnings
from contextlib import contextmanager

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import activations as act
from nnlib import losses, network

FAST = settings(max_examples=40, deadline=None)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
extremes = st.sampled_from([-1000.0, -745.0, -40.0, -1e-300, 0.0, 1e-300, 40.0, 745.0, 1000.0])


def extreme_arrays(shape=shapes):
    return hnp.arrays(np.float64, shape, elements=extremes)


@contextmanager
def strict_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def finite(*arrays):
    return all(np.all(np.isfinite(a)) for a in arrays)


# --- extremes ------------------------------------------------------------------------------


@FAST
@given(z=extreme_arrays())
def test_elementwise_activations_are_finite_at_extremes(z):
    with strict_numpy():
        for name, (f, f_prime) in act.ACTIVATIONS.items():
            a, d = f(z), f_prime(z)
            assert a.shape == z.shape and d.shape == z.shape, name
            assert finite(a, d), name
        assert finite(act.prelu(z, 0.2), act.prelu_prime(z, 0.2), act.prelu_grad_alpha(z, 0.2))


@FAST
@given(z=extreme_arrays())
def test_bounded_activations_stay_in_range_at_extremes(z):
    with strict_numpy():
        s = act.sigmoid(z)
        assert np.all((s >= 0) & (s <= 1))
        assert np.all(act.softplus(z) >= 0)
        assert np.all(np.abs(act.tanh(z)) <= 1)


@FAST
@given(z=extreme_arrays())
def test_softmax_is_finite_and_normalised_at_extremes(z):
    with strict_numpy():
        a = act.softmax(z)
        J = act.softmax_prime(z)
        assert finite(a, J)
        np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-12)
        assert J.shape == (*z.shape, z.shape[-1])


@FAST
@given(data=st.data(), n=st.integers(1, 6), k=st.integers(2, 5))
def test_classification_losses_are_finite_at_extremes(data, n, k):
    logits = data.draw(extreme_arrays((n, k)))
    p = data.draw(extreme_arrays((n, k)))
    y = np.eye(k)[data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))]
    with strict_numpy():
        assert np.isfinite(losses.softmax_cross_entropy(y, logits))
        assert finite(losses.softmax_cross_entropy_grad(y, logits))
        for name in ("bce", "cce"):
            loss, grad = losses.LOSSES[name]
            assert np.isfinite(loss(y, p)) and finite(grad(y, p)), name


@FAST
@given(data=st.data())
def test_regression_losses_are_finite_at_extremes(data):
    shape = data.draw(shapes)
    y, y_hat = data.draw(extreme_arrays(shape)), data.draw(extreme_arrays(shape))
    with strict_numpy():
        for name in ("half_sse", "mse", "mae", "rmse", "huber"):
            loss, grad = losses.LOSSES[name]
            assert np.isfinite(loss(y, y_hat)) and finite(grad(y, y_hat)), name


@FAST
@given(X=extreme_arrays(st.tuples(st.integers(1, 4), st.just(3))))
def test_a_network_forward_and_backward_are_finite_at_extremes(X):
    params = network.init_params([3, 4, 2], rng=0)
    acts = ["sigmoid", "softmax"]
    with strict_numpy():
        Y_hat, caches = network.forward(X, params, acts)
        grads = network.backward(Y_hat - 0.5, caches, params, acts)
        assert finite(Y_hat, *[g for pair in grads for g in pair])


# --- shapes --------------------------------------------------------------------------------


@FAST
@given(shape=shapes, data=st.data())
def test_activations_preserve_any_shape(shape, data):
    z = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    for f, f_prime in act.ACTIVATIONS.values():
        assert f(z).shape == shape and f_prime(z).shape == shape


@FAST
@given(shape_a=shapes, shape_b=shapes, name=st.sampled_from(sorted(losses.LOSSES)))
def test_losses_with_mismatched_shapes_name_both(shape_a, shape_b, name):
    if shape_a == shape_b:
        shape_b = (*shape_b, 2)
    loss, grad = losses.LOSSES[name]
    for fn in (loss, grad):
        with pytest.raises(ValueError) as info:
            fn(np.full(shape_a, 0.5), np.full(shape_b, 0.5))
        assert str(shape_a) in str(info.value) and str(shape_b) in str(info.value)


@FAST
@given(
    m=st.integers(1, 6), n_in=st.integers(1, 6), n_out=st.integers(1, 6), wrong=st.integers(1, 6)
)
def test_dense_forward_with_a_wrong_width_names_both_shapes(m, n_in, n_out, wrong):
    if wrong == n_in:
        wrong += 1
    A_prev, W = np.ones((m, n_in)), np.ones((n_out, wrong))
    with pytest.raises(ValueError) as info:
        network.dense_forward(A_prev, W, np.zeros(n_out))
    message = str(info.value)
    assert str(A_prev.shape) in message and str(W.shape) in message
    assert ("transposed" in message) == (n_out == n_in)


@FAST
@given(
    m=st.integers(1, 6), n_in=st.integers(1, 6), n_out=st.integers(1, 6), extra=st.integers(1, 3)
)
def test_dense_forward_with_a_wrong_bias_names_the_shapes(m, n_in, n_out, extra):
    b = np.zeros(n_out + extra)
    with pytest.raises(ValueError) as info:
        network.dense_forward(np.ones((m, n_in)), np.ones((n_out, n_in)), b)
    assert str(b.shape) in str(info.value) and str((n_out, n_in)) in str(info.value)


@FAST
@given(shape=shapes, k=st.integers(2, 4))
def test_maxout_shapes(shape, k):
    Z = np.arange(np.prod(shape), dtype=float).reshape(shape)
    if shape[-1] % k:
        with pytest.raises(ValueError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
            act.maxout(Z, k)
    else:
        assert act.maxout(Z, k).shape == (*shape[:-1], shape[-1] // k)
        assert act.maxout_prime(Z, k).shape == shape


@FAST
@given(sizes=st.lists(st.integers(1, 8), min_size=2, max_size=5), m=st.integers(1, 4))
def test_forward_and_backward_shapes_follow_the_sizes(sizes, m):
    params = network.init_params(sizes, rng=0)
    assert network.count_params(sizes) == sum(W.size + b.size for W, b in params)
    Y_hat, caches = network.forward(np.ones((m, sizes[0])), params, "tanh")
    assert Y_hat.shape == (m, sizes[-1])
    grads = network.backward(np.ones_like(Y_hat), caches, params, "tanh")
    assert [(dW.shape, db.shape) for dW, db in grads] == [(W.shape, b.shape) for W, b in params]
