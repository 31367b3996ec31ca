"""Input validation shared by every nnlib function.

Every public function turns its inputs into float64 arrays through these helpers, so a
bad argument fails at the door with a message that names it and its shape, instead of
later with an obscure broadcasting error.
"""

from __future__ import annotations

import numpy as np


def as_array(x, name: str, ndim: int | tuple[int, ...] | None = None, dtype=np.float64):
    """Return `x` as an ndarray of `dtype`; check its number of dimensions.

    Raises TypeError if `x` cannot be read as numbers and ValueError if `ndim` is given
    and does not match, naming `name` and the shape received.
    """
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of numbers, got {type(x).__name__}") from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    return arr


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError unless `a` and `b` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )


def as_rng(rng) -> np.random.Generator:
    """Turn None, an int seed or a Generator into a `np.random.Generator`."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {type(rng).__name__}")
