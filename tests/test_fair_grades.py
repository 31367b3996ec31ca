"""One bug costs one exercise: for every exercise X of every lesson, a submission whose only
bug is in X passes every other exercise, in `check()` as in grading.

A submission here is the solution notebook's own definitions (its imports and top-level
`def`s, run in one namespace, as a notebook runs them) with X replaced by a version whose
every answer is off. The exercises that call X (`Exercise.uses`) then fail as written and
are judged again with correct versions of what they call; every check of the lesson but
X's must pass, so the score is the lesson's points minus X's. An exercise that calls X
without declaring it fails here.
"""

import ast
import os
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

import nnlib
from autograder import given, registry
from autograder.cases import SEED_ENV
from autograder.checker import CheckFailed, check
from autograder.course import find_root, source_notebook

ROOT = find_root(Path(__file__).parent)
LESSONS = sorted(p.name for p in (ROOT / "solutions").iterdir()
                 if registry.all_exercises(p.name))
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def definitions(lesson: str) -> dict:
    """The namespace of the lesson's solution notebook, holding only what its imports and
    top-level definitions make (its demonstrations are not run)."""
    namespace: dict = {"__name__": "__main__"}
    graded = {ex.name for ex in registry.all_exercises(lesson)}
    nb = nbformat.read(source_notebook(ROOT, lesson), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith(("%", "!")):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, KEPT):
                try:
                    exec(compile(ast.Module([node], []), f"<{lesson}>", "exec"), namespace)  # noqa: S102
                except NameError:  # a widget's callback, decorated with the demo's values
                    assert node.name not in graded, f"{node.name} could not be defined"
    return namespace


def off(value):
    """Every number of `value` changed: the answer of a function with a bug."""
    if isinstance(value, (bool, np.bool_)):
        return not value
    if isinstance(value, (int, float, np.number)):
        return value + 1
    if isinstance(value, np.ndarray):
        return ~value if value.dtype == bool else value + 1
    if isinstance(value, (list, tuple)):
        return type(value)(off(v) for v in value) if value else [0]
    if isinstance(value, dict):
        return {k: off(v) for k, v in value.items()}
    if hasattr(value, "__next__"):
        return off(list(value))
    return None


def with_bug(namespace: dict, name: str) -> None:
    """Replace `name` in `namespace` by a function whose every answer is off."""
    namespace["_right_" + name] = namespace[name]
    exec(f"def {name}(*args, **kwargs):\n"  # noqa: S102 - a student's cell, in effect
         f"    return _off(_right_{name}(*args, **kwargs))", namespace)


def passing(namespace: dict, lesson: str) -> set[str]:
    """The exercises of `lesson` whose public and hidden checks both pass."""
    passed = set()
    for ex in registry.all_exercises(lesson):
        try:
            for hidden in (False, True):
                check(ex.name, namespace[ex.name], hidden=hidden)
        except CheckFailed:
            continue
        passed.add(ex.name)
    return passed


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_bug_in_one_exercise_costs_that_exercise_alone(lesson, monkeypatch, capsys):
    monkeypatch.setenv(SEED_ENV, "20261130")
    monkeypatch.chdir(ROOT / "solutions" / lesson)  # check() knows the lesson by its folder
    exercises = registry.all_exercises(lesson)
    total = sum(ex.points for ex in exercises)
    assert passing(definitions(lesson), lesson) == {ex.name for ex in exercises}
    scores = {}
    for ex in exercises:
        namespace = definitions(lesson)
        namespace["_off"] = off
        with_bug(namespace, ex.name)
        passed = passing(namespace, lesson)
        assert ex.name not in passed, f"{ex.name} with every answer off passed its check"
        scores[ex.name] = sum(e.points for e in exercises if e.name in passed)
    assert scores == {ex.name: total - ex.points for ex in exercises}
    assert os.environ[SEED_ENV] == "20261130"


