"""Tolerance sweep: right answers written differently pass the hidden cases of every seed.

For every exercise compared with nnlib's reference within a numeric tolerance (every class
but "exact", and no `verify` but the backward passes' comparison with nnlib and finite
differences), runs several correct implementations written differently
from nnlib (loops instead of vectorization, other formula orders, `np.einsum`, float32
where the text allows it) on the hidden cases of N seeds, through the path of
`check(name, fn, hidden=True)`: `autograder.cases.cases_for`, `judge.run_case` and
`judge.judge`. It prints, per exercise, the implementations, seeds and runs, the failures,
and the worst error seen against the tolerance, and exits with status 1 on any failure.

The implementations are the right answers of the lesson tests (their CORRECT and TYPED
tables and the float32 variants they accept) and a few more below. Like the lesson tests,
the sweep judges values only and does not watch calls into nnlib: some of those answers
use nnlib's activations, which grading would refuse in the lesson that grades them.

Columns: "worst rel" is the largest |actual - expected| / |expected| over the elements
where the relative tolerance governs (rtol |expected| >= atol); "of tol" is the largest
|actual - expected| / (atol + rtol |expected|) over all elements: a case passes while it
stays at most 1.

Usage: python benchmarks/sweep.py [--seeds 2000] [--jobs N] [--exercise NAME ...]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import math
import multiprocessing
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from autograder import registry
from autograder.cases import cases_for
from autograder.judge import judge, run_case, to_data
from nnlib.activations import ACTIVATIONS

ROOT = Path(__file__).resolve().parents[1]
LESSON_TESTS = ("test_lesson00", "test_lessons_01_03", "test_lessons_04_06", "test_lesson07",
                "test_lesson08", "test_lesson09", "test_lesson10")


def swept() -> list[registry.Exercise]:
    """The exercises whose outputs are compared with nnlib's within a tolerance (also by a
    `verify` marked `against_reference`), in the order of the lessons."""
    found = [e for e in registry.all_exercises() if e.tolerance != "exact" and (
        e.verify is None or getattr(e.verify, "against_reference", False))]
    return sorted(found, key=lambda e: e.lessons[0])


# ---- implementations of the sweep's own -------------------------------------------------


def _sigma(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def descent_stacked(X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000):
    """Both gradients in one expression: the deltas times the rows (x_i, 1)."""
    A = np.stack([X, np.ones_like(X)], axis=1)
    theta, rows = np.array([w0, b0]), []
    for _ in range(epochs + 1):
        f = _sigma(A @ theta)
        rows.append((*theta, 0.5 * np.dot(f - Y, f - Y)))
        theta = theta - eta * (((f - Y) * f * (1.0 - f)) @ A)
    return np.array(rows)


def descent_fsum(X, Y, w0=-2.0, b0=-2.0, eta=1.0, epochs=1000):
    """Exactly rounded sums (math.fsum) and the gradient of b before that of w."""
    rows, w, b = [], w0, b0
    for _ in range(epochs + 1):
        f = [1.0 / (1.0 + math.exp(-(w * x + b))) if w * x + b >= 0 else
             math.exp(w * x + b) / (1.0 + math.exp(w * x + b)) for x in X]
        rows.append((w, b, 0.5 * math.fsum((fi - y) ** 2 for fi, y in zip(f, Y))))
        d = [(fi - y) * fi * (1.0 - fi) for fi, y in zip(f, Y)]
        db, dw = math.fsum(d), math.fsum(di * x for di, x in zip(d, X))
        w, b = w - eta * dw, b - eta * db
    return np.array(rows)


def fit_python_sums(X, y, lr=1.0, epochs=100, w=None, b=0.0, rng=None):
    """The perceptron with the decision w . x + b summed left to right in Python."""
    w = [0.0] * len(X[0]) if w is None else [float(v) for v in w]
    gen = None if rng is None else np.random.default_rng(rng)
    errors = []
    for _ in range(epochs):
        wrong = 0
        for i in range(len(X)) if gen is None else gen.permutation(len(X)):
            z = b
            for wj, xj in zip(w, X[i]):
                z += wj * xj
            err = int(y[i]) - (1 if z >= 0 else 0)
            wrong += err != 0
            w = [wj + lr * err * xj for wj, xj in zip(w, X[i])]
            b += lr * err
        errors.append(wrong)
        if wrong == 0:
            break
    return np.array(w), b, errors


def error_dot(w, b, X, Y):
    r = _sigma(w * X + b) - Y
    return 0.5 * float(r @ r)


def grad_w_dot(w, b, X, Y):
    f = _sigma(w * X + b)
    return float(np.dot((f - Y) * f * (1.0 - f), X))


def grad_b_dot(w, b, X, Y):
    f = _sigma(w * X + b)
    return float(np.dot(f - Y, f * (1.0 - f)))


def dense_forward_einsum(A_prev, W, b, activation="sigmoid"):
    Z = np.einsum("...i,oi->...o", A_prev, W) + b
    return ACTIVATIONS[activation][0](Z), (A_prev, Z)


def forward_columns(X, params, activations):
    """Samples in columns, A(l) = f(W(l) A(l-1) + b(l)), transposed back at the end."""
    names = activations if isinstance(activations, list) else [activations] * len(params)
    A = np.atleast_2d(X).T
    for (W, b), name in zip(params, names):
        A = ACTIVATIONS[name][0](np.einsum("oi,im->om", W, A) + b[:, None])
    return A.T.reshape(X.shape[:-1] + A.shape[:1]), []


def dense_backward_per_sample(dA, cache, W, activation="sigmoid"):
    """dW and db accumulated one sample at a time: another summation order."""
    A_prev, Z = cache
    delta = dA * ACTIVATIONS[activation][1](Z)
    dW, db = np.zeros_like(W, dtype=float), np.zeros(W.shape[0])
    for d, a in zip(delta, A_prev):
        dW += np.outer(d, a)
        db += d
    return delta @ W, dW, db


def backward_per_sample(dY_hat, caches, params, activations):
    names = [activations] * len(params) if isinstance(activations, str) else activations
    grads, dA = [], dY_hat
    for cache, (W, _), name in zip(caches[::-1], params[::-1], names[::-1]):
        dA, dW, db = dense_backward_per_sample(dA, cache, W, name)
        grads.insert(0, (dW, db))
    return grads


def _f32(x):
    return np.asarray(x, dtype=np.float32)


def momentum_float32(theta, grad, v, eta=0.01, beta=0.9):
    v = beta * _f32(v) + (1 - beta) * _f32(grad)
    return (_f32(theta) - eta * v).astype(float), v.astype(float)


def rmsprop_float32(theta, grad, mu, eta=0.001, beta=0.9, eps=1e-08, eps_inside_sqrt=True):
    g = _f32(grad)
    mu = beta * _f32(mu) + (1 - beta) * g * g
    denom = np.sqrt(mu + eps) if eps_inside_sqrt else np.sqrt(mu) + eps
    return (_f32(theta) - eta * g / denom).astype(float), mu.astype(float)


def batchnorm_two_pass(Z, gamma, beta, eps=1e-5):
    """The variance from the centred batch, as a sum over rows in a Python loop."""
    Z = np.asarray(Z, dtype=float)
    mu = sum(Z) / len(Z)
    var = sum((row - mu) ** 2 for row in Z) / len(Z)
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta, None


OWN = {
    "gradient_descent": [descent_stacked, descent_fsum],
    "perceptron_fit": [fit_python_sums],
    "error": [error_dot],
    "grad_w": [grad_w_dot],
    "grad_b": [grad_b_dot],
    "dense_forward": [dense_forward_einsum],
    "forward": [forward_columns],
    "dense_backward": [dense_backward_per_sample],
    "backward": [backward_per_sample],
    "momentum_update": [momentum_float32],
    "rmsprop_update": [rmsprop_float32],
    "batchnorm_forward": [batchnorm_two_pass],
}


# ---- the right answers of the lesson tests ---------------------------------------------


def _lesson_tests() -> dict:
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: importlib.import_module(name) for name in LESSON_TESTS}


def implementations() -> dict[str, list[tuple[str, Callable]]]:
    """{exercise: [(label, fn), ...]} for every swept exercise."""
    t = _lesson_tests()
    l0103, l0406, l07, l08, l09, l10 = (t[n] for n in LESSON_TESTS[1:])
    found: dict[str, list[tuple[str, Callable]]] = {}

    def add(name, label, fn):
        impls = found.setdefault(name, [])
        taken = {existing for existing, _ in impls}
        unique = next(f"{label}#{k}" if k else label for k in range(len(impls) + 1)
                      if (f"{label}#{k}" if k else label) not in taken)
        impls.append((unique, fn))

    for module in t.values():
        for name, fn in module.TYPED.items():
            add(name, f"{module.__name__}.TYPED", fn)
    for name, fn in l0103.CORRECT:
        add(name, f"test_lessons_01_03.{fn.__name__.replace('<lambda>', 'CORRECT')}", fn)
    for name, fn in l0406.CORRECT_04.items():
        add(name, "test_lessons_04_06.CORRECT_04", fn)
    for name, fn in (("dense_forward", l0406.dense_forward_columns),
                     ("forward", l0406.forward_recursive),
                     ("output_delta", l0406.output_delta_loop),
                     ("hidden_delta", l0406.hidden_delta_einsum),
                     ("dense_backward", l0406.dense_backward_einsum),
                     ("backward", l0406.backward_recursive),
                     ("numerical_gradient", l0406.numerical_gradient_copying),
                     ("value_and_grad", l0406.value_and_grad_closures),
                     ("l2_penalty", l09.l2_penalty_flat), ("l2_grad", l09.l2_grad_loop),
                     ("l2_penalty", l09.l2_penalty_float32), ("l2_grad", l09.l2_grad_float32),
                     ("batchnorm_forward", l09.batchnorm_by_hand),
                     ("batchnorm_backward", l09.batchnorm_backward_graph),
                     ("batchnorm_backward", l09.batchnorm_backward_jacobian),
                     ("dropout_backward", l09.dropout_backward_where),
                     ("sgd_update", l08.sgd_float32), ("adam_update", l08.adam_float32),
                     ("bce", l07.bce_log_clamp)):
        add(name, f"{fn.__module__}.{fn.__name__}", fn)
    for table, module in ((l07.CORRECT, "test_lesson07.CORRECT"),
                          (l07.FLOAT32, "test_lesson07.FLOAT32"),
                          (l08.CORRECT, "test_lesson08.CORRECT"),
                          (l10.CORRECT, "test_lesson10.CORRECT")):
        for name, fn in table.items():
            add(name, module, fn)
    add("bce", "test_lesson07.bce_clipped(1e-7)", l07.bce_clipped(1e-7))
    for name, fns in OWN.items():
        for fn in fns:
            add(name, f"sweep.{fn.__name__}", fn)
    names = {e.name for e in swept()}
    return {name: impls for name, impls in found.items() if name in names}


# ---- running and measuring ----------------------------------------------------------------


@dataclass
class Result:
    """What one exercise's implementations did on the seeds swept."""

    name: str
    tolerance: str
    implementations: list[str]
    seeds: int = 0
    runs: int = 0
    failures: list[str] = field(default_factory=list)
    worst_relative: float = 0.0
    worst_used: float = 0.0
    seconds: float = 0.0

    def add(self, other: Result) -> None:
        self.seeds += other.seeds
        self.runs += other.runs
        self.failures += other.failures
        self.worst_relative = max(self.worst_relative, other.worst_relative)
        self.worst_used = max(self.worst_used, other.worst_used)
        self.seconds += other.seconds


