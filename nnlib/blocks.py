"""The building blocks of a training loop, recording what a loop does with them.

`TrainingBlocks(X, Y, seed)` offers `init_params`, `forward`, `cce_grad`, `backward` and
`sgd_update`, with the signatures of nnlib's functions of these names (lessons 05 to 09),
for training on the rows of one training set (X, Y). They compute what nnlib's do and
note every step of gradient descent: the rows it learnt from, the parameters it started
at and the learning rate. `recording()` returns those notes as plain arrays, and
`replay` runs the steps that lead to a given set of parameters again, from the data
alone. The capstone of 10-training (`train_digits`) is graded this way: the grader
replays the steps that produced the returned network and evaluates what the replay gives.

The arrays the blocks return are read-only. An array a block returned is recognised when
it comes back as that very array, any other array by its values (a 64-bit digest of its
shape and float64 values, `digest`), so a loop may copy, unpack or rebuild its lists
freely. What each block accepts:

- `forward(X_batch, params, activations)`: every row of X_batch is a row of X;
- `cce_grad(Y_batch, Y_hat)`: Y_hat is what `forward` returned, Y_batch the rows of Y of
  the same samples;
- `backward(dY_hat, caches, params, activations)`: dY_hat is what `cce_grad` returned,
  with the caches, params and activations of that forward pass;
- `sgd_update(theta, grad, eta)`: grad is one array that `backward` returned, theta the
  parameter it belongs to.

Anything else raises ValueError saying which rule it breaks. A replay starts from the
parameters of an `init_params` call and follows only `sgd_update`s, so parameters made or
changed any other way have no replay. (Recognising the arrays they returned by identity
spares the blocks most of their work, which a watched loop pays for call by call; an
array made writeable again and changed is still taken for what it was, and the loop then
ends at parameters that the replay of its recorded steps does not give.)
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from nnlib._checks import as_array
from nnlib.losses import cce_grad
from nnlib.network import _activation_names, backward, forward, init_params

# Recent forward and backward passes kept for the blocks that follow (a loop uses the
# latest one), and parameters the blocks returned, recognised when they come back.
RECENT = 16
KNOWN = 64
MAX_INITS = 100
# Rows through backward, in epochs of the training set: bounds the recording and replay.
MAX_EPOCHS = 100
MAX_UPDATES = 200_000

_F64 = np.dtype(np.float64)
_SHIFT = np.uint64(31)
_KEYS: dict[tuple, tuple[np.ndarray, int]] = {}


def _keys(shape: tuple) -> tuple[np.ndarray, int]:
    """Odd 64-bit multipliers in `shape` and the hash of `shape`, the same in every process
    (the multipliers of n values are drawn from the seed n)."""
    if shape not in _KEYS:
        n = math.prod(shape)
        keys = np.random.default_rng(n).integers(0, 2**63, n, dtype=np.uint64) * np.uint64(
            2) + np.uint64(1)
        _KEYS[shape] = keys.reshape(shape), hash(shape)
    return _KEYS[shape]


def digest(a) -> int:
    """A 64-bit digest of an array's shape and float64 values: sum_i k_i mix(x_i) mod 2^64
    over the values' bits x_i, with odd multipliers k_i and the invertible mix
    x ^ (x >> 31), so that arrays differing in one value always differ, and a shape term.
    A few NumPy operations: several times faster than a cryptographic hash of the bytes,
    and recognising arrays needs no more (what counts is decided by replaying)."""
    # no conversion of an array that needs none: a watched loop pays for every call
    if not (type(a) is np.ndarray and a.dtype == _F64 and a.ndim and a.flags.c_contiguous):
        a = np.ascontiguousarray(a, dtype=np.float64)
    try:
        keys, shape_hash = _KEYS[a.shape]
    except KeyError:
        keys, shape_hash = _keys(a.shape)
    x = a.view(np.uint64)
    h = int(np.add.reduce((x ^ (x >> _SHIFT)) * keys, axis=None))
    return (h * 1_000_003 ^ shape_hash) & 0xFFFF_FFFF_FFFF_FFFF


def _row_digests(X: np.ndarray) -> np.ndarray:
    """The digest's sum over each row of a C-contiguous float64 X (m, n): shape (m,)."""
    x = X.view(np.uint64)
    return (x ^ (x >> _SHIFT)) @ _keys((X.shape[1],))[0]


