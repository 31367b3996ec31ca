"""The notebook's verdict is the grade: for the same submission and the same cases, `check()`
in the notebook and official grading pass or fail the same functions, public and hidden, for
every exercise of every lesson.

A submission is the solution notebook's definitions (`test_fair_grades.definitions`) with one
exercise X changed, or not:

- "solution": nothing changed; it passes both ways.
- "off": X's every answer is off (`test_fair_grades.with_bug`); it fails both ways.
- "mistake k": X is the registry's k-th named mistake, called from a cell of the notebook;
  it fails. The mistakes are built from nnlib's references, as a stand-in for a student's own
  wrong code, so the reference watch is off for them on both sides: `check()` runs with
  WATCH_REFERENCES off (as tests/checking.py does), and grading's kernel calls them on the
  real nnlib (the registry is imported before the stubbed nnlib is).
- "nnlib": X calls nnlib's reference for X; it fails both ways (watched in the notebook,
  stubbed in grading's kernel). "nnlib itself": X is nnlib's reference, imported under X's
  name; it fails both ways.
- "given D", for X that calls earlier graded functions (`Exercise.uses`): the function D that
  X calls (a notebook definition) has every answer off and X itself is right; it passes both
  ways, by the second judgement with correct versions of what X calls. "given D, through a
  partial": the same with X a `functools.partial` of the right function, a callable without
  globals, whose names both sides bind in the notebook's namespace. "given D, which calls
  nnlib": D calls nnlib's reference for D and X itself is right; it passes both ways, and
  both name D as the function to fix first (D is judged under the reference watch in
  `check()` as in grading's kernel).
- "reaching X's answer", for X that calls earlier graded functions: X gives wrong answers
  unless the function D it calls is a correct version (one whose globals are an nnlib
  module's); then it looks for nnlib's X in the modules those globals reach and returns
  what that gives. It fails both ways: the copy of nnlib the correct versions come from
  holds a stub for X (`given.sources`).

For the "given" submissions, grading also collects the functions X calls that the lesson
grades, so that the part of its message that says which of them to fix first ("your D
fails its own check: fix it first") can be compared with the notebook's.

The notebook way: `check(X, fn, hidden=h)`, in the lesson's folder, with the hidden seed SEED,
in a kernel (`Shell`) whose user namespace is the submission.
The grading way, without a real kernel: the grader's cases drawn from the same seed are
pickled as `nncourse grade` does; a subprocess whose nnlib is the lesson's stub
(`stub_reference`) runs the kernel-side `collect` on every submission, then, after `unpack`,
collects the exercises with `uses` again with correct versions bound; this process decodes
the payloads and scores them with `run.judge_execution`. Its verdict on one part (public or
hidden) is `judge_execution` given the cases and outcomes of that part alone.

The grading side's imports (nbgrader, through `run`) are made where they are used, so that
the subprocess, which imports this module, starts quickly.
"""

import contextlib
import functools
import io
import json
import os
import pickle
import secrets
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from test_fair_grades import ROOT, definitions, off, with_bug

import nnlib
from autograder import given, registry
from autograder.cases import SEED_ENV, cases_for
from autograder.checker import CheckFailed, check
from autograder.grading.collect import MIME, decode

SEED = 20250412
LESSONS = sorted({lesson for ex in registry.all_exercises() for lesson in ex.lessons})
PARTS = ("public", "hidden")
# what a grading kernel's environment sets that could change a computation (Sandbox.env)
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "MPLBACKEND": "Agg", "NNCOURSE_COLLECT": "1", "NBGRADER_EXECUTION": "autograde",
              "PYTHONDONTWRITEBYTECODE": "1"}
check_module = sys.modules["autograder.checker"]


def _calls_reference(namespace: dict, name: str) -> None:
    module, _, attr = registry.get(name).reference.rpartition(".")
    exec(f"import {module}\n"  # noqa: S102 - a student's cell, in effect
         f"def {name}(*args, **kwargs):\n"
         f"    return {module}.{attr}(*args, **kwargs)", namespace)


def _is_mistake(namespace: dict, name: str, mistake) -> None:
    namespace["_mistake_" + name] = mistake
    exec(f"def {name}(*args, **kwargs):\n"  # noqa: S102
         f"    return _mistake_{name}(*args, **kwargs)", namespace)


def _is_reference(namespace: dict, name: str) -> None:
    module, _, attr = registry.get(name).reference.rpartition(".")
    exec(f"from {module} import {attr} as {name}", namespace)  # noqa: S102


