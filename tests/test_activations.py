"""nnlib.activations: values, derivatives against finite differences, edge cases."""

import math

import numpy as np
import pytest

from nnlib import activations as act
from nnlib.gradcheck import numerical_gradient, rel_error

ELEMENTWISE = sorted(act.ACTIVATIONS)


def away_from_zero(rng, shape, low=0.1, high=3.0):
    """Random values with |z| in [low, high]: finite differences never straddle a kink."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def elementwise_derivative(f, z):
    """df_i/dz_i by central differences: the gradient of sum(f(z))."""
    return numerical_gradient(lambda x: f(x).sum(), z)


def test_the_registry_names_every_elementwise_activation():
    assert set(act.ACTIVATIONS) == {
        "step", "linear", "sigmoid", "tanh", "relu", "leaky_relu",
        "elu", "selu", "softplus", "gelu", "silu",
    }  # fmt: skip
    for f, f_prime in act.ACTIVATIONS.values():
        assert f_prime.__name__ == f.__name__ + "_prime"


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 2)])
def test_prime_matches_finite_differences(name, shape):
    f, f_prime = act.ACTIVATIONS[name]
    z = away_from_zero(np.random.default_rng(len(shape)), shape)
    analytic = f_prime(z)
    assert analytic.shape == z.shape and analytic.dtype == np.float64
    assert rel_error(analytic, elementwise_derivative(f, z)) < 1e-7


@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_leaky_relu_and_elu_derivatives_with_their_alpha(alpha):
    z = away_from_zero(np.random.default_rng(1), (6, 3))
    for f, f_prime in [(act.leaky_relu, act.leaky_relu_prime), (act.elu, act.elu_prime)]:
        numeric = elementwise_derivative(lambda x, f=f: f(x, alpha), z)
        assert rel_error(f_prime(z, alpha), numeric) < 1e-7


def test_prelu_derivatives_in_z_and_in_alpha():
    rng = np.random.default_rng(2)
    z = away_from_zero(rng, (5, 4))
    alpha = rng.uniform(0.05, 0.5, 4)
    numeric_z = elementwise_derivative(lambda x: act.prelu(x, alpha), z)
    assert rel_error(act.prelu_prime(z, alpha), numeric_z) < 1e-7
    dA = rng.normal(size=z.shape)
    numeric_alpha = numerical_gradient(lambda a: (dA * act.prelu(z, a)).sum(), alpha)
    analytic_alpha = (dA * act.prelu_grad_alpha(z, alpha)).sum(axis=0)
    assert rel_error(analytic_alpha, numeric_alpha) < 1e-7


def test_prelu_alpha_that_does_not_broadcast_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(3,\)"):
        act.prelu(np.ones((5, 4)), np.ones(3))


@pytest.mark.parametrize("shape", [(4,), (3, 5)])
def test_softmax_jacobian_matches_finite_differences(shape):
    rng = np.random.default_rng(3)
    z = rng.normal(size=shape)
    J = act.softmax_prime(z)
    assert J.shape == (*shape, shape[-1])
    for i in range(shape[-1]):
        numeric = numerical_gradient(lambda x, i=i: act.softmax(x)[..., i].sum(), z)
        assert rel_error(J[..., i, :], numeric) < 1e-7


def test_softmax_backward_is_the_jacobian_vector_product():
    rng = np.random.default_rng(4)
    z, dA = rng.normal(size=(2, 6, 4))
    expected = np.einsum("mi,mij->mj", dA, act.softmax_prime(z))
    assert rel_error(act.softmax_backward(dA, z), expected) < 1e-14
    with pytest.raises(ValueError, match=r"\(6, 3\).*\(6, 4\)"):
        act.softmax_backward(dA[:, :3], z)


def test_softmax_is_a_distribution_along_the_chosen_axis_and_shift_invariant():
    z = np.random.default_rng(5).normal(size=(3, 4))
    np.testing.assert_allclose(act.softmax(z).sum(axis=-1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(act.softmax(z, axis=0).sum(axis=0), 1.0, rtol=1e-15)
    np.testing.assert_allclose(act.softmax(z + 100.0), act.softmax(z), rtol=1e-13)


def test_maxout_takes_the_group_maximum_and_its_derivative_marks_the_winner():
    rng = np.random.default_rng(6)
    Z = rng.normal(size=(5, 6))
    a = act.maxout(Z, 3)
    assert a.shape == (5, 2)
    np.testing.assert_array_equal(a, np.maximum.reduce([Z[:, 0::3], Z[:, 1::3], Z[:, 2::3]]))
    mask = act.maxout_prime(Z, 3)
    assert mask.shape == Z.shape
    np.testing.assert_array_equal(mask.reshape(5, 2, 3).sum(axis=-1), 1.0)
    dA = rng.normal(size=a.shape)
    numeric = numerical_gradient(lambda x: (dA * act.maxout(x, 3)).sum(), Z)
    assert rel_error(mask * np.repeat(dA, 3, axis=-1), numeric) < 1e-7


def test_maxout_rejects_a_width_that_is_not_a_multiple_of_k():
    with pytest.raises(ValueError, match=r"\(2, 5\)"):
        act.maxout(np.ones((2, 5)), 2)


def test_kinks_take_the_documented_side():
    assert act.relu_prime(0.0) == 0.0
    assert act.step(0.0) == 1.0
    np.testing.assert_array_equal(act.step_prime([-2.0, 0.0, 3.0]), 0.0)
    assert act.leaky_relu_prime(0.0, 0.2) == 0.2


def test_selu_uses_the_self_normalising_constants():
    # The fixed point of the SELU paper: mean 0, variance 1 for a standard normal input.
    z = np.random.default_rng(7).standard_normal(400_000)
    a = act.selu(z)
    assert abs(a.mean()) < 0.01 and abs(a.var() - 1.0) < 0.01


def test_gelu_is_z_times_the_normal_cdf():
    z = np.linspace(-9.0, 9.0, 181)
    expected = [x * 0.5 * math.erfc(-x / math.sqrt(2.0)) for x in z]
    np.testing.assert_allclose(act.gelu(z), expected, rtol=1e-12, atol=1e-300)


def test_sigmoid_keeps_relative_accuracy_in_its_tails():
    z = np.array([-700.0, -40.0, 40.0])
    expected = [1.0 / (1.0 + math.exp(-x)) for x in z]
    np.testing.assert_allclose(act.sigmoid(z), expected, rtol=1e-15)


def test_linear_returns_a_float_copy():
    z = np.array([1, 2, 3])
    out = act.linear(z)
    assert out.dtype == np.float64 and out is not z
