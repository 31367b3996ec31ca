"""One submission, start to finish, in a worker: restore, execute, collect.

The submission is data: only the notebook is read (a regular file, never through a
symbolic link, at most NOTEBOOK_CAP bytes) and copied into the kernel's empty working
folder, so nothing else the student handed in (IPython startup files, modules that would
shadow numpy) reaches the kernel, which starts with a fresh IPython profile there.
The submission's locked cells are put back from the release (nbgrader's checksums say
which were edited; deleted ones are re-inserted), and the notebook is marked `tampered`
if any were. Its test cells are never executed: after the student's own cells, the
grader runs one collection cell per exercise of the lesson (see `collect`), then collects
the exercises that call earlier graded functions once more, with correct versions of
those (`Task.given`), so that one bug costs one exercise. A cell that
times out, runs out of memory, kills the kernel or starts too many processes fails
alone: the kernel is restarted, the cells that succeeded before it are replayed, and
execution goes on, within the submission's wall-clock budget (`Task.budget`), which
replays count against: when it is spent, the exercises not yet collected are `timeout`.
What comes back is data, bounded: answers within the payload caps of `collect` (and
SUBMISSION_BYTES in all), and a notebook whose outputs are cut to CELL_OUTPUT_CAP per
cell and NOTEBOOK_OUTPUT_CAP in all and made safe for formgrader (`formgrader_safe`).
`judge_execution` scores the data in the grader; an error there costs one exercise.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import given
from autograder.grading import slicing
from autograder.grading.collect import (
    MAX_BYTES,
    MAX_ITEMS,
    MIME,
    BadPayload,
    TooLarge,
    clean_text,
    decode,
    size_of,
)
from autograder.grading.kernel import OUTPUT_CAP, CellRun, Kernel, KernelStartError
from autograder.grading.result import ExerciseResult
from autograder.grading.sandbox import Sandbox
from autograder.grading.status import CellStatus, Failure, Status
from autograder.judge import judge
from autograder.notebook import (
    grade_id,
    identity,
    is_graded,
    is_locked,
    metadata,
    test_cells,
)

NOT_RUN = ("[not run during grading: no graded function depends on this cell "
           "(autograder/grading/slicing.py)]\n")
# A submitted notebook larger than this is not read (the lessons' solutions, with every
# output, are under 1.5 MB).
NOTEBOOK_CAP = 32 * 2**20
# Answers the grader accepts from one submission, all exercises together.
SUBMISSION_BYTES = 4 * MAX_BYTES
SUBMISSION_ITEMS = 2 * MAX_ITEMS
# Outputs kept in the autograded notebook (the solutions' largest cell holds 360 KB of
# output, their largest notebook 0.9 MB); the rest is dropped with a note.
CELL_OUTPUT_CAP = 512 * 2**10
NOTEBOOK_OUTPUT_CAP = 4 * 2**20
# Budget per submission when none is given: this many per-cell timeouts per graded
# exercise, and never fewer than MIN_BUDGET_CELLS of them.
BUDGET_PER_EXERCISE = 4
MIN_BUDGET_CELLS = 10


def default_budget(timeout: float, exercises: int) -> float:
    """The wall-clock budget of one submission: cells, the grader's calls and replays."""
    return timeout * max(MIN_BUDGET_CELLS, BUDGET_PER_EXERCISE * exercises)


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
    budget: float = 0.0  # wall-clock seconds for the whole submission; 0: default_budget
    tampered: list[str] = field(default_factory=list)  # what the grader refused to follow
    # {exercise: {name it calls: nnlib's version}}: collected again with those bound
    given: dict[str, dict[str, str]] = field(default_factory=dict)
    # {exercise: nnlib's graded functions stubbed in the copy its correct versions come
    # from (`given.withheld`)}: an exercise not here has no second run
    withheld: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.budget or default_budget(self.sandbox.limits.timeout, len(self.counts))


@dataclass
class Execution:
    """What executing a submission produced: its statuses and notes; per exercise, the
    (public, hidden) outcomes, or a Failure when there are none; in `given`, the outcomes
    with correct versions of the functions it calls."""

    student: str
    statuses: set[Status] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    outcomes: dict[str, tuple | Failure] = field(default_factory=dict)
    given: dict[str, tuple] = field(default_factory=dict)
    notebook: dict | None = None


