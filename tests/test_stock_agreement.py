"""`nncourse grade` and stock `nbgrader autograde` give each exercise the same score.

A small class of 06-backprop (the right answers, and two submissions that between them
make one mistake in every exercise of the lesson, typical ones where the benchmark has
them, the answer's `return` negated elsewhere) is graded both ways with the same hidden seed, as
`benchmarks/stock_agreement.py` does for a class of 40. Stock grading runs the notebook's
own `check()` calls, which judge a function that calls a wrong one with correct versions
of it, as `nncourse grade` does: so every exercise agrees, a wrong dependency or not.
"""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = "06-backprop"
SLIPS = [
    [],
    [("hidden_delta", "W_next transposed"),
     ("backward", "the gradients in reverse order"), ("value_and_grad", "negated")],
    [("output_delta", "the derivative left out"), ("dense_backward", "db averaged over the batch"),
     ("numerical_gradient", "x restored by adding h back")],
]


def _agreement():
    spec = importlib.util.spec_from_file_location(
        "stock_agreement", ROOT / "benchmarks" / "stock_agreement.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stock_autograde_and_nncourse_grade_agree_on_every_exercise(tmp_path):
    agreement = _agreement()
    root = agreement.grading.make_course(tmp_path, LESSON)
    graded = list(agreement.exercise_cells(root, LESSON)["tests"])
    slipped = {name for slip in SLIPS for name, _ in slip}
    assert slipped == set(graded), "every exercise of the lesson gets its one mistake"
    available = agreement.available_slips(root, LESSON)
    assert all(s in available for slip in SLIPS for s in slip), "the solution changed"
    kinds = agreement.typical_class(root, LESSON, 0, only=SLIPS)
    stock, ours, _, _ = agreement.grade_both(root, LESSON, jobs=2)
    rows = agreement.compare(graded, stock, ours)
    assert len(rows) == len(SLIPS) * len(graded)
    assert [r for r in rows if r["ours"] != r["stock"]] == []
    for student, slip in kinds.items():
        wrong = {name for name, _ in slip}
        for r in rows:
            if r["student"] == student:
                full = r["ours"] == agreement.registry.get(r["exercise"]).points
                assert full == (r["exercise"] not in wrong), (student, r)
