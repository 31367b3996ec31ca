"""Penalties, dropout, DropConnect, noise injection and early stopping."""

import numpy as np
import pytest

from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.regularization import (
    L1,
    L2,
    DropConnect,
    Dropout,
    EarlyStopping,
    GaussianNoise,
    dropout_backward,
)


def _params(rng):
    return [
        (rng.normal(size=(4, 3)), rng.normal(size=4)),
        (rng.normal(size=(2, 4)), rng.normal(size=2)),
    ]


def test_l2_value_and_gradient():
    rng = np.random.default_rng(0)
    params = _params(rng)
    pen = L2(0.3)
    assert pen(params) == pytest.approx(0.3 * sum(np.sum(W**2) for W, _ in params))
    grads = pen.grad(params)
    for (W, b), (dW, db) in zip(params, grads):
        np.testing.assert_allclose(dW, 2 * 0.3 * W)
        assert not np.any(db) and db.shape == b.shape
        assert rel_error(dW, numerical_gradient(lambda _: pen(params), W)) < 1e-8


def test_l1_value_and_gradient():
    rng = np.random.default_rng(1)
    params = _params(rng)
    pen = L1(0.2)
    assert pen(params) == pytest.approx(0.2 * sum(np.abs(W).sum() for W, _ in params))
    for (W, _), (dW, db) in zip(params, pen.grad(params)):
        np.testing.assert_array_equal(dW, 0.2 * np.sign(W))
        assert not np.any(db)
        # |W| is smooth away from 0, and normal draws are far from it at h = 1e-5
        assert rel_error(dW, numerical_gradient(lambda _: pen(params), W)) < 1e-8
    with pytest.raises(ValueError, match="lam"):
        L1(-1.0)


@pytest.mark.parametrize("inverted", [False, True])
def test_dropout_gradient_with_fixed_mask(inverted):
    rng = np.random.default_rng(2)
    A, C = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    mask = (rng.random((5, 6)) < 0.6).astype(float)
    layer = Dropout(p=0.6, inverted=inverted)

    def f(_):
        return float(np.sum(C * layer.forward(A, mask=mask)))

    f(A)
    dA = layer.backward(C)
    assert rel_error(dA, numerical_gradient(f, A)) < 1e-8
    assert np.all(dA[mask == 0] == 0)
    assert np.array_equal(dA, dropout_backward(C, mask, 0.6, inverted))


def test_dropout_backward_bad_input():
    with pytest.raises(ValueError, match="dA_tilde.*r"):
        dropout_backward(np.zeros((2, 3)), np.ones((3, 2)), 0.5)
    with pytest.raises(ValueError, match="keep probability"):
        dropout_backward(np.zeros(3), np.ones(3), 0.0)


def test_dropout_training_and_inference_differ():
    A = np.arange(1.0, 2001.0).reshape(1000, 2)
    p = 0.8
    classic, inverted = Dropout(p, rng=0), Dropout(p, inverted=True, rng=0)
    # training: a fresh random mask per call, about 1 − p of the units zeroed,
    # kept units unchanged (classic) or scaled up by 1/p (inverted)
    out1, out2 = classic.forward(A), classic.forward(A)
    assert not np.array_equal(out1, out2)
    assert abs(np.mean(out1 == 0) - (1 - p)) < 0.03
    np.testing.assert_array_equal(out1[out1 != 0], A[out1 != 0])
    inv = inverted.forward(A)
    np.testing.assert_allclose(inv[inv != 0], A[inv != 0] / p)
    # inference: deterministic; classic scales by p (the slides' p W a), inverted is identity
    np.testing.assert_array_equal(classic.forward(A, training=False), p * A)
    np.testing.assert_array_equal(inverted.forward(A, training=False), A)
    np.testing.assert_array_equal(classic.backward(np.ones_like(A)), p * np.ones_like(A))
    # the inference output is the expectation of the training output: per element within
    # about 6 standard errors of 400 draws, and for the whole array within 1 %
    for layer, expected in ((classic, p * A), (inverted, A)):
        ratio = np.mean([layer.forward(A) for _ in range(400)], axis=0) / expected
        assert np.max(np.abs(ratio - 1)) < 0.15
        assert abs(ratio.mean() - 1) < 0.01


def test_dropout_bad_input():
    with pytest.raises(ValueError, match="keep probability"):
        Dropout(p=0.0)
    with pytest.raises(ValueError, match="A and mask"):
        Dropout().forward(np.zeros((2, 3)), mask=np.ones((3, 2)))
    with pytest.raises(ValueError, match="forward pass first"):
        Dropout().backward(np.zeros(3))


def test_dropconnect_gradients_and_modes():
    rng = np.random.default_rng(3)
    A, W, b = rng.normal(size=(6, 4)), rng.normal(size=(3, 4)), rng.normal(size=3)
    C = rng.normal(size=(6, 3))
    mask = (rng.random(W.shape) < 0.5).astype(float)
    layer = DropConnect(p=0.5, rng=4)

    def f(_):
        return float(np.sum(C * layer.forward(A, W, b, mask=mask)))

    f(None)
    dA, dW, db = layer.backward(C)
    assert rel_error(dA, numerical_gradient(f, A)) < 1e-8
    assert rel_error(dW, numerical_gradient(f, W)) < 1e-8
    assert rel_error(db, numerical_gradient(f, b)) < 1e-8
    assert np.all(dW[mask == 0] == 0)
    np.testing.assert_allclose(layer.forward(A, W, b, training=False), A @ (0.5 * W).T + b)
    assert not np.array_equal(layer.forward(A, W, b), layer.forward(A, W, b))
    with pytest.raises(ValueError, match="do not chain"):
        layer.forward(A, W.T, b)