def test_the_dependent_is_told_which_function_to_fix(monkeypatch, capsys):
    monkeypatch.chdir(ROOT / "solutions" / "06-backprop")
    namespace = definitions("06-backprop")
    namespace["_off"] = off
    with_bug(namespace, "dense_backward")
    check("backward", namespace["backward"])
    said = capsys.readouterr().out
    assert said.startswith("✓ backward: right when given correct versions of `dense_backward`")
    assert said.rstrip().endswith("your `dense_backward` fails its own check: fix it first.")
    namespace = definitions("06-backprop")
    check("backward", namespace["backward"])  # with its own right functions: as ever
    assert capsys.readouterr().out.startswith("✓ backward: all")


def test_a_function_that_calls_nnlibs_answer_gains_nothing_from_the_second_run(monkeypatch):
    """The correct versions are bound to the names the notebook uses; nnlib's own answer is
    still refused, with or without them."""
    monkeypatch.setattr(sys.modules["autograder.checker"], "WATCH_REFERENCES", True)
    monkeypatch.chdir(ROOT / "solutions" / "06-backprop")
    namespace = definitions("06-backprop")
    namespace["_off"] = off
    with_bug(namespace, "dense_backward")
    exec("import nnlib.network\n"  # noqa: S102
         "def backward(*args, **kwargs):\n"
         "    return nnlib.network.backward(*args, **kwargs)", namespace)
    with pytest.raises(CheckFailed, match="calls nnlib's reference"):
        check("backward", namespace["backward"])


# ---- the correct versions give away no answer --------------------------------------------

WITH_USES = [(lesson, ex.name) for lesson in LESSONS for ex in registry.all_exercises(lesson)
             if ex.uses]


def _reachable(start) -> list:
    """Every object reachable from `start` through what a function holds (globals, closure,
    defaults, __wrapped__), nnlib's modules and classes, and containers."""
    seen, todo, found = set(), list(start), []
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, types.FunctionType):
            todo += [obj.__globals__, *(c.cell_contents for c in obj.__closure__ or ()),
                     *(obj.__defaults__ or ()), *(obj.__kwdefaults__ or {}).values(),
                     *([obj.__wrapped__] if hasattr(obj, "__wrapped__") else [])]
        elif isinstance(obj, types.ModuleType):
            if obj.__name__.split(".")[0] == "nnlib":
                todo.append(vars(obj))
        elif isinstance(obj, type):
            if obj.__module__.split(".")[0] == "nnlib":
                todo += list(vars(obj).values())
        elif isinstance(obj, dict):
            todo += list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo += list(obj)
        elif isinstance(obj, (staticmethod, classmethod, property)):
            todo += [getattr(obj, a, None) for a in ("__func__", "fget", "fset")]
    return found


@pytest.mark.parametrize(("lesson", "name"), WITH_USES)
def test_the_correct_versions_reach_no_answer_to_the_exercise(lesson, name, monkeypatch):
    """From the correct versions an exercise is judged with again, nothing reaches nnlib's
    version of that exercise, nor of the lesson's graded functions it does not use, nor the
    private helpers only those use: there, they are stubs that raise, or gone."""
    from autograder.grading.sandbox import graded_helpers

    monkeypatch.chdir(ROOT / "solutions" / lesson)
    exercise = registry.get(name)
    withheld = given.withheld(exercise, [ex.reference for ex in registry.all_exercises(lesson)])
    assert exercise.reference in withheld
    uses = given.references(exercise)
    functions = given.load(given.copy_of_nnlib(given.sources(uses, withheld)), uses)
    removed, _ = graded_helpers(Path(nnlib.__file__).parent, list(withheld))
    answers = {tuple(ref.rsplit(".", 1)) for ref in withheld}
    reached = [f for f in _reachable(functions.values()) if isinstance(f, types.FunctionType)
               and f.__module__.split(".")[0] == "nnlib"]
    assert reached
    for f in reached:
        where = (f.__module__, f.__qualname__.split(".")[0])
        assert where not in removed, f"{name}'s correct versions reach {where}"
        if where in answers:
            assert "ReferenceUnavailable" in f.__code__.co_consts, \
                f"{name}'s correct versions reach nnlib's {'.'.join(where)}"


