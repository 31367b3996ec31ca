"""nnlib.approximation: steps, staircases and approximation within eps."""

import numpy as np
import pytest

from nnlib.approximation import GRID_POINTS, approximate, max_error, one_hidden_layer, staircase


def test_the_staircase_is_f_at_the_midpoint_of_every_piece():
    n, low, high = 7, -1.0, 2.5
    params = staircase(np.sin, low, high, n)
    h = (high - low) / n
    mid = low + (np.arange(n) + 0.5) * h
    inside = (mid[:, None] + np.linspace(-h / 4, h / 4, 5)).ravel()
    np.testing.assert_allclose(one_hidden_layer(inside, params), np.repeat(np.sin(mid), 5),
                               atol=1e-9)
    assert params[0][0].shape == (n - 1, 1) and params[1][0].shape == (1, n - 1)


def test_one_hidden_layer_is_the_forward_pass_of_the_formula():
    rng = np.random.default_rng(0)
    W1, b1, W2, b2 = (rng.normal(size=s) for s in [(4, 1), (4,), (1, 4), (1,)])
    x = rng.normal(size=(3, 2))
    expected = (W2 @ (1 / (1 + np.exp(-(W1 @ x.reshape(1, -1) + b1[:, None])))) + b2)
    np.testing.assert_allclose(one_hidden_layer(x, [(W1, b1), (W2, b2)]),
                               expected.reshape(x.shape), rtol=1e-12)


@pytest.mark.parametrize("f, low, high, eps", [
    (np.sin, 0.0, 2 * np.pi, 0.05), (np.abs, -1.0, 1.0, 0.01), (np.exp, -1.0, 1.0, 0.02),
    (np.polynomial.Polynomial([0.3, -1.0, 0.0, 2.0]), -1.2, 1.0, 0.05)])
def test_approximate_meets_eps_on_a_grid_finer_than_the_checks(f, low, high, eps):
    params = approximate(f, low, high, eps)
    assert max_error(f, low, high, params) <= eps
    assert max_error(f, low, high, params, num=7 * GRID_POINTS) <= eps


def test_halving_eps_about_doubles_the_units():
    units = [approximate(np.sin, 0.0, 2 * np.pi, eps)[0][0].shape[0] for eps in (0.1, 0.05)]
    assert 1.5 <= units[1] / units[0] <= 2.5


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n must be an int >= 2"):
        staircase(np.sin, 0.0, 1.0, 1)
    with pytest.raises(ValueError, match="low must be below high"):
        staircase(np.sin, 1.0, 0.0, 4)
    with pytest.raises(ValueError, match="eps must be positive"):
        approximate(np.sin, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="W1 has shape"):
        one_hidden_layer(np.zeros(3), [(np.zeros((1, 4)), np.zeros(4)),
                                       (np.zeros((1, 4)), np.zeros(1))])
    with pytest.raises(ValueError, match="one hidden layer"):
        one_hidden_layer(np.zeros(3), [(np.zeros((2, 1)), np.zeros(2))])
