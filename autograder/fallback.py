"""Demonstrations that run before an exercise is done.

A lesson's plots and widgets call the student's function so that they show the student's
own work; until the exercise is written they use nnlib's version instead.

`latest(name, fallback)` looks the student's function up at every call, so a widget uses
the newest definition as soon as its cell runs.
"""

from __future__ import annotations

import sys


def notebook_namespace() -> dict:
    """The namespace the notebook's cells run in: IPython's user namespace in a kernel,
    else `__main__`'s globals."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


class latest:  # noqa: N801 - used like a function: `f = latest("step", activations.step)`
    """A callable that calls the notebook's current `name` (looked up at each call), or
    `fallback` while that is not defined yet or still raises NotImplementedError."""

    def __init__(self, name: str, fallback):
        self.name, self.fallback = name, fallback
        self.__name__ = name
        self.__doc__ = getattr(fallback, "__doc__", None)

    def resolve(self):
        """The student's `name` if the notebook defines one (other than this very wrapper,
        e.g. after `step = latest("step", ...)`), else the fallback."""
        fn = notebook_namespace().get(self.name)
        return fn if callable(fn) and fn is not self else self.fallback

    def __call__(self, *args, **kwargs):
        fn = self.resolve()
        if fn is self.fallback:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except NotImplementedError:
            return self.fallback(*args, **kwargs)

    def __repr__(self) -> str:
        return f"latest({self.name!r}, {getattr(self.fallback, '__qualname__', self.fallback)})"