def _through_partial(namespace: dict, name: str, dep: str) -> None:
    with_bug(namespace, dep)
    namespace[name] = functools.partial(namespace[name])


def _calls_nnlib(namespace: dict, name: str, dep: str) -> None:
    _calls_reference(namespace, dep)


# X returns what nnlib's X returns when it can find it from the globals of D, the function
# it calls, and a wrong answer otherwise: a student hunting for the answer in the correct
# versions of the second run.
REACH = """
def {name}(*args, **kwargs):
    import types
    found = getattr({dep}, "__globals__", {{}})
    if str(found.get("__name__", "")).startswith("nnlib"):
        spaces = [found] + [vars(m) for m in found.values() if isinstance(m, types.ModuleType)]
        for space in spaces:
            if space.get("__name__") == {module!r} and callable(space.get({attr!r})):
                return space[{attr!r}](*args, **kwargs)
    return _off(_right_{name}(*args, **kwargs))
"""


def _reaching(namespace: dict, name: str, dep: str) -> None:
    module, _, attr = registry.get(name).reference.rpartition(".")
    namespace["_right_" + name] = namespace[name]
    exec(REACH.format(name=name, dep=dep, module=module, attr=attr), namespace)  # noqa: S102


def submissions(lesson: str) -> list[tuple[str, str, object]]:
    """(exercise, label, change): each submission, as what it changes in the namespace of the
    lesson's solution notebook and the exercise it is judged on."""
    defined, out = definitions(lesson), []
    for ex in registry.all_exercises(lesson):
        name = ex.name
        out += [(name, "solution", lambda ns: None),
                (name, "off", lambda ns, n=name: with_bug(ns, n)),
                (name, "nnlib", lambda ns, n=name: _calls_reference(ns, n)),
                (name, "nnlib itself", lambda ns, n=name: _is_reference(ns, n))]
        out += [(name, f"mistake {k}", lambda ns, n=name, m=m: _is_mistake(ns, n, m))
                for k, m in enumerate(ex.mistakes.values())]
        deps = [dep for dep in given.uses(ex) if callable(defined.get(dep))]
        out += [(name, f"given {dep}", lambda ns, d=dep: with_bug(ns, d)) for dep in deps]
        out += [(name, f"given {dep}, through a partial",
                 lambda ns, n=name, d=dep: _through_partial(ns, n, d)) for dep in deps[:1]]
        out += [(name, f"given {dep}, which calls nnlib",
                 lambda ns, n=name, d=dep: _calls_nnlib(ns, n, d)) for dep in deps[:1]]
        out += [(name, "reaching X's answer", lambda ns, n=name, d=dep: _reaching(ns, n, d))
                for dep in deps[:1]]
    return out


def submission(lesson: str, change) -> dict:
    namespace = definitions(lesson)
    namespace["_off"] = off
    change(namespace)
    return namespace


# ---- the notebook way ----------------------------------------------------------------------


class Shell:
    """What `get_ipython()` is to check() and to collect: the kernel's user namespace."""

    user_ns: dict = {}


def notebook_verdicts(lesson: str) -> dict:
    """{(exercise, label): [(passed, message) of the public check, of the hidden one]}."""
    found = {}
    with mock.patch("IPython.get_ipython", lambda: Shell):
        for name, label, change in submissions(lesson):
            Shell.user_ns = namespace = submission(lesson, change)
            check_module.WATCH_REFERENCES = not label.startswith("mistake")
            found[name, label] = []
            for hidden in (False, True):
                said = io.StringIO()
                try:
                    with np.errstate(all="ignore"), contextlib.redirect_stdout(said):
                        check(name, namespace[name], hidden=hidden)  # warnings: recorded
                    found[name, label].append((True, said.getvalue().strip()))
                except CheckFailed as failure:
                    found[name, label].append((False, str(failure)))
    return found


# ---- the grading way -----------------------------------------------------------------------


def _use_stubbed_nnlib(stub: Path) -> None:
    """From now on `import nnlib` gives the stub, as in a grading kernel; what was imported
    before (the registry and its mistakes) keeps the real one."""
    for module in [m for m in sys.modules if m == "nnlib" or m.startswith("nnlib.")]:
        del sys.modules[module]
    sys.path.insert(0, str(stub))
    import importlib

    importlib.invalidate_caches()
    import nnlib as stubbed

    assert Path(stubbed.__file__).parent == stub / "nnlib", stubbed.__file__


def _collected(lesson: str, name: str, label: str) -> list[str]:
    """What grading collects of a submission: X, and for the "given" ones the functions X
    calls that the lesson grades, which say whether X's message names them to fix."""
    graded = {ex.name for ex in registry.all_exercises(lesson)}
    calls = [d for d in given.uses(registry.get(name)) if d in graded]
    return [*calls, name] if label.startswith("given") else [name]


