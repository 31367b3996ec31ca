"""02-perceptron: prediction, the learning rule, training, and a network for XOR."""

import numpy as np

from autograder.registry import Case, Exercise, register
from nnlib.gates import gate, network_predict, truth_table
from nnlib.neurons import perceptron_fit, perceptron_predict, perceptron_step

LESSON = "02-perceptron"
OR_W, OR_B = np.array([1.1, 1.1]), -1.0


def _predict_hidden(rng):
    cases = []
    for _ in range(5):
        m, n = int(rng.integers(1, 30)), int(rng.integers(1, 6))
        cases.append(Case((rng.normal(size=(m, n)), rng.normal(size=n), float(rng.normal())),
                          note="random points and weights"))
    n = int(rng.integers(2, 5))
    w = rng.integers(-2, 3, size=n).astype(float)
    X = rng.integers(-3, 4, size=(20, n)).astype(float)
    cases.append(Case((X, w, float(rng.integers(-2, 3))), note="integer points, some on the line"))
    cases.append(Case((rng.normal(size=n), rng.normal(size=n), 0.0), note="one sample (n,)"))
    return cases


def _step_hidden(rng):
    cases = []
    for _ in range(6):
        n = int(rng.integers(1, 6))
        cases.append(Case((rng.normal(size=n), int(rng.integers(0, 2)), rng.normal(size=n),
                           float(rng.normal())), {"lr": float(rng.uniform(0.05, 2.0))},
                          note="a random sample"))
    n = int(rng.integers(1, 6))
    cases.append(Case((rng.integers(0, 2, size=n).astype(float), 0, np.zeros(n), 0.0),
                      note="on the boundary the unit fires, so a 0 label is an error"))
    return cases


def _separable(rng, m, n):
    """m points in n dimensions labelled by a random hyperplane, with a margin."""
    w, b = rng.normal(size=n), float(rng.normal())
    X = rng.normal(size=(4 * m, n))
    z = X @ w + b
    keep = np.abs(z) > 0.2 * np.linalg.norm(w)
    return X[keep][:m], (z[keep][:m] >= 0).astype(int)


def _fit_hidden(rng):
    cases = []
    for _ in range(4):
        X, y = _separable(rng, int(rng.integers(4, 25)), int(rng.integers(1, 4)))
        seed = int(rng.integers(0, 2**31)) if rng.random() < 0.5 else None
        cases.append(Case((X, y), {"lr": float(rng.uniform(0.1, 1.5)), "rng": seed},
                          note="separable data"))
    X = rng.normal(size=(int(rng.integers(4, 15)), 2))
    cases.append(Case((X, rng.integers(0, 2, size=len(X))),
                      {"epochs": int(rng.integers(1, 8)), "rng": int(rng.integers(0, 2**31))},
                      note="random labels: no convergence, epochs run out"))
    X, y = _separable(rng, 10, 3)
    cases.append(Case((X, y), {"w": rng.normal(size=3), "b": float(rng.normal())},
                      note="a given starting point"))
    return cases


def _fit_project(out, case):
    w, b, errors = out
    return np.asarray(w, dtype=float), float(b), np.asarray(errors, dtype=float)


def _fit_without_stopping(X, y, lr=1.0, epochs=100, w=None, b=0.0, rng=None):
    """The rule run for every epoch, stopping only when the epochs run out."""
    gen = None if rng is None else np.random.default_rng(rng)
    w = np.zeros(np.shape(X)[1]) if w is None else np.asarray(w, dtype=float)
    errors = []
    for _ in range(epochs):
        order = range(len(y)) if gen is None else gen.permutation(len(y))
        wrong = 0
        for i in order:
            wrong += int(perceptron_predict(X[i], w, b) != y[i])
            w, b = perceptron_step(X[i], y[i], w, b, lr)
        errors.append(wrong)
    return w, b, errors


def _xor_project(out, case):
    return network_predict(truth_table(2), out)


def _or_network():
    return [(np.eye(2), np.array([-1.0, -1.0])), (np.array([[1.0, 1.0]]), np.array([-1.0]))]


def _xnor_network():
    W1 = np.array([[1.0, -1.0], [-1.0, 1.0]])
    return [(W1, np.array([-1.0, -1.0])), (np.array([[-1.0, -1.0]]), np.array([0.0]))]


