"""`nncourse selftest`: prove that every lesson grades as intended.

For each lesson: the solution notebook, executed with hidden tests and a fresh secret
seed, earns full marks; the released notebook runs except where an exercise stub raises
NotImplementedError (and cells that depend on one) and earns zero; nbgrader's own
`validate` agrees (its printed report is read, since it exits 0 either way): it names
exactly the unsolved or wrong exercises as failing, and no solved one, in the release
and in a copy of it where some exercises are solved and the others answered wrongly
(check cells are tagged `raises-exception` in the release, so this proves the tag
changes no verdict); and the exercise contract holds. Written answers are graded by hand:
their points are listed, not scored.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.utils import determine_grade
from traitlets.config import Config

from autograder import contract, notebook
from autograder.cases import SEED_ENV
from autograder.course import (
    CourseError,
    environment,
    nbgrader,
    read_notebook,
    release_notebook,
    source_notebook,
)

STUB = "raise NotImplementedError()"
CHECKED = re.compile(r'^check\("(\w+)"', re.M)
DEFINED = re.compile(r"^def (\w+)\(", re.M)
STEPS = ("contract", "solution", "release", "validate")


class _QuietLog:
    def warning(self, *args, **kwargs):
        pass

    info = debug = error = warning


@contextlib.contextmanager
def private_sockets():
    """The kernel settings (`KernelManager` traits) that make kernels talk over Unix sockets
    in a private temporary folder (ipc transport), as in grading. Nothing else on the
    machine can connect to them; ipykernel has no reason to warn that TCP is unencrypted;
    and kernels started side by side cannot race for a TCP port (jupyter_client picks free
    ports, then releases them for the kernel to bind: another kernel can take one between)."""
    with tempfile.TemporaryDirectory(prefix="nncourse-kernel-") as sockets:
        yield {"transport": "ipc", "ip": f"{sockets}/s"}


def run_notebook(nb, folder: Path, timeout: int = 120, allow_errors: bool = False,
                 env: dict | None = None):
    """Execute `nb` in place, in `folder`, in a python3 kernel with `private_sockets` and
    `env` (by default this process's environment)."""
    with private_sockets() as traits:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                       config=Config({"KernelManager": traits}), shutdown_kernel="immediate",
                       resources={"metadata": {"path": str(folder)}}
                       ).execute(env=dict(os.environ) if env is None else env)
    return nb


def execute(path: Path, timeout: int = 120):
    """Execute a notebook in its own folder, with a fresh hidden-test seed, allowing errors."""
    env = environment()
    env[SEED_ENV] = str(secrets.randbits(63))
    return run_notebook(read_notebook(path), path.parent, timeout, allow_errors=True, env=env)


def score(nb) -> tuple[float, float]:
    """(score, max score) of the autograded cells of the executed notebook, by nbgrader's own
    rule; written answers, graded by hand, are counted by `notebook.by_hand`."""
    got = total = 0.0
    for cell in nb.cells:
        if notebook.is_test(cell):
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


WRITTEN_STUB = "YOUR ANSWER HERE"  # nbgrader's stub of a written answer in a release


# How nbgrader validate's report on one notebook begins (its lines at the margin; the cells
# and errors it quotes are indented)
REPORT_START = re.compile(r"^(Success! Your notebook passes all the tests\.|VALIDATION FAILED ON "
                          r"\d+ CELL|THE (CONTENTS|TYPES) OF \d+ (TEST )?CELL)", re.M)


def validate_reports(root: Path, *paths: Path) -> list[str]:
    """nbgrader validate's report on each of `paths`, from one nbgrader process, whose
    kernels have `private_sockets`."""
    with private_sockets() as traits:
        proc = nbgrader(root, "validate", *map(str, paths),
                        *(f"--KernelManager.{k}={v}" for k, v in traits.items()), check=False)
    starts = [m.start() for m in REPORT_START.finditer(proc.stdout)]
    if len(starts) != len(paths):
        raise CourseError(f"nbgrader validate reported on {len(starts)} of {len(paths)} "
                          f"notebooks:\n{proc.stdout}{proc.stderr}")
    return [proc.stdout[a:b] for a, b in zip(starts, [*starts[1:], None], strict=True)]


