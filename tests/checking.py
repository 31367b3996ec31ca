"""Shared by the lesson tests: does a function pass or fail the checks of an exercise?

`passes` requires both the public and the hidden check (with whatever hidden seed the test
has set) to pass; `fails` returns the message of the first check that fails.
"""

import sys

import numpy as np

from autograder.checker import CheckFailed, check

# The lesson tests build many wrong answers from nnlib's references (a stand-in for a
# student's own code): judge what they return, not that they call the reference.
# tests/test_integrity.py turns the watch back on where it tests it.
sys.modules["autograder.checker"].WATCH_REFERENCES = False


def messages(name, fn) -> list[str | None]:
    """The failure messages of the public and the hidden check, None where one passes."""
    found = []
    for hidden in (False, True):
        try:
            with np.errstate(all="ignore"):  # the checker records warnings by itself
                check(name, fn, hidden=hidden)
            found.append(None)
        except CheckFailed as failure:
            found.append(str(failure))
    return found


def passes(name, fn) -> None:
    public, hidden = messages(name, fn)
    assert public is None and hidden is None, public or hidden


def fails(name, fn) -> str:
    """The message of the first check (public, else hidden) that fails."""
    failed = [m for m in messages(name, fn) if m]
    assert failed, f"a wrong {name} passed every check"
    return failed[0]
