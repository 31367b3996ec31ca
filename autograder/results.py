"""`project` helpers for the type of a result: a number, an array, a tuple of arrays.

The judge compares values: it accepts any size-1 result where a number is expected and a
list where an array is expected. Where the type matters (a loss is printed with
`f"{loss:.3f}"`, a step is subtracted from an array in the next update), an exercise
projects its results through these, so a result of the wrong type becomes a mismatch whose
message names what came back.
"""

from __future__ import annotations

import numpy as np

from autograder.judge import Unserializable


def kind(x) -> str:
    """What `x` is, in a few words: 'list', 'ndarray of shape (1,)'."""
    return f"ndarray of shape {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__


def number(out, case=None):
    """One number: a list [v], an array of shape (1,) or a bool is a mismatch."""
    if out is None or (isinstance(out, (int, float, np.integer, np.floating))
                       and not isinstance(out, (bool, np.bool_))):
        return out
    if isinstance(out, np.ndarray) and out.ndim == 0:
        return out
    return Unserializable(kind(out))


def array(out, case=None):
    """An array: a list or a tuple is a mismatch; anything else is compared as it is."""
    if isinstance(out, (list, tuple)):
        return Unserializable(f"{kind(out)}, not an array,")
    return out


def arrays(out, case=None):
    """Each item of a returned tuple or list is an array (see `array`)."""
    return type(out)(array(x) for x in out) if isinstance(out, (list, tuple)) else out


def then(first, second):
    """The projection `second` applied after `first`."""
    return lambda out, case: second(first(out, case), case)