def _expected(exercise, case):
    """nnlib's output as the judge compares it (projected), from fresh copies of the inputs."""
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = to_data(exercise.reference_fn(*args, **kwargs))
    return exercise.project(out, case) if exercise.project else out


def spread(expected, actual, tol) -> tuple[float, float]:
    """(worst relative error where rtol governs, worst share of the tolerance) over the
    numbers of two data trees; parts that cannot be compared count 0."""
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return 0.0, 0.0
        parts = [spread(e, a, tol) for e, a in zip(expected, actual)]
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            return 0.0, 0.0
        parts = [spread(expected[k], actual.get(k), tol) for k in expected]
    else:
        try:
            e, a = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
        except (TypeError, ValueError):
            return 0.0, 0.0
        if e.ndim == 0 and a.size == 1:
            a = a.reshape(())
        if e.shape != a.shape:
            return 0.0, 0.0
        finite = np.isfinite(e) & np.isfinite(a)
        diff, size = np.abs(a - e)[finite], np.abs(e)[finite]
        with np.errstate(divide="ignore", invalid="ignore"):
            used = np.where(diff > 0, diff / (tol["atol"] + tol["rtol"] * size), 0.0)
        governs = tol["rtol"] * size >= tol["atol"]
        relative = diff[governs] / size[governs]
        return float(relative.max(initial=0.0)), float(used.max(initial=0.0))
    return (max((p[0] for p in parts), default=0.0), max((p[1] for p in parts), default=0.0))


