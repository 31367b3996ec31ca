"""nnlib.gates: Boolean gates, single McCulloch–Pitts units, linear separability and
perceptron networks."""

import itertools

import numpy as np
import pytest

from nnlib.gates import (
    boolean_network,
    gate,
    is_linearly_separable,
    mp_gate,
    mp_thresholds,
    network_predict,
    truth_table,
    xor_network,
)
from nnlib.neurons import mp_neuron


def all_functions(n):
    """Every Boolean function of n inputs as a truth-table vector."""
    return [np.array(y) for y in itertools.product([0, 1], repeat=2**n)]


def test_truth_table_order():
    for n in range(1, 5):
        expected = np.array(list(itertools.product([0, 1], repeat=n)))
        np.testing.assert_array_equal(truth_table(n), expected)
        assert truth_table(n).shape == (2**n, n)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_gates_against_their_definitions(n):
    X = truth_table(n)
    ones = X.sum(axis=1)
    expected = {
        "AND": ones == n,
        "OR": ones >= 1,
        "NAND": ones < n,
        "NOR": ones == 0,
        "XOR": ones % 2 == 1,
        "XNOR": ones % 2 == 0,
    }
    for name, y in expected.items():
        np.testing.assert_array_equal(gate(name, X), y.astype(int))
        np.testing.assert_array_equal(gate(name.lower(), X), y.astype(int))


def test_not_gate_and_bad_names():
    np.testing.assert_array_equal(gate("not", [[0], [1]]), [1, 0])
    with pytest.raises(ValueError, match=r"NOT takes exactly one input column.*\(4, 2\)"):
        gate("NOT", truth_table(2))
    with pytest.raises(ValueError, match="unknown gate 'IMPLIES'"):
        gate("IMPLIES", truth_table(2))
    with pytest.raises(ValueError, match="X must hold only 0 and 1"):
        gate("AND", [[0.5, 1.0]])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_mp_gate_realizes_and_or_nor(n):
    X = truth_table(n)
    for name in ("AND", "OR", "NOR"):
        theta, inhibitory = mp_gate(name, n)
        np.testing.assert_array_equal(mp_neuron(X, theta, inhibitory), gate(name, X))


def test_mp_gate_realizes_not_and_the_one_input_reductions():
    X = truth_table(1)
    for name in ("NOT", "NAND", "XNOR", "XOR"):
        theta, inhibitory = mp_gate(name, 1)
        np.testing.assert_array_equal(mp_neuron(X, theta, inhibitory), gate(name, X))
    with pytest.raises(ValueError, match="NOT takes exactly one input, got n=2"):
        mp_gate("NOT", 2)


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("name", ["NAND", "XOR", "XNOR"])
def test_mp_gate_refuses_what_one_unit_cannot_do(name, n):
    with pytest.raises(ValueError, match=f"{name} of {n} inputs cannot be realized by one"):
        mp_gate(name, n)


@pytest.mark.parametrize("n", [2, 3])
def test_no_mp_unit_realizes_xor(n):
    """Exhaustive: every inhibitory subset, every threshold in 0..n+1 and, to show that
    integer thresholds cover the rest, every half-integer from -1 to n + 2."""
    X, y = truth_table(n), gate("XOR", truth_table(n))
    thetas = np.arange(-1.0, n + 2.5, 0.5)
    for k in range(n + 1):
        for inhibitory in itertools.combinations(range(n), k):
            assert mp_thresholds(y, inhibitory) == []
            assert not any(np.array_equal(mp_neuron(X, t, inhibitory), y) for t in thetas)


def test_mp_thresholds_of_and_or():
    for n in (2, 3, 4):
        X = truth_table(n)
        assert mp_thresholds(gate("AND", X)) == [n]
        assert mp_thresholds(gate("OR", X)) == [1]
        assert mp_thresholds(gate("NOR", X), inhibitory=range(n)) == [0]
    with pytest.raises(ValueError, match=r"length 2\^n.*\(3,\)"):
        mp_thresholds([0, 1, 1])


def test_linear_separability_of_all_two_input_functions():
    X = truth_table(2)
    separable = [is_linearly_separable(X, y) for y in all_functions(2)]
    assert sum(separable) == 14
    failing = [tuple(y) for y, ok in zip(all_functions(2), separable, strict=True) if not ok]
    assert sorted(failing) == sorted([tuple(gate("XOR", X)), tuple(gate("XNOR", X))])


def test_linear_separability_of_all_three_input_functions():
    X = truth_table(3)
    assert sum(is_linearly_separable(X, y) for y in all_functions(3)) == 104


def test_linear_separability_edge_cases():
    assert is_linearly_separable(truth_table(2), [1, 1, 1, 1])
    assert is_linearly_separable([[0.0, 0.0]], [1])
    # The same point with both labels, and a point between two of the other class.
    assert not is_linearly_separable([[1.0, 2.0], [1.0, 2.0]], [0, 1])
    assert not is_linearly_separable([[0.0], [1.0], [2.0]], [0, 1, 0])
    assert is_linearly_separable([[0.0], [1.0], [2.0]], [0, 1, 1])
    with pytest.raises(ValueError, match=r"y must have shape \(4,\) to match X \(4, 2\)"):
        is_linearly_separable(truth_table(2), [0, 1])


def test_xor_network():
    X = truth_table(2)
    layers = xor_network()
    assert [W.shape for W, _ in layers] == [(2, 2), (1, 2)]
    np.testing.assert_array_equal(network_predict(X, layers)[:, 0], gate("XOR", X))
    hidden = network_predict(X, layers[:1])
    np.testing.assert_array_equal(hidden, [[0, 0], [0, 1], [1, 0], [0, 0]])


def test_boolean_network_all_two_input_functions():
    X = truth_table(2)
    for y in all_functions(2):
        np.testing.assert_array_equal(network_predict(X, boolean_network(y))[:, 0], y)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_boolean_network_random_truth_tables(n):
    rng = np.random.default_rng(n)
    X = truth_table(n)
    for _ in range(20):
        y = rng.integers(0, 2, size=2**n)
        layers = boolean_network(y)
        assert layers[0][0].shape == (2**n, n)
        np.testing.assert_array_equal(network_predict(X, layers)[:, 0], y)
        # Each hidden unit fires on exactly one input pattern, its own.
        np.testing.assert_array_equal(network_predict(X, layers[:1]), np.eye(2**n, dtype=int))


def test_network_predict_bad_layer():
    W, b = np.ones((2, 3)), np.zeros(2)
    with pytest.raises(ValueError, match=r"layer 1: W1 \(2, 3\) and b1 \(2,\).*\(4, 2\)"):
        network_predict(truth_table(2), [(W, b)])
