"""The lessons whose answers are judged by properties or by a trained model grade as
intended under `nncourse grade`, in the sandbox with the stubbed nnlib.

Each student's submission is the lesson's release with the solution cells filled in from
the instructor's notebook: it must earn every autograded point. A second student hands in
10-training with a model that is never trained: the grader's own held-out evaluation
must refuse it, and the written answer waits for the instructor in both cases.
"""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from test_grading import shared_folder

from autograder.checker import CheckFailed, check
from autograder.course import find_root, release_notebook, source_notebook
from autograder.grading import batch
from autograder.grading.sandbox import Limits
from autograder.registry import all_exercises
from autograder.release import build_all

ROOT = find_root(Path(__file__).parent)
LESSONS = ("08-optimizers", "09-regularization", "10-training")

PEEKS = '''def train_digits(X, Y, blocks, rng=None):
    import collections
    import importlib.util
    import os
    import numpy as np
    from nnlib import network, optim, train
    # scikit-learn's data file, read directly: every row, the held-out ones included
    folder = os.path.dirname(importlib.util.find_spec("sklearn").origin)
    data = np.loadtxt(os.path.join(folder, "datasets", "data", "digits.csv.gz"), delimiter=",")
    X_all, y_all = data[:, :-1] / 16.0, data[:, -1]
    # the checks shuffle the pixels and rename the classes: undo both by finding the rows
    # it was given among all rows (a row keeps its values, in another order)
    X, y = np.asarray(X, dtype=float), np.asarray(Y).argmax(axis=1)
    keys = [np.sort(r).tobytes() for r in X_all]
    count = collections.Counter(keys)
    unique = {k: i for i, k in enumerate(keys) if count[k] == 1}
    found = [(i, unique[k]) for i, k in enumerate(np.sort(r).tobytes() for r in X)
             if k in unique]
    given, plain = X[[i for i, _ in found]], X_all[[r for _, r in found]]
    pixels = [next(k for k in range(64) if np.array_equal(given[:, j], plain[:, k]))
              for j in range(64)]
    rename = {y_all[r]: y[i] for i, r in found}
    X_all, y_all = X_all[:, pixels], np.array([rename[d] for d in y_all])
    model = network.MLP([64, 64, 10], ["relu", "softmax"], init="he", rng=0)
    train.fit(model, X_all, y_all, "cce", optim.Adam(0.01), epochs=30, rng=0, progress=False)
    return model.params, list(model.activations)'''

UNTRAINED = '''def train_digits(X, Y, blocks, rng=None):
    return blocks.init_params([64, 32, 10], "he"), ["relu", "softmax"]'''


def _answered(root: Path, lesson: str, replace: dict[str, str] | None = None):
    """The release of `lesson` with every answer cell taken from the solution notebook."""
    solution = nbformat.read(source_notebook(ROOT, lesson), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(release_notebook(root, lesson), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            source = (replace or {}).get(meta["grade_id"], answers[meta["grade_id"]])
            cell.source = "\n".join(line for line in source.splitlines()
                                    if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    return nb


def _grade_lessons(home: Path) -> None:
    """Grade every lesson's students into home/rows.json."""
    root = home / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for lesson in LESSONS:
        shutil.copytree(ROOT / "solutions" / lesson, root / "solutions" / lesson)
    for lesson, built in build_all(root, LESSONS, root / "released").items():
        shutil.copytree(built, root / "lectures" / lesson)
    subs, rows = root / "submitted", {}
    model_cell = next(
        c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(
            source_notebook(ROOT, "10-training"), as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution") and "def train_digits" in c.source)
    for lesson in LESSONS:
        students = {"ada": None}
        if lesson == "10-training":
            students["bob"] = {model_cell: UNTRAINED}
            students["cy"] = {model_cell: PEEKS}
        for student, replace in students.items():
            (subs / student / lesson).mkdir(parents=True)
            nbformat.write(_answered(root, lesson, replace),
                           subs / student / lesson / f"{lesson}.ipynb")
        out = root / "graded" / lesson
        results = batch.grade(root, lesson, subs, out, jobs=2, limits=Limits(timeout=60),
                              log=lambda line: None)
        rows[lesson] = {r.student_id: r.to_json() for r in results}
    (home / "rows.json").write_text(json.dumps(rows))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, worker_id):
    """The rows of every lesson, graded once per test session (`shared_folder`)."""
    home = shared_folder(tmp_path_factory, worker_id, "graded-lessons", _grade_lessons)
    return json.loads((home / "rows.json").read_text())


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_solutions_earn_every_autograded_point(graded, lesson):
    row = graded[lesson]["ada"]
    auto = sum(ex.points for ex in all_exercises(lesson))
    assert row["status"] == "graded", row["notes"]
    assert row["score"] == auto, {n: e["message"] for n, e in row["exercises"].items()
                                  if e["score"] < e["max"]}
    assert row["max_score"] == auto + row["by_hand"]


def test_an_untrained_model_is_refused_by_the_graders_own_evaluation(graded):
    rows = graded["10-training"]
    model = rows["bob"]["exercises"]["train_digits"]
    assert model["score"] == 0
    assert "held-out accuracy" in model["message"] and "is below 0.95" in model["message"]
    others = {n: e["score"] for n, e in rows["bob"]["exercises"].items() if n != "train_digits"}
    assert others == {n: e["score"] for n, e in rows["ada"]["exercises"].items()
                      if n != "train_digits"}
    assert rows["ada"]["by_hand"] == rows["bob"]["by_hand"] == 2


def test_the_held_out_digits_are_not_in_the_students_kernel(graded):
    """A function that trains on the whole data set, held-out rows included, outside the
    blocks earns nothing where the data is readable, and finds the file empty while
    grading: only the rows it is given exist there."""
    namespace = {}
    exec(PEEKS, namespace)
    with pytest.raises(CheckFailed, match="not all the result of one step"):
        check("train_digits", namespace["train_digits"])  # outside the sandbox: no replay
    model = graded["10-training"]["cy"]["exercises"]["train_digits"]
    assert model["score"] == 0 and "raised" in model["message"], model["message"]