def _float64(a, name: str, ndim: int | None = None) -> np.ndarray:
    """`a` as a C-contiguous float64 array of at least one dimension (`ndim` if given):
    `a` itself when it is one."""
    if (type(a) is np.ndarray and a.dtype == _F64 and a.ndim and a.flags.c_contiguous
            and (ndim is None or a.ndim == ndim)):
        return a
    return np.ascontiguousarray(as_array(a, name, ndim))


def _frozen(arrays) -> None:
    """Make the arrays read-only."""
    for a in arrays:
        a.flags.writeable = False


def _flat(params) -> list:
    """[W1, b1, W2, b2, ...] of a list of (W, b) pairs."""
    return [a for pair in params for a in pair]


def _canonical(params, name: str = "params") -> list[tuple[np.ndarray, np.ndarray]]:
    """A list of (W, b) pairs as C-contiguous float64 arrays."""
    if not isinstance(params, (list, tuple)):
        raise ValueError(f"{name} must be a list of (W, b) pairs")
    P = []
    for pair in params:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"{name} must be a list of (W, b) pairs")
        P.append((_float64(pair[0], "W"), _float64(pair[1], "b")))
    return P


def _holds(params, P) -> bool:
    """Whether params is a list of pairs of the very arrays of P."""
    if not isinstance(params, (list, tuple)) or len(params) != len(P):
        return False
    for pair, (W, b) in zip(params, P):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[0] is W
                and pair[1] is b):
            return False
    return True


def _descend(theta: np.ndarray, grad: np.ndarray, eta: float) -> np.ndarray:
    """`nnlib.optim.sgd_update` on float64 arrays of one shape: theta - eta grad."""
    return theta - eta * grad


