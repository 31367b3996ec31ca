"""nnlib.network.output_delta and hidden_delta: the deltas of backpropagation.

Each delta is checked against the definition delta = dL/dZ by central differences of a
loss through the layer, and against the seed's worked 3 -> 2 -> 1 example.
"""

import numpy as np
import pytest

from nnlib import network
from nnlib.activations import ACTIVATIONS, sigmoid, softmax
from nnlib.gradcheck import numerical_gradient, rel_error

NAMES = ["sigmoid", "tanh", "relu", "linear", "elu", "softplus", "softmax"]


def _activation(name):
    return softmax if name == "softmax" else ACTIVATIONS[name][0]


@pytest.mark.parametrize("name", NAMES)
def test_output_delta_is_dL_dZ(name):
    rng = np.random.default_rng(1)
    Z, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    f = _activation(name)

    def loss(Z_):
        return float(np.sum(G * f(Z_)))  # dL/dA = G

    expected = numerical_gradient(loss, Z.copy())
    assert rel_error(network.output_delta(G, Z, name), expected) < 1e-7


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
def test_hidden_delta_is_dL_dZ_through_the_next_layer(name):
    rng = np.random.default_rng(2)
    m, n, n_next = 5, 3, 4
    Z, W_next, b_next = rng.normal(size=(m, n)), rng.normal(size=(n_next, n)), rng.normal(
        size=n_next)
    G = rng.normal(size=(m, n_next))
    f = ACTIVATIONS[name][0]

    def loss(Z_):
        return float(np.sum(G * sigmoid(f(Z_) @ W_next.T + b_next)))

    Z_next = f(Z) @ W_next.T + b_next
    delta_next = network.output_delta(G, Z_next, "sigmoid")
    expected = numerical_gradient(loss, Z.copy())
    assert rel_error(network.hidden_delta(delta_next, W_next, Z, name), expected) < 1e-7


def test_the_seed_example_errors_are_minus_the_deltas():
    W1 = np.array([[0.2, 0.4, -0.5], [-0.3, 0.1, 0.2]])
    W2 = np.array([[-0.3, -0.2]])
    x = np.array([[1.0, 0.0, 1.0]])
    I_hidden = x @ W1.T + np.array([-0.4, 0.2])
    O_hidden = sigmoid(I_hidden)
    I6 = O_hidden @ W2.T + 0.1
    O6 = sigmoid(I6)
    delta6 = network.output_delta(O6 - 1.0, I6)
    delta45 = network.hidden_delta(delta6, W2, I_hidden)
    # Han & Kamber's Err_j = O_j (1 - O_j)(T - O_j) and O_j (1 - O_j) sum_k Err_k w_jk.
    err6 = O6 * (1 - O6) * (1 - O6)
    err45 = O_hidden * (1 - O_hidden) * err6 * W2
    np.testing.assert_allclose(-delta6, err6, rtol=1e-12)
    np.testing.assert_allclose(-delta45, err45, rtol=1e-12)
    np.testing.assert_allclose(-delta45[0], [-0.0087245, -0.0065421], atol=1e-7)


def test_dense_backward_uses_the_delta():
    rng = np.random.default_rng(3)
    A_prev, W, b = rng.normal(size=(6, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    _, cache = network.dense_forward(A_prev, W, b, "tanh")
    dA = rng.normal(size=(6, 2))
    dA_prev, dW, db = network.dense_backward(dA, cache, W, "tanh")
    delta = network.output_delta(dA, cache[1], "tanh")
    np.testing.assert_allclose(dW, delta.T @ A_prev)
    np.testing.assert_allclose(db, delta.sum(axis=0))
    np.testing.assert_allclose(dA_prev, delta @ W)


def test_a_single_sample_as_a_vector():
    Z, dA = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    np.testing.assert_allclose(network.output_delta(dA, Z), dA * ACTIVATIONS["sigmoid"][1](Z))


def test_shape_errors_name_the_arguments():
    with pytest.raises(ValueError, match=r"dA .* shape \(2, 3\) .* Z shape \(3, 2\)"):
        network.output_delta(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"W_next .* delta_next shape \(2, 3\) .* \(2, 4\)"):
        network.hidden_delta(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="unknown activation"):
        network.output_delta(np.ones(2), np.ones(2), "sigmoidal")