def validate_failures(report: str) -> set[str]:
    """The exercises whose check cells `nbgrader validate`'s report lists as failed (any
    other failed cell by the start of its source). A written answer not yet written
    (nbgrader's "YOUR ANSWER HERE") is graded by hand, not by selftest: it is left out."""
    failed = set()
    for section in report.split("The following cell failed:")[1:]:
        source = section.split("The error was:")[0].strip()
        if source.startswith(WRITTEN_STUB):
            continue
        name = CHECKED.search(source)
        failed.add(name[1] if name else f"a cell starting {source[:60]!r}")
    return failed


def solution_body(source: str) -> str:
    """A solution cell's source without its BEGIN/END SOLUTION marker lines."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def answered(root: Path, lesson: str, answer) -> object:
    """The released notebook with each exercise's stub replaced as `answer(k, name)` says
    for the k-th exercise (from 0): "solved" (the instructor's answer), "wrong" (a function
    that returns None) or "stub" (left as released)."""
    answers = {notebook.grade_id(cell): solution_body(cell.source)
               for cell in read_notebook(source_notebook(root, lesson)).cells
               if notebook.is_solution(cell)}
    nb = read_notebook(release_notebook(root, lesson))
    k = 0
    for cell in nb.cells:
        name = DEFINED.search(cell.source)
        if cell.cell_type == "code" and notebook.is_solution(cell) and name:
            how = answer(k, name[1])
            if how == "solved":
                cell.source = answers[notebook.grade_id(cell)]
            elif how == "wrong":
                cell.source = cell.source.replace(STUB, "return None")
            k += 1
    return nb


def exercises(nb) -> list[str]:
    """The functions a notebook's exercises ask for, in order."""
    return [name[1] for cell in nb.cells if cell.cell_type == "code"
            and notebook.is_solution(cell)
            and (name := DEFINED.search(cell.source))]


def validate_problems(root: Path, lesson: str) -> list[str]:
    """What `nbgrader validate` gets wrong on the release and on a release with every other
    exercise answered wrongly and the rest solved. (The solution's own run, with hidden
    tests, is the "solution" step.)"""
    problems = []
    release_path = release_notebook(root, lesson)
    names = exercises(read_notebook(release_path))
    mixed = answered(root, lesson, lambda k, name: "wrong" if k % 2 == 0 else "solved")
    wrong = set(names[::2])
    with tempfile.TemporaryDirectory(prefix="nncourse-validate-") as tmp:
        folder = Path(tmp) / lesson
        shutil.copytree(release_path.parent, folder)
        path = folder / release_path.name
        nbformat.write(mixed, path)
        try:
            reports = validate_reports(root, release_path, path)
        except CourseError as error:
            return [str(error)]
    on_release, on_mixed = map(validate_failures, reports)
    if on_release != set(names):
        problems.append(f"nbgrader validate on the release reports {sorted(on_release)} "
                        f"failing, expected every exercise: {names}")
    if on_mixed != wrong:
        problems.append(f"nbgrader validate on a release with {sorted(wrong)} answered wrongly "
                        f"and the rest solved reports {sorted(on_mixed)} failing")
    return problems


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
    result.by_hand = sum(notebook.by_hand(read_notebook(release_path)).values())
    released = execute(release_path)
    result.release = score(released)
    if result.release[0] != 0:
        result.problems.append(f"the release scores {result.release[0]:g} before any work")
    result.problems += [f"release {p}" for p in unexpected_errors(released)]

    step("validate")
    result.problems += validate_problems(root, lesson)
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