class _Pass:
    """One forward pass: its rows, parameters (P, flat; their digests once needed) and
    activations, what it returned, the dY_hat that cce_grad returned for it, and the
    gradients of its latest backward (G, flat; their digests once needed) with the number
    of that backward in the record (g)."""

    def __init__(self, idx, P, names, Y_hat, caches):
        self.idx, self.P, self.names, self.caches = idx, P, names, caches
        self.flat, self.P_digests = _flat(P), None
        self.out = [Y_hat, None]  # Y_hat, dY_hat
        self.out_digests = [None, None]
        self.g, self.G, self.G_digests = None, None, None


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
        self._order = self._sorted = None  # row numbers by row digest, and those digests
        self._inits: list = []        # (sizes, init, digests of W1, b1, ...)
        self._grads: list = []        # (digests of the params, row indices)
        self._updates: list = []      # (digest of the result, gradient record, eta)
        self._passes = deque(maxlen=RECENT)  # the latest forward passes, oldest first
        self._backs = deque(maxlen=RECENT)   # the latest of them that backward went through
        self._known = deque(maxlen=KNOWN)    # (array, digest) of parameters returned
        self._rows_used = 0

    # ---- the blocks ----------------------------------------------------------------------

    def init_params(self, sizes, init="xavier"):
        """`nnlib.network.init_params(sizes, init)`, drawn from this object's random seed."""
        if len(self._inits) >= MAX_INITS:
            raise ValueError(f"init_params may be called at most {MAX_INITS} times")
        params = self.draw(len(self._inits), sizes, init)
        _frozen(_flat(params))
        self._inits.append(([int(n) for n in sizes], str(init),
                            [self._remember(a) for a in _flat(params)]))
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
        Y_hat.flags.writeable = False
        for cache in caches:
            _frozen(cache)
        self._passes.append(_Pass(idx, P, names, Y_hat, caches))
        return Y_hat, caches

    def cce_grad(self, y, p):
        """`nnlib.losses.cce_grad` of a forward pass's output against its rows' targets."""
        fp = self._pass_of(p, 0)
        if fp is None:
            raise ValueError("cce_grad(y, p): p must be the Y_hat that forward just returned")
        y, Y = _float64(y, "y"), self.Y[fp.idx]
        if y.shape != Y.shape or not np.logical_and.reduce(y == Y, axis=None):
            raise ValueError("cce_grad(y, p): y must hold the targets (rows of Y) of the rows "
                             "of X that forward got, in the same order")
        dY = cce_grad(Y, fp.out[0])
        dY.flags.writeable = False
        fp.out[1], fp.out_digests[1] = dY, None
        return dY

    def backward(self, dY_hat, caches, params, activations):
        """`nnlib.network.backward` of a forward pass, from cce_grad's dY_hat."""
        fp = self._pass_of(dY_hat, 1)
        if fp is None:
            raise ValueError("backward: dY_hat must be what cce_grad returned for the latest "
                             "forward pass")
        P_digests = self._param_digests(fp)
        if not _holds(params, fp.P) and [digest(a) for a in _flat(_canonical(params))
                                         ] != P_digests:
            raise ValueError("backward: params must be the parameters that forward used")
        if _activation_names(activations, len(fp.P)) != fp.names:
            raise ValueError("backward: activations must be those that forward used")
        if not _same_caches(caches, fp.caches):
            raise ValueError("backward: caches must be those that forward returned")
        self._rows_used += len(fp.idx)
        if self._rows_used > MAX_EPOCHS * len(self.X):
            raise ValueError(f"training may pass at most {MAX_EPOCHS} epochs' worth of rows "
                             "through backward")
        grads = backward(fp.out[1], fp.caches, fp.P, fp.names)
        fp.g, fp.G, fp.G_digests = len(self._grads), _flat(grads), None
        _frozen(fp.G)
        self._grads.append((P_digests, fp.idx))
        self._backs.append(fp)
        return grads

    def sgd_update(self, theta, grad, eta):
        """`nnlib.optim.sgd_update` of a parameter by its gradient: theta - eta grad."""
        found = self._step_of(theta, grad)
        if found is None:
            raise ValueError("sgd_update(theta, grad, eta): grad must be one of the arrays "
                             f"that backward returned (in its latest {RECENT} calls), and "
                             "theta the parameter it belongs to")
        if len(self._updates) >= MAX_UPDATES:
            raise ValueError(f"training may make at most {MAX_UPDATES} updates")
        eta = float(eta)
        if not np.isfinite(eta):
            raise ValueError(f"eta must be a finite number, got {eta}")
        fp, s = found
        theta_new = _descend(fp.flat[s], fp.G[s], eta)
        theta_new.flags.writeable = False
        self._updates.append((self._remember(theta_new), fp.g, eta))
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

    # ---- recognising arrays ----------------------------------------------------------------

    def _indices(self, X) -> np.ndarray:
        """The row numbers in the training set of the rows of X (the first of equal rows)."""
        X = _float64(X, "X", 2)
        if X.shape[1:] != self.X.shape[1:]:
            raise ValueError(f"X must have rows of {self.X.shape[1]} values, got shape {X.shape}")
        if self._order is None:
            h = _row_digests(self.X)
            self._order = np.argsort(h, kind="stable")
            self._sorted = h[self._order]
        at = np.minimum(self._sorted.searchsorted(_row_digests(X)), len(self.X) - 1)
        idx = self._order[at]
        same = self.X[idx] == X
        if not np.logical_and.reduce(same, axis=None):
            row = int(np.flatnonzero(~np.logical_and.reduce(same, axis=1))[0])
            raise ValueError(f"forward: row {row} of X is not a row of the training set; "
                             "train on rows of X as given (no changes, no other data)")
        return idx

    def _remember(self, a: np.ndarray) -> int:
        """The digest of a parameter array the blocks return, noted for when it comes back."""
        d = digest(a)
        self._known.append((a, d))
        return d

    def _param_digests(self, fp: _Pass) -> list[int]:
        """The digests of a forward pass's parameters."""
        if fp.P_digests is None:
            fp.P_digests = [self._digest(a) for a in fp.flat]
        return fp.P_digests

    def _digest(self, a: np.ndarray) -> int:
        """The digest of an array, remembered if the blocks returned it as a parameter."""
        for known, d in reversed(self._known):
            if known is a:
                return d
        return digest(a)

    def _pass_of(self, a, k: int) -> _Pass | None:
        """The recent forward pass whose Y_hat (k = 0) or dY_hat (k = 1) is `a`."""
        for fp in reversed(self._passes):
            if fp.out[k] is a:
                return fp
        d = digest(a)
        for fp in reversed(self._passes):
            if fp.out[k] is not None:
                if fp.out_digests[k] is None:
                    fp.out_digests[k] = digest(fp.out[k])
                if fp.out_digests[k] == d:
                    return fp
        return None

    def _step_of(self, theta, grad) -> tuple[_Pass, int] | None:
        """(forward pass, slot): the latest backward pass whose gradient of its parameter
        number `slot` is `grad`, that parameter being `theta`."""
        for fp in reversed(self._backs):
            for s, a in enumerate(fp.G):
                if a is grad and fp.flat[s] is theta:
                    return fp, s
        grad_digest, theta_digest = digest(grad), digest(theta)
        for fp in reversed(self._backs):
            if fp.G_digests is None:
                fp.G_digests = [digest(a) for a in fp.G]
            for s, d in enumerate(fp.G_digests):
                if d == grad_digest and self._param_digests(fp)[s] == theta_digest:
                    return fp, s
        return None


