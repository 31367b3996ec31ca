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
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import registry
from autograder.cases import SEED_ENV
from autograder.check import CheckFailed, check
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
    monkeypatch.setattr(sys.modules["autograder.check"], "WATCH_REFERENCES", True)
    monkeypatch.chdir(ROOT / "solutions" / "06-backprop")
    namespace = definitions("06-backprop")
    namespace["_off"] = off
    with_bug(namespace, "dense_backward")
    exec("import nnlib.network\n"  # noqa: S102
         "def backward(*args, **kwargs):\n"
         "    return nnlib.network.backward(*args, **kwargs)", namespace)
    with pytest.raises(CheckFailed, match="calls nnlib's reference"):
        check("backward", namespace["backward"])


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
