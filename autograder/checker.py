"""`check(name, fn)`: instant, specific feedback on a graded function.

In a lesson, a test cell reads::

    check("sigmoid", sigmoid)                  # the public cases, shown to students
    ### BEGIN HIDDEN TESTS
    check("sigmoid", sigmoid, hidden=True)     # randomized cases, present only when grading
    ### END HIDDEN TESTS

A pass prints one line. A failure raises `CheckFailed` with a message that names the
case, the first wrong element and, when it recognises it, the likely cause; the cell
fails, so nbgrader scores it zero. A function that calls earlier graded functions
(`Exercise.uses`) and fails is checked once more with correct versions of those: if it
passes then, the check passes and says which of them to fix (`autograder.given`), as
grading does.

In `nncourse grade`'s kernels (NNCOURSE_COLLECT set) `check` does nothing: the grader
runs the student's functions itself and judges their outputs in its own process
(`autograder.grading`).
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import os
from pathlib import Path

import numpy as np

from autograder import given, registry
from autograder.cases import cases_for
from autograder.judge import call_text, judge, parameter_names, run_case

COLLECT_ENV = "NNCOURSE_COLLECT"


# Whether check() fails a function that calls nnlib's graded functions, as grading does (its
# kernel has them stubbed). The course's own tests turn it off to judge wrong answers they
# build from the references; turning it off in a notebook changes nothing in grading.
WATCH_REFERENCES = True


class CheckFailed(AssertionError):
    """A graded function gave a wrong answer; the message says what and where."""


@functools.cache
def _graded_code(lessons: tuple[str, ...]) -> frozenset:
    refs = sorted({ex.reference for lesson in lessons for ex in registry.all_exercises(lesson)})
    found = set()
    for ref in refs:
        module, _, attr = ref.rpartition(".")
        fn = getattr(importlib.import_module(module), attr, None)
        if getattr(fn, "__code__", None) is not None:
            found.add(fn.__code__)
    try:  # the private helpers that only graded functions use, as grading removes them
        import nnlib
        from autograder.grading.sandbox import graded_helpers

        removed, _ = graded_helpers(Path(nnlib.__file__).parent, refs)
    except Exception:  # noqa: BLE001 - without the analysis, the references alone count
        removed = set()
    for module, attr in removed:
        fn = getattr(importlib.import_module(module), attr, None)
        if getattr(fn, "__code__", None) is not None:
            found.add(fn.__code__)
        elif isinstance(fn, type):  # a private class, e.g. nnlib.autodiff._Value: its methods
            found |= {m.__code__ for m in vars(fn).values() if hasattr(m, "__code__")}
    return frozenset(found)


def _lessons(exercise: registry.Exercise) -> tuple[str, ...]:
    """The lessons whose grading `check()` mirrors: the one being worked on, when a lesson's
    notebook runs in its own folder, named after it; elsewhere every lesson of the exercise."""
    here = Path.cwd().name
    return (here,) if here in exercise.lessons else tuple(exercise.lessons)


def graded_code(exercise: registry.Exercise) -> frozenset:
    """The code of nnlib's graded functions of the lesson being worked on and of their
    private helpers: what grading that lesson stubs or removes from the kernel. Calling one
    from a graded function fails `check()` as it fails grading (`judge.run_case` watches for
    them)."""
    return _graded_code(_lessons(exercise))


def check(name: str, fn, hidden: bool = False) -> None:
    """Run the public (or hidden) cases of exercise `name` on `fn`; raise CheckFailed on failure."""
    __tracebackhide__ = True
    if os.environ.get(COLLECT_ENV):
        print(f"{name}: graded by the grader, outside this kernel.")
        return
    exercise = registry.get(name)
    if not callable(fn):
        raise CheckFailed(f"check({name!r}, ...) needs your function itself, "
                          f"got {type(fn).__name__}")
    if (getattr(fn, "__module__", None) or "").split(".")[0] == "nnlib":
        raise CheckFailed(f"✗ {name}: this is nnlib's function, not yours; "
                          "define your own and check that one")
    cases = cases_for(exercise, hidden)
    references = graded_code(exercise) if WATCH_REFERENCES else frozenset()
    report = judge(exercise, cases, [run_case(fn, c, references) for c in cases], hidden)
    if not report.passed and exercise.uses and _passes_given(exercise, fn, cases, references,
                                                             hidden):
        print(given.note(exercise, _failing(exercise, fn, references, hidden)))
        return
    message = report.message(cases)
    if not report.passed:
        raise CheckFailed(message)
    print(message)


def show_case(name: str, number: int, namespace: dict | None = None) -> None:
    """Put the arguments of public case `number` of exercise `name` (numbered as check()'s
    messages number them) into the notebook's namespace, under the parameters' names, and
    print the call that reproduces the case, e.g. `show_case("backward", 2)`."""
    exercise = registry.get(name)
    cases = cases_for(exercise, hidden=False)
    if not 1 <= number <= len(cases):
        raise ValueError(f"{name} has public cases 1 to {len(cases)}, not {number}")
    case = cases[number - 1]
    if namespace is None:
        shell = _shell()
        namespace = shell.user_ns if shell is not None else inspect.stack()[1].frame.f_globals
    names = parameter_names(exercise.signature)[:len(case.args)]
    values = dict(zip(names, case.args, strict=True)) | dict(case.kwargs)
    namespace.update(copy.deepcopy(values))
    note = f" ({case.note})" if case.note else ""
    print(f"case {number} of {name}{note}: defined {', '.join(values)}")
    for key, value in values.items():
        print(f"  {key} = {_describe(value)}")
    keywords = [f"{k}={k}" for k in case.kwargs]
    print(f"{name}({', '.join(names + keywords)})")


def _describe(value) -> str:
    """One line on an argument: its text when short, else its type and shape."""
    text = call_text("", registry.Case((value,)))
    if text and len(text) <= 90:
        return text[1:-1]
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if callable(value):
        inner = getattr(value, "func", value)
        return f"a function ({type(value).__name__} of {getattr(inner, '__name__', '?')})"
    return f"a {type(value).__name__}"


def _passes_given(exercise, fn, cases, references, hidden: bool) -> bool:
    """Whether `fn` passes with correct versions of the graded functions it calls, loaded
    from the copy of nnlib grading loads them from (`given.sources`): the exercise's own
    reference and the lesson's other graded functions it does not use are stubs there."""
    uses = given.references(exercise)
    lesson = [ex.reference for name in _lessons(exercise)
              for ex in registry.all_exercises(name)]
    folder = given.copy_of_nnlib(given.sources(uses, given.withheld(exercise, lesson)))
    functions = given.load(folder, uses)
    with given.bound(_namespace(fn), functions):
        outcomes = [run_case(fn, c, references) for c in cases]
    return judge(exercise, cases, outcomes, hidden).passed


