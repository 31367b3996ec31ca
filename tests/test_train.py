"""The training loop `fit`, and the softmax-cross-entropy gradient path it relies on."""

import math

import numpy as np
import pytest

from nnlib import datasets, losses
from nnlib.activations import relu, relu_prime
from nnlib.batchnorm import BatchNorm
from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.network import MLP, dense_backward, dense_forward
from nnlib.optim import SGD, Adam, param_arrays
from nnlib.regularization import L2, Dropout, EarlyStopping
from nnlib.train import fit


@pytest.fixture(scope="module")
def digits():
    X, y = datasets.digits()
    return datasets.train_val_split(X, y, val_fraction=0.2, rng=0)


def _digits_model():
    return MLP([64, 32, 10], ["relu", "softmax"], init="he", rng=0)


def _fit_digits(model, digits, epochs, batch_size, rng=0, n_train=None):
    """Adam (η = 0.01) with cross-entropy and accuracy on the digits split."""
    X_tr, X_val, y_tr, y_val = digits
    return fit(
        model,
        X_tr[:n_train],
        y_tr[:n_train],
        "cce",
        Adam(eta=0.01),
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(X_val, y_val),
        metrics=["accuracy"],
        rng=rng,
        progress=False,
    )


def test_adam_learns_digits(digits):
    history = _fit_digits(_digits_model(), digits, epochs=20, batch_size=32)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 20 for v in history.values())
    assert history["val_accuracy"][-1] >= 0.95
    assert history["loss"][-1] < history["loss"][0] / 5


def test_same_rng_same_history(digits):
    def run(seed):
        return _fit_digits(_digits_model(), digits, epochs=3, batch_size=16, rng=seed, n_train=300)

    assert run(5) == run(5)
    assert run(5)["loss"] != run(6)["loss"]


def test_batch_size_selects_the_kind_of_gradient_descent():
    X, y = datasets.moons(50, rng=0)
    for batch_size, steps in ((None, 1), (1, 50), (16, 4)):
        opt = SGD(eta=0.1)
        fit(
            MLP([2, 4, 1], "sigmoid", rng=0),
            X,
            y,
            "bce",
            opt,
            epochs=2,
            batch_size=batch_size,
            rng=0,
            progress=False,
        )
        assert opt.t == 2 * steps
    # batch gradient descent takes exactly the full-batch step of nnlib.network
    model, reference = MLP([2, 4, 1], "sigmoid", rng=1), MLP([2, 4, 1], "sigmoid", rng=1)
    fit(model, X, y, "bce", SGD(eta=0.5), epochs=1, batch_size=None, shuffle=False, progress=False)
    grads = reference.backward(losses.bce_grad(y[:, None], reference.forward(X)))
    SGD(eta=0.5).step(reference.params, grads)
    for a, b in zip(param_arrays(model.params), param_arrays(reference.params)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    "activations, loss",
    [(["tanh", "softmax"], "cce"), (["tanh", "linear"], "softmax_cross_entropy")],
)
def test_softmax_cross_entropy_path_gradients(activations, loss):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, 7)
    Y = datasets.one_hot(y, 3)
    model = MLP([5, 4, 3], activations, rng=1)
    loss_fn, loss_grad = losses.LOSSES[loss]
    grads = model.backward(loss_grad(Y, model.forward(X)))
    for W, dW in zip(param_arrays(model.params), param_arrays(grads)):
        numeric = numerical_gradient(lambda _: loss_fn(Y, model.forward(X)), W)
        assert rel_error(dW, numeric) < 1e-7
    # both routes end in the same delta at the output, (softmax(Z) − Y) / N
    Z = X @ model.params[0][0].T + model.params[0][1]
    A = np.tanh(Z) @ model.params[1][0].T + model.params[1][1]
    delta = (np.exp(A) / np.exp(A).sum(axis=1, keepdims=True) - Y) / len(X)
    np.testing.assert_allclose(grads[1][1], delta.sum(axis=0), atol=1e-12)


