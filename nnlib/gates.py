"""Boolean gates, what one McCulloch–Pitts unit or perceptron can compute, and networks of
perceptrons for what one unit cannot.

Truth tables list their rows in `itertools.product([0, 1], repeat=n)` order, so the
truth-table vector `y` of an n-input function has entry k for the input pattern that is
the binary expansion of k (first input most significant).
"""

from __future__ import annotations

import itertools

import numpy as np

from nnlib._checks import as_array
from nnlib.activations import step
from nnlib.neurons import _as_binary, mp_neuron

_GATES = {
    "AND": lambda X: X.all(axis=-1),
    "OR": lambda X: X.any(axis=-1),
    "NAND": lambda X: ~X.all(axis=-1),
    "NOR": lambda X: ~X.any(axis=-1),
    "XOR": lambda X: X.sum(axis=-1) % 2 == 1,
    "XNOR": lambda X: X.sum(axis=-1) % 2 == 0,
    "NOT": lambda X: X[..., 0] == 0,
}

# With one input the n-ary gates collapse: XOR is the identity, NAND and XNOR are NOT.
_ONE_INPUT = {"XOR": "OR", "NAND": "NOT", "XNOR": "NOT"}

_NOT_ONE_UNIT = {
    "NAND": (
        "it must fire on the all-zero input, which forces theta <= 0, so only an inhibitory "
        "input can silence it on the all-ones input; but that input on with the others off "
        "would silence it too, where NAND is 1. It takes two units: AND, then NOT"
    ),
    "XOR": (
        "it must fire when any single input is on, so no input can be inhibitory and "
        "theta <= 1; then it also fires when two inputs are on, where XOR is 0. It takes a "
        "network (see xor_network)"
    ),
    "XNOR": (
        "it must fire on the all-zero input (theta <= 0) and stay silent when any single "
        "input is on, so every input must be inhibitory; then it cannot fire when two inputs "
        "are on, where XNOR is 1"
    ),
}


def _gate_name(name) -> str:
    key = str(name).upper()
    if key not in _GATES:
        raise ValueError(f"unknown gate {name!r}; expected one of {sorted(_GATES)}")
    return key


def _n_inputs(n) -> int:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return int(n)


def truth_table(n) -> np.ndarray:
    """All 2^n input patterns of n Boolean inputs, in itertools.product([0, 1]) order.

    Returns ints of shape (2^n, n).
    """
    n = _n_inputs(n)
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=int).reshape(2**n, n)


def gate(name, X) -> np.ndarray:
    """The Boolean gate `name` applied to each row of X.

    name: AND, OR, NAND, NOR, XOR, XNOR or NOT (any case). X: (m, n) or (n,) of 0/1.
    AND and OR are 1 iff all / any inputs are 1; NAND and NOR negate them; XOR is the
    parity (1 iff an odd number of inputs is 1) and XNOR its negation; NOT takes exactly one
    column. With one column AND, OR and XOR are the identity and NAND, NOR, XNOR are NOT.
    Returns ints of shape (m,) (or ()).
    """
    key = _gate_name(name)
    X = _as_binary(X, "X", ndim=(1, 2))
    n = X.shape[-1]
    if key == "NOT" and n != 1:
        raise ValueError(f"NOT takes exactly one input column, got X of shape {X.shape}")
    if n < 1:
        raise ValueError(f"{key} needs at least one input column, got X of shape {X.shape}")
    return np.asarray(_GATES[key](X.astype(bool)), dtype=int)


def mp_gate(name, n) -> tuple[int, tuple[int, ...]]:
    """Threshold and inhibitory inputs of one McCulloch–Pitts unit that computes `name`.

    AND: theta = n. OR: theta = 1. NOR: theta = 0, every input inhibitory. NOT (n = 1):
    theta = 0, the input inhibitory. With one input XOR is the identity and NAND, XNOR are
    NOT, so they get those units. Returns `(theta, inhibitory)` for `mp_neuron`.
    Raises ValueError, saying why, for a gate no single unit realizes (NAND, XOR and XNOR
    of two or more inputs).
    """
    key = _gate_name(name)
    n = _n_inputs(n)
    if n == 1:
        key = _ONE_INPUT.get(key, key)
    if key in _NOT_ONE_UNIT:
        raise ValueError(
            f"{key} of {n} inputs cannot be realized by one McCulloch-Pitts unit: "
            f"{_NOT_ONE_UNIT[key]}"
        )
    if key == "NOT" and n != 1:
        raise ValueError(f"NOT takes exactly one input, got n={n}")
    units = {
        "AND": (n, ()),
        "OR": (1, ()),
        "NOR": (0, tuple(range(n))),
        "NOT": (0, (0,)),
    }
    return units[key]


def _truth_vector(y) -> tuple[np.ndarray, int]:
    """Check that y is a 0/1 truth table of length 2^n; return it and n."""
    y = _as_binary(y, "y", ndim=1)
    n = int(np.log2(max(len(y), 1)))
    if n < 1 or len(y) != 2**n:
        raise ValueError(f"y must be a truth table of length 2^n (n >= 1), got shape {y.shape}")
    return y, n


def mp_thresholds(y, inhibitory=None) -> list[int]:
    """Every integer theta in 0..n+1 for which mp_neuron(truth_table(n), theta, inhibitory)
    equals the truth table y.

    y: (2^n,) of 0/1 in truth_table order. Thresholds below 0 behave like 0 and above n + 1
    like n + 1 on 0/1 inputs, so this range covers every threshold. Returns a sorted list,
    empty when no unit with these inhibitory inputs computes y (for example XOR).
    """
    y, n = _truth_vector(y)
    X = truth_table(n)
    return [t for t in range(n + 2) if np.array_equal(mp_neuron(X, t, inhibitory), y)]


