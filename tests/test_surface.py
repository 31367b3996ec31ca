"""nnlib.surface: the sigmoid neuron fitted to (0.5, 0.2) and (2.5, 0.9), seed 002."""

import numpy as np
import pytest

from nnlib.datasets import two_points
from nnlib.surface import (
    error,
    error_surface,
    grad_b,
    grad_w,
    gradient_descent,
    random_search,
)

X, Y = two_points()

# (w, b, L(w, b)) as printed in the guess-work table of seed 002.
GUESS_TABLE = [
    (0.50, 0.00, 0.0730),
    (-0.10, 0.00, 0.1481),
    (0.94, -0.94, 0.0214),
    (1.42, -1.73, 0.0028),
    (1.65, -2.08, 0.0003),
    (1.78, -2.27, 0.0000),
]


def logit(p):
    return np.log(p / (1.0 - p))


def test_guess_work_table():
    """Recompute the guess-work table of seed 002 and state where the slide differs.

    Rounded to four decimals the exact losses are 0.0731, 0.1481, 0.0217, 0.0029, 0.0003
    and 0.0000, so three rows of the slide differ in the last digit:
    - L(0.5, 0) = 0.07311... is printed 0.0730: the 0.073 the slide quotes a few lines
      earlier (three decimals) padded with a zero;
    - L(1.42, -1.73) = 0.00289... is printed 0.0028: truncated rather than rounded;
    - L(0.94, -0.94) = 0.02167... is printed 0.0214, a value that no (w, b) rounding to
      (0.94, -0.94) reaches (their losses lie in 0.02145..0.02190).
    Every other row, and the first two above, is what some weights that round to the
    printed (w, b) give, to the printed four decimals. All rows agree to within 3e-4.
    """
    exact = np.array([error(w, b, X, Y) for w, b, _ in GUESS_TABLE])
    slide = np.array([L for _, _, L in GUESS_TABLE])
    differs = np.round(exact, 4) != slide
    np.testing.assert_array_equal(differs, [True, False, True, True, False, False])
    np.testing.assert_array_less(np.abs(exact - slide), 3e-4)
    assert round(exact[0], 3) == 0.073 and round(exact[0], 4) == 0.0731
    assert np.floor(exact[3] * 1e4) / 1e4 == slide[3]
    # Losses over the box of weights that round to each printed (w, b).
    d = np.linspace(-0.005, 0.005, 41)
    for w, b, L in GUESS_TABLE:
        box = error(w + d[None, :], b + d[:, None], X, Y)
        reachable = box.min() - 5e-5 <= L <= box.max() + 5e-5
        assert reachable == (w != 0.94), (w, b)


def test_guess_work_table_uses_half_on_every_term():
    """The slide writes 1/2 * (y1 - f(x1))^2 + (y2 - f(x2))^2; its numbers (and its code)
    halve both terms, L = 1/2 sum_i (f(x_i) - y_i)^2, which is what `error` computes."""
    f = 1.0 / (1.0 + np.exp(-(0.5 * X)))
    assert error(0.5, 0.0, X, Y) == pytest.approx(0.5 * np.sum((f - Y) ** 2), rel=1e-15)
    assert round(0.5 * (f[0] - Y[0]) ** 2 + (f[1] - Y[1]) ** 2, 4) != 0.0730


def test_gradient_descent_reaches_the_exact_fit():
    """The exact fit solves sigma(0.5 w + b) = 0.2 and sigma(2.5 w + b) = 0.9, i.e.
    0.5 w + b = logit(0.2) and 2.5 w + b = logit(0.9): w* = ln 6 = 1.79176 and
    b* = ln(1/4) - ln(6) / 2 = -2.28217. From w = b = -2 with eta = 1, 1000 epochs end
    within 1e-4 of it (|w - w*| = 4.0e-5, |b - b*| = 5.6e-5, L = 2.4e-11)."""
    w_star = (logit(0.9) - logit(0.2)) / (2.5 - 0.5)
    b_star = logit(0.2) - 0.5 * w_star
    assert w_star == pytest.approx(np.log(6.0), rel=1e-14)
    assert error(w_star, b_star, X, Y) < 1e-30

    trajectory = gradient_descent(X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000)
    assert trajectory.shape == (1001, 3)
    np.testing.assert_array_equal(trajectory[0, :2], [-2.0, -2.0])
    w, b, L = trajectory[-1]
    assert (round(w, 3), round(b, 3)) == (1.792, -2.282)
    assert abs(w - w_star) < 1e-4 and abs(b - b_star) < 1e-4
    assert L < 1e-10
    assert np.all(np.diff(trajectory[:, 2]) <= 0)