def test_early_stopping_restores_the_best_weights(digits):
    X_tr, X_val, y_tr, y_val = digits[0][:60], digits[1], digits[2][:60], digits[3]
    model = MLP([64, 64, 10], ["relu", "softmax"], init="he", rng=0)
    stopper = EarlyStopping(patience=3)
    history = fit(
        model,
        X_tr,
        y_tr,
        "cce",
        Adam(eta=0.02),
        epochs=200,
        batch_size=8,
        validation_data=(X_val, y_val),
        early_stopping=stopper,
        rng=0,
        progress=False,
    )
    val = history["val_loss"]
    assert len(val) < 200 and len(val) == stopper.best_epoch + 1 + 4
    assert min(val) == val[stopper.best_epoch] < val[-1]
    final = losses.cce(datasets.one_hot(y_val, 10), model.forward(X_val))
    assert final == pytest.approx(min(val), rel=1e-12)
    with pytest.raises(ValueError, match="monitors 'val_loss'"):
        fit(model, X_tr, y_tr, "cce", epochs=1, early_stopping=EarlyStopping(), progress=False)


def test_penalty_and_schedule():
    X, y = datasets.blobs(80, centers=2, rng=0)
    norms = {}
    for lam in (0.0, 0.1):
        model = MLP([2, 8, 1], "sigmoid", rng=0)
        fit(model, X / 10, y, "bce", Adam(0.05), epochs=30, penalty=L2(lam), rng=0, progress=False)
        norms[lam] = sum(np.sum(W**2) for W, _ in model.params)
    assert norms[0.1] < norms[0.0] / 2
    opt, seen = SGD(eta=1.0), []

    def schedule(epoch):
        seen.append(epoch)
        return 0.1 * 0.5**epoch

    fit(MLP([2, 3, 1], rng=0), X, y, "mse", opt, epochs=4, schedule=schedule, progress=False)
    assert seen == [0, 1, 2, 3] and opt.eta == pytest.approx(0.1 / 8)


class _DropoutBatchNormNet:
    """64 → 32 (batch norm, ReLU, dropout) → 10 softmax: a model with a `training` switch."""

    def __init__(self, rng):
        rng = np.random.default_rng(rng)
        self.params = [
            (rng.normal(0, math.sqrt(2 / 64), (32, 64)), np.zeros(32)),
            None,
            (rng.normal(0, math.sqrt(2 / 32), (10, 32)), np.zeros(10)),
        ]
        self.bn, self.dropout = BatchNorm(32), Dropout(p=0.8, inverted=True, rng=rng)
        self.params[1] = self.bn.params[0]
        self.modes = []

    def forward(self, X, training=True):
        self.modes.append(training)
        (W1, b1), _, (W2, b2) = self.params
        Z1, self.c1 = dense_forward(X, W1, b1, "linear")
        self.Zbn = self.bn.forward(Z1, training)
        A1 = self.dropout.forward(relu(self.Zbn), training)
        Y_hat, self.c2 = dense_forward(A1, W2, b2, "softmax")
        return Y_hat

    def backward(self, dY_hat):
        (W1, _), _, (W2, _) = self.params
        dA1, dW2, db2 = dense_backward(dY_hat, self.c2, W2, "softmax")
        dZbn = self.dropout.backward(dA1) * relu_prime(self.Zbn)
        dZ1, [bn_grads] = self.bn.backward(dZbn)
        _, dW1, db1 = dense_backward(dZ1, self.c1, W1, "linear")
        return [(dW1, db1), bn_grads, (dW2, db2)]


def test_fit_switches_dropout_and_batchnorm_between_training_and_inference(digits):
    X_tr, X_val = digits[0], digits[1]
    model = _DropoutBatchNormNet(rng=0)
    history = _fit_digits(model, digits, epochs=5, batch_size=64)
    assert history["val_accuracy"][-1] > 0.9
    # steps run in training mode, the per-epoch evaluations in inference mode
    steps = math.ceil(len(X_tr) / 64)
    assert model.modes[1:] == ([True] * steps + [False, False]) * 5
    # inference is deterministic and per sample; training draws new masks per batch
    np.testing.assert_array_equal(model.forward(X_val, False), model.forward(X_val, False))
    np.testing.assert_allclose(model.forward(X_val[:1], False), model.forward(X_val, False)[:1])
    assert not np.allclose(model.forward(X_val, True), model.forward(X_val, True))


