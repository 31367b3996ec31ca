"""03-error-surface: the sigmoid neuron fitted to two points, its loss surface and
gradient descent on it. `sigmoid` is graded here only; later lessons use it."""

import numpy as np

from autograder.registry import Case, Exercise, register
from nnlib import activations
from nnlib.datasets import two_points
from nnlib.surface import error, error_surface, grad_b, grad_w, gradient_descent

LESSON = "03-error-surface"
GUESSES = [(0.5, 0.0), (-0.1, 0.0), (0.94, -0.94), (1.42, -1.73), (1.65, -2.08), (1.78, -2.27)]


def _naive_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _sigmoid_hidden(rng):
    return [
        Case((rng.normal(scale=5.0, size=int(rng.integers(1, 40))),), note="random inputs"),
        Case((rng.normal(scale=20.0, size=(int(rng.integers(1, 6)), int(rng.integers(1, 6)))),),
             note="a 2-D batch"),
        Case((rng.uniform(-1000.0, 1000.0, size=30),), note="large inputs"),
        Case((np.array([0.0, -1000.0, 1000.0, -745.0, 710.0, -36.0, 36.0]),),
             note="edge values"),
        Case((np.zeros(0),), note="an empty batch"),
    ]


def _data(rng):
    n = int(rng.integers(1, 8))
    return rng.uniform(-3.0, 3.0, size=n), rng.uniform(0.0, 1.0, size=n)


def _point_hidden(rng):
    """Random (w, b) and random data sets of a few points."""
    return [Case((float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6)), *_data(rng)),
                 note="random w, b and data") for _ in range(6)]


def _point_public():
    X, Y = two_points()
    return [Case((w, b, X, Y), note=f"the guess (w, b) = ({w}, {b})") for w, b in GUESSES[:4]]


def _surface_hidden(rng):
    cases = []
    for _ in range(4):
        low = float(rng.uniform(-8.0, 0.0))
        cases.append(Case(_data(rng), {"low": low, "high": low + float(rng.uniform(0.5, 8.0)),
                                       "num": int(rng.integers(2, 40))},
                          note="random data and grid"))
    return cases


# A rounding error made at step s of gradient descent is carried to step t by the product
# J_{t-1} ... J_s of the steps' Jacobians J = I - eta H(w, b). Where eta is large for the
# data's curvature the run is chaotic, that product grows exponentially, and two right
# answers that round differently (both gradients in one expression, another summation
# order) end apart by more than the tolerance: before this bound, 0.6 to 0.8% of the hidden
# seeds failed such answers (benchmarks/sweep.py). A hidden case therefore halves its eta
# until no product exceeds AMPLIFICATION. Rounding adds about 1e-16 of |(w, b)| per step,
# so after 60 steps two right answers differ by less than 1e-11, far inside the "iterative"
# tolerance (1e-6), while a wrong update rule still moves the path by far more.
AMPLIFICATION = 100.0


def amplification(X, Y, trajectory, eta) -> float:
    """The largest Frobenius norm of J_{t-1} ... J_s over 0 <= s <= t along `trajectory`
    (rows (w_t, b_t, L_t), as gradient_descent returns): how much an error made at any
    step can grow by any later step."""
    w, b = trajectory[:-1, :1], trajectory[:-1, 1:2]
    f = activations.sigmoid(w * X + b)
    slope = f * (1.0 - f)
    c = slope * slope + (f - Y) * slope * (1.0 - 2.0 * f)  # d²L/dz_i² at each step
    cx = c @ X
    H = np.stack([np.stack([c @ (X * X), cx], -1), np.stack([cx, c.sum(axis=1)], -1)], -2)
    worst, carried = 1.0, np.zeros((0, 2, 2))
    for J in np.eye(2) - eta * H:
        carried = J @ np.concatenate([carried, np.eye(2)[None]])
        worst = max(worst, float(np.sqrt((carried**2).sum(axis=(1, 2))).max()))
    return worst


def _descent_hidden(rng):
    cases = []
    for _ in range(4):
        X, Y = _data(rng)
        start = {"w0": float(rng.uniform(-4, 4)), "b0": float(rng.uniform(-4, 4))}
        eta, epochs = float(rng.uniform(0.1, 3.0)), int(rng.integers(1, 60))
        while amplification(X, Y, gradient_descent(X, Y, eta=eta, epochs=epochs, **start),
                            eta) > AMPLIFICATION:
            eta /= 2
        cases.append(Case((X, Y), {**start, "eta": eta, "epochs": epochs},
                          note="random data, start and rate"))
    cases.append(Case(two_points(), {"epochs": 0}, note="no epochs: only the start"))
    return cases


def _descent_in_turn(X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000):
    """w is updated first and the new w is used for the gradient in b."""
    w, b, rows = w0, b0, [(w0, b0, error(w0, b0, X, Y))]
    for _ in range(epochs):
        w = w - eta * grad_w(w, b, X, Y)
        b = b - eta * grad_b(w, b, X, Y)
        rows.append((w, b, error(w, b, X, Y)))
    return np.array(rows)