def sweep_exercise(exercise, impls, seeds) -> Result:
    """Run every implementation on the hidden cases of every seed, as check(hidden=True)."""
    start = time.process_time()
    result = Result(exercise.name, exercise.tolerance, [label for label, _ in impls])
    for seed in seeds:
        cases = cases_for(exercise, True, seed)
        expected = [_expected(exercise, c) for c in cases]
        result.seeds += 1
        for label, fn in impls:
            outcomes = [run_case(fn, c) for c in cases]  # nnlib calls are not watched
            report = judge(exercise, cases, outcomes, True)
            result.runs += 1
            for i, (case, outcome, verdict) in enumerate(zip(cases, outcomes, report.verdicts)):
                if not verdict.passed:
                    result.failures.append(f"{label}, seed {seed}, case {i + 1} ({case.note}): "
                                           f"{verdict.message}")
                if outcome.error is None:
                    actual = outcome.value
                    if exercise.project:
                        actual = exercise.project(actual, case)
                    relative, used = spread(expected[i], actual, exercise.tol)
                    result.worst_relative = max(result.worst_relative, relative)
                    result.worst_used = max(result.worst_used, used)
    result.seconds = time.process_time() - start
    return result


_IMPLEMENTATIONS: dict = {}


def _task(job: tuple[str, list[int]]) -> Result:
    name, seeds = job
    return sweep_exercise(registry.get(name), _IMPLEMENTATIONS[name], seeds)


