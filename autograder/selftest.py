"""`nncourse selftest`: prove that every lesson grades as intended.

For each lesson: the solution notebook, executed with hidden tests and a fresh secret
seed, earns full marks; the released notebook runs except where an exercise stub raises
NotImplementedError (and cells that depend on one) and earns zero; nbgrader's own
`validate` agrees on both (its printed verdict is read, since it exits 0 either way);
and the exercise contract holds. Written answers are graded by hand: their points are
listed, not scored.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbclient import NotebookClient
from nbgrader.utils import determine_grade, is_grade, is_solution
from traitlets.config import Config

from autograder import contract
from autograder.check import SEED_ENV
from autograder.course import (
    environment,
    nbgrader,
    read_notebook,
    release_notebook,
    source_notebook,
)
from autograder.grading.run import by_hand

VALIDATE_PASS = "Success! Your notebook passes all the tests."
VALIDATE_ALL_FAIL = "Success! The notebook does not pass any tests."
STEPS = ("contract", "solution", "release", "validate")


class _QuietLog:
    def warning(self, *args, **kwargs):
        pass

    info = debug = error = warning


def execute(path: Path, timeout: int = 120):
    """Execute a notebook in its own folder, with a fresh hidden-test seed, allowing errors.

    The kernel talks over Unix sockets in a private temporary folder (ipc transport), as in
    grading: nothing else on the machine can connect to it, and ipykernel has no reason to
    warn that TCP is unencrypted."""
    nb = read_notebook(path)
    env = environment()
    env[SEED_ENV] = str(secrets.randbits(63))
    with tempfile.TemporaryDirectory(prefix="nncourse-kernel-") as sockets:
        ipc = Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets}/s"}})
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                config=ipc, shutdown_kernel="immediate",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute(env=env)
    return nb


def score(nb) -> tuple[float, float]:
    """(score, max score) of the autograded cells of the executed notebook, by nbgrader's own
    rule; written answers, graded by hand, are counted by `by_hand`."""
    got = total = 0.0
    for cell in nb.cells:
        if is_grade(cell) and not is_solution(cell):
            s, m = determine_grade(cell, _QuietLog())
            got, total = got + (s or 0), total + (m or 0)
    return got, total


def cell_errors(nb) -> list[tuple[int, object, dict]]:
    return [(i, cell, out) for i, cell in enumerate(nb.cells, start=1)
            if cell.cell_type == "code" for out in cell.outputs if out.output_type == "error"]


def unexpected_errors(nb) -> list[str]:
    """Errors in an executed release that are not an unimplemented stub or its consequence."""
    stub_cells, found = [], []
    for i, cell, out in cell_errors(nb):
        text = out.get("evalue", "")
        if out.ename == "NotImplementedError" or (out.ename == "CheckFailed"
                                                  and "not implemented yet" in text):
            stub_cells.append(cell.source)
            continue
        missing = re.search(r"name '(\w+)' is not defined", text)
        if (out.ename == "NameError" and missing and any(
                re.search(rf"^\s*(def\s+)?{missing[1]}\b", src, re.M) for src in stub_cells)):
            stub_cells.append(cell.source)
            continue
        found.append(f"cell {i}: {out.ename}: {text[:200]}")
    return found


@dataclass
class LessonResult:
    lesson: str
    solution: tuple[float, float] = (0.0, 0.0)
    release: tuple[float, float] = (0.0, 0.0)
    by_hand: float = 0.0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def _validate(root: Path, path: Path, invert: bool) -> str:
    args = ["validate", str(path)] + (["--invert"] if invert else [])
    proc = nbgrader(root, *args, check=False)
    return proc.stdout + proc.stderr


def selftest_lesson(root: Path, lesson: str, step=lambda what: None) -> LessonResult:
    """Run every selftest step on one lesson; problems are collected, never raised.
    `step(what)` is called as each step starts, for a progress display."""
    start, result = time.perf_counter(), LessonResult(lesson)
    step("contract")
    result.problems += contract.problems(root, lesson)

    step("solution")
    solution = execute(source_notebook(root, lesson))
    result.solution = got, total = score(solution)
    if total == 0:
        result.problems.append("the solution has no graded test cells")
    elif got != total:
        failed = [f"cell {i}: {out.ename}: {out.get('evalue', '')[:300]}"
                  for i, _, out in cell_errors(solution)]
        result.problems.append(f"the solution scores {got:g}/{total:g}: " + "; ".join(failed))

    step("release")
    release_path = release_notebook(root, lesson)
    result.by_hand = sum(by_hand(read_notebook(release_path)).values())
    released = execute(release_path)
    result.release = score(released)
    if result.release[0] != 0:
        result.problems.append(f"the release scores {result.release[0]:g} before any work")
    result.problems += [f"release {p}" for p in unexpected_errors(released)]

    step("validate")
    if VALIDATE_PASS not in _validate(root, source_notebook(root, lesson), invert=False):
        result.problems.append("nbgrader validate does not pass the solution")
    if VALIDATE_ALL_FAIL not in _validate(root, release_path, invert=True):
        result.problems.append("nbgrader validate --invert finds a passing test in the release")
    result.seconds = time.perf_counter() - start
    return result


COLUMNS = ("#", "lesson", "solution", "release", "by hand", "time", "status")
WIDTHS = (5, 18, 9, 9, 7, 7, 0)


def _line(cells) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, WIDTHS, strict=True)).rstrip()


def header() -> str:
    return _line(COLUMNS)


def row(r: LessonResult, done: int, total: int) -> str:
    """The line of the `done`-th of `total` lessons, followed by its problems, one per line."""
    line = _line((f"{done}/{total}", r.lesson, f"{r.solution[0]:g}/{r.solution[1]:g}",
                  f"{r.release[0]:g}/{r.release[1]:g}", f"{r.by_hand:g}", f"{r.seconds:.1f}s",
                  "ok" if r.ok else f"{len(r.problems)} problem(s)"))
    return "\n".join([line] + [f"    {p}" for p in r.problems])
