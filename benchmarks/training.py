"""Time mini-batch Adam on a 784→128→64→10 MLP with nnlib and with PyTorch (CPU, float64).

Both train the same network from the same initial weights on the same synthetic batches,
with the same number of threads; the script checks that they end at the same weights and
prints the best time of several repeats and the ratio nnlib / PyTorch (target ≤ 1.5).

    python benchmarks/training.py [--steps 300] [--batch 128] [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args()


ARGS = _args()
# BLAS reads its thread count when NumPy is first imported.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from nnlib.datasets import one_hot  # noqa: E402
from nnlib.losses import softmax_cross_entropy_grad  # noqa: E402
from nnlib.network import MLP  # noqa: E402
from nnlib.optim import Adam  # noqa: E402

SIZES = [784, 128, 64, 10]
ETA = 1e-3


def data(rng):
    X = rng.random((16 * ARGS.batch, 784))
    y = rng.integers(0, 10, len(X))
    return X, y


def batches(n):
    for step in range(ARGS.steps):
        start = (step * ARGS.batch) % n
        yield slice(start, start + ARGS.batch)


def train_nnlib(init, X, y):
    model = MLP(SIZES, ["relu", "relu", "linear"])
    model.params = [(W.copy(), b.copy()) for W, b in init]
    opt, Y = Adam(eta=ETA, bias_correction=True), one_hot(y, 10)  # torch.optim.Adam's form
    start = time.perf_counter()
    for idx in batches(len(X)):
        logits = model.forward(X[idx])
        opt.step(model.params, model.backward(softmax_cross_entropy_grad(Y[idx], logits)))
    return time.perf_counter() - start, model.params


def train_torch(init, X, y):
    layers = []
    for W, b in init:
        linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=ETA)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    start = time.perf_counter()
    for idx in batches(len(X)):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
        opt.step()
    elapsed = time.perf_counter() - start
    params = [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in model[::2]]
    return elapsed, params


def main():
    torch.set_num_threads(ARGS.threads)
    rng = np.random.default_rng(0)
    init = MLP(SIZES, init="he", rng=rng).params
    X, y = data(rng)
    times = {"nnlib": [], "torch": []}
    for _ in range(ARGS.repeats):
        t, ours = train_nnlib(init, X, y)
        times["nnlib"].append(t)
        t, theirs = train_torch(init, X, y)
        times["torch"].append(t)
    diff = max(np.abs(a - b).max() for p, q in zip(ours, theirs) for a, b in zip(p, q))
    best = {k: min(v) for k, v in times.items()}
    print(
        f"{ARGS.steps} Adam steps, batch {ARGS.batch}, 784-128-64-10, float64, "
        f"{ARGS.threads} thread(s), best of {ARGS.repeats}"
    )
    print(f"max |W_nnlib - W_torch| after training: {diff:.2e}")
    for name, t in best.items():
        print(f"{name:>6}: {t:.3f} s  ({1e3 * t / ARGS.steps:.3f} ms/step)")
    print(f"ratio nnlib / torch: {best['nnlib'] / best['torch']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