register(Exercise(
    name="sigmoid",
    lessons=(LESSON,),
    signature="(z)",
    reference="nnlib.activations.sigmoid",
    public=lambda: [
        Case((np.array([-2.0, 0.0, 0.5, 3.0]),), note="a few values"),
        Case((np.array([[-1.0, 1.0], [4.0, -4.0]]),), note="a 2-D array keeps its shape"),
        Case((np.array([-1000.0, -50.0, 50.0, 1000.0]),), note="large |z|: no overflow"),
    ],
    hidden=_sigmoid_hidden,
    tolerance="float",
    points=2,
    vectorized=lambda rows: Case((np.linspace(-8.0, 8.0, rows),), note=f"{rows} values"),
    mistakes={
        "the sign in the exponent is flipped: σ(z) = 1 / (1 + e^(-z))":
            lambda z: _naive_sigmoid(-np.asarray(z, dtype=float)),
        "this is σ'(z) = σ(z) (1 - σ(z)), not σ(z)":
            lambda z: _naive_sigmoid(z) * (1.0 - _naive_sigmoid(z)),
    },
    strict_warnings=True,
))

register(Exercise(
    name="error",
    uses=("sigmoid",),
    lessons=(LESSON,),
    signature="(w, b, X, Y)",
    reference="nnlib.surface.error",
    public=_point_public,
    hidden=_point_hidden,
    tolerance="float",
    points=2,
    mistakes={
        "the factor 1/2 is missing: L = 1/2 sum (f(x) - y)^2":
            lambda w, b, X, Y: 2.0 * error(w, b, X, Y),
        "the squares are averaged; L sums them and halves the sum":
            lambda w, b, X, Y: error(w, b, X, Y) / len(X),
    },
))

register(Exercise(
    name="error_surface",
    uses=("sigmoid", "error"),
    lessons=(LESSON,),
    signature="(X, Y, low=-6.0, high=6.0, num=201)",
    reference="nnlib.surface.error_surface",
    public=lambda: [
        Case(two_points(), {"num": 5}, note="the two points on a 5 x 5 grid"),
        Case(two_points(), {"low": -1.0, "high": 2.0, "num": 4}, note="another range"),
        Case(two_points(), note="the full 201 x 201 grid over (-6, 6)"),
    ],
    hidden=_surface_hidden,
    tolerance="float",
    points=2,
    vectorized=lambda rows: Case(two_points(), {"num": rows}, note=f"a {rows} x {rows} grid"),
    mistakes={
        "w must vary along the columns and b along the rows, as from np.meshgrid(w, b)":
            lambda X, Y, low=-6.0, high=6.0, num=201:
            tuple(a.T for a in error_surface(X, Y, low, high, num)),
    },
))

register(Exercise(
    name="grad_w",
    uses=("sigmoid",),
    lessons=(LESSON,),
    signature="(w, b, X, Y)",
    reference="nnlib.surface.grad_w",
    public=_point_public,
    hidden=_point_hidden,
    tolerance="float",
    points=2,
    mistakes={
        "the factor x_i is missing: this is dL/db": grad_b,
        "the sign is flipped: use (f(x) - y), not (y - f(x))":
            lambda w, b, X, Y: -grad_w(w, b, X, Y),
    },
))

register(Exercise(
    name="grad_b",
    uses=("sigmoid",),
    lessons=(LESSON,),
    signature="(w, b, X, Y)",
    reference="nnlib.surface.grad_b",
    public=_point_public,
    hidden=_point_hidden,
    tolerance="float",
    points=2,
    mistakes={
        "the gradient in b has no factor x_i: this is dL/dw": grad_w,
        "the sign is flipped: use (f(x) - y), not (y - f(x))":
            lambda w, b, X, Y: -grad_b(w, b, X, Y),
    },
))

register(Exercise(
    name="gradient_descent",
    uses=("error", "grad_w", "grad_b"),
    lessons=(LESSON,),
    signature="(X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000)",
    reference="nnlib.surface.gradient_descent",
    public=lambda: [
        Case(two_points(), {"epochs": 3}, note="three steps from (-2, -2)"),
        Case(two_points(), {"w0": 1.0, "b0": 0.0, "eta": 0.5, "epochs": 5},
             note="another start and rate"),
        Case(two_points(), note="the slides' run: 1000 epochs"),
    ],
    hidden=_descent_hidden,
    tolerance="iterative",
    points=3,
    mistakes={
        "both gradients must be taken at the same (w_t, b_t) before either is updated":
            _descent_in_turn,
        "the update climbs: w <- w - eta dL/dw, not w + ...":
            lambda X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000:
            gradient_descent(X, Y, w0, b0, -eta, epochs),
        "the first row must be the start (w0, b0, L(w0, b0)), so there are epochs + 1 rows":
            lambda X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000:
            gradient_descent(X, Y, w0, b0, eta, epochs + 1)[1:],
    },
))