def run(seeds=range(2000), names=None, jobs=1, progress=True) -> list[Result]:
    """The sweep's results, one per swept exercise (or per name in `names`)."""
    _IMPLEMENTATIONS.clear()
    _IMPLEMENTATIONS.update(implementations())
    exercises = [e for e in swept() if names is None or e.name in names]
    missing = [e.name for e in exercises if e.name not in _IMPLEMENTATIONS]
    if missing:
        raise ValueError(f"no implementations to sweep for {missing}")
    seeds = list(seeds)
    chunk = max(1, min(25, len(seeds) // max(1, jobs)))
    tasks = [(e.name, seeds[i:i + chunk]) for e in exercises for i in range(0, len(seeds), chunk)]
    results = {e.name: Result(e.name, e.tolerance, [label for label, _ in
                                                      _IMPLEMENTATIONS[e.name]])
               for e in exercises}
    bar = tqdm(total=len(tasks), unit="task", disable=not progress, smoothing=0.05)
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for partial in pool.imap_unordered(_task, tasks):
                results[partial.name].add(partial)
                bar.update()
    else:
        for task in tasks:
            partial = _task(task)
            results[partial.name].add(partial)
            bar.update()
    bar.close()
    return [results[e.name] for e in exercises]


def table(results: list[Result]) -> str:
    head = (f"{'exercise':<20} {'tolerance':<10} {'rtol':>7} {'impls':>5} {'seeds':>6} "
            f"{'runs':>7} {'failures':>8} {'worst rel':>10} {'of tol':>8} {'cpu s':>7}")
    lines = [head, "-" * len(head)]
    for r in results:
        rtol = registry.TOLERANCES[r.tolerance]["rtol"]
        lines.append(f"{r.name:<20} {r.tolerance:<10} {rtol:>7.0e} {len(r.implementations):>5} "
                     f"{r.seeds:>6} {r.runs:>7} {len(r.failures):>8} "
                     f"{r.worst_relative:>10.2e} {r.worst_used:>8.3f} {r.seconds:>7.1f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2000, help="hidden seeds 0..N-1")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--exercise", action="append", help="only this exercise (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the implementations and stop")
    args = parser.parse_args(argv)
    if args.list:
        for name, impls in implementations().items():
            print(name, *(label for label, _ in impls), sep="\n  ")
        return 0
    start = time.perf_counter()
    results = run(range(args.seeds), args.exercise, args.jobs)
    print(table(results))
    failures = [f"{r.name}: {f}" for r in results for f in r.failures]
    for line in failures[:30]:
        print("FAIL", line)
    print(f"{sum(r.runs for r in results)} runs of {len(results)} exercises, "
          f"{len(failures)} failed cases, {time.perf_counter() - start:.0f} s wall "
          f"with {args.jobs} job(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