def test_gradient_descent_rows_are_consistent():
    trajectory = gradient_descent(X, Y, w0=0.3, b0=-0.4, eta=0.5, epochs=3)
    for (w, b, L), (w_next, b_next, _) in zip(trajectory[:-1], trajectory[1:], strict=True):
        assert L == error(w, b, X, Y)
        assert w_next == pytest.approx(w - 0.5 * grad_w(w, b, X, Y), rel=1e-15)
        assert b_next == pytest.approx(b - 0.5 * grad_b(w, b, X, Y), rel=1e-15)


def test_error_broadcasts_over_a_meshgrid():
    W, B = np.meshgrid(np.linspace(-6, 6, 13), np.linspace(-6, 6, 11))
    E = error(W, B, X, Y)
    loop = np.array(
        [
            [error(w, b, X, Y) for w, b in zip(wr, br, strict=True)]
            for wr, br in zip(W, B, strict=True)
        ]
    )
    assert E.shape == (11, 13)
    np.testing.assert_allclose(E, loop, rtol=1e-15, atol=0)
    for grad in (grad_w, grad_b):
        G = grad(W, B, X, Y)
        G_loop = [
            [grad(w, b, X, Y) for w, b in zip(wr, br, strict=True)]
            for wr, br in zip(W, B, strict=True)
        ]
        np.testing.assert_allclose(G, G_loop, rtol=1e-14, atol=1e-300)


def test_error_is_a_float_for_scalars():
    assert isinstance(error(0.5, 0.0, X, Y), float)
    assert isinstance(grad_w(np.float64(0.5), 0.0, X, Y), float)


def test_error_surface_grid():
    W, B, E = error_surface(X, Y, low=-6.0, high=6.0, num=201)
    assert W.shape == B.shape == E.shape == (201, 201)
    np.testing.assert_array_equal(W[0], np.linspace(-6, 6, 201))
    np.testing.assert_array_equal(B[:, 0], np.linspace(-6, 6, 201))
    np.testing.assert_allclose(E, error(W, B, X, Y), rtol=1e-15, atol=0)
    i, j = np.unravel_index(np.argmin(E), E.shape)
    assert (W[i, j], B[i, j]) == pytest.approx((1.8, -2.28), abs=0.06)


def test_grads_match_central_differences():
    rng = np.random.default_rng(3)
    w, b = rng.uniform(-3, 3, size=(2, 50))
    Xr, Yr = rng.uniform(-2, 2, size=5), rng.uniform(0, 1, size=5)
    h = 1e-6
    num_w = (error(w + h, b, Xr, Yr) - error(w - h, b, Xr, Yr)) / (2 * h)
    num_b = (error(w, b + h, Xr, Yr) - error(w, b - h, Xr, Yr)) / (2 * h)
    np.testing.assert_allclose(grad_w(w, b, Xr, Yr), num_w, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad_b(w, b, Xr, Yr), num_b, rtol=1e-6, atol=1e-9)


def test_extreme_parameters_are_finite():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        E = error(np.array([1000.0, -1000.0]), np.array([-1000.0, 1000.0]), X, Y)
        G = grad_w(np.array([1000.0, -1000.0]), 0.0, X, Y)
    assert np.all(np.isfinite(E)) and np.all(np.isfinite(G))


def test_random_search():
    w, b, L = random_search(X, Y, 5000, rng=0)
    assert -6.0 <= w < 6.0 and -6.0 <= b < 6.0
    assert L == error(w, b, X, Y)
    gen = np.random.default_rng(0)
    ws, bs = gen.uniform(-6, 6, 5000), gen.uniform(-6, 6, 5000)
    assert L == error(ws, bs, X, Y).min()
    assert random_search(X, Y, 5000, rng=0) == (w, b, L)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: error(0.5, 0.0, [0.5, 2.5], [0.2]), r"X and Y .* \(2,\) and \(1,\)"),
        (lambda: error(np.zeros(3), np.zeros(4), X, Y), r"w and b .* \(3,\) and \(4,\)"),
        (lambda: grad_b(0.0, 0.0, [[0.5]], [[0.2]]), r"X must be 1-D, got shape \(1, 1\)"),
        (lambda: gradient_descent(X, Y, epochs=-1), "epochs"),
        (lambda: random_search(X, Y, 0), "n_samples"),
        (lambda: error_surface(X, Y, num=1), "num"),
        (lambda: error_surface(X, Y, low=1.0, high=-1.0), "low must be less than high"),
    ],
)
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
