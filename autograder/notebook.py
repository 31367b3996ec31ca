"""What nbgrader's metadata says about a notebook's cells, read in one place.

nbgrader marks a cell in `cell.metadata["nbgrader"]`: `grade_id`, `solution` (the
student writes it), `grade` with `points` (it is scored), `task` (a task graded by hand)
and `locked`. In this course a *test cell* is a graded cell that is not a solution: it
calls `check("name", fn)` (and, in the source, `check("name", fn, hidden=True)`), and the
exercise it grades is the first one it checks. A graded solution cell or a task is
graded *by hand* (a written answer). The rules are nbgrader's own (`nbgrader.utils`).
"""

from __future__ import annotations

import ast
from typing import NamedTuple


def metadata(cell) -> dict:
    """The cell's nbgrader metadata ({} when it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return metadata(cell).get("grade_id")


def is_solution(cell) -> bool:
    return bool(metadata(cell).get("solution"))


def is_graded(cell) -> bool:
    return bool(metadata(cell).get("grade"))


def is_task(cell) -> bool:
    return bool(metadata(cell).get("task"))


def is_locked(cell) -> bool:
    """Whether nbgrader puts the released cell back: graded cells and locked ones, never
    a solution."""
    meta = metadata(cell)
    return not meta.get("solution") and bool(meta.get("grade") or meta.get("locked"))


def is_test(cell) -> bool:
    """A graded cell that is not the student's to write: a check cell."""
    return is_graded(cell) and not is_solution(cell)


def is_by_hand(cell) -> bool:
    """A cell an instructor grades by hand: a written answer or a task."""
    return (is_graded(cell) and is_solution(cell)) or is_task(cell)


def points(cell) -> float:
    return float(metadata(cell).get("points", 0))


def identity(cell) -> tuple:
    """What nbgrader's cell checksum covers (`nbgrader.utils.compute_checksum`): the cell's
    type and source, whether it is graded, a solution and locked, its grade_id and, when
    graded, its points. Two cells with equal identities have equal checksums."""
    return (cell.get("cell_type"), cell.get("source"), is_graded(cell), is_solution(cell),
            is_locked(cell), grade_id(cell), points(cell) if is_graded(cell) else None)


class Check(NamedTuple):
    """One `check(exercise, function[, hidden=True])` call of a cell."""

    exercise: str
    function: str  # its source, e.g. "sigmoid"
    hidden: bool


def checks(source: str) -> list[Check]:
    """Every check(...) call in `source`, in the order of `ast.walk`; SyntaxError when
    `source` is not Python."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            hidden = any(k.arg == "hidden" and getattr(k.value, "value", False)
                         for k in node.keywords)
            out.append(Check(node.args[0].value, ast.unparse(node.args[1]), hidden))
    return out


def graded_exercise(cell) -> str | None:
    """The exercise a test cell grades: the first it checks; None for any other cell."""
    if cell.cell_type != "code" or not is_test(cell):
        return None
    try:
        found = checks(cell.source)
    except SyntaxError:
        return None
    return found[0].exercise if found else None


def test_cells(nb) -> dict[str, str]:
    """{grade_id: exercise} of the notebook's test cells."""
    return {grade_id(c): name for c in nb.cells if (name := graded_exercise(c)) is not None}


def by_hand(nb) -> dict[str, float]:
    """{grade_id: points} of the cells an instructor grades by hand."""
    return {grade_id(c): points(c) for c in nb.cells if is_by_hand(c)}


def graded_cells(nb) -> dict[str, tuple[float, str]]:
    """{grade_id: (points, cell type)} of every graded cell, as nbgrader's gradebook
    records them."""
    return {grade_id(c): (points(c), c.cell_type) for c in nb.cells if is_graded(c)}
