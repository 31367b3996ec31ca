"""How much vectorization buys: nnlib against per-point / per-sample Python loops and PyTorch.

Measures in one run and prints a table of median times and ratios:

  (a) the error surface of the sigmoid neuron on a 501 x 501 grid of (w, b):
      nnlib.surface.error on the meshgrid against the slides' loop (seed 002), which calls
      error(w, b) once per grid point and loops over the data points inside it with a
      scalar sigmoid;
  (b) a forward and backward pass of a 784 -> 128 -> 64 -> 10 MLP (sigmoid, sigmoid,
      linear; loss 1/(2m) sum (Y_hat - Y)^2) on a batch of 256: nnlib.network against a
      loop that forwards and backpropagates one sample at a time with NumPy vectors and
      accumulates the gradients;
  (c) the same step in PyTorch on the CPU, float64, with autograd.

Every side uses float64 and the same number of BLAS / OpenMP threads (--threads, default 1,
set before NumPy and PyTorch load). Each time is the median of a fixed number of repeats.
Before timing, the results of the compared sides are checked to agree.

Usage: python benchmarks/vectorization.py [--threads N] [--repeats N] [--strict]
With --strict the exit status is 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import timeit

GRID = 501
LOOP_ROWS = 25  # rows of the grid timed for the per-point loop; the time is scaled to GRID
SIZES = [784, 128, 64, 10]
ACTIVATIONS = ["sigmoid", "sigmoid", "linear"]
BATCH = 256
TARGETS = {"a": 200.0, "b": 30.0, "c": 1.5}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per case")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    return parser.parse_args(argv)


def set_threads(n):
    """Pin every thread pool to n threads; must run before numpy and torch are imported."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)


def median_times(cases, repeats):
    """Median seconds of each callable in `cases` (a dict), timed in turn `repeats` times.

    Interleaving the cases makes load from other processes fall on all of them alike.
    """
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            times[name].append(timeit.timeit(fn, number=1))
    return {name: statistics.median(ts) for name, ts in times.items()}


def surface_case(repeats):
    """(a): seconds for nnlib.surface.error on the grid and for the slides' loop (scaled)."""
    import numpy as np

    from nnlib.datasets import two_points
    from nnlib.surface import error

    X, Y = two_points()
    axis = np.linspace(-6.0, 6.0, GRID)
    W, B = np.meshgrid(axis, axis)

    # The slides' code (seed 002), run once per grid point.
    data_x, data_y = X.tolist(), Y.tolist()

    def f(w, b, x):
        return 1.0 / (1.0 + np.exp(-(w * x + b)))

    def slide_error(w, b):
        err = 0.0
        for x, y in zip(data_x, data_y, strict=True):
            fx = f(w, b, x)
            err += 0.5 * (fx - y) ** 2
        return err

    def loop_rows():
        E = np.zeros((LOOP_ROWS, GRID))
        for i in range(LOOP_ROWS):
            for j in range(GRID):
                E[i, j] = slide_error(W[i, j], B[i, j])
        return E

    E = error(W, B, X, Y)
    np.testing.assert_allclose(loop_rows(), E[:LOOP_ROWS], rtol=1e-12)
    times = median_times({"nnlib": lambda: error(W, B, X, Y), "loop": loop_rows}, repeats)
    return times["nnlib"], times["loop"] * GRID / LOOP_ROWS


def mlp_case(repeats, threads):
    """(b), (c): seconds for one forward + backward step by nnlib, the loop and PyTorch."""
    import numpy as np
    import torch

    from nnlib.activations import ACTIVATIONS as F
    from nnlib.network import backward, forward, init_params

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    params = init_params(SIZES, rng=rng)
    X = rng.standard_normal((BATCH, SIZES[0]))
    Y = rng.standard_normal((BATCH, SIZES[-1]))

    def nnlib_step():
        Y_hat, caches = forward(X, params, ACTIVATIONS)
        return backward((Y_hat - Y) / BATCH, caches, params, ACTIVATIONS)

    def loop_step():
        grads = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
        for x, y in zip(X, Y, strict=True):
            a, zs, As = x, [], [x]
            for (W, b), name in zip(params, ACTIVATIONS, strict=True):
                z = W @ a + b
                a = F[name][0](z)
                zs.append(z)
                As.append(a)
            dA = (a - y) / BATCH
            for l in range(len(params) - 1, -1, -1):
                delta = dA * F[ACTIVATIONS[l]][1](zs[l])
                grads[l][0][...] += np.outer(delta, As[l])
                grads[l][1][...] += delta
                dA = params[l][0].T @ delta
        return grads

    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    tparams = [
        (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
        for W, b in params
    ]
    torch_act = {"sigmoid": torch.sigmoid, "linear": lambda z: z}

    def torch_step():
        A = Xt
        for (W, b), name in zip(tparams, ACTIVATIONS, strict=True):
            A = torch_act[name](A @ W.T + b)
        loss = 0.5 * ((A - Yt) ** 2).sum() / BATCH
        grads = torch.autograd.grad(loss, [p for layer in tparams for p in layer])
        return list(zip(grads[::2], grads[1::2], strict=True))

    reference = nnlib_step()
    for other in (loop_step(), torch_step()):
        for (dW, db), (oW, ob) in zip(reference, other, strict=True):
            np.testing.assert_allclose(np.asarray(oW), dW, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(np.asarray(ob), db, rtol=1e-9, atol=1e-12)

    cases = {"nnlib": nnlib_step, "loop": loop_step, "torch": torch_step}
    return median_times(cases, repeats), torch.__version__


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    set_threads(args.threads)
    import numpy as np

    t_vec, t_loop = surface_case(args.repeats)
    mlp, torch_version = mlp_case(args.repeats, args.threads)

    rows = [
        (
            "a",
            f"error surface {GRID}x{GRID}: slides' loop / nnlib",
            t_loop,
            t_vec,
            t_loop / t_vec,
            f">= {TARGETS['a']:.0f}x",
            t_loop / t_vec >= TARGETS["a"],
        ),
        (
            "b",
            f"MLP step, batch {BATCH}: per-sample loop / nnlib",
            mlp["loop"],
            mlp["nnlib"],
            mlp["loop"] / mlp["nnlib"],
            f">= {TARGETS['b']:.0f}x",
            mlp["loop"] / mlp["nnlib"] >= TARGETS["b"],
        ),
        (
            "c",
            "MLP step: nnlib / PyTorch",
            mlp["nnlib"],
            mlp["torch"],
            mlp["nnlib"] / mlp["torch"],
            f"<= {TARGETS['c']}x",
            mlp["nnlib"] / mlp["torch"] <= TARGETS["c"],
        ),
    ]
    print(
        f"numpy {np.__version__}, torch {torch_version}, float64, {args.threads} thread(s), "
        f"median of {args.repeats} repeats"
    )
    print(
        f"(a) the loop is timed on {LOOP_ROWS} of the {GRID} grid rows and scaled by "
        f"{GRID}/{LOOP_ROWS}"
    )
    print(f"{'':3} {'case':52} {'first':>10} {'second':>10} {'ratio':>8} {'target':>8}  met")
    for key, label, first, second, ratio, target, met in rows:
        print(
            f"({key}) {label:52} {first * 1e3:8.2f}ms {second * 1e3:8.2f}ms {ratio:7.1f}x "
            f"{target:>8}  {'yes' if met else 'NO'}"
        )
    missed = [key for key, *_, met in rows if not met]
    if missed and args.strict:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