def test_gaussian_noise_training_and_inference():
    A = np.zeros((500, 20))
    layer = GaussianNoise(sigma=0.3, rng=5)
    noisy = layer.forward(A)
    assert abs(noisy.std() - 0.3) < 0.01 and abs(noisy.mean()) < 0.01
    np.testing.assert_array_equal(layer.forward(A, training=False), A)
    g = np.ones((2, 2))
    np.testing.assert_array_equal(layer.backward(g), g)


def test_early_stopping_patience_and_restore():
    W = np.array([0.0])
    stopper = EarlyStopping(patience=2)
    values = [5.0, 3.0, 4.0, 2.0, 2.5, 2.1, 3.0, 1.0]
    stops = []
    for epoch, v in enumerate(values):
        W[0] = epoch
        stops.append(stopper.update(v, [W]))
        if stops[-1]:
            break
    # the best is 2.0 at epoch 3; epochs 4, 5, 6 fail to improve, the third one stops
    assert stops == [False] * 6 + [True]
    assert stopper.best == 2.0 and stopper.best_epoch == 3
    stopper.restore([W])
    assert W[0] == 3.0


def test_early_stopping_max_mode_and_min_delta():
    stopper = EarlyStopping(monitor="val_accuracy", mode="max", patience=0, min_delta=0.05)
    assert not stopper.update(0.5)
    assert stopper.update(0.52)  # within min_delta: not an improvement
    stopper.reset()
    assert not stopper.update(0.5) and not stopper.update(0.6)
    assert stopper.best_epoch == 1
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_penalty_functions_are_what_the_classes_compute():
    from nnlib.regularization import l1_grad, l1_penalty, l2_grad, l2_penalty

    params = _params(np.random.default_rng(6))
    assert l2_penalty(params, 0.3) == L2(0.3)(params)
    assert l1_penalty(params, 0.3) == L1(0.3)(params)
    for (dW, db), (W, b) in zip(l2_grad(params, 0.25), params):
        np.testing.assert_array_equal(dW, 0.5 * W)
        np.testing.assert_array_equal(db, np.zeros_like(b))
    for (dW, _), (W, _) in zip(l1_grad(params, 0.25), params):
        np.testing.assert_array_equal(dW, 0.25 * np.sign(W))
    # a nested structure with a batch-norm (gamma, beta) pair: 1-D arrays are not penalized
    nested = [params[0], (np.ones(4), np.zeros(4))]
    assert l2_penalty(nested, 1.0) == pytest.approx(np.sum(params[0][0] ** 2))
    assert isinstance(l2_grad(nested, 1.0)[1], tuple)
    for fn in (l2_penalty, l2_grad, l1_penalty, l1_grad):
        with pytest.raises(ValueError, match="lam"):
            fn(params, -0.1)


@pytest.mark.parametrize("inverted", [False, True])
def test_dropout_forward_returns_the_mask_and_matches_the_layer(inverted):
    from nnlib.regularization import dropout_forward

    A = np.random.default_rng(7).normal(size=(50, 40))
    A_tilde, r = dropout_forward(A, 0.6, rng=8, inverted=inverted)
    assert set(np.unique(r)) <= {0.0, 1.0} and r.shape == A.shape
    np.testing.assert_array_equal(A_tilde, A * r / (0.6 if inverted else 1.0))
    # the layer draws the same mask from the same seed, and backward multiplies by it
    layer = Dropout(0.6, inverted=inverted, rng=8)
    np.testing.assert_array_equal(layer.forward(A), A_tilde)
    np.testing.assert_array_equal(layer.backward(np.ones_like(A)), r / (0.6 if inverted else 1))
    with pytest.raises(ValueError, match="keep probability"):
        dropout_forward(A, 1.5)


def test_early_stopping_class_follows_the_function():
    from nnlib.regularization import early_stopping_epoch

    rng = np.random.default_rng(9)
    for _ in range(50):
        losses = list(np.round(rng.uniform(0, 1, size=rng.integers(1, 30)), 1))
        patience, min_delta = int(rng.integers(0, 4)), float(rng.choice([0.0, 0.1]))
        best, stop = early_stopping_epoch(losses, patience, min_delta)
        stopper = EarlyStopping(patience=patience, min_delta=min_delta)
        stopped_at = next((t for t, v in enumerate(losses) if stopper.update(v)), len(losses) - 1)
        assert (stopper.best_epoch, stopped_at) == (best, stop)
        # mode="max" on the negated values stops at the same epochs
        rising = EarlyStopping(mode="max", patience=patience, min_delta=min_delta)
        assert next((t for t, v in enumerate(losses) if rising.update(-v)),
                    len(losses) - 1) == stop