def is_linearly_separable(X, y, tol=1e-9) -> bool:
    """Whether some (w, b) has w . x + b >= 1 where y = 1 and w . x + b <= -1 where y = 0.

    This is the linear-programming feasibility problem A v >= 1 with rows
    a_i = s_i [x_i, 1], s_i = +1 or -1, and v = [w, b]. If it is feasible, its restriction
    to the row space of A (an r-dimensional, r = rank A, polyhedron without lines) has a
    vertex, where r linearly independent constraints hold with equality. So the problem is
    feasible iff one of the points solving a_i . v = 1 for r independent rows satisfies every
    constraint. All C(m, r) such systems are solved, in batches; the answer is exact up to
    `tol` (relative to the size of the terms), which is ample for small-integer data such as
    truth tables. The cost grows like C(m, n + 1): meant for the small point sets of the
    lessons.

    X: (m, n); y: (m,) of 0/1. Returns a bool.
    """
    X = as_array(X, "X", ndim=2)
    y = _as_binary(y, "y", ndim=1)
    if y.shape != X.shape[:1]:
        raise ValueError(f"y must have shape {X.shape[:1]} to match X {X.shape}, got {y.shape}")
    if len(y) == 0:
        return True
    A = (2 * y - 1)[:, None] * np.hstack([X, np.ones((len(y), 1))])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(s > tol * s[0]))
    C = A @ Vt[:r].T  # the constraints in coordinates of the row space, (m, r)
    subsets = itertools.combinations(range(len(y)), r)
    while chunk := list(itertools.islice(subsets, 4096)):
        M = C[np.array(chunk)]
        sv = np.linalg.svd(M, compute_uv=False)
        M = M[sv[:, -1] > tol * sv[:, 0]]
        if len(M) == 0:
            continue
        u = np.linalg.solve(M, np.ones((len(M), r, 1)))[..., 0]
        slack = tol * (1.0 + np.abs(u) @ np.abs(C).T)
        if np.any(np.all(u @ C.T >= 1.0 - slack, axis=1)):
            return True
    return False


def network_predict(X, layers) -> np.ndarray:
    """Forward pass of a network of perceptrons: A(l) = step(A(l-1) W(l)^T + b(l)).

    X: (m, n_in) or (n_in,) of inputs; layers: list of (W, b) with W (n_out, n_in) and
    b (n_out,), as in nnlib.network; step(z) = 1 if z >= 0 else 0 at every layer.
    Returns ints of shape (m, n_out) (or (n_out,) for one sample).
    """
    A = as_array(X, "X", ndim=(1, 2))
    for l, (W, b) in enumerate(layers, start=1):
        W = as_array(W, f"W{l}", ndim=2)
        b = as_array(b, f"b{l}", ndim=1)
        if W.shape[1] != A.shape[-1] or b.shape != W.shape[:1]:
            raise ValueError(
                f"layer {l}: W{l} {W.shape} and b{l} {b.shape} do not fit inputs {A.shape}; "
                f"need W (n_out, {A.shape[-1]}) and b (n_out,)"
            )
        A = step(A @ W.T + b)
    return A.astype(int)


def xor_network() -> list[tuple[np.ndarray, np.ndarray]]:
    """A 2 -> 2 -> 1 perceptron network for XOR.

    Hidden unit z1 = x1 AND NOT x2 (w = [1, -1], b = -1) and z2 = x2 AND NOT x1
    (w = [-1, 1], b = -1); the output ORs them (w = [1, 1], b = -1). So (x1, x2) -> (z1, z2)
    is (0,0) -> (0,0), (0,1) -> (0,1), (1,0) -> (1,0), (1,1) -> (0,0), and y = z1 OR z2.
    Returns [(W1, b1), (W2, b2)] with W1 (2, 2), b1 (2,), W2 (1, 2), b2 (1,).
    """
    W1 = np.array([[1.0, -1.0], [-1.0, 1.0]])
    b1 = np.array([-1.0, -1.0])
    W2 = np.array([[1.0, 1.0]])
    b2 = np.array([-1.0])
    return [(W1, b1), (W2, b2)]


def boolean_network(y) -> list[tuple[np.ndarray, np.ndarray]]:
    """The 2^n-hidden-unit perceptron network that computes the Boolean function y.

    Hidden unit k fires only on input pattern p_k (row k of truth_table(n)): its weights are
    +1 where p_k is 1 and -1 where it is 0, and its bias is -(number of 1s in p_k), so
    w . x + b = 0 at x = p_k and w . x + b <= -1 at every other 0/1 input. The output unit
    has weight y_k on hidden unit k and bias -1: it fires iff the pattern fired on has y = 1.

    y: (2^n,) of 0/1 in truth_table order. Returns [(W1, b1), (W2, b2)] with W1 (2^n, n),
    b1 (2^n,), W2 (1, 2^n), b2 (1,), for network_predict.
    """
    y, n = _truth_vector(y)
    P = truth_table(n)
    W1 = 2.0 * P - 1.0
    b1 = -P.sum(axis=1).astype(float)
    W2 = y[None, :].astype(float)
    b2 = np.array([-1.0])
    return [(W1, b1), (W2, b2)]