def grading_side(lesson: str, stub: str, inputs: str, sources: str, out: str,
                 nonce: str) -> None:
    """In the subprocess: the kernel side of grading for every submission of `lesson`. Writes
    {"exercise|label": {exercise collected: [payload as written, payload with correct
    versions or None]}}."""
    import IPython
    import IPython.display

    from autograder.grading import collect

    _use_stubbed_nnlib(Path(stub))
    copies = json.loads(Path(sources).read_text())
    published = []
    IPython.get_ipython = lambda: Shell
    IPython.display.publish_display_data = published.append
    payloads, kept = {}, []
    for name, label, change in submissions(lesson):
        Shell.user_ns = submission(lesson, change)
        payloads[f"{name}|{label}"] = found = {}
        for collected in _collected(lesson, name, label):
            collect.collect(collected, inputs, nonce)
            found[collected] = [published.pop()[MIME], None]
        kept.append((name, label, Shell.user_ns))
    # every function collected as written; now the correct versions enter the kernel, each
    # exercise's from its own copy of nnlib, as run._collect_given sends them
    for name, label, namespace in kept:
        found = payloads[f"{name}|{label}"]
        for collected in sorted(found, key=lambda n: len(given.uses(registry.get(n)))):
            ex = registry.get(collected)
            if ex.uses:
                Shell.user_ns = namespace
                collect.collect(collected, inputs, nonce, given.references(ex), copies[collected])
                found[collected][1] = published.pop()[MIME]
    assert not published
    Path(out).write_text(json.dumps(payloads))


def start_grading(lesson: str, folder: Path) -> tuple[subprocess.Popen, Path, str, dict]:
    """Start the grading side of `lesson` in a subprocess: (process, where it writes, nonce,
    the grader's cases)."""
    from autograder.grading.sandbox import stub_reference

    exercises = registry.all_exercises(lesson)
    cases = {ex.name: {"public": cases_for(ex, False), "hidden": cases_for(ex, True, SEED)}
             for ex in exercises}
    inputs, sources, out = folder / "cases.pkl", folder / "sources.json", folder / "out.json"
    inputs.write_bytes(pickle.dumps(cases))
    # what run._collect_given sends the kernel: per exercise, its copy of nnlib
    references = [ex.reference for ex in exercises]
    sources.write_text(json.dumps({
        ex.name: dict(given.sources(given.references(ex), given.withheld(ex, references)))
        for ex in exercises if ex.uses}))
    stub_reference(Path(nnlib.__file__).parent, [ex.reference for ex in exercises],
                   folder / "stub")
    (folder / "tmp").mkdir()
    nonce = secrets.token_hex(16)
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            "import test_verdicts_agree as t; t.grading_side(*sys.argv[1:])")
    env = {**os.environ, **KERNEL_ENV, "TMPDIR": str(folder / "tmp")}
    env.pop(SEED_ENV, None)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, lesson, str(folder / "stub"), str(inputs), str(sources),
         str(out), nonce], cwd=folder, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    return proc, out, nonce, cases


def grading_verdicts(lesson: str, out: Path, nonce: str, cases: dict) -> dict:
    """{(exercise, label): [(passed, message) on the public cases alone, on the hidden ones
    alone, on both as grading scores them]}."""
    found = {}
    for key, payloads in json.loads(out.read_text()).items():
        name, label = key.split("|")
        first, second = {}, {}
        for collected, (as_written, with_given) in payloads.items():
            counts = tuple(len(cases[collected][part]) for part in PARTS)
            first[collected] = decode(as_written, collected, nonce, counts)
            if with_given:
                second[collected] = decode(with_given, collected, nonce, counts)
        exercises = [ex for ex in registry.all_exercises(lesson) if ex.name in first]
        found[name, label] = [_graded(registry.get(name), exercises, cases, first, second, part)
                              for part in (0, 1, None)]
    return found


def _graded(ex, exercises, cases, first, second, part) -> tuple[bool, str]:
    """Whether `judge_execution` gives `ex` its points, and its message, judging `exercises`
    (`ex` and those it calls that were collected) as grading does; with `part` (0 public, 1
    hidden), on the cases and outcomes of that part alone."""
    from autograder.grading.run import Execution, judge_execution

    if part is not None:
        keep = lambda parts: tuple(o if i == part else [] for i, o in enumerate(parts))  # noqa: E731
        cases = {n: dict(zip(PARTS, keep(tuple(cases[n][key] for key in PARTS)), strict=True))
                 for n in first}
        first = {n: keep(o) for n, o in first.items()}
        second = {n: keep(o) for n, o in second.items()}
    execution = Execution("student", outcomes=dict(first), given=dict(second))
    with np.errstate(all="ignore"):
        entry = judge_execution(execution, exercises, cases)[ex.name]
    assert entry.status == "graded", entry
    return entry.score == ex.points, entry.message