def _identity(cell) -> tuple | None:
    """A submitted cell's `identity`, None when its metadata are malformed."""
    try:
        return identity(cell)
    except (TypeError, ValueError, AttributeError):
        return None


def restore(nb, release) -> tuple[object, list[str]]:
    """`nb` with every locked cell of `release` in its released form; and what was changed.

    A written answer is a grade cell too, but it is the student's to write: it stays."""
    locked = {grade_id(c): c for c in release.cells if is_locked(c)}
    cells, seen, notes = [], set(), []
    for i, cell in enumerate(nb.cells, start=1):
        gid = grade_id(cell)
        if gid in locked and gid not in seen:
            seen.add(gid)
            if _identity(cell) != identity(locked[gid]):
                notes.append(f"cell {i} ({gid}) was edited; the original was restored")
            cells.append(copy.deepcopy(locked[gid]))
            continue
        if is_locked(cell) or is_graded(cell):
            del cell.metadata["nbgrader"]
        cells.append(cell)
    order = [grade_id(c) for c in release.cells]
    for gid in [g for g in order if g in locked and g not in seen]:
        notes.append(f"locked cell {gid} was deleted; it was put back")
        before = [g for g in order[:order.index(gid)] if g is not None]
        at = max((k + 1 for k, c in enumerate(cells) if grade_id(c) in before), default=0)
        cells.insert(at, copy.deepcopy(locked[gid]))
    nb.cells = cells
    return nb, notes


# after these the kernel is gone: a replayed cell that ends so is not replayed again
KILLED = (CellStatus.HUNG, CellStatus.DEAD, CellStatus.FLOOD, CellStatus.GARBLED)


class OutOfTime(Exception):
    """The submission's wall-clock budget is spent."""


