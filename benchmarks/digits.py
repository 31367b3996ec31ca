"""How long training and judging on scikit-learn's digits take.

1. `nnlib.train.fit`: trains 64 -> 32 -> 10 (ReLU, softmax) with Adam (eta = 0.01),
   cross-entropy, 20 epochs of mini-batches of 32 on a stratified 80/20 split, and prints
   the validation accuracy and the time of the fit alone and with imports and data loading.
   Target: at least 95% validation accuracy in under 20 s on 2 cores.
2. `nnlib.train.train_digits`, the capstone's reference loop (a wider network, plain SGD,
   longer), with nnlib's plain functions as blocks, against that fit (ratio; target: at
   most 3x the fit's time), and with the grader's recorded `TrainingBlocks` against the
   plain blocks (the cost of recording; target: at most 2x).
3. Judging the capstone (`check("train_digits", ...)`, public cases) of a 24,000-layer chain
   of one-unit layers, within the parameter budget and useless, against judging an honest
   model. The chain must be refused, and the judge must not spend on it more than 5x what
   an honest model costs.

Usage: python benchmarks/digits.py
"""

import time

TARGET_SECONDS, TARGET_ACCURACY = 20.0, 0.95
TARGET_REFERENCE_RATIO, TARGET_CHAIN_RATIO, TARGET_RECORDING_RATIO = 3.0, 5.0, 2.0


def seconds(f, *args, **kwargs):
    start = time.perf_counter()
    out = f(*args, **kwargs)
    return time.perf_counter() - start, out


def honest(X, Y, blocks, rng=None):
    """A student's capstone: a training loop of their own, through the blocks."""
    import numpy as np

    rng, names = np.random.default_rng(rng), ["relu", "softmax"]
    params = blocks.init_params([64, 64, 10], "he")
    for _ in range(25):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 32):
            i = order[start:start + 32]
            Y_hat, caches = blocks.forward(X[i], params, names)
            grads = blocks.backward(blocks.cce_grad(Y[i], Y_hat), caches, params, names)
            params = [(blocks.sgd_update(W, dW, 0.5), blocks.sgd_update(b, db, 0.5))
                      for (W, b), (dW, db) in zip(params, grads)]
    return params, names


def plain_blocks():
    """nnlib's functions as the blocks, recording nothing."""
    from types import SimpleNamespace

    from nnlib import losses, network, optim

    return SimpleNamespace(
        init_params=lambda sizes, init="xavier": network.init_params(sizes, init, rng=0),
        forward=network.forward, cce_grad=losses.cce_grad, backward=network.backward,
        sgd_update=optim.sgd_update)


def chain(X, Y, blocks, rng=None, depth=24_000):
    import numpy as np

    params = [(np.full((1, 64), 0.1), np.zeros(1))]
    params += [(np.ones((1, 1)), np.zeros(1))] * depth + [(np.ones((10, 1)), np.zeros(10))]
    return params, "relu"


def verdict(fn):
    import contextlib
    import io

    from autograder.checker import CheckFailed, check

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check("train_digits", fn)
    except CheckFailed as failure:
        return str(failure).splitlines()[0]
    return "passed"


def main():
    start = time.perf_counter()
    from nnlib import datasets
    from nnlib.blocks import TrainingBlocks
    from nnlib.network import MLP
    from nnlib.optim import Adam
    from nnlib.train import fit, train_digits

    X, y = datasets.digits()
    X_tr, X_val, y_tr, y_val = datasets.train_val_split(X, y, val_fraction=0.2, rng=0)
    before_fit = time.perf_counter()
    history = fit(MLP([64, 32, 10], ["relu", "softmax"], init="he", rng=0), X_tr, y_tr, "cce",
                  Adam(eta=0.01), epochs=20, batch_size=32, validation_data=(X_val, y_val),
                  metrics=["accuracy"], rng=0, progress=False)
    end = time.perf_counter()
    accuracy, total, fit_time = history["val_accuracy"][-1], end - start, end - before_fit
    print(f"validation accuracy {accuracy:.4f} (target >= {TARGET_ACCURACY})")
    print(f"fit {fit_time:.2f} s; with imports and data {total:.2f} s "
          f"(target < {TARGET_SECONDS:g} s)")

    Y_tr = datasets.one_hot(y_tr, 10)
    reference, _ = seconds(train_digits, X_tr, Y_tr, plain_blocks(), rng=0)
    print(f"train_digits {reference:.2f} s = {reference / fit_time:.2f}x the fit "
          f"(target <= {TARGET_REFERENCE_RATIO:g}x)")
    recorded, _ = seconds(train_digits, X_tr, Y_tr, TrainingBlocks(X_tr, Y_tr, 0), rng=0)
    print(f"train_digits with recorded blocks {recorded:.2f} s = "
          f"{recorded / reference:.2f}x the plain blocks (target <= {TARGET_RECORDING_RATIO:g}x)")

    honest_time, honest_verdict = seconds(verdict, honest)
    chain_time, chain_verdict = seconds(verdict, chain)
    print(f"judging an honest model {honest_time:.2f} s ({honest_verdict}); a 24,000-layer "
          f"chain {chain_time:.2f} s = {chain_time / honest_time:.2f}x "
          f"(target <= {TARGET_CHAIN_RATIO:g}x, refused: {chain_verdict})")

    met = (accuracy >= TARGET_ACCURACY and total < TARGET_SECONDS
           and reference <= TARGET_REFERENCE_RATIO * fit_time
           and recorded <= TARGET_RECORDING_RATIO * reference and honest_verdict == "passed"
           and chain_verdict != "passed" and chain_time <= TARGET_CHAIN_RATIO * honest_time)
    print("targets met" if met else "targets MISSED")


if __name__ == "__main__":
    main()
