"""The training loop: `fit` runs gradient descent on a model and records its learning curves.

A model is any object with
- `params`: the arrays to train, e.g. `[(W1, b1), (W2, b2)]` (updated in place);
- `forward(X)` -> Y_hat (m, n_out), keeping what `backward` needs; if it accepts a
  `training` keyword, `fit` passes `training=True` for the gradient steps and
  `training=False` to evaluate, so dropout and batch normalization switch modes;
- `backward(dY_hat)` -> gradients with the structure of `params`.
`nnlib.network.MLP` is such a model.
"""

from __future__ import annotations

import inspect

import numpy as np

from nnlib import metrics as _metrics
from nnlib._checks import as_array, as_rng, same_shape
from nnlib.datasets import one_hot
from nnlib.losses import LOSSES
from nnlib.network import forward
from nnlib.optim import Adam, minibatches, param_arrays


def _accuracy(Y, Y_hat) -> float:
    """Categorical accuracy for several outputs, binary accuracy (threshold 0.5) for one."""
    if Y_hat.shape[1] > 1:
        return _metrics.categorical_accuracy(Y, Y_hat)
    return _metrics.binary_accuracy(Y, Y_hat)


METRICS = {
    "accuracy": _accuracy,
    "mse": _metrics.mse,
    "rmse": _metrics.rmse,
    "mae": _metrics.mae,
}


def _resolve_loss(loss):
    """(loss, grad) from a name of `nnlib.losses.LOSSES` or a (loss, grad) pair."""
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; known: {', '.join(LOSSES)}")
        return LOSSES[loss]
    if isinstance(loss, tuple) and len(loss) == 2 and all(map(callable, loss)):
        return loss
    raise TypeError("loss must be a name of nnlib.losses.LOSSES or a (loss, grad) pair")


def _resolve_metrics(names) -> dict:
    resolved = {}
    for m in names:
        if callable(m):
            resolved[m.__name__] = m
        elif m in METRICS:
            resolved[m] = METRICS[m]
        else:
            raise ValueError(f"unknown metric {m!r}; known: {', '.join(METRICS)} or a callable")
    return resolved


def _targets(y, n_out: int, name: str) -> np.ndarray:
    """Targets in the shape of Y_hat: labels (m,) become one-hot (m, n_out) or a column."""
    y = as_array(y, name, (1, 2))
    if y.ndim == 1:
        return one_hot(y, n_out) if n_out > 1 else y[:, None]
    if y.shape[1] != n_out:
        raise ValueError(f"{name} has shape {y.shape} but the model has {n_out} outputs")
    return y


def _batches(m: int, batch_size, order: np.ndarray):
    """The index batches of one epoch over the sample order `order` (a permutation of m).

    batch_size None is one batch of all m samples (batch gradient descent).
    """
    size = m if batch_size is None else int(batch_size)
    if size < 1:
        raise ValueError(f"batch_size must be None or a positive int, got {batch_size}")
    return [order[idx] for idx in minibatches(m, size, shuffle=False)]


def fit(
    model,
    X,
    y,
    loss="mse",
    optimizer=None,
    epochs: int = 10,
    batch_size: int | None = 32,
    validation_data=None,
    metrics=(),
    penalty=None,
    schedule=None,
    early_stopping=None,
    shuffle: bool = True,
    rng=None,
    progress: bool = True,
    live_plot: bool = False,
) -> dict[str, list[float]]:
    """Train `model` on (X, y) with mini-batch gradient descent; return the learning curves.

    X: (m, n_0). y: targets of Y_hat's shape (m, n_out), or labels (m,), which become
    one-hot targets for a model with several outputs and a column for one output.
    loss: a name of `nnlib.losses.LOSSES` or a `(loss, grad)` pair, called as (y, y_hat).
    optimizer: any `nnlib.optim` optimizer (default `Adam()`).
    batch_size: None for batch gradient descent (the whole set per step), 1 for stochastic
    gradient descent, k for mini-batches of k samples (the last one may be smaller).
    Each epoch visits the samples in an order drawn from `rng` (unless `shuffle=False`), so
    the same call with the same `rng` (and the same initial parameters) gives the same
    history.
    metrics: names of `METRICS` ("accuracy", "mse", ...) or callables f(Y, Y_hat).
    penalty: e.g. `nnlib.regularization.L2(0.01)`; its gradient is added to every step's.
    schedule: f(epoch) -> learning rate, set on the optimizer at the start of each epoch.
    early_stopping: an `nnlib.regularization.EarlyStopping`; training stops when it says
    so and, if it keeps the best weights, they are written back into the model.
    progress: a tqdm progress bar over the epochs (notebook widget or terminal text).
    live_plot: redraw the learning curves in the notebook after every epoch.

    Returns a dict of per-epoch lists, evaluated in inference mode after each epoch:
    "loss" (the data loss on the training set, without the penalty), each metric, and
    "val_loss" and "val_<metric>" when validation_data is given.
    """
    rng = as_rng(rng)
    loss_fn, loss_grad = _resolve_loss(loss)
    metric_fns = _resolve_metrics(metrics)
    optimizer = Adam() if optimizer is None else optimizer
    takes_training = "training" in inspect.signature(model.forward).parameters

    def run(A, training):
        return model.forward(A, training=training) if takes_training else model.forward(A)

    X = as_array(X, "X", 2)
    n_out = run(X[:1], False).shape[1]
    Y = _targets(y, n_out, "y")
    if len(Y) != len(X):
        raise ValueError(f"X has shape {X.shape} but y has {len(Y)} samples")
    sets = {"": (X, Y)}
    if validation_data is not None:
        X_val = as_array(validation_data[0], "validation X", 2)
        sets["val_"] = (X_val, _targets(validation_data[1], n_out, "validation y"))
    if early_stopping is not None:
        early_stopping.reset()
        if early_stopping.monitor not in [p + k for p in sets for k in ("loss", *metric_fns)]:
            raise ValueError(f"early_stopping monitors {early_stopping.monitor!r}, not recorded")

    history: dict[str, list[float]] = {
        prefix + key: [] for prefix in sets for key in ("loss", *metric_fns)
    }
    bar = _progress_bar(epochs) if progress else None
    curves = _live_curves() if live_plot else None
    for epoch in range(epochs):
        if schedule is not None:
            optimizer.eta = schedule(epoch)
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        for idx in _batches(len(X), batch_size, order):
            grads = model.backward(loss_grad(Y[idx], run(X[idx], True)))
            if penalty is not None:
                for g, g_pen in zip(param_arrays(grads), param_arrays(penalty.grad(model.params))):
                    g += g_pen
            optimizer.step(model.params, grads)
        for prefix, (A, T) in sets.items():
            Y_hat = run(A, False)
            history[prefix + "loss"].append(float(loss_fn(T, Y_hat)))
            for name, fn in metric_fns.items():
                history[prefix + name].append(float(fn(T, Y_hat)))
        if bar is not None:
            bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.items()}, refresh=False)
            bar.update()
        if curves is not None:
            curves.update(history)
        if early_stopping is not None and early_stopping.update(
            history[early_stopping.monitor][-1], model.params
        ):
            break
    if bar is not None:
        bar.close()
    if early_stopping is not None and early_stopping.restore_best_weights:
        early_stopping.restore(model.params)
    return history


