"""nnlib.neurons: the McCulloch–Pitts unit, the perceptron and its learning rule."""

import itertools

import numpy as np
import pytest

from nnlib.gates import gate, is_linearly_separable, truth_table
from nnlib.neurons import (
    mp_neuron,
    perceptron_fit,
    perceptron_predict,
    perceptron_step,
    sigmoid_neuron,
)

TWO_INPUT_FUNCTIONS = [np.array(y) for y in itertools.product([0, 1], repeat=4)]


def test_mp_neuron_thresholds_the_input_sum():
    X = truth_table(3)
    for theta in range(5):
        np.testing.assert_array_equal(mp_neuron(X, theta), (X.sum(axis=1) >= theta).astype(int))


def test_mp_neuron_inhibitory_input_vetoes():
    X = truth_table(3)
    y = mp_neuron(X, 1, inhibitory=[2])
    np.testing.assert_array_equal(y, ((X[:, 0] + X[:, 1] >= 1) & (X[:, 2] == 0)).astype(int))
    np.testing.assert_array_equal(mp_neuron(X, 1, inhibitory=[False, False, True]), y)
    np.testing.assert_array_equal(mp_neuron(X, 1, inhibitory=()), mp_neuron(X, 1))


def test_mp_neuron_one_sample_gives_a_scalar_array():
    y = mp_neuron([1, 1, 0], 2)
    assert isinstance(y, np.ndarray) and y.shape == () and int(y) == 1
    assert int(mp_neuron([1, 1, 0], 2, inhibitory=[1])) == 0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"X": [[0, 2]], "theta": 1}, ["X", "0 and 1"]),
        ({"X": [[0, 1]], "theta": [1, 2]}, ["theta", "(2,)"]),
        ({"X": [[0, 1]], "theta": 1, "inhibitory": [2]}, ["inhibitory", "0..1"]),
        ({"X": [[0, 1]], "theta": 1, "inhibitory": [True]}, ["inhibitory", "(2,)", "(1,)"]),
        ({"X": [[[0, 1]]], "theta": 1}, ["X", "(1, 1, 2)"]),
    ],
)
def test_mp_neuron_bad_input(kwargs, words):
    with pytest.raises(ValueError) as info:
        mp_neuron(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_or_perceptron_of_the_slides():
    """Slide 002: w0 = -1, w1 = w2 = 1.1 is one solution of the OR inequalities."""
    X = truth_table(2)
    np.testing.assert_array_equal(perceptron_predict(X, [1.1, 1.1], -1.0), gate("OR", X))


def test_perceptron_predict_is_a_step_at_zero():
    assert int(perceptron_predict([1.0, 0.0], [1.0, 5.0], -1.0)) == 1  # w . x + b == 0
    assert int(perceptron_predict([1.0, 0.0], [1.0, 5.0], -1.0 - 1e-12)) == 0


def test_perceptron_predict_bad_shapes():
    with pytest.raises(ValueError, match=r"X has 3 columns but w has shape \(2,\)"):
        perceptron_predict(np.zeros((4, 3)), [1.0, 1.0], 0.0)
    with pytest.raises(ValueError, match=r"b must be a scalar, got shape \(2,\)"):
        perceptron_predict(np.zeros((4, 2)), [1.0, 1.0], [0.0, 0.0])


def test_perceptron_step_applies_the_rule_without_mutating():
    x, w = np.array([1.0, 0.0, 1.0]), np.array([0.5, -1.0, -2.0])
    w_before = w.copy()
    # w . x + b = -1.5 - 0.25 < 0, so y_hat = 0 and with y = 1 the rule adds lr * x.
    w_new, b_new = perceptron_step(x, 1, w, -0.25, lr=0.5)
    np.testing.assert_allclose(w_new, w + 0.5 * x)
    assert b_new == pytest.approx(0.25)
    np.testing.assert_array_equal(w, w_before)
    # A correctly classified sample leaves the weights alone.
    w_same, b_same = perceptron_step(x, 0, w, -0.25)
    np.testing.assert_array_equal(w_same, w)
    assert b_same == -0.25


def test_perceptron_step_needs_one_sample():
    with pytest.raises(ValueError, match=r"shape \(n,\), got \(2, 2\)"):
        perceptron_step(np.zeros((2, 2)), [0, 1], [0.0, 0.0], 0.0)


@pytest.mark.parametrize("rng", [None, 0, 1])
def test_perceptron_fit_converges_on_every_separable_two_input_function(rng):
    X = truth_table(2)
    separable = [y for y in TWO_INPUT_FUNCTIONS if is_linearly_separable(X, y)]
    assert len(separable) == 14
    for y in separable:
        w, b, errors = perceptron_fit(X, y, rng=rng)
        assert errors[-1] == 0 and all(e > 0 for e in errors[:-1])
        np.testing.assert_array_equal(perceptron_predict(X, w, b), y)


def test_perceptron_fit_never_converges_on_xor():
    X = truth_table(2)
    _, _, errors = perceptron_fit(X, gate("XOR", X), epochs=50, rng=0)
    assert len(errors) == 50 and min(errors) > 0


def test_perceptron_fit_order_and_reproducibility():
    X = truth_table(3)
    y = gate("AND", X)
    w1, b1, e1 = perceptron_fit(X, y, rng=7)
    w2, b2, e2 = perceptron_fit(X, y, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(w1, w2)
    assert (b1, e1) == (b2, e2)
    # rng=None visits the rows in order, so the first epoch replays perceptron_step.
    w, b = np.zeros(3), 0.0
    for x_i, y_i in zip(X, y, strict=True):
        w, b = perceptron_step(x_i, y_i, w, b)
    w_fit, b_fit, _ = perceptron_fit(X, y, epochs=1)
    np.testing.assert_array_equal(w_fit, w)
    assert b_fit == b


def test_perceptron_fit_bad_input():
    X = truth_table(2)
    with pytest.raises(ValueError, match=r"y must have shape \(4,\) to match X \(4, 2\)"):
        perceptron_fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        perceptron_fit(X, [0, 1, 1, 1], w=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="epochs"):
        perceptron_fit(X, [0, 1, 1, 1], epochs=0)


def test_sigmoid_neuron():
    X = np.array([[0.5, -1.0], [2.0, 3.0]])
    w, b = np.array([0.3, -0.7]), 0.1
    np.testing.assert_allclose(sigmoid_neuron(X, w, b), 1 / (1 + np.exp(-(X @ w + b))))
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = sigmoid_neuron([[1000.0], [-1000.0]], [1.0], 0.0)
    np.testing.assert_array_equal(out, [1.0, 0.0])
