"""One submission, start to finish, in a worker: restore, execute, collect.

The submission's locked cells are put back from the release (nbgrader's checksums say
which were edited; deleted ones are re-inserted), and the notebook is marked `tampered`
if any were. Its test cells are never executed: after the student's own cells, the
grader runs one collection cell per exercise of the lesson (see `collect`). A cell that
times out, runs out of memory, kills the kernel or starts too many processes fails
alone: the kernel is restarted, the cells that succeeded before it are replayed, and
execution goes on. What comes back is data; `judge_execution` scores it in the grader.
"""

from __future__ import annotations

import copy
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum, is_grade, is_locked, is_solution, is_task

from autograder.grading.collect import MIME, BadPayload, decode
from autograder.grading.kernel import OUTPUT_CAP, CellRun, Kernel, KernelStartError
from autograder.grading.sandbox import Sandbox
from autograder.judge import judge

STATUSES = ("timeout", "memory", "crashed", "missing", "unreadable", "tampered")
INTERRUPTED = ("timeout", "ran past the time limit and was interrupted")
CHECK_CALL = re.compile(r"""check\(\s*["'](\w+)["']""")


@dataclass
class Task:
    """Everything a worker needs to execute one student's submission."""

    student: str
    lesson: str
    notebook: str | None
    release: str
    inputs: str
    counts: dict[str, tuple[int, int]]
    sandbox: Sandbox


@dataclass
class Execution:
    """What executing a submission produced: per exercise, (public, hidden) outcomes, or
    a status string ('missing', 'timeout', 'memory', 'crashed') when there are none."""

    student: str
    statuses: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    outcomes: dict = field(default_factory=dict)
    notebook: dict | None = None


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _checksum(cell) -> str | None:
    try:
        return compute_checksum(cell)
    except (KeyError, TypeError, AttributeError):
        return None


def test_cells(release) -> dict[str, str]:
    """{grade_id: exercise name} of the release's autograder test cells."""
    out = {}
    for cell in release.cells:
        found = CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
        if is_grade(cell) and found:
            out[_grade_id(cell)] = found[1]
    return out


def by_hand(release) -> dict[str, float]:
    """{grade_id: points} of the cells an instructor grades by hand: written answers and tasks."""
    return {_grade_id(c): float(c.metadata["nbgrader"].get("points", 0)) for c in release.cells
            if (is_grade(c) and is_solution(c)) or is_task(c)}


def restore(nb, release) -> tuple[object, list[str]]:
    """`nb` with every locked cell of `release` in its released form; and what was changed.

    A written answer is a grade cell too, but it is the student's to write: it stays."""
    locked = {_grade_id(c): c for c in release.cells
              if (is_locked(c) or is_grade(c)) and not is_solution(c)}
    cells, seen, notes = [], set(), []
    for i, cell in enumerate(nb.cells, start=1):
        gid = _grade_id(cell)
        if gid in locked and gid not in seen:
            seen.add(gid)
            if _checksum(cell) != _checksum(locked[gid]):
                notes.append(f"cell {i} ({gid}) was edited; the original was restored")
            cells.append(copy.deepcopy(locked[gid]))
            continue
        if is_locked(cell) or is_grade(cell):
            del cell.metadata["nbgrader"]
        cells.append(cell)
    order = [_grade_id(c) for c in release.cells]
    for gid in [g for g in order if g in locked and g not in seen]:
        notes.append(f"locked cell {gid} was deleted; it was put back")
        before = [g for g in order[:order.index(gid)] if g is not None]
        at = max((k + 1 for k, c in enumerate(cells) if _grade_id(c) in before), default=0)
        cells.insert(at, copy.deepcopy(locked[gid]))
    nb.cells = cells
    return nb, notes


class _Runner:
    """Runs cells, turning every failure into a status and a note, and recovering."""

    def __init__(self, kernel: Kernel, execution: Execution, timeout: float, cap: int):
        self.kernel, self.execution, self.timeout, self.cap = kernel, execution, timeout, cap
        self.good: list[str] = []

    def run(self, code: str, where: str) -> CellRun:
        run = self.kernel.run(code, self.timeout)
        problem = self._problem(run)
        if problem is None:
            if run.ok:
                self.good.append(code)
            return run
        status, why = problem
        self.execution.statuses.add(status)
        run.status = status
        if problem == INTERRUPTED:
            self.execution.notes.append(f"{where} {why}")
            return run
        self.execution.notes.append(f"{where} {why}; the kernel was restarted and "
                                    f"{len(self.good)} earlier cell(s) replayed")
        self.recover()
        return run

    def _problem(self, run: CellRun) -> tuple[str, str] | None:
        if run.status == "oom":
            return "memory", "ran out of memory (its processes and files together)"
        if run.status == "dead":
            return "crashed", "killed its kernel"
        if max(run.processes, self.kernel.processes()) > self.cap:
            return "crashed", "started too many processes"
        if run.status == "hung":
            return "timeout", f"ran past {self.timeout:g} s and ignored the interrupt"
        if run.status == "garbled":
            return "crashed", "sent output the grader could not read and was stopped"
        if run.status == "flood":
            return "timeout", f"printed without end (over {OUTPUT_CAP // 2**20} MB) and was stopped"
        if run.status == "timeout":
            return INTERRUPTED
        if run.ename == "MemoryError":
            return "memory", "ran out of memory"
        return None

    def recover(self) -> None:
        self.kernel.restart()
        for code in list(self.good):
            if self.kernel.run(code, self.timeout).status in ("hung", "dead", "flood", "garbled"):
                self.good.remove(code)
                self.kernel.restart()


