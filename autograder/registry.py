"""The exercise registry: one entry per graded function of the course.

An entry says what a student must write (name and signature), what it is compared
against (an nnlib reference, imported by dotted path at the moment of checking), which
cases are shown (`public`) and which are drawn at grading time from a secret seed
(`hidden`), how close is close enough (a class from `tolerances.json`), the points, and
the mistakes worth recognising by name.

Lesson modules in `autograder.exercises` call `register(...)`; `get(name)` loads them on
first use.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlib.datasets import package_file

TOLERANCES: dict[str, dict[str, float]] = {
    k: v
    for k, v in json.loads((Path(__file__).with_name("tolerances.json")).read_text()).items()
    if not k.startswith("_")
}


@dataclass(frozen=True)
class Case:
    """One call: `fn(*args, **kwargs)`. `note` says in words what the case probes."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    note: str = ""
    read_only: bool = False  # the inputs must come back unchanged (see Exercise.pure)
    # the same call with the `rng` argument replaced by another seed (see Exercise.rng)
    reseeded: tuple | None = None
    count_lines: bool = False  # count the Python lines it runs (see Exercise.vectorized)
    raises: str = ""  # the exception the text demands for these inputs, e.g. "ValueError"


@dataclass(frozen=True)
class Exercise:
    """A graded function.

    name        the function's name in the notebook, e.g. "sigmoid"
    lessons     the lessons (assignment ids) that grade it, e.g. ("03-error-surface",);
                a function graded in several lessons has one entry, so one contract
    signature   its parameter list as written in the notebook, e.g. "(z)"
    reference   dotted path of the nnlib function it must agree with
    public      () -> list[Case], the cases `check(name, fn)` runs
    hidden      (rng) -> list[Case], randomized cases for `check(name, fn, hidden=True)`
    tolerance   a key of TOLERANCES
    points      points of its test cell
    mistakes    {description: fn}, wrong implementations worth naming when they match
    project     (output, case) -> data actually compared; default: the output itself.
                Runs on reference and student output alike, in the grader's process.
    strict_warnings  a NumPy warning while running the student's code fails the case
                (for exercises whose point is numerical stability)
    verify      (output, case) -> None, a message, or (message, likely cause); for
                answers that are not unique (random draws, a trained model) it replaces
                the comparison with the reference: the output is judged by the properties
                every right answer has. The reference must pass it like any right answer.
    pure        the function must not change its inputs (the default, for every exercise):
                every case passes copies and compares them bit for bit with the originals
                after the call, so writing into one (`y_hat -= y`, even after
                `flags.writeable = True`) fails the case
    restores    the function may change an input while it runs but must put it back
                exactly (`numerical_gradient`): the same comparison, with a message that
                says so (adding back h is not exact)
    withheld    data files `verify` evaluates on, as "package:relative/path"; while grading
                they read as empty in the student's kernel, so the held-out data is not there
    uses        the names of the earlier graded functions this one may call, as the notebook
                suggests (e.g. `backward` uses `dense_backward`): when it fails, it is judged
                again with correct versions of them (and of what they use), so that one bug
                costs one exercise (`autograder.given`)
    vectorized  for an exercise whose text asks for vectorized code: (rows) -> a Case whose
                batch has that many rows (elements, grid lines); the check runs it at two
                sizes and counts the Python lines each run executes, so a loop over the rows
                (a `for`, a comprehension, np.vectorize) fails with a message saying so

    Randomness: when the signature has a parameter `rng`, every case that passes a seed or
    a Generator as `rng` is run three times: the same seed must give the same result, and
    another seed must give another one on at least one case where nnlib's answer changes
    with the seed (`reseed=False` skips these runs, for a slow exercise). Drawing from
    NumPy's or Python's global random state fails any case.
    """

    name: str
    lessons: tuple[str, ...]
    signature: str
    reference: str
    public: Callable[[], list[Case]]
    hidden: Callable[[Any], list[Case]]
    tolerance: str = "float"
    points: int = 1
    mistakes: dict[str, Callable] = field(default_factory=dict)
    project: Callable[[Any, Case], Any] | None = None
    strict_warnings: bool = False
    verify: Callable[[Any, Case], str | tuple[str, str] | None] | None = None
    pure: bool = True
    restores: bool = False
    withheld: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    vectorized: Callable[[int], Case] | None = None
    reseed: bool = True

    def __post_init__(self):
        if self.tolerance not in TOLERANCES:
            raise ValueError(
                f"exercise {self.name!r}: tolerance {self.tolerance!r} is not one of "
                f"{sorted(TOLERANCES)} (see autograder/tolerances.json)"
            )

    @property
    def reference_fn(self) -> Callable:
        module, _, attr = self.reference.rpartition(".")
        return getattr(importlib.import_module(module), attr)

    @property
    def withheld_paths(self) -> list[Path]:
        return [package_file(entry) for entry in self.withheld]

    @property
    def tol(self) -> dict[str, float]:
        return TOLERANCES[self.tolerance]


_REGISTRY: dict[str, Exercise] = {}
_loaded = False


def register(exercise: Exercise) -> Exercise:
    """Add `exercise`; a second entry with the same name is an error."""
    if exercise.name in _REGISTRY:
        raise ValueError(f"exercise {exercise.name!r} is registered twice")
    _REGISTRY[exercise.name] = exercise
    return exercise


def _load_all() -> None:
    global _loaded
    if not _loaded:
        from autograder import exercises

        for info in pkgutil.iter_modules(exercises.__path__):
            importlib.import_module(f"{exercises.__name__}.{info.name}")
        _loaded = True


def get(name: str) -> Exercise:
    """The registered exercise called `name`; KeyError lists the known names."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"no exercise called {name!r}; registered: {known}") from None


def all_exercises(lesson: str | None = None) -> list[Exercise]:
    """Every registered exercise, or those of one lesson, in registration order."""
    _load_all()
    return [e for e in _REGISTRY.values() if lesson is None or lesson in e.lessons]
