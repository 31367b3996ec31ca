"""One bug costs one exercise: judging a function with correct versions of those it calls.

An exercise that calls earlier graded functions declares them (`Exercise.uses`). When it
fails, it is run on its cases once more with each of those names, in the namespace its
code reads them from, bound to nnlib's version: `check()` does this in the notebook, and
grading does it in the student's kernel once every function has been collected as written
(`autograder.grading.collect`). If it passes then, it earns its points, and the message
says which of the functions it calls to fix first.

The correct versions come from a copy of nnlib imported under its own module objects
(`load`), never from the nnlib the student's code sees: there, calling a graded reference
still fails (it is watched in the notebook and absent while grading), so a function that
calls nnlib's answer directly gains nothing from this second run.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path

from autograder import registry

_MISSING = object()


def uses(exercise: registry.Exercise) -> list[str]:
    """The graded functions `exercise` calls, and those they call in turn, in order."""
    found: list[str] = []
    todo = list(exercise.uses)
    while todo:
        name = todo.pop(0)
        if name not in found and name != exercise.name:
            found.append(name)
            todo += registry.get(name).uses
    return found


def references(exercise: registry.Exercise) -> dict[str, str]:
    """{name: dotted path of nnlib's version} of what `exercise` uses."""
    return {name: registry.get(name).reference for name in uses(exercise)}


def _ours(module: str) -> bool:
    return module == "nnlib" or module.startswith("nnlib.")


def load(nnlib_dir: Path, wanted: dict[str, str]) -> dict:
    """{name: function}: the functions at the dotted paths of `wanted`, imported from the
    package at `nnlib_dir` as modules of their own. The process's own nnlib modules are put
    back afterwards: what the student's code imports is unchanged."""
    saved = {k: m for k, m in sys.modules.items() if _ours(k)}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(Path(nnlib_dir).parent))
    importlib.invalidate_caches()
    try:
        found = {}
        for name, path in wanted.items():
            module, _, attr = path.rpartition(".")
            found[name] = getattr(importlib.import_module(module), attr)
        return found
    finally:
        sys.path.remove(str(Path(nnlib_dir).parent))
        for k in [k for k in sys.modules if _ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)
        importlib.invalidate_caches()


@contextlib.contextmanager
def bound(namespace: dict, functions: dict):
    """`namespace` with `functions` bound to their names, as it was again afterwards."""
    before = {name: namespace.get(name, _MISSING) for name in functions}
    namespace.update(functions)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def note(exercise: registry.Exercise, failing: list[str]) -> str:
    """What a student reads when `exercise` passes only with correct versions of what it
    uses; `failing` are the ones of theirs that fail their own checks."""
    names = [f"`{n}`" for n in failing]
    fix = ""
    if names:
        which = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        fix = (f"; your {which} fails its own check: fix it first" if len(names) == 1 else
               f"; your {which} fail their own checks: fix them first")
    given = ", ".join(f"`{n}`" for n in uses(exercise))
    return (f"✓ {exercise.name}: right when given correct versions of {given}, so it earns "
            f"its points{fix}.")