class _Runner:
    """Runs cells, turning every failure into a status and a note, and recovering; every
    cell, replays included, within what is left of the submission's budget."""

    def __init__(self, kernel: Kernel, execution: Execution, timeout: float, cap: int,
                 deadline: float):
        self.kernel, self.execution, self.timeout, self.cap = kernel, execution, timeout, cap
        self.deadline = deadline
        self.good: list[str] = []

    def _limit(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OutOfTime
        return min(self.timeout, left)

    def run(self, code: str, where: str) -> tuple[CellRun, Failure | None]:
        """Run one cell. A problem is added to the submission's statuses and notes (its
        Failure's note says what the cell did) and, unless the cell was only interrupted,
        the kernel is restarted and the good cells replayed."""
        limit = self._limit()
        run = self.kernel.run(code, limit)
        failure = self._problem(run, limit)
        if failure is None:
            if run.ok:
                self.good.append(code)
            return run, None
        self.execution.statuses.add(failure.status)
        if run.status == CellStatus.TIMEOUT and failure.status == Status.TIMEOUT:
            # only interrupted: the kernel and what the cells before defined are intact (a
            # cell that also left too many processes is a crash: they go with the kernel)
            self.execution.notes.append(f"{where} {failure.note}")
            if time.monotonic() >= self.deadline:
                raise OutOfTime
            return run, failure
        self.execution.notes.append(f"{where} {failure.note}; the kernel was restarted and "
                                    f"{len(self.good)} earlier cell(s) replayed")
        self.recover()
        return run, failure

    def _problem(self, run: CellRun, limit: float) -> Failure | None:
        if run.status == CellStatus.OOM:
            return Failure(Status.MEMORY, "ran out of memory (its processes and files together)")
        if run.status == CellStatus.DEAD:
            return Failure(Status.CRASHED, "killed its kernel")
        if (max(run.processes, self.kernel.processes()) > self.cap
                or self.kernel.hit_process_cap()):
            return Failure(Status.CRASHED, "started too many processes")
        if run.status == CellStatus.HUNG:
            return Failure(Status.TIMEOUT, f"ran past {limit:g} s and ignored the interrupt")
        if run.status == CellStatus.GARBLED:
            return Failure(Status.CRASHED, "sent output the grader could not read and was "
                                           "stopped")
        if run.status == CellStatus.FLOOD:
            return Failure(Status.TIMEOUT, f"printed without end (over {OUTPUT_CAP // 2**20} "
                                           "MB) and was stopped")
        if run.status == CellStatus.TIMEOUT:
            return Failure(Status.TIMEOUT, "ran past the time limit and was interrupted")
        if run.ename == "MemoryError":
            return Failure(Status.MEMORY, "ran out of memory")
        return None

    def recover(self) -> None:
        self._limit()
        self.kernel.restart()
        for code in list(self.good):
            if self.kernel.run(code, self._limit()).status in KILLED:
                self.good.remove(code)
                self._limit()
                self.kernel.restart()


class _Answers:
    """The answers accepted from one submission, within SUBMISSION_BYTES/ITEMS in all."""

    def __init__(self):
        self.chars = self.items = 0

    def read(self, run: CellRun, failure: Failure | None, name: str, nonce: str,
             counts) -> tuple | Failure:
        """The (public, hidden) outcomes the collection cell sent, or why there are none
        (with a note when the answer was refused)."""
        if failure is not None:
            return Failure(failure.status)
        if run.status not in (CellStatus.OK, CellStatus.ERROR):
            return Failure(Status.CRASHED)
        if run.ename or len(run.payloads) != 1 or not isinstance(run.payloads[0], str):
            return Failure(Status.CRASHED)
        text = run.payloads[0]
        chars, items = size_of(text)
        try:
            if chars <= MAX_BYTES and items <= MAX_ITEMS and (
                    self.chars + chars > SUBMISSION_BYTES
                    or self.items + items > SUBMISSION_ITEMS):
                return Failure(Status.REFUSED, (
                    f"not graded: its answers, with those of the exercises before it, were "
                    f"more than the grader accepts from one submission "
                    f"({SUBMISSION_BYTES // 2**20} MB, {SUBMISSION_ITEMS:,} values)"))
            found = decode(text, name, nonce, counts)
        except TooLarge as exc:
            return Failure(Status.REFUSED, (
                f"not graded: its answer was too large for the grader ({exc}; it accepts "
                f"{MAX_BYTES // 2**20} MB and {MAX_ITEMS:,} values per exercise)"))
        except BadPayload:
            return Failure(Status.CRASHED)
        self.chars, self.items = self.chars + chars, self.items + items
        return Failure(Status.MISSING) if found is None else found


class NotRegular(OSError):
    """The submitted notebook is a symbolic link or not a regular file."""


class TooBig(ValueError):
    """The submitted notebook is larger than NOTEBOOK_CAP."""


def read_submission(path: Path, cap: int = NOTEBOOK_CAP) -> bytes:
    """The bytes of the notebook at `path`, read without following a symbolic link and
    only from a regular file; TooBig when it is larger than `cap`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegular(f"{path.name} is a symbolic link") from None
        raise
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(f"{path.name} is not a regular file")
        data = f.read(cap + 1)
    if len(data) > cap:
        raise TooBig(f"larger than {cap // 2**20} MB")
    return data


def _refuse(execution: Execution, counts, why: str) -> Execution:
    execution.statuses.add(Status.TAMPERED)
    execution.notes.append(why)
    for name in counts:
        execution.outcomes[name] = Failure(Status.TAMPERED)
    return execution


def execute(task: Task) -> Execution:
    """Execute one submission in a fresh sandboxed kernel; never raises for student code."""
    deadline = time.monotonic() + task.seconds
    execution = Execution(task.student)
    if task.tampered:
        execution.statuses.add(Status.TAMPERED)
        execution.notes += task.tampered
    if task.notebook is None:
        if task.tampered:
            return _refuse(execution, task.counts, "nothing was graded")
        execution.statuses.add(Status.MISSING)
        execution.notes.append(f"no notebook for {task.lesson} was submitted")
        return execution
    path = Path(task.notebook)
    try:
        data = read_submission(path)
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except NotRegular as exc:
        return _refuse(execution, task.counts, f"{exc}: it was not followed and nothing "
                                               "was graded")
    except Exception as exc:  # noqa: BLE001 - nbformat raises many unrelated types
        execution.statuses.add(Status.UNREADABLE)
        detail = f": {exc}" if isinstance(exc, TooBig) else ""
        execution.notes.append(f"the notebook could not be read ({type(exc).__name__}"
                               f"{detail})")
        return execution
    release = nbformat.read(task.release, as_version=4)
    nb, changed = restore(nb, release)
    if changed:
        execution.statuses.add(Status.TAMPERED)
        execution.notes += changed
    tests = set(test_cells(release))
    work = Path(tempfile.mkdtemp(prefix="nncourse-grade-"))
    try:
        workdir = work / "lesson"
        workdir.mkdir()
        # only the notebook, as a regular file: the kernel's IPYTHONDIR and HOME are in
        # this folder, so the kernel starts with a fresh, empty IPython profile
        (workdir / path.name).write_bytes(data)
        del data
        _copy_font_cache(workdir)
        execution.notebook = formgrader_safe(
            _execute(task, nb, tests, workdir, execution, deadline), release)
    except KernelStartError as exc:
        execution.statuses.add(Status.CRASHED)
        execution.notes.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - a grade row with a reason, never a lost one
        execution.statuses.add(Status.CRASHED)
        execution.notes.append(clean_text(f"grading stopped early: {type(exc).__name__}: "
                                          f"{exc}", 500))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return execution


def _graded_names(task: Task) -> set[str]:
    """The functions grading calls: the exercises and the earlier ones they call."""
    return set(task.counts).union(*task.given.values())


def _execute(task: Task, nb, tests: set[str], workdir: Path, execution: Execution,
             deadline: float) -> dict:
    limits = task.sandbox.limits
    nonce = secrets.token_hex(16)
    kept, answers = _KeptOutputs(), _Answers()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    try:
        with Kernel(task.sandbox, workdir, [Path(task.inputs).parent], MIME) as kernel:
            runner = _Runner(kernel, execution, limits.timeout, limits.processes // 2,
                             deadline)
            code = [(i, cell) for i, cell in enumerate(nb.cells, start=1)
                    if cell.cell_type == "code" and grade_id(cell) not in tests]
            # with nothing to grade there is nothing to leave out: every cell runs
            plan = slicing.plan([cell.source for _, cell in code],
                                _graded_names(task)) if task.counts else None
            for k, (i, cell) in enumerate(code):
                source = cell.source if plan is None else plan[k]
                if source is None:
                    cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                           text=NOT_RUN)]
                    continue
                run, _ = runner.run(source, f"cell {i}")
                cell.outputs = kept.cell(run.outputs)
                del run
            for name, counts in task.counts.items():
                code = (f"__import__('autograder.grading.collect', fromlist=['collect'])"
                        f".collect({name!r}, {kernel.inside(task.inputs)!r}, {nonce!r})")
                run, failure = runner.run(code, f"grading {name}")
                got = answers.read(run, failure, name, nonce, counts)
                if got == Failure(Status.CRASHED) and failure is None:
                    # a kernel left broken by an earlier cell: once more in a fresh one
                    execution.notes.append(f"grading {name} got no answer; the kernel was "
                                           f"restarted and {len(runner.good)} cell(s) replayed")
                    runner.recover()
                    got = answers.read(*runner.run(code, f"grading {name}"), name, nonce, counts)
                del run
                if isinstance(got, Failure) and got.note:
                    execution.statuses.add(got.status)
                    execution.notes.append(f"grading {name}: {got.note}")
                execution.outcomes[name] = got
            _collect_given(task, execution, runner, answers, kernel, nonce)
    except OutOfTime:
        left = [name for name in task.counts if name not in execution.outcomes]
        execution.statuses.add(Status.TIMEOUT)
        execution.notes.append(
            f"the submission ran past its time budget of {task.seconds:g} s (its cells, the "
            f"grader's calls and the replays after a restart all count)"
            + (f"; not graded: {', '.join(left)}" if left else ""))
        for name in left:
            execution.outcomes[name] = Failure(Status.TIMEOUT, (
                f"not graded: the submission used up its time budget of {task.seconds:g} s "
                "before the grader called it"))
    return nb


def _collect_given(task: Task, execution: Execution, runner: _Runner, answers: _Answers,
                   kernel: Kernel, nonce: str) -> None:
    """Collect each exercise that calls earlier graded functions once more, with correct
    versions of them: nnlib's sources enter the kernel only now, after every function was
    collected as written, and each exercise's own copy of them (`given.sources`), in which
    its own reference and the lesson's other graded functions it does not call are stubs.
    An exercise goes after those it calls, so no copy the kernel held before an exercise's
    second run had its reference. What goes wrong here changes no grade: the first
    outcomes stand."""
    todo = {name: uses for name, uses in task.given.items()
            if execution.outcomes.get(name) != Failure(Status.MISSING)}
    # what an exercise calls comes with all that calls in turn: fewer names, earlier
    for name in sorted(todo, key=lambda name: len(todo[name])):
        uses, stubbed = todo[name], task.withheld.get(name)
        if stubbed is None:
            continue
        sources = dict(given.sources(uses, stubbed))
        code = (f"__import__('autograder.grading.collect', fromlist=['collect']).collect("
                f"{name!r}, {kernel.inside(task.inputs)!r}, {nonce!r}, {uses!r}, {sources!r})")
        got = answers.read(*runner.run(code, f"grading {name} with correct {', '.join(uses)}"),
                           name, nonce, task.counts[name])
        if isinstance(got, tuple):
            execution.given[name] = got


def _copy_font_cache(workdir: Path) -> None:
    """Matplotlib rebuilds its font list (seconds) in a fresh config folder; reuse ours."""
    import matplotlib

    target = workdir / ".matplotlib"
    target.mkdir(exist_ok=True)
    for f in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
        shutil.copy(f, target)


# --- what the autograded notebook keeps, for formgrader --------------------------------

KEPT_DATA = ("text/plain", "image/png")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
# Markdown that could render as active content: raw HTML, links and images (whose URL may
# be javascript:), and MathJax commands that make links or attributes.
_ACTIVE_MARKDOWN = re.compile(r"<|\]\s*[(:\[]|\\(?:href|url|class|cssId|style|require|"
                              r"unicode|mmlToken|data|html|attr)\b")


def _text(value, cap: int | None = None) -> str:
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    return clean_text(value if isinstance(value, str) else "", cap)


def safe_output(out) -> dict | None:
    """A kernel output as formgrader may show it: streams, errors, and display data
    reduced to text/plain and a well-formed image/png, with no metadata; None to drop."""
    kind = out.get("output_type") if isinstance(out, dict) else None
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_text(out.get("text")))
    if kind == "error":
        trace = out.get("traceback")
        trace = [_text(t, 10_000) for t in trace[:100]] if isinstance(trace, list) else []
        return nbformat.v4.new_output("error", ename=_text(out.get("ename"), 200),
                                      evalue=_text(out.get("evalue"), 2000), traceback=trace)
    if kind not in ("display_data", "execute_result"):
        return None
    data = out.get("data") if isinstance(out.get("data"), dict) else {}
    kept = {}
    if "text/plain" in data:
        kept["text/plain"] = _text(data["text/plain"])
    png = data.get("image/png")
    if isinstance(png, str) and _BASE64.fullmatch(png):
        kept["image/png"] = png
    others = sorted(clean_text(str(k), 100) for k in data if k not in kept)
    if others and "text/plain" not in kept:
        kept["text/plain"] = (f"[{', '.join(others)}: not kept by the grader, which keeps "
                              "only text and PNG images]")
    if not kept:
        return None
    if kind == "display_data":
        return nbformat.v4.new_output("display_data", data=kept)
    count = out.get("execution_count")
    return nbformat.v4.new_output("execute_result", data=kept, execution_count=count
                                  if isinstance(count, int) and not isinstance(count, bool)
                                  else None)


class _KeptOutputs:
    """Outputs kept in the autograded notebook: CELL_OUTPUT_CAP per cell and
    NOTEBOOK_OUTPUT_CAP in all, the rest replaced by a note saying how much was dropped."""

    def __init__(self, cell_cap: int = CELL_OUTPUT_CAP, total_cap: int = NOTEBOOK_OUTPUT_CAP):
        self.cell_cap, self.total_cap, self.total = cell_cap, total_cap, 0

    def cell(self, outputs: list) -> list:
        kept, used, dropped = [], 0, 0
        for out in outputs:
            clean = safe_output(out)
            if clean is None:
                continue
            size = len(json.dumps(clean))
            room = min(self.cell_cap - used, self.total_cap - self.total)
            if size > room and clean.output_type == "stream" and room > 4096:
                dropped += size - room
                clean.text = clean.text[:room - 1024]
                size = len(json.dumps(clean))
            elif size > room:
                dropped += size
                continue
            kept.append(clean)
            used += size
            self.total += size
        if dropped:
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=(
                f"\n[nncourse: {dropped / 2**10:,.0f} KB of this cell's output were not kept; "
                f"the autograded notebook keeps {self.cell_cap // 2**10} KB per cell and "
                f"{self.total_cap // 2**20} MB in all]\n")))
        return kept


def _fenced(source: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{source}\n{fence}"


def formgrader_safe(nb, release):
    """`nb` made safe to render in formgrader (nbconvert, which does not sanitize):
    the release's notebook metadata, cell metadata reduced to the release's nbgrader
    entry, and every markdown or raw cell that is not the release's own and could render
    as active content (HTML, links, images, MathJax's link commands) shown as its text
    in a code block. Outputs are made safe as they are kept (`safe_output`)."""
    trusted = {(c.cell_type, c.source) for c in release.cells}
    grading = {grade_id(c): metadata(c) for c in release.cells if grade_id(c)}
    nb.metadata = copy.deepcopy(release.metadata)
    for cell in nb.cells:
        gid = grade_id(cell)
        cell.metadata = nbformat.NotebookNode(
            {"nbgrader": copy.deepcopy(grading[gid])} if gid in grading else {})
        if cell.cell_type == "code" or (cell.cell_type, cell.source) in trusted:
            continue
        cell.pop("attachments", None)
        if cell.cell_type == "raw" or _ACTIVE_MARKDOWN.search(cell.source):
            cell.cell_type, cell.source = "markdown", _fenced(cell.source)
    return nb


def judge_execution(execution: Execution, exercises, cases) -> dict[str, ExerciseResult]:
    """Per exercise: score, max, status and the message a student may read. Judging that
    fails on what the student sent costs that exercise (status `refused`), nothing more."""
    out = {}
    for ex in exercises:
        got = execution.outcomes.get(ex.name, Failure(Status.MISSING))
        if isinstance(got, Failure):
            entry = ExerciseResult(0, ex.points, got.status, got.message(ex.name))
        else:
            try:
                entry = _judged(ex, got, cases)
            except Exception as exc:  # noqa: BLE001 - one exercise lost, not the run
                why = f"the grader could not judge what it returned ({type(exc).__name__})"
                execution.statuses.add(Status.REFUSED)
                execution.notes.append(f"grading {ex.name}: {why}")
                entry = ExerciseResult(0, ex.points, Status.REFUSED, f"✗ {ex.name}: not "
                                       f"graded: {why}; return numbers and arrays of numbers.")
        if entry.score < ex.points and ex.name in execution.given:
            entry = _judged_given(ex, execution.given[ex.name], cases, out) or entry
        out[ex.name] = entry
    return out


def _judged_given(ex, got, cases, judged: dict[str, ExerciseResult]) -> ExerciseResult | None:
    """The verdict with correct versions of what `ex` calls, when that one passes: its
    points, and which of the functions it calls to fix (those judged before it)."""
    try:
        second = _judged(ex, got, cases)
    except Exception:  # noqa: BLE001 - the first verdict stands
        return None
    if second.score < ex.points:
        return None
    failing = [n for n in given.uses(ex) if n in judged and judged[n].score < judged[n].max]
    return ExerciseResult(ex.points, ex.points, "graded", given.note(ex, failing))


def _judged(ex, got, cases) -> ExerciseResult:
    parts = [(cases[ex.name][key], outcomes)
             for key, outcomes in zip(("public", "hidden"), got, strict=True)]
    reports = [judge(ex, c, o, hidden=i == 1) for i, (c, o) in enumerate(parts)]
    passed = all(r.passed for r in reports)
    # an exercise not yet written says so once, not once per set of cases
    messages = dict.fromkeys(r.message(c) for r, (c, _) in zip(reports, parts, strict=True))
    return ExerciseResult(ex.points if passed else 0, ex.points, "graded",
                          clean_text("\n".join(messages)))


