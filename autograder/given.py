"""One bug costs one exercise: judging a function with correct versions of those it calls.

An exercise that calls earlier graded functions declares them (`Exercise.uses`). When it
fails, it is run on its cases once more with each of those names, in the namespace its
code reads them from, bound to nnlib's version: `check()` does this in the notebook, and
grading does it in the student's kernel once every function has been collected as written
(`autograder.grading.collect`). If it passes then, it earns its points, and the message
says which of the functions it calls to fix first.

The correct versions come from a copy of nnlib imported under its own module objects
(`load`), never from the nnlib the student's code sees: there, calling a graded reference
still fails (it is watched in the notebook and stubbed while grading). The copy is made
for the exercise being judged (`sources`, the same for `check()` and grading): in it the
exercise's own reference and every other graded function of its lesson that it does not
use are stubs that raise, as in a grading kernel, and the private helpers only those use
are gone (`autograder.grading.sandbox.stubbed_sources`). So nothing the correct versions
hold, their modules' namespaces included, reaches nnlib's answer to the exercise: a
function that calls it, directly or through them, gains nothing from this second run.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import functools
import hashlib
import importlib
import shutil
import sys
import tempfile
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


def withheld(exercise: registry.Exercise, lesson_references) -> tuple[str, ...]:
    """The graded references stubbed in the copy of nnlib that `exercise`'s correct versions
    come from: those of its lesson (`lesson_references`, what a grading kernel's nnlib has
    stubbed) and its own, but not the ones it uses."""
    used = set(references(exercise).values())
    return tuple(sorted({*lesson_references, exercise.reference} - used))


@functools.lru_cache(maxsize=64)
def _sources(wanted: tuple[str, ...], stubbed: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    import nnlib
    from autograder.grading.sandbox import stubbed_sources

    folder = Path(nnlib.__file__).parent
    changed = stubbed_sources(folder, list(stubbed))
    texts, todo = {}, ["__init__", *(path.split(".")[1] for path in wanted)]
    while todo:
        name = todo.pop()
        if name in texts or not (folder / f"{name}.py").is_file():
            continue
        original = (folder / f"{name}.py").read_text()
        texts[name] = changed.get(f"{name}.py", original)
        for node in ast.walk(ast.parse(original)):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module if not node.level else ".".join(
                    ["nnlib", *([node.module] if node.module else [])])
                found = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            todo += [m.split(".")[1] for m in found if m.startswith("nnlib.")]
    return tuple((f"{name}.py", text) for name, text in sorted(texts.items()))


def sources(uses: dict[str, str], stubbed) -> tuple[tuple[str, str], ...]:
    """((file name, text), ...) of the copy of nnlib that the correct versions `uses` ({name:
    dotted path}) are loaded from: nnlib's __init__, their modules and every nnlib module
    those import, at any depth (the rest of nnlib stays out), with the graded functions
    `stubbed` (`withheld`) raising and the private helpers only they use removed. Cached:
    a grading worker or a notebook makes each copy once."""
    return _sources(tuple(sorted(set(uses.values()))), tuple(sorted(stubbed)))


@functools.cache
def _copies_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="nncourse-given-"))
    atexit.register(shutil.rmtree, root, True)
    return root


@functools.lru_cache(maxsize=64)
def copy_of_nnlib(files: tuple[tuple[str, str], ...]) -> Path:
    """The folder `nnlib` of a copy made of `files` (`sources`), written once per process
    into a temporary folder removed at exit: what `check()` loads correct versions from."""
    folder = _copies_root() / hashlib.sha256(repr(files).encode()).hexdigest()[:16] / "nnlib"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files:
        (folder / name).write_text(text)
    return folder


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