# `backward` gives wrong answers (zeros) unless it can take nnlib's backward from what the
# correct version of `dense_backward` holds: its module's namespace, the module as
# sys.modules or importlib find it by name, the file its loader reads, its closure
ATTEMPTS = {
    "globals": "dense_backward.__globals__.get('backward')",
    "sys.modules": "getattr(sys.modules.get(dense_backward.__module__), 'backward', None)",
    "importlib": "getattr(importlib.import_module(dense_backward.__module__), 'backward')",
    "the loader": "_from_loader(dense_backward.__globals__)",
    "__closure__ and __wrapped__": "getattr(dense_backward, '__wrapped__', None) or next("
                                   "(c.cell_contents for c in dense_backward.__closure__ or ()"
                                   " if callable(c.cell_contents)), None)",
}

STUDENT_BACKWARD = """
import importlib
import sys


def _from_loader(space):
    module = type(sys)("copy")
    loader = space.get("__loader__")
    exec(loader.get_source(space["__name__"]), vars(module))
    return vars(module).get("backward")


def backward(dY_hat, caches, params, activations):
    if getattr(dense_backward, "__module__", "").startswith("nnlib"):
        answer = {attempt}
        if answer is not None:
            return answer(dY_hat, caches, params, activations)
    return [(0 * W, 0 * b) for W, b in params]
"""


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_a_function_that_takes_the_answer_from_the_correct_versions_fails(attempt,
                                                                         monkeypatch):
    monkeypatch.setattr(sys.modules["autograder.checker"], "WATCH_REFERENCES", True)
    monkeypatch.setenv(SEED_ENV, "20261130")
    monkeypatch.chdir(ROOT / "solutions" / "06-backprop")
    namespace = definitions("06-backprop")
    exec(STUDENT_BACKWARD.format(attempt=ATTEMPTS[attempt]), namespace)  # noqa: S102
    for hidden in (False, True):
        with pytest.raises(CheckFailed):
            check("backward", namespace["backward"], hidden=hidden)


def test_a_function_that_calls_nnlib_is_named_to_fix_first(monkeypatch, capsys):
    """The functions an exercise calls are judged for its message as grading judges them:
    a sigmoid that calls nnlib's fails its check, so error's message names it."""
    monkeypatch.setattr(sys.modules["autograder.checker"], "WATCH_REFERENCES", True)
    monkeypatch.chdir(ROOT / "solutions" / "03-error-surface")
    namespace = definitions("03-error-surface")
    exec("import nnlib.activations\n"  # noqa: S102
         "def sigmoid(z):\n"
         "    return nnlib.activations.sigmoid(z)", namespace)
    check("error", namespace["error"])
    said = capsys.readouterr().out
    assert said.startswith("✓ error: right when given correct versions of `sigmoid`")
    assert said.rstrip().endswith("your `sigmoid` fails its own check: fix it first."), said


# ---- a dependent that calls the other graded function, as its text invites ----------------

# lesson: [(exercise, the graded function it calls, its definition calling it)]
CALLING = {
    "02-perceptron": [("perceptron_step", "perceptron_predict", """
def perceptron_step(x, y, w, b, lr=1.0):
    x = np.asarray(x, dtype=float)
    error = y - int(perceptron_predict(x, w, b))
    return w + lr * error * x, b + lr * error
""")],
}


@pytest.mark.parametrize("lesson", sorted(CALLING))
def test_a_bug_costs_one_exercise_when_the_dependent_calls_the_other(lesson, monkeypatch):
    monkeypatch.setenv(SEED_ENV, "20261130")
    monkeypatch.chdir(ROOT / "solutions" / lesson)
    names = {ex.name for ex in registry.all_exercises(lesson)}
    for dependent, dep, source in CALLING[lesson]:
        for bug in (None, dep):
            namespace = definitions(lesson)
            namespace["_off"] = off
            exec(source, namespace)  # noqa: S102
            if bug:
                with_bug(namespace, bug)
            assert passing(namespace, lesson) == names - {bug}, (dependent, bug)
