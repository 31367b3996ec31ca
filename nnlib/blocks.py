"""The building blocks of a training loop, recording what a loop does with them.

`TrainingBlocks(X, Y, seed)` offers `init_params`, `forward`, `cce_grad`, `backward` and
`sgd_update`, with the signatures of nnlib's functions of these names (lessons 05 to 09),
for training on the rows of one training set (X, Y). They compute what nnlib's do and
note every step of gradient descent: the rows it learnt from, the parameters it started
at and the learning rate. `recording()` returns those notes as plain arrays, and
`replay` runs the steps that lead to a given set of parameters again, from the data
alone. The capstone of 10-training (`train_digits`) is graded this way: the grader
replays the steps that produced the returned network and evaluates what the replay gives.

Arrays are recognised by their values (a 64-bit digest of their shape and float64 values,
`digest`), not by identity, so a loop may copy, unpack or rebuild its lists freely. What
each block accepts:

- `forward(X_batch, params, activations)`: every row of X_batch is a row of X;
- `cce_grad(Y_batch, Y_hat)`: Y_hat is what `forward` returned, Y_batch the rows of Y of
  the same samples;
- `backward(dY_hat, caches, params, activations)`: dY_hat is what `cce_grad` returned,
  with the caches, params and activations of that forward pass;
- `sgd_update(theta, grad, eta)`: grad is one array that `backward` returned, theta the
  parameter it belongs to.

Anything else raises ValueError saying which rule it breaks. A replay starts from the
parameters of an `init_params` call and follows only `sgd_update`s, so parameters made or
changed any other way have no replay.
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import as_array
from nnlib.losses import cce_grad
from nnlib.network import _activation_names, backward, forward, init_params
from nnlib.optim import sgd_update

# Recent forward passes kept for cce_grad and backward (a loop uses the latest one).
RECENT = 16
MAX_INITS = 100
# Rows through backward, in epochs of the training set: bounds the recording and replay.
MAX_EPOCHS = 100
MAX_UPDATES = 200_000


_KEYS: dict[int, np.ndarray] = {}


def _keys(n: int) -> np.ndarray:
    """n odd 64-bit multipliers, the same in every process (drawn from the seed n)."""
    if n not in _KEYS:
        _KEYS[n] = np.random.default_rng(n).integers(0, 2**63, n, dtype=np.uint64) * np.uint64(
            2) + np.uint64(1)
    return _KEYS[n]


def digest(a) -> int:
    """A 64-bit digest of an array's shape and float64 values: sum_i k_i mix(x_i) mod 2^64
    over the values' bits x_i, with odd multipliers k_i and the invertible mix
    x ^ (x >> 31), so that arrays differing in one value always differ, and a shape term.
    A few NumPy operations: several times faster than a cryptographic hash of the bytes,
    and recognising arrays needs no more (what counts is decided by replaying)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    x = a.reshape(-1).view(np.uint64)
    h = int(((x ^ (x >> np.uint64(31))) * _keys(x.size)).sum(dtype=np.uint64))
    return (h * 1_000_003 ^ hash(a.shape)) & 0xFFFF_FFFF_FFFF_FFFF


def _flat(params) -> list:
    """[W1, b1, W2, b2, ...] of a list of (W, b) pairs."""
    return [a for pair in params for a in pair]


def _canonical(params, name: str = "params") -> list[tuple[np.ndarray, np.ndarray]]:
    if not isinstance(params, (list, tuple)) or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in params):
        raise ValueError(f"{name} must be a list of (W, b) pairs")
    return [(np.ascontiguousarray(as_array(W, "W")), np.ascontiguousarray(as_array(b, "b")))
            for W, b in params]


