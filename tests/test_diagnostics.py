"""nnlib.diagnostics: the gradient that reaches each layer, dead ReLU units and their revival."""

import numpy as np
import pytest

from nnlib import network
from nnlib.diagnostics import dead_units, gradient_sizes, revive_dead_units

X = np.array([[1.0, 2.0], [2.0, 0.5], [0.5, 1.0], [3.0, 1.0], [1.5, 2.5]])
# Layer 1: unit 1 alive, units 2 and 3 with b = -10, unit 4 stuck at Z = 0 (dead too).
# Layer 2: unit 1 fed only by the dead units 2 and 3 (dead, alive once they are revived),
# unit 2 fed by unit 1 (alive), unit 3 by minus unit 1 (dead, and stays so).
PARAMS = [
    (np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]),
     np.array([0.0, -10.0, -10.0, 0.0])),
    (np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0]]),
     np.array([-0.5, 0.0, 0.0])),
]


def _stack(rng, n, depth):
    return [(rng.normal(scale=np.sqrt(1 / n), size=(n, n)), rng.normal(scale=0.1, size=n))
            for _ in range(depth)]


def test_dead_units_counts_z_of_zero_and_units_fed_by_dead_ones():
    assert [d.tolist() for d in dead_units(X, PARAMS)] == [[False, True, True, True],
                                                          [True, False, True]]


def test_revive_leaves_no_dead_unit_and_changes_only_the_dead_biases():
    before = [(W.copy(), b.copy()) for W, b in PARAMS]
    revived = revive_dead_units(X, PARAMS)
    assert not any(d.any() for d in dead_units(X, revived))
    assert all(np.array_equal(W, W0) and np.array_equal(b, b0)
               for (W, b), (W0, b0) in zip(PARAMS, before)), "the input changed"
    assert all(np.array_equal(W, W0) for (W, _), (W0, _) in zip(revived, PARAMS))
    b1, b2 = revived[0][1], revived[1][1]
    assert b1[0] == 0.0 and b2[1] == 0.0  # live units keep their bias
    assert b2[0] == -0.5  # revived layer 1 switches it on by itself
    A1 = np.maximum(X @ revived[0][0].T + b1, 0.0)
    assert np.all(np.mean(A1 @ revived[1][0].T + b2 > 0, axis=0) >= 0.5)
    assert np.all(np.mean(X @ revived[0][0].T + b1 > 0, axis=0) >= 0.5)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "elu"])
def test_gradient_sizes_are_the_mean_deltas_of_backpropagation(activation):
    """For one sample, db(l) of nnlib.network.backward is delta(l) itself."""
    rng = np.random.default_rng(1)
    params = _stack(rng, 6, 5)
    x = rng.normal(size=(1, 6))
    Y_hat, caches = network.forward(x, params, activation)
    grads = network.backward(np.ones_like(Y_hat), caches, params, activation)
    expected = [np.abs(db).mean() for _, db in grads]
    np.testing.assert_allclose(gradient_sizes(x, params, activation), expected, rtol=1e-12)


def test_gradients_vanish_through_sigmoids_and_not_through_tanh():
    rng = np.random.default_rng(0)
    X_deep = rng.normal(size=(64, 32))
    stack = [(W, np.zeros(32)) for W, _ in _stack(rng, 32, 8)]
    sigmoid_sizes, tanh_sizes = (gradient_sizes(X_deep, stack, a) for a in ("sigmoid", "tanh"))
    assert np.all(np.diff(sigmoid_sizes) > 0) and sigmoid_sizes[0] < 1e-4 * sigmoid_sizes[-1]
    assert tanh_sizes[0] > 100 * sigmoid_sizes[0]


def test_bad_inputs_name_the_layer_and_the_activation():
    with pytest.raises(ValueError, match=r"layer 2: W\(3, 5\)"):
        dead_units(X, [PARAMS[0], (np.zeros((3, 5)), np.zeros(3))])
    with pytest.raises(ValueError, match="activation"):
        gradient_sizes(X, PARAMS, "softmax")
