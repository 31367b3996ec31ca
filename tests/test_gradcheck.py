"""nnlib.gradcheck: finite differences, the relative error, and the diagnosis of bugs."""

import numpy as np
import pytest

from nnlib import gradcheck, losses, network
from nnlib.activations import sigmoid, tanh_prime


def test_numerical_gradient_of_a_known_function_restores_x():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    before = x.copy()
    grad = gradcheck.numerical_gradient(lambda v: float(np.sum(v**3) + v[0, 0] * v[2, 3]), x)
    expected = 3 * before**2
    expected[0, 0] += before[2, 3]
    expected[2, 3] += before[0, 0]
    assert grad.shape == x.shape
    assert gradcheck.rel_error(grad, expected) < 1e-9
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_works_on_a_strided_view():
    x = np.arange(12.0).reshape(3, 4)
    view = x[:, ::2]
    grad = gradcheck.numerical_gradient(lambda v: float(np.sum(v**2)), view)
    assert gradcheck.rel_error(grad, 2 * view) < 1e-9


def test_numerical_gradient_needs_a_float_array():
    with pytest.raises(TypeError, match="float64"):
        gradcheck.numerical_gradient(lambda v: 0.0, np.arange(3))
    with pytest.raises(TypeError, match="list"):
        gradcheck.numerical_gradient(lambda v: 0.0, [1.0, 2.0])


def test_rel_error_is_the_max_form():
    a = np.array([1.0, -2.0, 0.0])
    b = np.array([1.1, -2.0, 1e-12])
    assert gradcheck.rel_error(a, b) == pytest.approx(0.1 / 4.0)
    assert gradcheck.rel_error(a, a) == 0.0
    assert gradcheck.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.rel_error(a, b) == gradcheck.rel_error(b, a)
    # The elementwise ratio would be 1 at the third entry; the max form is not ruined by it.
    assert gradcheck.rel_error(a[1:], b[1:]) < 1e-12
    with pytest.raises(ValueError, match=r"\(3,\) and \(2,\)"):
        gradcheck.rel_error(a, b[:2])


def small_problem():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    params = network.init_params([4, 5, 3], rng=rng)
    acts = ["sigmoid", "linear"]

    def loss():
        return losses.softmax_cross_entropy(Y, network.forward(X, params, acts)[0])

    Y_hat, caches = network.forward(X, params, acts)
    grads = network.backward(losses.softmax_cross_entropy_grad(Y, Y_hat), caches, params, acts)
    return params, grads, loss, (X, Y, caches)


def test_correct_gradients_pass_and_the_table_lists_every_parameter():
    params, grads, loss, _ = small_problem()
    report = gradcheck.check_gradients(params, grads, loss)
    assert report.passed
    assert [row.name for row in report.rows] == ["W1", "b1", "W2", "b2"]
    assert all(row.rel_error < 1e-7 and row.cause == "" for row in report.rows)
    text = str(report)
    assert "W1" in text and "(5, 4)" in text and "all gradients agree" in text


def test_each_classic_bug_is_named():
    params, grads, loss, _ = small_problem()
    (dW1, db1), (dW2, db2) = grads
    report = gradcheck.check_gradients(params, [(dW1.T, 0 * db1), (6 * dW2, db2)], loss)
    assert not report.passed
    assert "transposed" in report["W1"].cause
    assert "forgotten" in report["b1"].cause
    assert "1/N" in report["W2"].cause and "6" in report["W2"].cause
    assert report["b2"].passed
    assert "FAIL" in str(report) and "some gradients are wrong" in str(report)


def test_a_wrong_activation_derivative_is_named():
    params, grads, loss, (X, Y, caches) = small_problem()
    # Backpropagate with tanh' where the forward pass used the sigmoid.
    W2 = params[1][0]
    delta2 = losses.softmax_cross_entropy_grad(Y, caches[1][1])
    delta1 = (delta2 @ W2) * tanh_prime(caches[0][1])
    wrong = [(delta1.T @ X, delta1.sum(axis=0)), grads[1]]
    report = gradcheck.check_gradients(params, wrong, loss)
    assert report["W2"].passed and report["b2"].passed
    assert "activation derivative" in report["W1"].cause
    assert "activation derivative" in report["b1"].cause
    # With the sigmoid's derivative the same products are right.
    s = sigmoid(caches[0][1])
    delta1 = (delta2 @ W2) * s * (1 - s)
    right = [(delta1.T @ X, delta1.sum(axis=0)), grads[1]]
    assert gradcheck.check_gradients(params, right, loss).passed


def test_check_gradients_restores_the_parameters():
    params, grads, loss, _ = small_problem()
    before = [(W.copy(), b.copy()) for W, b in params]
    gradcheck.check_gradients(params, grads, loss)
    for (W, b), (W0, b0) in zip(params, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