class TrainingBlocks:
    """init_params, forward, cce_grad, backward and sgd_update on the rows of (X, Y),
    recorded (see the module's docstring).

    X: (m, n_0) training inputs; Y: (m, n_L) their one-hot targets; seed: the random seed
    of `init_params` (its j-th call draws from `np.random.default_rng([seed, j])`).
    """

    def __init__(self, X, Y, seed: int):
        self.X = np.ascontiguousarray(as_array(X, "X", 2))
        self.Y = np.ascontiguousarray(as_array(Y, "Y", 2))
        if len(self.X) != len(self.Y):
            raise ValueError(f"X has {len(self.X)} rows but Y has {len(self.Y)}")
        self.seed = int(seed)
        self._rows: dict[bytes, int] | None = None
        self._inits: list = []        # (sizes, init, digests of W1, b1, ...)
        self._grads: list = []        # (digests of the params, row indices)
        self._updates: list = []      # (digest of the result, gradient record, eta)
        self._recent: dict = {}       # digest of Y_hat -> its forward pass
        self._losses: dict = {}       # digest of dY_hat -> digest of its Y_hat
        self._grad_of: dict = {}      # digest of a gradient -> [(gradient record, slot)]
        self._rows_used = 0

    # ---- the blocks ----------------------------------------------------------------------

    def init_params(self, sizes, init="xavier"):
        """`nnlib.network.init_params(sizes, init)`, drawn from this object's random seed."""
        if len(self._inits) >= MAX_INITS:
            raise ValueError(f"init_params may be called at most {MAX_INITS} times")
        params = self.draw(len(self._inits), sizes, init)
        self._inits.append(([int(n) for n in sizes], str(init),
                            [digest(a) for a in _flat(params)]))
        return params

    def draw(self, j: int, sizes, init):
        """The parameters of the j-th call of `init_params(sizes, init)`."""
        return init_params(sizes, init, rng=np.random.default_rng([self.seed, j]))

    def forward(self, X, params, activations):
        """`nnlib.network.forward` on rows of the training set."""
        idx = self._indices(X)
        P = _canonical(params)
        names = _activation_names(activations, len(P))
        Y_hat, caches = forward(self.X[idx], P, names)
        key = digest(Y_hat)
        self._recent.pop(key, None)
        self._recent[key] = ([digest(a) for a in _flat(P)], idx, P, names, caches, Y_hat)
        while len(self._recent) > RECENT:
            self._recent.pop(next(iter(self._recent)))
        return Y_hat, caches

    def cce_grad(self, y, p):
        """`nnlib.losses.cce_grad` of a forward pass's output against its rows' targets."""
        key = digest(p)
        if key not in self._recent:
            raise ValueError("cce_grad(y, p): p must be the Y_hat that forward just returned")
        _, idx, _, _, _, Y_hat = self._recent[key]
        if not np.array_equal(as_array(y, "y"), self.Y[idx]):
            raise ValueError("cce_grad(y, p): y must hold the targets (rows of Y) of the rows "
                             "of X that forward got, in the same order")
        dY = cce_grad(self.Y[idx], Y_hat)
        self._losses[digest(dY)] = key
        return dY

    def backward(self, dY_hat, caches, params, activations):
        """`nnlib.network.backward` of a forward pass, from cce_grad's dY_hat."""
        key = self._losses.get(digest(dY_hat))
        if key is None or key not in self._recent:
            raise ValueError("backward: dY_hat must be what cce_grad returned for the latest "
                             "forward pass")
        P_digests, idx, P, names, own_caches, _ = self._recent[key]
        if [digest(a) for a in _flat(_canonical(params))] != P_digests:
            raise ValueError("backward: params must be the parameters that forward used")
        if _activation_names(activations, len(P)) != names:
            raise ValueError("backward: activations must be those that forward used")
        try:
            same = len(caches) == len(own_caches) and digest(caches[-1][1]) == digest(
                own_caches[-1][1])
        except (TypeError, ValueError, IndexError, KeyError):
            same = False
        if not same:
            raise ValueError("backward: caches must be those that forward returned")
        self._rows_used += len(idx)
        if self._rows_used > MAX_EPOCHS * len(self.X):
            raise ValueError(f"training may pass at most {MAX_EPOCHS} epochs' worth of rows "
                             "through backward")
        grads = backward(cce_grad(self.Y[idx], self._recent[key][5]), own_caches, P, names)
        g = len(self._grads)
        self._grads.append((P_digests, idx))
        for s, a in enumerate(_flat(grads)):
            self._grad_of.setdefault(digest(a), []).append((g, s))
        return grads

    def sgd_update(self, theta, grad, eta):
        """`nnlib.optim.sgd_update` of a parameter by its gradient: theta - eta grad."""
        theta_digest = digest(theta)
        found = [(g, s) for g, s in self._grad_of.get(digest(grad), [])
                 if self._grads[g][0][s] == theta_digest]
        if not found:
            raise ValueError("sgd_update(theta, grad, eta): grad must be one of the arrays "
                             "that backward returned, and theta the parameter it belongs to")
        if len(self._updates) >= MAX_UPDATES:
            raise ValueError(f"training may make at most {MAX_UPDATES} updates")
        eta = float(eta)
        if not np.isfinite(eta):
            raise ValueError(f"eta must be a finite number, got {eta}")
        theta_new = sgd_update(as_array(theta, "theta"), as_array(grad, "grad"), eta)
        self._updates.append((digest(theta_new), found[-1][0], eta))
        return theta_new

    # ---- the record ----------------------------------------------------------------------

    def recording(self) -> dict:
        """What the blocks did, as arrays: every init_params call (sizes, init, digests of
        its arrays), every backward (the digests of its params and its rows, concatenated,
        with start offsets) and every sgd_update (the digest of its result, the backward
        whose gradient it used, eta)."""
        grads = self._grads
        return {
            "inits": [(np.array(sizes, np.int64), init, np.array(d, np.uint64))
                      for sizes, init, d in self._inits],
            "grad_params": np.array([d for P, _ in grads for d in P], np.uint64),
            "grad_params_at": np.cumsum([0, *(len(P) for P, _ in grads)], dtype=np.int64),
            "grad_rows": np.concatenate([idx for _, idx in grads] or [np.zeros(0, np.int64)]),
            "grad_rows_at": np.cumsum([0, *(len(idx) for _, idx in grads)], dtype=np.int64),
            "update_out": np.array([u[0] for u in self._updates], np.uint64),
            "update_grad": np.array([u[1] for u in self._updates], np.int64),
            "update_eta": np.array([u[2] for u in self._updates], np.float64),
        }

    def _indices(self, X) -> np.ndarray:
        """The row numbers in the training set of the rows of X."""
        X = as_array(X, "X", 2)
        if X.shape[1:] != self.X.shape[1:]:
            raise ValueError(f"X must have rows of {self.X.shape[1]} values, got shape {X.shape}")
        if self._rows is None:
            self._rows = {}
            for i, row in enumerate(self.X):
                self._rows.setdefault(row.tobytes(), i)
        idx = [self._rows.get(row.tobytes(), -1) for row in np.ascontiguousarray(X)]
        if -1 in idx:
            raise ValueError(f"forward: row {idx.index(-1)} of X is not a row of the training "
                             "set; train on rows of X as given (no changes, no other data)")
        return np.array(idx, np.int64)


def replay(blocks: TrainingBlocks, init: tuple, steps: list, activations) -> list:
    """The parameters that `steps` reach from the init_params call `init` = (j, sizes,
    init name), each step being (row indices, [eta of W1, b1, W2, ...]): every step is
    forward, cce_grad, backward and sgd_update through `blocks`, as a loop makes them."""
    j, sizes, name = init
    params = blocks.draw(j, sizes, name)
    for idx, etas in steps:
        Y_hat, caches = blocks.forward(blocks.X[idx], params, activations)
        grads = blocks.backward(blocks.cce_grad(blocks.Y[idx], Y_hat), caches, params,
                                activations)
        flat = [blocks.sgd_update(a, g, eta)
                for a, g, eta in zip(_flat(params), _flat(grads), etas, strict=True)]
        params = list(zip(flat[::2], flat[1::2]))
    return params
