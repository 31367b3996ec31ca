"""The verifiers of answers that are not unique, and the helpers the lesson registries share.

A `verify` (see `registry.Exercise.verify`) replaces the comparison with nnlib's output where
a right answer is a random draw (a shuffle, a dropout mask, initial weights) or where any of
several formulas is right (a gradient). It judges the properties every right answer has:
exact properties (shapes, values, a partition) that a right answer always has, and, on the
large cases, statistics of the draw. Each statistical test has a bound, computed in the
comment next to its limits, on the probability that a right answer fails it:

* `verify_revived` (04-activations), `verify_staircase` and `verify_approximate`
  (05-forward) are not statistical: they check the returned network's outputs (every dead
  unit active on half of the rows, the staircase's levels, the max error on a grid);
* `verify_minibatches` (08-optimizers): at most `succession_alarm(m)` + BLOCK_ALARM per
  case, below 2.3e-11 + 2 (m − 2) / 16! + 1e-12;
* `verify_dropout` (09-regularization): below 1e-12 per large case;
* `verify_init` (09-regularization): below 1e-11 per large case;
* `gradient_verify` (09-regularization) is not statistical: it compares with nnlib's backward
  pass and with central differences of the forward pass, within tolerances far above their
  rounding errors;
* `verify_trained` (10-training) is not statistical either: it replays the recorded steps
  of training and measures the replayed network on rows the student never had.

The usual wrong variants fail these tests for sure. The case builders draw from the case's
generator in a fixed order, so a hidden seed always gives the same cases.

A grading kernel has none of this: the sandbox leaves the whole `autograder` package out and
builds the kernel's runtime from a list (`grading.sandbox.build_runtime`), as it does for
the lesson modules; cases hold only NumPy and nnlib objects, never a function from here.
"""

from math import comb, factorial, sqrt
from typing import NamedTuple

import numpy as np

from autograder.judge import compare
from autograder.registry import TOLERANCES, Case
from nnlib.activations import ACTIVATIONS
from nnlib.approximation import GRID_POINTS
from nnlib.blocks import TrainingBlocks, digest, replay
from nnlib.network import forward

# ---- helpers ------------------------------------------------------------------------------


def floats(x):
    """`x` as an array of floats (a student's lists and ints alike)."""
    return np.asarray(x, dtype=float)


def random_shape(rng, ndim, high):
    """A shape of `ndim` sides, each drawn from 1, ..., high − 1."""
    return tuple(int(n) for n in rng.integers(1, high, size=ndim))