def _same_caches(caches, own) -> bool:
    """Whether `caches` are those of a forward pass (its own list, or equal last Z)."""
    if caches is own:
        return True
    try:
        return len(caches) == len(own) and (caches[-1][1] is own[-1][1] or digest(
            caches[-1][1]) == digest(own[-1][1]))
    except (TypeError, ValueError, IndexError, KeyError):
        return False


def replay(blocks: TrainingBlocks, init: tuple, steps: list, activations) -> list:
    """The parameters that `steps` reach from the init_params call `init` = (j, sizes,
    init name), each step being (row indices, [eta of W1, b1, W2, ...]): the arithmetic of
    forward, cce_grad, backward and sgd_update through `blocks` on those rows, as a loop
    makes them. Steps the blocks would refuse (rows not in the training set, more rows
    or updates than they allow, an eta that is not finite) raise ValueError."""
    j, sizes, name = init
    params = blocks.draw(j, sizes, name)
    names = _activation_names(activations, len(params))
    m = len(blocks.X)
    if sum(len(idx) for idx, _ in steps) > MAX_EPOCHS * m:
        raise ValueError(f"the steps pass more than {MAX_EPOCHS} epochs' worth of rows")
    if len(steps) * 2 * len(params) > MAX_UPDATES:
        raise ValueError(f"the steps make more than {MAX_UPDATES} updates")
    for idx, etas in steps:
        idx = np.asarray(idx, np.int64)
        if len(idx) and not (0 <= idx.min() and idx.max() < m):
            raise ValueError("a step's rows are not rows of the training set")
        if not np.all(np.isfinite(etas)):
            raise ValueError("a step's eta is not a finite number")
        P = _canonical(params)
        Y_hat, caches = forward(blocks.X[idx], P, names)
        grads = backward(cce_grad(blocks.Y[idx], Y_hat), caches, P, names)
        flat = [_descend(a, g, float(eta))
                for a, g, eta in zip(_flat(P), _flat(grads), etas, strict=True)]
        params = list(zip(flat[::2], flat[1::2]))
    return params