def test_progress_bar_and_live_plot(capsys):
    import matplotlib

    matplotlib.use("Agg")
    X, y = datasets.moons(40, rng=0)
    fit(MLP([2, 3, 1], rng=0), X, y, "bce", epochs=3, progress=True, rng=0)
    assert "epochs" in capsys.readouterr().err
    fit(MLP([2, 3, 1], rng=0), X, y, "bce", epochs=3, progress=False, live_plot=True, rng=0)
    assert capsys.readouterr().err == ""


def test_bad_arguments():
    X, y = datasets.moons(20, rng=0)
    model = MLP([2, 3, 1], rng=0)
    with pytest.raises(ValueError, match="unknown loss"):
        fit(model, X, y, "hinge", progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, X, y, metrics=["auc"], progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, X, y, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="y has 19 samples"):
        fit(model, X, y[:19], progress=False)
    with pytest.raises(ValueError, match=r"y has shape \(20, 2\).*1 outputs"):
        fit(model, X, np.zeros((20, 2)), progress=False)


# ---- diagnostics and the reference model of lesson 10 -------------------------------------


def test_gradient_norms_and_update_ratios():
    from nnlib.train import gradient_norms, update_ratios

    grads = [(np.full((2, 3), 2.0), np.ones(2)), (np.array([[3.0, 4.0]]), np.ones(1))]
    np.testing.assert_allclose(gradient_norms(grads), [np.sqrt(24.0), 5.0])
    before = [(np.array([[3.0, 4.0]]), np.zeros(1)), (np.eye(2), np.zeros(2))]
    after = [(np.array([[3.0, 4.05]]), np.ones(1)), (np.eye(2) * 1.001, np.zeros(2))]
    # the biases do not count: |ΔW| / |W| of the weight matrices only
    np.testing.assert_allclose(update_ratios(before, after), [0.05 / 5.0, 1e-3])
    with pytest.raises(ValueError, match=r"params_before\[1\] W.*\(2, 2\).*\(2, 3\)"):
        update_ratios(before, [after[0], (np.ones((2, 3)), np.zeros(2))])
    with pytest.raises(ValueError, match="layers"):
        update_ratios(before, after[:1])
    with np.errstate(all="raise"):  # a zero W gives inf, without a warning
        assert update_ratios([np.zeros((1, 1))], [np.ones((1, 1))])[0] == np.inf


def test_dead_units():
    from nnlib.train import dead_units

    W1 = np.array([[1.0, 0.0], [-1.0, -1.0], [0.0, 1.0]])
    params = [(W1, np.array([0.0, -0.5, 0.0])), (np.ones((2, 3)), np.zeros(2))]
    X = np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 2.0]])
    (mask,) = dead_units(X, params, ["relu", "softmax"])
    # unit 0 fires on sample 0, unit 2 on sample 2; unit 1 has Z < 0 on every sample
    np.testing.assert_array_equal(mask, [False, True, False])
    assert dead_units(X, params[:1], "relu") == []


def _blocks(digits, seed=0):
    from nnlib.blocks import TrainingBlocks
    from nnlib.datasets import one_hot

    X_tr, _, y_tr, _ = digits
    return TrainingBlocks(X_tr, one_hot(y_tr, 10), seed)


def test_train_digits_is_accurate_and_reproducible(digits):
    # its speed is measured by benchmarks/digits.py
    from nnlib.network import forward
    from nnlib.train import train_digits

    X_tr, X_val, y_tr, y_val = digits
    blocks = _blocks(digits)
    params, names = train_digits(blocks.X, blocks.Y, blocks, rng=0)
    assert [W.shape for W, _ in params] == [(128, 64), (10, 128)] and names == ["relu", "softmax"]
    assert np.mean(forward(X_val, params, names)[0].argmax(axis=1) == y_val) >= 0.95
    again, _ = train_digits(blocks.X, blocks.Y, _blocks(digits), rng=0)
    np.testing.assert_array_equal(params[0][0], again[0][0])