def random_params(rng, sizes, scale=None, bias_scale=1.0):
    """The list [(W1, b1), ..., (WL, bL)] of a network of layer widths `sizes`: normal draws
    with W(l) of shape (n_l, n_(l-1)) and standard deviation 1, or scale / √n_(l-1) when
    `scale` is given, and b(l) of shape (n_l,) and standard deviation `bias_scale`; drawn in
    the order W1, b1, W2, b2, ..."""
    return [(rng.normal(scale=1.0 if scale is None else scale / np.sqrt(n_in),
                        size=(n_out, n_in)), rng.normal(scale=bias_scale, size=n_out))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


def random_layer(rng, m, n_in, n_out):
    """(A_prev, W, b) of a dense layer: a batch of m samples of n_in inputs, W (n_out, n_in)
    and b (n_out,), standard normal, drawn in that order."""
    return (rng.normal(size=(m, n_in)), rng.normal(size=(n_out, n_in)),
            rng.normal(size=n_out))


def random_one_hot(rng, rows, K):
    """One-hot targets of K classes, uniform: an array of shape (*rows, K) (rows an int or a
    shape)."""
    return np.eye(K)[rng.integers(0, K, size=rows)]


def neighbour_pairs(X, axis):
    """The disjoint pairs of neighbours (0, 1), (2, 3), ... along `axis` of X, as the two
    stacks (X[0], X[2], ...) and (X[1], X[3], ...): for independent entries the pairs are
    independent of each other, so their means obey Hoeffding's and Chernoff's bounds."""
    pairs = np.moveaxis(X, axis, 0)
    half = pairs.shape[0] // 2
    return pairs[0:2 * half:2], pairs[1:2 * half:2]


# ---- minibatches: a partition of range(m), shuffled ---------------------------------------

# A shuffled epoch fails when this many neighbours are consecutive indices (i, i + 1), or
# this many are (i, i − 1). For a uniform random order of n indices
# P(#(i, i + 1) neighbours ≥ k) ≤ C(n − 1, k) (n − k)! / n! = (n − k) / (n k!) < 1 / k!
# (union bound over the k pairs glued together), so a right answer fails this test with
# probability below 2 / 14! ≈ 2.3e-11. An unshuffled epoch has n − 1 such neighbours.
RUN_LIMIT = 14
# The test that the batches are blocks of consecutive indices is made only where it would
# fail a uniform random order with probability below this.
BLOCK_ALARM = 1e-12
# The same bound holds for neighbours (i, i + d) for any fixed d (a chain i, i + d, ...), so a
# shuffled epoch also fails when one other difference d (|d| ≥ 2) occurs this often between
# neighbours: a deterministic scramble such as "the even indices, then the odd ones" or a
# stride repeats one difference almost everywhere. Union bound over the 2(n − 2) values of d.
STRIDE_LIMIT = 16


def succession_alarm(n: int) -> float:
    """Bound on the probability that a uniform random order of n indices fails the tests
    of neighbours: consecutive indices (either direction), or one other difference d."""
    ones = 2.0 * max(n - RUN_LIMIT, 0) / (n * factorial(RUN_LIMIT))
    others = 2.0 * max(n - 2, 0) * max(n - STRIDE_LIMIT, 0) / (n * factorial(STRIDE_LIMIT))
    return ones + others


def block_alarm(m: int, batch_size: int) -> float:
    """Bound on the probability that every full batch of a uniform random epoch is a block
    of consecutive indices.

    Batch j is a uniform draw of batch_size of the r = m − j·batch_size indices left, of
    which at most r − batch_size + 1 subsets are blocks. 1.0 when the test says nothing
    (batches of one index, or fewer than two batches).
    """
    if batch_size < 2 or m < 2 * batch_size:
        return 1.0
    p = 1.0
    for r in range(m, batch_size - 1, -batch_size):
        p *= (r - batch_size + 1) / comb(r, batch_size)
    return p


def minibatches_call(case: Case):
    """(m, batch_size, shuffle) of a case of minibatches(m, batch_size, shuffle=True, rng=None)."""
    names = ("m", "batch_size", "shuffle", "rng")
    given = {**dict(zip(names, case.args)), **case.kwargs}
    return int(given["m"]), int(given["batch_size"]), bool(given.get("shuffle", True))


def verify_minibatches(output, case: Case) -> str | None:
    """`verify` of minibatches(m, batch_size, shuffle=True, rng=None): None if `output` is a
    right answer for `case`, else what is wrong with it.

    Every right answer is a list of integer index arrays of the sizes batch_size, ...,
    batch_size, m mod batch_size (if not 0) that together hold each of 0, ..., m − 1 once;
    in the order 0, 1, ..., m − 1 when shuffle is False. When shuffle is True the order is
    random, and two tests fail an order that was not shuffled: too many neighbours that are
    consecutive indices (see RUN_LIMIT), and batches that are all blocks of consecutive
    indices (only where `block_alarm` < BLOCK_ALARM). A right answer fails them with
    probability at most `succession_alarm(m)` + BLOCK_ALARM per case.
    """
    m, size, shuffle = minibatches_call(case)
    if isinstance(output, np.ndarray) and output.ndim == 2:
        output = list(output)
    if not isinstance(output, (list, tuple)):
        return ("the result should be a list of index arrays, one per batch; got "
                f"{type(output).__name__}")
    want = [size] * (m // size) + ([m % size] if m % size else [])
    batches = []
    for i, batch in enumerate(output):
        try:
            batch = np.asarray(batch)
        except (ValueError, TypeError):
            return f"batch {i} is not an array of indices"
        if batch.ndim != 1 or batch.dtype.kind not in "iu":
            kind = f"holds {batch.dtype}" if batch.ndim == 1 else f"has shape {batch.shape}"
            return (f"batch {i} {kind}: each batch should be a 1-D array of integer "
                    "indices (such as a slice of np.arange(m) or of a permutation)")
        batches.append(batch)
    if len(batches) != len(want):
        hint = ""
        if m % size and len(batches) == m // size:
            hint = (f": the last, smaller batch of the m mod batch_size = {m % size} "
                    "left-over samples is missing")
        return (f"there are {len(batches)} batches; there should be ⌈m / batch_size⌉ = "
                f"⌈{m} / {size}⌉ = {len(want)}{hint}")
    for i, (batch, n) in enumerate(zip(batches, want)):
        if len(batch) != n:
            return (f"batch {i} has {len(batch)} indices but should have {n}: every batch "
                    "has batch_size indices except the last, which holds the "
                    "m mod batch_size left over")
    order = np.concatenate(batches) if batches else np.zeros(0, dtype=int)
    if order.size and (order.min() < 0 or order.max() >= m):
        bad = order[(order < 0) | (order >= m)][0]
        return f"index {bad} is not a sample index: they run from 0 to m − 1 = {m - 1}"
    counts = np.bincount(order, minlength=m)
    if np.any(counts != 1):
        twice, missing = np.flatnonzero(counts > 1), np.flatnonzero(counts == 0)
        return (f"index {twice[0]} appears {counts[twice[0]]} times and {missing[0]} not at "
                "all: an epoch visits every sample exactly once (a permutation of "
                "range(m), not draws with replacement)")
    if not shuffle:
        if np.any(order != np.arange(m)):
            first = int(np.flatnonzero(order != np.arange(m))[0])
            return (f"with shuffle=False the samples come in order 0, 1, ..., m − 1, but "
                    f"position {first} holds index {order[first]}")
        return None
    steps = np.diff(order)
    for step, words in ((1, "(i, i + 1)"), (-1, "(i + 1, i)")):
        runs = int(np.sum(steps == step))
        if runs >= RUN_LIMIT:
            return (f"the order is not shuffled: {runs} of the {m - 1} neighbours are "
                    f"consecutive indices {words}, where a random order has about one; "
                    "draw a permutation of all m indices from rng before cutting batches")
    values, counts = np.unique(steps[np.abs(steps) >= 2], return_counts=True)
    if counts.size and counts.max() >= STRIDE_LIMIT:
        d = int(values[np.argmax(counts)])
        return (f"the order is not shuffled: {counts.max()} of the {m - 1} neighbours differ "
                f"by the same {d} (i, i {'+' if d > 0 else '−'} {abs(d)}), where a random "
                "order has a few at most; draw a permutation of all m indices from rng")
    full = [b for b in batches if len(b) == size]
    if block_alarm(m, size) < BLOCK_ALARM and all(np.ptp(b) == size - 1 for b in full):
        return ("every batch is a block of consecutive indices: shuffle the samples, "
                "not only the order of the batches or the order inside each batch")
    return None


# ---- dropout_forward: a Bernoulli(p) mask -------------------------------------------------

# The large cases: m x n = 500 x 200 = 100,000 units, positive activations A ~ U(0.5, 1.5).
# For a right answer r_ij ~ Bernoulli(p) independently of A, so by Hoeffding's inequality
#  (a) kept fraction: P(|mean(r) - p| >= 0.02) <= 2 exp(-2 * 1e5 * 0.02^2) = 2e^-80 ≈ 4e-35;
#  (b) each of the 4 x 4 blocks of 125 x 50 = 6,250 units:
#      P(|mean - p| >= 0.05) <= 2 exp(-2 * 6250 * 0.05^2) = 2e^-31.25 ≈ 5.4e-14, x 16 ≈ 9e-13;
#  (c) independence of A: S = sum (r_ij - p) A_ij has independent terms in [-p A, (1-p) A],
#      so P(|S| >= c sqrt(sum A^2)) <= 2 exp(-2 c^2) = 2e^-42.3 ≈ 4e-19 for c = 4.6.
#  (d) neighbours: the disjoint pairs of rows (2i, 2i + 1) give 250 x 200 = 50,000
#      independent indicators [r_2i,j = r_2i+1,j] of mean q = p² + (1 - p)², so
#      P(|mean - q| >= 0.03) <= 2 exp(-2 * 50000 * 0.03^2) = 2e^-90; the same for the
#      500 x 100 pairs of columns;
#  (e) row counts: c_i = Σ_j r_ij ~ Binomial(200, p) independently, X_i = (c_i - 200 p)² / σ²
#      (σ² = 200 p (1 - p) >= 25.5 for p in [0.15, 0.95]) has E X = 1 and E X² = 3 +
#      (1 - 6 p (1 - p)) / σ² <= 3.04, so Maurer's bound for non-negative variables gives
#      P(mean X <= 0.25) <= exp(-500 * 0.75² / (2 * 3.04)) = e^-46.3 ≈ 8e-21.
# A right answer fails a large case with probability below 1e-12; the checks on values
# and masks are exact and cannot fail it. Wrong variants: dropping with probability p
# (fraction 1 - p, off by >= 0.4 at p = 0.8 or 0.3), a fixed pattern (a block at 0 or 1),
# keeping the largest activations (c is about 24 for p = 0.8), one mask shared by every
# row or every column (neighbours agree on all units, while q <= 1 - 2 * 0.15 * 0.85 = 0.745),
# exactly round(p n) units kept in every row (mean X = 0).
LARGE = (500, 200)
FRACTION_TOL, BLOCK_TOL, HOEFFDING_C = 0.02, 0.05, 4.6
PAIR_TOL, ROW_SPREAD = 0.03, 0.25


def mask_problem(A, A_tilde, r, p, inverted):
    """A message when (A_tilde, r) is not r ⊙ A (/ p) with r in {0, 1}, else None."""
    if not np.isin(r, (0.0, 1.0)).all():
        if np.isin(np.round(r * p, 12), (0.0, 1.0)).all():
            return "the mask holds 0 and 1/p; return the 0/1 draw r itself"
        return "the mask must hold only 0 (dropped) and 1 (kept)"
    scale = 1.0 / p if inverted else 1.0
    if np.allclose(A_tilde, r * A * scale, rtol=1e-9, atol=1e-12):
        return None
    causes = [
        (r * A * p, "kept units are scaled by p; inverted dropout divides by p"),
        (r * A, "inverted dropout must divide the kept units by p"),
        (r * A / p, "classic dropout (the slides') keeps the units unchanged in training; "
                    "the scaling by p happens at inference"),
        ((1 - r) * A * scale, "the mask is flipped: r = 1 means kept"),
        (p * A, "this is the inference output p A, not a random training pass"),
    ]
    for value, cause in causes:
        if np.allclose(A_tilde, value, rtol=1e-9, atol=1e-12):
            return f"A_tilde does not match the mask: {cause}"
    return "A_tilde must be r ⊙ A" + (" / p" if inverted else "") + " with your mask r"


def mask_statistics_problem(A, r, p):
    """A message when a large mask does not look like independent Bernoulli(p) draws."""
    kept = float(r.mean())
    if abs(kept - p) >= FRACTION_TOL:
        hint = (": p is the probability of KEEPING a unit" if abs(kept - (1 - p)) < FRACTION_TOL
                else "")
        return f"{kept:.3f} of the units are kept, but p = {p}{hint}"
    m, n = r.shape
    for i in range(4):
        for j in range(4):
            block = r[i * m // 4:(i + 1) * m // 4, j * n // 4:(j + 1) * n // 4]
            if abs(block.mean() - p) >= BLOCK_TOL:
                return (f"the mask is not spread evenly: block ({i}, {j}) keeps "
                        f"{block.mean():.3f} of its units; draw each r_ij independently")
    statistic = float(np.sum((r - p) * A) / np.sqrt(np.sum(A * A)))
    if abs(statistic) >= HOEFFDING_C:
        return ("which units are kept depends on their activations; the mask must be random "
                "and independent of A")
    q = p * p + (1 - p) * (1 - p)
    for axis, what in ((0, "rows (samples)"), (1, "columns (units)")):
        even, odd = neighbour_pairs(r, axis)
        agree = float(np.mean(even == odd))
        if abs(agree - q) >= PAIR_TOL:
            return (f"neighbouring {what} agree on {agree:.3f} of their mask entries instead "
                    f"of about p² + (1 - p)² = {q:.3f}: draw each r_ij independently, not one "
                    "mask shared by all samples or units")
    spread = float(np.mean((r.sum(axis=1) - n * p) ** 2) / (n * p * (1 - p)))
    if spread <= ROW_SPREAD:
        return ("every sample keeps (almost) the same number of units; draw each r_ij "
                "independently with probability p instead of choosing a fixed count")
    return None


def verify_dropout(output, case):
    """`verify` of dropout_forward(A, p, rng=None, inverted=False): None if `output` is a
    right answer for `case`, else what is wrong with it.

    Every right answer is a pair (A_tilde, r) of arrays of A's shape with r in {0, 1} and
    A_tilde = r ⊙ A, divided by p when inverted; with p = 1 every unit is kept. These
    checks are exact and a right answer always passes them. On a case of at least
    LARGE units, r must also look like independent Bernoulli(p) draws independent of A
    (`mask_statistics_problem`), which a right answer fails with probability below 1e-12
    (the computation is above LARGE).
    """
    A, p = floats(case.args[0]), float(case.args[1])
    inverted = bool(case.kwargs.get("inverted", False))
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        return "return the pair (A_tilde, mask)"
    if not all(isinstance(x, np.ndarray) for x in output):
        return "A_tilde and mask must be NumPy arrays"
    try:
        A_tilde, r = floats(output[0]), floats(output[1])
    except (TypeError, ValueError):
        return "A_tilde and mask must be arrays of numbers"
    for name, x in (("A_tilde", A_tilde), ("mask", r)):
        if x.shape != A.shape:
            return f"{name} has shape {x.shape} but A has shape {A.shape}"
    problem = mask_problem(A, A_tilde, r, p, inverted)
    if problem is None and p == 1.0 and not r.all():
        problem = "with p = 1 every unit is kept"
    if problem is None and A.size >= LARGE[0] * LARGE[1]:
        problem = mask_statistics_problem(A, r, p)
    return problem


# ---- xavier_init, he_init: independent weights of a given variance ----------------------

# Statistics on the cases with N = n_in * n_out >= 100,000 weights, for a right answer
# W_ij iid with mean 0 and variance s^2, normal or uniform on [-sqrt(3) s, sqrt(3) s]:
#  (a) V = mean(W^2): for the normal form N V / s^2 ~ chi^2_N, and Chernoff's bound gives
#      P(V / s^2 >= 1.05) <= exp(-N/2 (0.05 - ln 1.05)) = e^-60.5 ≈ 5e-27 and
#      P(V / s^2 <= 0.95) <= exp(-N/2 (-0.05 - ln 0.95)) = e^-64.7 ≈ 8e-29; for the
#      uniform form W^2 in [0, 3 s^2], and Hoeffding gives
#      P(|V / s^2 - 1| >= 0.05) <= 2 exp(-2 N 0.05^2 / 9) = 2e^-55.6 ≈ 1.5e-24;
#  (b) |mean(W)| >= 0.05 s: normal z = 0.05 sqrt(N) >= 15.8, P ≈ 3e-56; uniform (range
#      2 sqrt(3) s): P <= 2 exp(-2 N 0.05^2 / 12) = 2e^-41.7 ≈ 1.6e-18;
#  (c) on every case max |W| < 10 s: normal P(|W_ij| >= 10 s) = 1.5e-23 per weight, below
#      1e-16 for N <= 1e7; uniform never exceeds sqrt(3) s.
#  (d) independence: the disjoint pairs of rows (2i, 2i + 1) give N' >= 48,000 independent
#      products W_2i,j W_2i+1,j of mean 0 (the same for columns); their mean over s² is
#      at least 0.1 in size with probability below 2 min_t exp(-N' (0.1 t + ln(1 - t²) / 2))
#      ≈ 2e^-240 for normal weights, 2 exp(-2 N' 0.1² / 6²) ≈ 4e-12 for uniform ones
#      (products in [-3 s², 3 s²]). Tiled or mirrored rows or columns, or sorted weights,
#      make it close to ±1.
# A right answer fails with probability below 1e-11. The large cases have n_in and n_out
# at least a factor 8 apart, one with n_in < n_out (there Xavier's and He's variances
# differ by a factor (n_in + n_out) / n_in >= 9, and 2/n_out by as much) and one with
# n_in > n_out (there 1/n_in is about half of either target); a wrong variance misses the
# target by 45 % or more on one of them and cannot pass (a), whose own spread is 0.45 %.
MIN_WEIGHTS, VAR_TOL, MEAN_TOL, MAX_SIGMAS, CORR_TOL = 100_000, 0.05, 0.05, 10.0, 0.1


def variance_causes(n_in, n_out, target):
    """{the usual mistake: the variance it gives} for a layer of n_in inputs and n_out units
    whose weights should have variance `target`."""
    xavier, he = 2.0 / (n_in + n_out), 2.0 / n_in
    return {
        "1/n_in": 1.0 / n_in,
        "1/n_out": 1.0 / n_out,
        "2/n_out (the fan-out instead of the fan-in)": 2.0 / n_out,
        "He's 2/n_in": he,
        "Xavier's 2/(n_in + n_out)": xavier,
        f"√{target:.3g}: the slides' N(0, s) has the standard deviation s as second argument, "
        "so s is the square root of the variance": sqrt(target),
        f"{target:.3g}², the variance used as a standard deviation": target**2,
        "a uniform draw whose bound is the standard deviation (U(−s, s) has variance s²/3; "
        "the bound is √3 s)": target / 3,
        "1 (a standard normal, not scaled)": 1.0,
    }


def verify_init(target_of):
    """`verify` of an initializer (n_in, n_out, rng=None) -> W whose weights are independent
    draws of mean 0 and variance target_of(n_in, n_out), normal or uniform.

    On every case W must be an (n_out, n_in) array of finite numbers, none beyond
    MAX_SIGMAS standard deviations s. On a case of at least MIN_WEIGHTS weights also the
    variance (within VAR_TOL of the target), the mean (within MEAN_TOL s of 0) and the
    correlation of neighbouring rows and of neighbouring columns (below CORR_TOL) are
    tested: a right answer fails with probability below 1e-11 (the computation is above
    MIN_WEIGHTS), a wrong variance, a shift, a transposed W or copied rows for sure.
    """
    def verify(W, case):
        n_in, n_out = (int(n) for n in case.args[:2])
        target = target_of(n_in, n_out)
        if not isinstance(W, np.ndarray):
            return f"return W as a NumPy array, not a {type(W).__name__}"
        try:
            W = floats(W)
        except (TypeError, ValueError):
            return "return W as an array of numbers"
        if W.shape != (n_out, n_in):
            hint = ": it is transposed" if W.shape == (n_in, n_out) else ""
            return (f"W has shape {W.shape} but should have shape (n_out, n_in) = "
                    f"{(n_out, n_in)}{hint}")
        if not np.isfinite(W).all():
            return "W holds values that are not finite"
        s = sqrt(target)
        if W.size < MIN_WEIGHTS:
            if np.abs(W).max() >= MAX_SIGMAS * s:
                return (f"a weight of size {np.abs(W).max():.3g} is over {MAX_SIGMAS:g} "
                        f"standard deviations (s = {s:.3g}): the spread is too wide")
            return None
        variance = float(np.mean(W * W))
        if abs(variance / target - 1) >= VAR_TOL:
            message = (f"the weights have variance {variance:.4g} but should have "
                       f"{target:.4g} (standard deviation {s:.4g})")
            for cause, wrong in variance_causes(n_in, n_out, target).items():
                if wrong != target and abs(variance / wrong - 1) < 0.1:
                    return f"{message}; it looks like {cause}"
            return message
        if abs(W.mean()) >= MEAN_TOL * s:
            return f"the weights have mean {W.mean():.3g}; they must be centred at 0"
        if np.abs(W).max() >= MAX_SIGMAS * s:
            return f"a weight is over {MAX_SIGMAS:g} standard deviations from 0"
        for axis, what in ((0, "rows"), (1, "columns")):
            rho = float(np.mean(np.multiply(*neighbour_pairs(W, axis)))) / target
            if abs(rho) >= CORR_TOL:
                return (f"neighbouring {what} of W are correlated (ρ = {rho:.2f}); draw every "
                        "weight independently")
        return None
    return verify


# ---- 04 and 05: dead units revived, and a function approximated by one hidden layer ---


def layer_pairs(out, L):
    """The returned network as float arrays, or a message saying why it cannot be read."""
    if not isinstance(out, (list, tuple)) or len(out) != L:
        return f"return a list of {L} (W, b) pairs, one per layer"
    pairs = []
    for layer in out:
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            return "each layer must be a pair (W, b)"
        pairs.append((np.asarray(layer[0], dtype=float), np.asarray(layer[1], dtype=float)))
    return pairs


def verify_revived(out, case):
    """Weights as given; on the input from the returned layers below, the biases of live
    units as given, and every dead unit active (Z > 0) on at least half of the rows."""
    X, params = case.args
    pairs = layer_pairs(out, len(params))
    if isinstance(pairs, str):
        return pairs
    A = np.asarray(X, dtype=float)
    for l, ((W0, b0), (W, b)) in enumerate(zip(params, pairs), start=1):
        if W.shape != W0.shape or b.shape != b0.shape:
            return f"layer {l}: W and b must keep their shapes {W0.shape} and {b0.shape}"
        if not np.array_equal(W, W0):
            return (f"layer {l}: the weights W changed; revive a unit through its bias only",
                    "changes the weights")
        Z_before = A @ W0.T + b0
        dead = np.all(Z_before <= 0, axis=0)
        changed = np.flatnonzero(~dead & (b != b0))
        if changed.size:
            return (f"layer {l}: the bias of unit {changed[0] + 1} changed, but that unit is "
                    "alive on the input from the revived layers below; keep its bias",
                    "judges the units on the original network instead of on the revived "
                    "layers below" if l > 1 else "changes the biases of live units")
        Z = A @ W.T + b
        share = np.mean(Z > 0, axis=0)
        low = np.flatnonzero(dead & (share < 0.5))
        if low.size:
            j = low[0]
            return (f"layer {l}: unit {j + 1} was dead and is active (Z > 0) on "
                    f"{int(round(share[j] * len(Z)))} of {len(Z)} rows; it must be active on "
                    "at least half of them", "the new bias is too small")
        A = np.maximum(Z, 0.0)
    return None


def staircase_grid(low, high, n):
    """The middle half of each of the n pieces, 9 points each, and the midpoints."""
    h = (high - low) / n
    mid = low + (np.arange(n) + 0.5) * h
    return (mid[:, None] + np.linspace(-h / 4, h / 4, 9)).ravel(), mid


def verify_staircase(values, case):
    """The network's values on the middle of each piece (staircase_grid) at the piece's
    level f(midpoint), within 1e-6 of the levels' size."""
    f, low, high, n = case.args
    _, mid = staircase_grid(low, high, n)
    levels = np.asarray(f(mid), float)
    values = values.reshape(n, 9)
    off = np.abs(values - levels[:, None])
    if off.max() <= 1e-6 * (1 + np.max(np.abs(levels))):
        return None
    i, j = np.unravel_index(np.argmax(off), off.shape)
    h = (high - low) / n
    x = mid[i] + (j - 4) * h / 16
    message = (f"on piece {i} of {n} ([{low + i * h:.4g}, {low + (i + 1) * h:.4g}]) the "
               f"network gives {values[i, j]:.6g} at x = {x:.4g}; the staircase's level there "
               f"is f({mid[i]:.4g}) = {levels[i]:.6g}")
    if np.ptp(values[i]) > 1e-3 * max(1.0, abs(levels[i])):
        return message, ("the output still changes inside a piece: the sigmoids are not steep "
                         "enough (w of about 100 / h makes a step)")
    return message


def verify_approximate(values, case):
    """The network within eps of f on a grid of GRID_POINTS points over [low, high]."""
    f, low, high, eps = case.args
    x = np.linspace(low, high, GRID_POINTS)
    error = np.abs(values - f(x))
    worst = int(np.argmax(error))
    if error[worst] <= eps:
        return None
    message = (f"max |network(x) - f(x)| is {error[worst]:.4g} at x = {x[worst]:.4g} "
               f"(network {values[worst]:.6g}, f {float(f(x[worst])):.6g}); it must be at "
               f"most eps = {eps:.4g} on all of [{low:.4g}, {high:.4g}]")
    if worst in (0, len(x) - 1) and np.max(error[1:-1]) <= eps:
        return message, ("only the end of the interval is off: a step placed on the edge "
                         "gives half its height there")
    return message, "more (narrower) pieces: measure your error on a grid as fine as the check's"


# ---- backward passes: against nnlib and against finite differences ----------------------


def gradient_verify(reference, numeric_columns):
    """`verify` of a backward pass: the output agrees with `reference` elementwise (rtol
    1e-6, and an atol of 1e-9 of the largest expected value, since the step-by-step graph
    and the compact formula round differently where terms cancel), then, column by column,
    with central differences of the forward pass: `numeric_columns(case)` yields
    (where, index into the output, numerical gradient of that part, the size of its terms,
    which is not 0 where the gradient itself is, as when the terms cancel).

    Nothing is random here: a right gradient differs from `reference` by rounding alone, and
    from the central differences by at most 4e-10 of the size of its terms, far below FD_TOL
    (see FD_TOL), so it always passes; a wrong formula misses by 1/m or more.
    """
    tol = TOLERANCES["stable"]

    def verify(output, case):
        args, kwargs = case.args, case.kwargs
        expected = reference(*args, **kwargs)
        scale = max(float(np.max(np.abs(e), initial=0.0)) for e in
                    (expected if isinstance(expected, tuple) else (expected,)))
        verdict = compare(expected, output, {"rtol": tol["rtol"], "atol": 1e-9 * scale + 1e-15},
                          case)
        if not verdict.passed:
            return verdict.message, verdict.cause
        for where, index, numeric, size in numeric_columns(case):
            actual = floats(output[index[0]] if isinstance(expected, tuple) else output)[index[1:]]
            gap = float(np.max(np.abs(actual - numeric)))
            if gap > FD_TOL * size:
                return (f"{where} differs from central finite differences of the forward "
                        f"pass by {gap:.2g}")
        return None
    verify.against_reference = True  # benchmarks/sweep.py sweeps it like a comparison
    return verify


# Central differences of the forward pass, on one column (feature) at a time so that the
# rounding error is relative to that column: with h = 1e-5 in units of the column's spread
# they differ from the exact gradient by at most 4e-10 of the size of its terms (measured
# on 300 hidden seeds; tests/test_lesson09.py), far below FD_TOL, while every wrong
# formula misses by 1/m (40 samples at most) or more.
FD_TOL = 1e-6


# ---- train_digits: the recorded training, replayed ------------------------------------

THRESHOLD = 0.95
MAX_PARAMS = 50_000
KNOWN = (*ACTIVATIONS, "softmax")
# Returned and replayed parameters agree to the last bits when the kernel and the grader
# run the same arithmetic; this leaves room for a BLAS that sums in another order.
REPLAY_RTOL = 1e-6
NOT_TRAINED = ("the model was not trained with the building blocks train_digits was given "
               "(nnlib's MLP or fit, another library, or parameters made or changed outside "
               "blocks.sgd_update)")


def network_problem(params, activations) -> str | None:
    """What is wrong with the network train_digits returned (64 inputs, 10 outputs, at most
    MAX_PARAMS parameters, finite values, one known activation name per layer), or None."""
    if not isinstance(params, (list, tuple)) or not params:
        return "params must be a non-empty list of (W, b) pairs"
    n_in, total = 64, 0
    for l, pair in enumerate(params, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return f"params[{l - 1}] must be a pair (W{l}, b{l})"
        try:
            W, b = (floats(p) for p in pair)
        except (TypeError, ValueError):
            return f"W{l} and b{l} must be arrays of numbers"
        if W.ndim != 2 or W.shape[1] != n_in:
            return (f"W{l} has shape {W.shape} but must be (n_out, {n_in}): layer {l} gets "
                    f"{n_in} inputs" + (" (is W transposed?)" if W.ndim == 2 and
                                         W.shape[0] == n_in else ""))
        if b.shape != (W.shape[0],):
            return f"b{l} has shape {b.shape} but must be ({W.shape[0]},) to match W{l}"
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            return f"W{l} or b{l} holds inf or nan"
        n_in, total = W.shape[0], total + W.size + b.size
    if n_in != 10:
        return f"the last layer has {n_in} outputs but must have 10, one per digit"
    if total > MAX_PARAMS:
        return f"the network has {total} parameters; at most {MAX_PARAMS} are allowed"
    names = [activations] * len(params) if isinstance(activations, str) else activations
    if not isinstance(names, (list, tuple)) or len(names) != len(params):
        return f"activations must name one activation per layer ({len(params)})"
    unknown = [a for a in names if not isinstance(a, str) or a not in KNOWN]
    if unknown:
        return f"unknown activation {unknown[0]!r}; known: {', '.join(KNOWN)}"
    return None


def _array(record: dict, key: str, kind: str) -> np.ndarray:
    a = record.get(key) if isinstance(record, dict) else None
    if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind != kind:
        raise ValueError(f"the record's {key} is damaged")
    return a


def recorded_steps(record, final: list) -> tuple[tuple, list]:
    """(init, steps) for `replay`: the init_params call and the steps of gradient descent
    that, by the blocks' record, lead to the parameters whose digests are `final`. Raises
    ValueError saying where the chain breaks. The record comes from the student's kernel:
    it only says which steps to replay, and the replay decides."""
    out, grad, eta = (_array(record, k, c) for k, c in (
        ("update_out", "u"), ("update_grad", "i"), ("update_eta", "f")))
    params, params_at = _array(record, "grad_params", "u"), _array(record, "grad_params_at", "i")
    rows, rows_at = _array(record, "grad_rows", "i"), _array(record, "grad_rows_at", "i")
    n_grads = len(params_at) - 1
    if not (len(out) == len(grad) == len(eta) and len(rows_at) == n_grads + 1 >= 1
            and params_at[-1] == len(params) and rows_at[-1] == len(rows)
            and np.all(np.diff(params_at) >= 0) and np.all(np.diff(rows_at) >= 0)
            and np.all((grad >= 0) & (grad < n_grads))):
        raise ValueError("the record of the blocks is damaged")
    made_by: dict[int, list[int]] = {}
    for u, d in enumerate(out.tolist()):
        made_by.setdefault(d, []).append(u)
    inits = {}
    for j, item in enumerate(record.get("inits") or []):
        sizes, name, digests = item
        inits.setdefault(tuple(digests.tolist()), (j, [int(n) for n in sizes], str(name)))
    steps, current = [], list(final)
    while tuple(current) not in inits:
        candidates = [int(grad[u]) for u in made_by.get(current[0], [])]
        for g in reversed(candidates):
            before = params[params_at[g]:params_at[g + 1]].tolist()
            picks = [next((u for u in made_by.get(d, []) if grad[u] == g), None)
                     for d in current]
            if len(before) == len(current) and None not in picks:
                break
        else:
            where = ("the parameters you returned" if not steps else
                     f"the parameters {len(steps)} step(s) before the end")
            raise ValueError(f"{where} are not all the result of one step of "
                             "blocks.sgd_update, nor of blocks.init_params")
        steps.append((rows[rows_at[g]:rows_at[g + 1]], eta[picks].tolist()))
        if len(steps) > n_grads:
            raise ValueError("the steps in the record run in a circle")
        current = before
    return inits[tuple(current)], steps[::-1]


class Replayed(NamedTuple):
    """The network the grader's replay of the recorded steps reached."""

    params: list
    activations: str | list
    n_steps: int


def replayed(output, case: Case, task):
    """The `Replayed` network of a checked output of train_digits, or a verdict (what is
    wrong); `task(seed)` gives the case's (X_train, X_val, Y_train, y_val)."""
    if not (isinstance(output, dict) and set(output) == {"returned", "recorded"}):
        return "the blocks recorded nothing: call train_digits with the blocks it is given"
    returned, (record,) = output["returned"], output["recorded"]
    if not isinstance(returned, (list, tuple)) or len(returned) != 2:
        return "return a pair (params, activations)"
    params, activations = returned
    if not (isinstance(activations, str) or (isinstance(activations, (list, tuple)) and all(
            isinstance(a, str) for a in activations))):
        return ("return a pair (params, activations); the second item must be the activation "
                "names, e.g. ['relu', 'softmax']")
    problem = network_problem(params, activations)
    if problem:
        return problem
    seed = case.kwargs["rng"]
    X_train, _, Y_train, _ = task(seed)
    final = [int(digest(a)) for pair in params for a in pair]
    try:
        init, steps = recorded_steps(record, final)
    except ValueError as exc:
        return (f"{exc}: train with blocks.init_params, blocks.forward, blocks.cce_grad, "
                "blocks.backward and blocks.sgd_update, and return the parameters of the "
                "last step as sgd_update returned them", NOT_TRAINED)
    blocks = TrainingBlocks(X_train, Y_train, seed)
    try:
        with np.errstate(all="ignore"):
            again = replay(blocks, init, steps, activations)
    except ValueError as exc:
        return f"replaying the recorded steps failed: {exc}", NOT_TRAINED
    flat = [floats(a) for pair in params for a in pair]
    if not all(a.shape == b.shape and np.allclose(a, b, rtol=REPLAY_RTOL, atol=REPLAY_RTOL)
               for a, b in zip(flat, (a for pair in again for a in pair), strict=True)):
        return ("replaying the recorded steps does not give the parameters you returned",
                NOT_TRAINED)
    return Replayed(again, activations, len(steps))


def accuracy(params, activations, X, y) -> float:
    """The fraction of rows of X whose argmax of `forward` is their label in y."""
    with np.errstate(all="ignore"):
        Y_hat, _ = forward(X, params, activations)
    return float(np.mean(Y_hat.argmax(axis=1) == y))


def verify_trained(task):
    """`verify` of train_digits(X, Y, blocks, rng): None if the steps that produced the
    returned network, replayed by the grader on the rows the case gave, reach a network
    that classifies the rows it held out with accuracy THRESHOLD or more, else what is
    wrong. `task(seed)` gives (X_train, X_val, Y_train, y_val) of the case's seed.

    Nothing here is random: the replay is deterministic, and a network the blocks trained
    gives back its parameters within REPLAY_RTOL; a model made any other way has no chain
    of recorded steps that ends at it (`recorded_steps`), or replays to other parameters.
    """
    def verify(output, case: Case) -> str | tuple[str, str] | None:
        again = replayed(output, case, task)
        if not isinstance(again, Replayed):
            return again
        params, activations, n_steps = again
        _, X_val, _, y_val = task(case.kwargs["rng"])
        acc = accuracy(params, activations, X_val, y_val)
        if acc >= THRESHOLD:
            return None
        return (f"held-out accuracy {acc:.3f} after {n_steps} steps is below {THRESHOLD} on "
                f"the {len(y_val)} digits your function never saw")
    return verify