register(Exercise(
    name="perceptron_predict",
    lessons=(LESSON,),
    signature="(X, w, b)",
    reference="nnlib.neurons.perceptron_predict",
    public=lambda: [
        Case((truth_table(2), OR_W, OR_B), note="OR with w0 = -1, w1 = w2 = 1.1"),
        Case((np.array([[1.0, 1.0], [0.5, 0.5], [0.0, 0.0]]), np.array([1.0, 1.0]), -1.0),
             note="the middle point lies exactly on the boundary: it fires"),
        Case((np.array([2.0, -1.0, 0.5]), np.array([0.5, 1.0, -2.0]), 0.25),
             note="one sample as a 1-D array"),
    ],
    hidden=_predict_hidden,
    tolerance="exact",
    points=2,
    vectorized=lambda rows: Case((np.resize(truth_table(2), (rows, 2)), OR_W, OR_B),
                                 note=f"{rows} samples"),
    mistakes={
        "w . x + b > 0 where >= 0 is wanted: points on the boundary fire":
            lambda X, w, b: (np.asarray(X) @ w + b > 0).astype(int),
        "the bias is left out: compute X @ w + b":
            lambda X, w, b: perceptron_predict(X, w, 0.0),
        "the sum w . x + b is returned instead of the 0/1 decision":
            lambda X, w, b: np.asarray(X) @ w + b,
    },
))

register(Exercise(
    name="perceptron_step",
    uses=("perceptron_predict",),
    lessons=(LESSON,),
    signature="(x, y, w, b, lr=1.0)",
    reference="nnlib.neurons.perceptron_step",
    public=lambda: [
        Case((np.array([1.0, 0.0]), 1, np.array([-0.5, 0.2]), -0.1),
             note="a positive sample below the line: w moves towards x"),
        Case((np.array([1.0, 1.0]), 0, np.array([0.5, 0.5]), 0.0),
             note="a negative sample above the line: w moves away from x"),
        Case((np.array([1.0, 1.0]), 1, np.array([0.5, 0.5]), 0.0),
             note="a correct prediction changes nothing"),
        Case((np.array([2.0, -1.0]), 1, np.array([-1.0, 1.0]), 0.0), {"lr": 0.5},
             note="learning rate 0.5"),
    ],
    hidden=_step_hidden,
    tolerance="float",
    points=2,
    mistakes={
        "the update has the wrong sign: w += lr (y - ŷ) x, not w -= ...":
            lambda x, y, w, b, lr=1.0: perceptron_step(x, y, w, b, -lr),
        "the learning rate is ignored":
            lambda x, y, w, b, lr=1.0: perceptron_step(x, y, w, b),
        "the bias is not updated: b += lr (y - ŷ) too":
            lambda x, y, w, b, lr=1.0: (perceptron_step(x, y, w, b, lr)[0], b),
        "the update uses y instead of the error y - ŷ, so correct samples move w too":
            lambda x, y, w, b, lr=1.0: (w + lr * y * np.asarray(x), b + lr * y),
    },
))

register(Exercise(
    name="perceptron_fit",
    uses=("perceptron_predict", "perceptron_step"),
    lessons=(LESSON,),
    signature="(X, y, lr=1.0, epochs=100, w=None, b=0.0, rng=None)",
    reference="nnlib.neurons.perceptron_fit",
    public=lambda: [
        Case((truth_table(2), gate("OR", truth_table(2))), note="OR, rows in order"),
        Case((truth_table(2), gate("AND", truth_table(2))), {"lr": 0.5}, note="AND, lr 0.5"),
        Case((truth_table(2), gate("XOR", truth_table(2))), {"epochs": 6},
             note="XOR never converges: six epochs with errors"),
        Case((truth_table(3), gate("OR", truth_table(3))), {"rng": 0},
             note="OR of three inputs, shuffled with rng=0"),
    ],
    hidden=_fit_hidden,
    tolerance="float",
    points=3,
    mistakes={
        "training must stop after the first epoch without errors":
            _fit_without_stopping,
        "with rng given, each epoch visits the samples in the order rng.permutation(m)":
            lambda X, y, lr=1.0, epochs=100, w=None, b=0.0, rng=None:
            perceptron_fit(X, y, lr, epochs, w, b),
    },
    project=_fit_project,
))

register(Exercise(
    name="xor_network",
    lessons=(LESSON,),
    signature="()",
    reference="nnlib.gates.xor_network",
    public=lambda: [Case((), note="the network on the four XOR inputs")],
    hidden=lambda rng: [Case((), note="the network on the four XOR inputs")],
    tolerance="exact",
    points=2,
    mistakes={
        "the network computes OR: the output must not fire on (1, 1)": _or_network,
        "the network computes XNOR: the output is inverted": _xnor_network,
    },
    project=_xor_project,
))