def test_the_blocks_compute_what_nnlib_does_and_their_replay_repeats_a_loop(digits):
    from nnlib import losses, network, optim
    from nnlib.blocks import _flat, replay

    blocks = _blocks(digits)
    X, Y = blocks.X, blocks.Y
    names = ["tanh", "softmax"]
    params = blocks.init_params([64, 8, 10], "xavier")
    np.testing.assert_array_equal(params[0][0], network.init_params(
        [64, 8, 10], "xavier", rng=np.random.default_rng([0, 0]))[0][0])
    steps = []
    for idx, eta in (([3, 1, 4], 0.5), ([1, 5, 9, 2], 0.1)):
        Y_hat, caches = blocks.forward(X[idx], params, names)
        expected_Y_hat, _ = network.forward(X[idx], params, names)
        np.testing.assert_array_equal(Y_hat, expected_Y_hat)
        dY = blocks.cce_grad(Y[idx], Y_hat)
        np.testing.assert_array_equal(dY, losses.cce_grad(Y[idx], Y_hat))
        grads = blocks.backward(dY, caches, params, names)
        before = _flat(params)
        params = [(blocks.sgd_update(W, dW, eta), blocks.sgd_update(b, db, eta))
                  for (W, b), (dW, db) in zip(params, grads)]
        for theta, grad, theta_new in zip(before, _flat(grads), _flat(params)):
            np.testing.assert_array_equal(theta_new, optim.sgd_update(theta, grad, eta))
        steps.append((np.array(idx), [eta] * 4))
    again = replay(_blocks(digits), (0, [64, 8, 10], "xavier"), steps, names)
    for a, b in zip(_flat(params), _flat(again)):
        np.testing.assert_array_equal(a, b)
    record = blocks.recording()
    assert len(record["inits"]) == 1 and len(record["update_out"]) == 8
    np.testing.assert_array_equal(record["grad_rows"], [3, 1, 4, 1, 5, 9, 2])


def test_the_blocks_refuse_what_a_training_loop_does_not_do(digits):
    from nnlib.blocks import RECENT

    blocks = _blocks(digits)
    X, Y = blocks.X, blocks.Y
    names = ["relu", "softmax"]
    params = blocks.init_params([64, 4, 10], "he")
    with pytest.raises(ValueError, match="not a row of the training set"):
        blocks.forward(X[:2] + 1e-9, params, names)
    Y_hat, caches = blocks.forward(X[:2], params, names)
    with pytest.raises(ValueError, match="targets"):
        blocks.cce_grad(Y[2:4], Y_hat)
    with pytest.raises(ValueError, match="p must be the Y_hat"):
        blocks.cce_grad(Y[:2], Y_hat + 0.0 * Y_hat + 1e-12)
    dY = blocks.cce_grad(Y[:2], Y_hat)
    with pytest.raises(ValueError, match="dY_hat must be"):
        blocks.backward(2 * dY, caches, params, names)
    with pytest.raises(ValueError, match="params must be"):
        blocks.backward(dY, caches, [(W + 1, b) for W, b in params], names)
    grads = blocks.backward(dY, caches, params, names)
    with pytest.raises(ValueError, match="grad must be one of the arrays"):
        blocks.sgd_update(params[0][0], 2 * grads[0][0], 0.1)
    with pytest.raises(ValueError, match="theta the parameter it belongs to"):
        blocks.sgd_update(params[1][0], grads[0][0], 0.1)
    with pytest.raises(ValueError, match="read-only"):
        grads[0][0] *= 0.5  # what every block returns is read-only
    dW = grads[0][0].copy()
    blocks.sgd_update(params[0][0], dW, 0.1)  # a gradient, a copy even, serves
    for _ in range(RECENT):  # until backward has been called 16 times more
        Y_hat, caches = blocks.forward(X[2:4], params, names)
        blocks.backward(blocks.cce_grad(Y[2:4], Y_hat), caches, params, names)
    with pytest.raises(ValueError, match="grad must be one of the arrays"):
        blocks.sgd_update(params[0][0], dW, 0.1)