def _progress_bar(epochs: int):
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="epochs", unit="epoch")


def _live_curves():
    from nnlib.plot import LiveLearningCurves

    return LiveLearningCurves()


# ---- diagnostics: what to watch inside a training run (slides: "Training Diagnostics") ----


def _weights(params, name: str) -> list[np.ndarray]:
    """The weight matrices W of a parameter list [(W1, b1), ...] (or a list of W)."""
    Ws = [as_array(p[0] if isinstance(p, (tuple, list)) else p, f"{name}[{l}]", 2)
          for l, p in enumerate(params)]
    if not Ws:
        raise ValueError(f"{name} must hold at least one layer")
    return Ws


def gradient_norms(grads) -> np.ndarray:
    """‖∂L/∂W(l)‖ (Frobenius norm) of every layer, from [(dW1, db1), ...]; shape (L,).

    The slides call norms between 1e-6 and 1e-1 reasonable; norms shrinking towards the
    first layer mean vanishing gradients, growing ones exploding gradients.
    """
    return np.array([np.linalg.norm(dW) for dW in _weights(grads, "grads")])


def update_ratios(params_before, params_after) -> np.ndarray:
    """‖ΔW(l)‖ / ‖W(l)‖ of every layer for one step, W before and after it; shape (L,).

    The slides' rule of thumb is ≈ 1e-3: much larger and the learning rate is too high,
    much smaller and the layer barely learns. A zero W gives inf (or nan if ΔW = 0 too).
    """
    before, after = _weights(params_before, "params_before"), _weights(params_after, "params_after")
    if len(before) != len(after):
        raise ValueError(f"params_before has {len(before)} layers, params_after {len(after)}")
    for l, (W0, W1) in enumerate(zip(before, after)):
        same_shape(W0, W1, f"params_before[{l}] W", f"params_after[{l}] W")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.array([np.linalg.norm(W1 - W0) / np.linalg.norm(W0)
                         for W0, W1 in zip(before, after)])


def dead_units(X, params, activations) -> list[np.ndarray]:
    """Hidden units whose activation is 0 on every sample of X: one bool mask per hidden layer.

    For ReLU, A = max(0, Z) = 0 on the whole set means Z ≤ 0 everywhere, so the unit's
    gradient is 0 for every sample and it never learns again ("dead neurons").
    X: (m, n_0); masks of shape (n_l,) for l = 1 .. L − 1.
    """
    _, caches = forward(as_array(X, "X", 2), params, activations)
    # caches[l] = (A(l-1), Z(l)), so the input of layer l + 1 is the output of layer l
    return [np.all(A == 0, axis=0) for A, _ in caches[1:]]


def train_digits(X, Y, blocks, rng=None):
    """Train a classifier for the 8×8 digits with the building blocks `blocks`; return
    `(params, activations)`.

    X: training images (m, 64) scaled to [0, 1]; Y: their one-hot labels (m, 10); blocks:
    an object with `init_params`, `forward`, `cce_grad`, `backward` and `sgd_update`
    (nnlib's, a student's own, or `nnlib.blocks.TrainingBlocks`). The model is
    64 → 128 → 10 (ReLU, softmax, He initialization), trained by mini-batch gradient descent
    on the cross-entropy: 30 epochs of mini-batches of 32 drawn from `rng`, η = 0.5.
    Returns the parameters of the last step, a list of (W, b) pairs (W of shape
    (n_out, n_in)), and the activation names, ready for `nnlib.network.forward`.
    """
    rng = as_rng(rng)
    activations = ["relu", "softmax"]
    params = blocks.init_params([64, 128, 10], "he")
    for _ in range(30):
        for idx in minibatches(len(X), 32, rng=rng):
            Y_hat, caches = blocks.forward(X[idx], params, activations)
            grads = blocks.backward(blocks.cce_grad(Y[idx], Y_hat), caches, params,
                                    activations)
            params = [(blocks.sgd_update(W, dW, 0.5), blocks.sgd_update(b, db, 0.5))
                      for (W, b), (dW, db) in zip(params, grads)]
    return params, activations