def _payload(run: CellRun, name: str, nonce: str, counts) -> object:
    if run.status not in ("ok", "error"):
        return run.status
    if run.ename or len(run.payloads) != 1:
        return "crashed"
    try:
        found = decode(run.payloads[0], name, nonce, counts)
    except BadPayload:
        return "crashed"
    return "missing" if found is None else found


def execute(task: Task) -> Execution:
    """Execute one submission in a fresh sandboxed kernel; never raises for student code."""
    execution = Execution(task.student)
    if task.notebook is None:
        execution.statuses.add("missing")
        execution.notes.append(f"no notebook for {task.lesson} was submitted")
        return execution
    try:
        nb = nbformat.read(task.notebook, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many unrelated types
        execution.statuses.add("unreadable")
        execution.notes.append(f"the notebook could not be read ({type(exc).__name__})")
        return execution
    release = nbformat.read(task.release, as_version=4)
    nb, changed = restore(nb, release)
    if changed:
        execution.statuses.add("tampered")
        execution.notes += changed
    tests = set(test_cells(release))
    work = Path(tempfile.mkdtemp(prefix="nncourse-grade-"))
    try:
        workdir = work / "lesson"
        shutil.copytree(Path(task.notebook).parent, workdir)
        _copy_font_cache(workdir)
        execution.notebook = _execute(task, nb, tests, workdir, execution)
    except KernelStartError as exc:
        execution.statuses.add("crashed")
        execution.notes.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - a grade row with a reason, never a lost one
        execution.statuses.add("crashed")
        execution.notes.append(f"grading stopped early: {type(exc).__name__}: {exc}"[:500])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return execution


def _execute(task: Task, nb, tests: set[str], workdir: Path, execution: Execution) -> dict:
    limits = task.sandbox.limits
    nonce = secrets.token_hex(16)
    with Kernel(task.sandbox, workdir, [Path(task.inputs).parent], MIME) as kernel:
        runner = _Runner(kernel, execution, limits.timeout, limits.processes // 2)
        for i, cell in enumerate(nb.cells, start=1):
            if cell.cell_type != "code" or _grade_id(cell) in tests:
                continue
            run = runner.run(cell.source, f"cell {i}")
            cell.outputs = [nbformat.from_dict(o) for o in run.outputs]
        for name, counts in task.counts.items():
            code = (f"__import__('autograder.grading.collect', fromlist=['collect'])"
                    f".collect({name!r}, {kernel.inside(task.inputs)!r}, {nonce!r})")
            run = runner.run(code, f"grading {name}")
            got = _payload(run, name, nonce, counts)
            if got == "crashed" and run.status in ("ok", "error"):
                # a kernel left broken by an earlier cell: once more in a fresh one
                execution.notes.append(f"grading {name} got no answer; the kernel was "
                                       f"restarted and {len(runner.good)} cell(s) replayed")
                runner.recover()
                got = _payload(runner.run(code, f"grading {name}"), name, nonce, counts)
            execution.outcomes[name] = got
    return nb


def _copy_font_cache(workdir: Path) -> None:
    """Matplotlib rebuilds its font list (seconds) in a fresh config folder; reuse ours."""
    import matplotlib

    target = workdir / ".matplotlib"
    target.mkdir(exist_ok=True)
    for f in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
        shutil.copy(f, target)


def judge_execution(execution: Execution, exercises, cases) -> dict[str, dict]:
    """Per exercise: score, max, status and the message a student may read."""
    out = {}
    for ex in exercises:
        got = execution.outcomes.get(ex.name, "missing")
        entry = {"score": 0, "max": ex.points}
        if isinstance(got, str):
            entry["status"] = got
            entry["message"] = {
                "missing": f"✗ {ex.name}: no function `{ex.name}` was defined "
                           "(or the cell defining it failed).",
                "timeout": f"✗ {ex.name}: calling it did not finish in time.",
                "memory": f"✗ {ex.name}: calling it ran out of memory.",
                "crashed": f"✗ {ex.name}: calling it crashed the kernel or returned "
                           "something that could not be read.",
            }.get(got, f"✗ {ex.name}: {got}.")
        else:
            parts = [(cases[ex.name][key], outcomes)
                     for key, outcomes in zip(("public", "hidden"), got, strict=True)]
            reports = [judge(ex, c, o, hidden=i == 1) for i, (c, o) in enumerate(parts)]
            passed = all(r.passed for r in reports)
            # an exercise not yet written says so once, not once per set of cases
            messages = dict.fromkeys(r.message(c) for r, (c, _) in zip(reports, parts,
                                                                        strict=True))
            entry.update(score=ex.points if passed else 0, status="graded",
                         message="\n".join(messages))
        out[ex.name] = entry
    return out


def status_text(statuses) -> str:
    return ";".join(s for s in STATUSES if s in statuses) or "graded"