def _failing(exercise, fn, references, hidden: bool) -> list[str]:
    """The functions `exercise` calls, as the student wrote them, that fail their own checks
    even with correct versions of what they call in turn: the ones to fix. They are judged
    as grading judges them: under the same watch on nnlib's graded functions (`references`),
    and only those graded in the lesson (grading judges no other)."""
    namespace = _namespace(fn)
    graded = {ex.name for lesson in _lessons(exercise) for ex in registry.all_exercises(lesson)}
    failing = []
    for name in given.uses(exercise):
        own, dep = namespace.get(name), registry.get(name)
        if name not in graded or not callable(own):
            continue
        cases = cases_for(dep, hidden)
        if not judge(dep, cases, [run_case(own, c, references) for c in cases],
                     hidden).passed and not (
                dep.uses and _passes_given(dep, own, cases, references, hidden)):
            failing.append(name)
    return failing


def _namespace(fn) -> dict:
    """Where `fn` reads the functions it calls: its globals, or the notebook's namespace for a
    callable without them (a functools.partial, an np.vectorize), as grading's `collect` has it."""
    shell = _shell()
    return getattr(fn, "__globals__", shell.user_ns if shell is not None else {})


def _shell():
    """The IPython shell this runs in, or None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _show_check_failure(shell, etype, value, tb, tb_offset=None):
    """Show a failed check as its message alone, without a traceback through the checker."""
    stb = [f"\x1b[31m{value}\x1b[0m"]
    shell._showtraceback(etype, value, stb)
    return stb


def _install_ipython_handler() -> None:
    shell = _shell()
    if shell is not None:
        shell.set_custom_exc((CheckFailed,), _show_check_failure)


_install_ipython_handler()
