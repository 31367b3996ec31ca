"""nnlib.losses: definitions, gradients against finite differences, shapes, extremes."""

import numpy as np
import pytest

from nnlib import losses
from nnlib.activations import softmax
from nnlib.gradcheck import numerical_gradient, rel_error

REGRESSION = ["half_sse", "mse", "mae", "rmse", "huber"]


def regression_pair(rng, shape):
    """Targets and predictions whose residuals stay away from 0 and from +-1 (the kinks)."""
    y = rng.normal(size=shape)
    r = rng.choice([-1.0, 1.0], shape) * rng.choice([rng.uniform(0.1, 0.8), 1.5], shape)
    return y, y + r


def one_hot_and_probabilities(rng, n, k):
    y = np.eye(k)[rng.integers(0, k, n)]
    return y, softmax(rng.normal(size=(n, k)))


def test_the_registry_pairs_every_loss_with_its_gradient():
    assert set(losses.LOSSES) == {*REGRESSION, "bce", "cce", "softmax_cross_entropy"}
    for loss, grad in losses.LOSSES.values():
        assert grad.__name__ == loss.__name__ + "_grad"


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("shape", [(6,), (5, 3)])
def test_regression_gradients_match_finite_differences(name, shape):
    loss, grad = losses.LOSSES[name]
    y, y_hat = regression_pair(np.random.default_rng(len(shape)), shape)
    g = grad(y, y_hat)
    assert g.shape == y_hat.shape
    assert rel_error(g, numerical_gradient(lambda p: loss(y, p), y_hat)) < 1e-7


@pytest.mark.parametrize("shape", [(8,), (6, 2)])
def test_bce_gradient_matches_finite_differences(shape):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, shape).astype(float)
    p = rng.uniform(0.05, 0.95, shape)
    numeric = numerical_gradient(lambda q: losses.bce(y, q), p)
    assert rel_error(losses.bce_grad(y, p), numeric) < 1e-7


@pytest.mark.parametrize("name", ["cce", "softmax_cross_entropy"])
def test_classification_gradients_match_finite_differences(name):
    loss, grad = losses.LOSSES[name]
    rng = np.random.default_rng(2)
    y, p = one_hot_and_probabilities(rng, 7, 4)
    y_hat = p if name == "cce" else rng.normal(size=p.shape)
    numeric = numerical_gradient(lambda q: loss(y, q), y_hat)
    assert rel_error(grad(y, y_hat), numeric) < 1e-7


def test_mse_is_the_mean_over_samples_of_the_sum_over_outputs():
    y, y_hat = regression_pair(np.random.default_rng(3), (4, 3))
    per_sample = [sum((y[i, j] - y_hat[i, j]) ** 2 for j in range(3)) for i in range(4)]
    assert losses.mse(y, y_hat) == pytest.approx(sum(per_sample) / 4, rel=1e-14)
    assert losses.half_sse(y, y_hat) == pytest.approx(sum(per_sample) / 2, rel=1e-14)
    assert losses.rmse(y, y_hat) == pytest.approx(np.sqrt(sum(per_sample) / 4), rel=1e-14)


def test_a_1d_array_is_n_samples_of_one_output():
    y, y_hat = regression_pair(np.random.default_rng(4), (5,))
    assert losses.mse(y, y_hat) == pytest.approx(losses.mse(y[:, None], y_hat[:, None]))
    assert losses.mae(y, y_hat) == pytest.approx(np.mean(np.abs(y - y_hat)))


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    y = np.zeros(2)
    y_hat = np.array([0.5, 3.0])
    assert losses.huber(y, y_hat, delta=1.0) == pytest.approx((0.125 + (3.0 - 0.5)) / 2)
    assert losses.huber(y, y_hat, delta=5.0) == pytest.approx(losses.half_sse(y, y_hat) / 2)


def test_softmax_cross_entropy_equals_cce_of_the_softmax():
    rng = np.random.default_rng(5)
    y, _ = one_hot_and_probabilities(rng, 6, 3)
    z = rng.normal(size=(6, 3))
    assert losses.softmax_cross_entropy(y, z) == pytest.approx(losses.cce(y, softmax(z)))
    np.testing.assert_allclose(losses.softmax_cross_entropy_grad(y, z), (softmax(z) - y) / 6)


def test_losses_return_python_floats():
    y, y_hat = regression_pair(np.random.default_rng(6), (3, 2))
    for name in REGRESSION:
        assert type(losses.LOSSES[name][0](y, y_hat)) is float


def test_cross_entropies_stay_finite_at_certain_predictions():
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert losses.cce(y, p) == pytest.approx(-np.log(losses.EPS) / 2)
    assert np.isfinite(losses.bce(y, p)) and np.all(np.isfinite(losses.bce_grad(y, p)))
    assert np.all(np.isfinite(losses.cce_grad(y, p)))
    assert losses.bce(y, y) < 1e-10
    z = np.array([[-1000.0, 1000.0], [1000.0, -1000.0]])
    assert losses.softmax_cross_entropy(y, z) == pytest.approx(2000.0)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_shape_mismatch_names_both_shapes(name):
    loss, grad = losses.LOSSES[name]
    for fn in (loss, grad):
        with pytest.raises(ValueError, match=r"\(4, 3\) and \(3, 4\)"):
            fn(np.zeros((4, 3)), np.full((3, 4), 0.5))


@pytest.mark.parametrize("task", list(losses.OUTPUT_PAIRS))
def test_output_gradient_is_the_gradient_of_its_pair(task):
    """dL/dZ of output_gradient equals central differences of the pair's loss of f(Z)."""
    from nnlib.activations import ACTIVATIONS

    rng = np.random.default_rng(3)
    activation, loss = losses.OUTPUT_PAIRS[task]
    z = rng.normal(scale=2.0, size=(5, 3))
    y = {"regression": rng.normal(size=(5, 3)),
         "binary": rng.integers(0, 2, size=(5, 3)).astype(float),
         "multiclass": np.eye(3)[rng.integers(0, 3, 5)]}[task]
    f = softmax if activation == "softmax" else ACTIVATIONS[activation][0]
    numeric = numerical_gradient(lambda Z: losses.LOSSES[loss][0](y, f(Z)), z.copy())
    assert rel_error(losses.output_gradient(y, z, task), numeric) < 1e-7


def test_output_gradient_stays_finite_at_extreme_logits_and_names_a_bad_task():
    z = np.array([[-1000.0, 0.0, 1000.0]])
    for task, y in (("binary", np.array([[1.0, 0.0, 0.0]])),
                    ("multiclass", np.array([[1.0, 0.0, 0.0]]))):
        assert np.allclose(losses.output_gradient(y, z, task), [[-1.0, 0.5 if task == "binary"
                                                                 else 0.0, 1.0]])
    with pytest.raises(ValueError, match="task"):
        losses.output_gradient(np.zeros((1, 1)), np.zeros((1, 1)), "ranking")
