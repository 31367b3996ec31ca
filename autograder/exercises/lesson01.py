"""01-mp-neuron: the McCulloch–Pitts unit, the gates it realizes, and its thresholds."""

import numpy as np

from autograder.registry import Case, Exercise, register
from nnlib.gates import gate, truth_table
from nnlib.neurons import mp_neuron

LESSON = "01-mp-neuron"
ONE_UNIT_GATES = ("AND", "OR", "NOR")


def _mp_neuron_hidden(rng):
    cases = []
    for _ in range(6):
        m, n = int(rng.integers(1, 12)), int(rng.integers(1, 7))
        X = rng.integers(0, 2, size=(m, n))
        theta = int(rng.integers(0, n + 2))
        k = int(rng.integers(0, n + 1))
        inhibitory = sorted(rng.choice(n, size=k, replace=False).tolist()) or None
        cases.append(Case((X, theta), {"inhibitory": inhibitory}, note="random unit"))
    n = int(rng.integers(2, 6))
    cases.append(Case((truth_table(n), int(rng.integers(0, n + 2))), note="a whole truth table"))
    cases.append(Case((rng.integers(0, 2, size=n), int(rng.integers(1, n + 1))),
                      note="one sample as a 1-D array"))
    return cases


def _mp_gate_hidden(rng):
    cases = [Case(("NOT", 1), note="NOT")]
    for _ in range(5):
        cases.append(Case((str(rng.choice(ONE_UNIT_GATES)), int(rng.integers(1, 8))),
                          note="a gate of many inputs"))
    for name in ("XOR", "XNOR", "NAND"):  # no single unit computes these
        cases.append(Case((name, int(rng.integers(2, 5))), note=f"{name}: refused",
                          raises="ValueError"))
    return cases


def _computes(out, case):
    """What the unit (theta, inhibitory) outputs on every input pattern of n inputs."""
    theta, inhibitory = out
    inhibitory = None if inhibitory is None else np.ravel(inhibitory)
    return mp_neuron(truth_table(case.args[1]), theta, inhibitory)


def _thresholds_hidden(rng):
    cases = []
    for _ in range(4):
        n = int(rng.integers(1, 5))
        inhibitory = [i for i in range(n) if rng.random() < 0.3] or None
        y = mp_neuron(truth_table(n), int(rng.integers(0, n + 2)), inhibitory)
        cases.append(Case((y,), {"inhibitory": inhibitory}, note="a function one unit realizes"))
    for _ in range(3):
        n = int(rng.integers(1, 5))
        cases.append(Case((rng.integers(0, 2, size=2**n),), note="a random truth table"))
    n = int(rng.integers(2, 6))
    cases.append(Case((gate("XOR", truth_table(n)),), note="XOR of many inputs"))
    return cases


def _as_sorted(out, case):
    return np.sort(np.asarray(out, dtype=float).reshape(-1))


def _search(y, thetas, inhibitory=None):
    y = np.asarray(y)
    X = truth_table(int(np.log2(len(y))))
    return [t for t in thetas(X.shape[1]) if np.array_equal(mp_neuron(X, t, inhibitory), y)]


register(Exercise(
    name="mp_neuron",
    lessons=(LESSON,),
    signature="(X, theta, inhibitory=None)",
    reference="nnlib.neurons.mp_neuron",
    public=lambda: [
        Case((truth_table(2), 2), note="AND of two inputs"),
        Case((truth_table(3), 1), note="OR of three inputs"),
        Case((truth_table(2), 1), {"inhibitory": [1]}, note="x2 inhibits"),
        Case((np.array([1, 1, 0]), 2), note="one sample as a 1-D array"),
    ],
    hidden=_mp_neuron_hidden,
    tolerance="exact",
    points=2,
    vectorized=lambda rows: Case((np.resize(truth_table(3), (rows, 3)), 2), {"inhibitory": [1]},
                                 note=f"{rows} patterns"),
    mistakes={
        "g(x) > θ where g(x) >= θ is wanted: the unit must fire at the threshold itself":
            lambda X, theta, inhibitory=None: mp_neuron(X, theta + 0.5, inhibitory),
        "the inhibitory inputs are ignored: one inhibitory input on must force y = 0":
            lambda X, theta, inhibitory=None: mp_neuron(X, theta),
    },
))

register(Exercise(
    name="mp_gate",
    lessons=(LESSON,),
    signature="(name, n)",
    reference="nnlib.gates.mp_gate",
    public=lambda: [
        Case(("AND", 2), note="AND of two inputs"),
        Case(("OR", 3), note="OR of three inputs"),
        Case(("NOR", 2), note="NOR of two inputs"),
        Case(("NOT", 1), note="NOT"),
        Case(("XOR", 2), note="XOR: no single unit computes it", raises="ValueError"),
    ],
    hidden=_mp_gate_hidden,
    tolerance="exact",
    points=2,
    mistakes={
        "AND and OR are swapped: AND needs all n inputs on (θ = n), OR only one (θ = 1)":
            lambda name, n: (1, ()) if name == "AND" else (n, ()) if name == "OR" else
            (0, tuple(range(n))),
        "NOR needs every input inhibitory and θ = 0":
            lambda name, n: {"AND": (n, ()), "OR": (1, ())}.get(name, (0, ())),
    },
    project=_computes,
))

register(Exercise(
    name="mp_thresholds",
    uses=("mp_neuron",),
    lessons=(LESSON,),
    signature="(y, inhibitory=None)",
    reference="nnlib.gates.mp_thresholds",
    public=lambda: [
        Case((gate("AND", truth_table(2)),), note="AND"),
        Case((gate("OR", truth_table(3)),), note="OR of three inputs"),
        Case((gate("NOR", truth_table(2)),), {"inhibitory": [0, 1]}, note="NOR"),
        Case((np.zeros(4, dtype=int),), note="never fires: only θ = n + 1"),
        Case((gate("XOR", truth_table(2)),), note="XOR: no threshold works"),
    ],
    hidden=_thresholds_hidden,
    tolerance="exact",
    points=3,
    mistakes={
        "θ must run up to n + 1: a unit with θ = n + 1 never fires":
            lambda y, inhibitory=None: _search(y, lambda n: range(n + 1), inhibitory),
        "θ must start at 0: a unit with θ = 0 fires on every input":
            lambda y, inhibitory=None: _search(y, lambda n: range(1, n + 2), inhibitory),
    },
    project=_as_sorted,
))