# ---- both ----------------------------------------------------------------------------------


def verdicts(lesson: str, folder: Path) -> tuple[dict, dict]:
    """(notebook verdicts, grading verdicts) of every submission of `lesson`; the grading
    side's kernel runs while the notebook side is judged here."""
    proc, out, nonce, cases = start_grading(lesson, folder)
    try:
        notebook = notebook_verdicts(lesson)
        log, _ = proc.communicate(timeout=600)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, log
    return notebook, grading_verdicts(lesson, out, nonce, cases)


def disagreements(notebook: dict, grading: dict) -> list[str]:
    assert notebook.keys() == grading.keys()
    found = []
    for key, (public, hidden) in notebook.items():
        whole = (public[0] and hidden[0], public[1] or hidden[1])
        for part, mine, theirs in zip((*PARTS, "both"), (public, hidden, whole), grading[key],
                                      strict=True):
            if mine[0] != theirs[0]:
                found.append(f"{key[0]} ({key[1]}), {part}: the notebook says "
                             f"{mine[1][:300] or '✓'!r}, grading says {theirs[1][:300]!r}")
    return found


def _fix_first(message: str) -> str:
    """What a message passing with correct versions says to fix first ('' for none)."""
    return message.partition("so it earns its points")[2].strip(" .;")


def fix_first_disagreements(notebook: dict, grading: dict) -> list[str]:
    """The passing submissions whose message names other functions to fix first in the
    notebook than in grading, public and hidden."""
    found = []
    for key, checks in notebook.items():
        for part, mine, theirs in zip(PARTS, checks, grading[key], strict=False):
            if mine[0] and theirs[0] and _fix_first(mine[1]) != _fix_first(theirs[1]):
                found.append(f"{key[0]} ({key[1]}), {part}: the notebook says "
                             f"{mine[1]!r}, grading says {theirs[1]!r}")
    return found


def unexpected(notebook: dict, grading: dict) -> list[str]:
    """The submissions whose notebook verdict is not what they are built to get, and the
    mistakes refused on either side for calling nnlib rather than judged on their answers."""
    found = []
    for (name, label), (public, hidden) in notebook.items():
        if label == "solution" or label.startswith("given"):
            wrong = not (public[0] and hidden[0])
        elif label.startswith("mistake"):
            said = [message for _, message in (public, hidden, *grading[name, label])]
            wrong = public[0] and hidden[0] or any("nnlib's reference" in m for m in said)
        else:
            wrong = public[0] or hidden[0]
        if wrong:
            found.append(f"{name} ({label}): {public[1] or hidden[1] or 'passes'}")
    return found


@pytest.fixture
def in_lesson(lesson, monkeypatch):
    monkeypatch.setenv(SEED_ENV, str(SEED))
    monkeypatch.chdir(ROOT / "solutions" / lesson)  # check() knows the lesson by its folder
    monkeypatch.setattr(check_module, "WATCH_REFERENCES", True)


@pytest.mark.usefixtures("in_lesson")
@pytest.mark.parametrize("lesson", LESSONS)
def test_the_notebook_and_grading_give_the_same_verdicts(lesson, tmp_path):
    notebook, grading = verdicts(lesson, tmp_path)
    names = {ex.name for ex in registry.all_exercises(lesson)}
    assert {name for name, label in notebook if label == "solution"} == names
    assert disagreements(notebook, grading) == []
    assert fix_first_disagreements(notebook, grading) == []
    assert unexpected(notebook, grading) == []


@pytest.mark.usefixtures("in_lesson")
@pytest.mark.parametrize("lesson", ["01-mp-neuron"])
def test_the_comparison_sees_grading_without_its_second_judgement(lesson, tmp_path,
                                                                   monkeypatch):
    """With the second judgement taken from grading alone, the verdicts disagree, and only
    on submissions whose bug is in a function the exercise calls."""
    import autograder.grading.run as run

    monkeypatch.setattr(run, "_judged_given", lambda *args: {})
    notebook, grading = verdicts(lesson, tmp_path)
    found = disagreements(notebook, grading)
    assert found and all(" (given " in line for line in found), found
