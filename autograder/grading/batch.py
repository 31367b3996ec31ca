"""`nncourse grade`: a whole lesson, every student, resumable.

The grader draws the hidden cases from the secret seed, builds the sandbox and the
stubbed nnlib once, then executes each student's submission (`run.execute`, in workers)
and judges the data that comes back in this process. A student whose `results.json`
was written for the same notebook, seed and limits is not graded again, so an
interrupted run resumes and a repeated run changes nothing; a student with no notebook
in this run's submissions keeps the result of an earlier run into the same output folder
(so late submissions can be graded from a folder of their own). At the end the gradebook
and `grades.csv` are rewritten from every student's `results.json`. The lesson enters
nbgrader's gradebook here (`release.register`, which also creates the gradebook), the
first time it is graded or when its graded cells changed; `nncourse release` leaves the
gradebook alone, so it holds only lessons that were graded.

Output layout: OUT/grades.csv, and OUT/students/<student_id>/ with results.json and
feedback.html (an id that is not a plain folder name is %-quoted), so that no student
folder can be named like an output file. Nothing a student submits, returns, prints or
names stops the run: whatever fails for one student is confined to that student's row,
with a reason in its notes; cells of grades.csv that a spreadsheet would read as a
formula are escaped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import stat
import zipfile
from dataclasses import asdict, replace
from pathlib import Path
from urllib.parse import quote

import nbformat
from traitlets.config.loader import PyFileConfigLoader

import nnlib
from autograder import given, registry
from autograder.cases import cases_for, hidden_seed, seed_file
from autograder.course import CourseError, read_notebook, release_notebook
from autograder.grading import feedback, gradebook, parallel
from autograder.grading.collect import clean_text
from autograder.grading.export import csv_cell
from autograder.grading.result import ExerciseResult, StudentResult
from autograder.grading.run import Task, execute, judge_execution, read_submission
from autograder.grading.sandbox import Limits, make_sandbox, stub_reference
from autograder.grading.status import Status, status_text
from autograder.notebook import by_hand, grade_id, graded_cells, test_cells
from autograder.release import register

FORMAT = 3
STUDENTS = "students"  # OUT/students/<student_id>/: results.json, feedback.html
WALK_CAP = 10_000  # entries of a submission folder inspected for links
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def nbgrader_paths(root: Path) -> tuple[str, Path]:
    """(gradebook URL, autograded folder) as nbgrader_config.py sets them."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    course = config.CourseDirectory
    return (course.get("db_url", f"sqlite:///{root / 'gradebook.db'}"),
            Path(course.get("autograded_directory", root / "autograded")))


def unpack(archive: Path, dest: Path) -> Path:
    """Extract a zip of submissions into `dest` and return the folder of student folders.

    The zip holds `<student_id>/<LESSON>/*.ipynb`, at its top or inside one folder (as a
    zipped `submitted/` would). Members that would land outside `dest` are refused.
    """
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            target = (dest / member).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise CourseError(f"{archive}: member {member!r} points outside the archive")
        zf.extractall(dest)
    entries = [p for p in dest.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir() and not any(entries[0].glob("*/*.ipynb")):
        return entries[0]
    return dest


def student_id(folder: str) -> str:
    """The id of the student whose submissions are in `folder`: its name, with bytes that
    are not UTF-8 written as \\xNN (such a name could not be stored anywhere)."""
    return os.fsencode(folder).decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """`text` safe for the instructor's terminal: control characters as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", clean_text(text))


def folder_name(student: str) -> str:
    """The folder of `student` under OUT/students: the id itself when it is a plain folder
    name, else the id %-quoted (a hash when even that is too long)."""
    if (student and not student.startswith(".") and not re.search(r"[/\x00%]", student)
            and len(student.encode("utf-8", "surrogatepass")) <= 200):
        return student
    name = quote(student, safe="", errors="backslashreplace")
    name = "%2E" + name[1:] if name.startswith(".") else name
    if len(name) > 200:
        name = "%" + hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()
    return name


def student_dir(out: Path, student: str) -> Path:
    return out / STUDENTS / folder_name(student)


def _earlier(out: Path, student: str) -> StudentResult | None:
    """The result of an earlier run into `out`, also from the layout before OUT/students."""
    found = feedback.read_student(student_dir(out, student))
    if found is None and folder_name(student) == student:
        legacy = out / student
        if legacy.is_dir() and not legacy.is_symlink():
            found = feedback.read_student(legacy)
            if found is not None and found.student_id != student:
                found = None
    return found


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


# what the grader did not do with a link of each kind
LINKS = {"symbolic link": "followed", "hard link": "read"}


def _link(path: Path) -> str | None:
    """The kind of link `path` is (a key of LINKS), or None. A file with more than one name
    is a hard link: its other name may be the solution or a classmate's notebook."""
    try:
        info = path.lstat()
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "symbolic link"
    return "hard link" if not stat.S_ISDIR(info.st_mode) and info.st_nlink > 1 else None


def _same_file(submissions: Path, lesson: str, notebook: Path) -> list[str] | None:
    """The student folders whose notebooks are the other names of the hard-linked
    `notebook`, or None when one of its names lies elsewhere (the solution, say)."""
    info = notebook.lstat()
    others = []
    for path in submissions.glob(f"*/{lesson}/*.ipynb"):
        if path == notebook or any(p.is_symlink() for p in (path, path.parent, path.parents[1])):
            continue
        found = path.lstat()
        if (found.st_dev, found.st_ino) == (info.st_dev, info.st_ino):
            others.append(path.parents[1].name)
    return sorted(others) if len(others) + 1 == info.st_nlink else None


def inspect(submissions: Path, folder: str | None, lesson: str) -> tuple[Path | None, list[str],
                                                                           bool]:
    """(the notebook to grade, notes on what was not followed or read, whether nothing is
    graded).

    The notebook is `<folder>/<lesson>/<lesson>.ipynb`, else the first `*.ipynb` there. No
    link is followed or read: a student folder, lesson folder or notebook that is a
    symbolic link, or a notebook that is a hard link to a file outside the submissions, is
    refused (nothing is graded; one linked only to classmates' notebooks is graded), and a
    link anywhere else in the lesson folder is reported, while the notebook is still graded
    (nothing else from the folder is ever read)."""
    if folder is None:
        return None, [], False
    base = submissions / folder
    for path, what in ((base, "the student folder"), (base / lesson, f"the folder {lesson}")):
        if path.is_symlink():
            return None, [f"{what} is a symbolic link; it was not followed and nothing was "
                          "graded"], True
    lesson_dir = base / lesson
    if not lesson_dir.is_dir():
        return None, [], False
    links: dict[str, list[str]] = {kind: [] for kind in LINKS}
    notes, seen = [], 0
    for dirpath, dirnames, filenames in os.walk(lesson_dir):
        for name in dirnames + filenames:
            seen += 1
            path = Path(dirpath, name)
            kind = _link(path)
            if kind:
                links[kind].append(printable(str(path.relative_to(lesson_dir))))
        if seen > WALK_CAP:
            notes.append(f"the submission folder holds more than {WALK_CAP} files: not all "
                         "were inspected for links")
            break
    exact = lesson_dir / f"{lesson}.ipynb"
    if exact.is_symlink() or _is_regular(exact):
        notebook = exact
    else:
        found = sorted(p for p in lesson_dir.glob("*.ipynb") if p.is_symlink() or _is_regular(p))
        notebook = found[0] if found else None
    kind = _link(notebook) if notebook else None
    if kind == "hard link":
        classmates = _same_file(submissions, lesson, notebook)
        if classmates is not None:
            # Its other names are classmates' notebooks: grading what it holds shows no
            # one anything, and refusing it would let one student void another's work.
            kind = None
            links["hard link"].remove(printable(notebook.name))
            notes.append(f"the submitted notebook is the same file (a hard link) as the "
                         f"notebook of {', '.join(printable(c) for c in classmates)}")
    if kind:
        return None, [f"the submitted notebook {printable(notebook.name)} is a {kind}; it was "
                      f"not {LINKS[kind]} and nothing was graded"], True
    for kind, names in links.items():
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more"
                                            if len(names) > 5 else "")
            notes.append(f"the submission folder holds {kind}s ({shown}); they were not "
                         f"{LINKS[kind]}, and only the notebook was graded")
    return notebook, notes, False


def fingerprint(notebook: Path | None, lesson: str, seed: int, limits: Limits,
                budget: float = 0.0, notes: list[str] = ()) -> str:
    h = hashlib.sha256(f"{FORMAT}|{lesson}|{seed}|{json.dumps(asdict(limits))}|{budget:g}|"
                       f"{json.dumps(list(notes))}".encode())
    if notebook is None:
        h.update(b"<missing>")
    else:
        try:
            h.update(read_submission(notebook))
        except (OSError, ValueError) as exc:
            h.update(f"<{type(exc).__name__}>".encode())
    return h.hexdigest()


def grades_csv(results: list[StudentResult], names: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student_id", "lesson", "score", "max_score", "by_hand", "status", *names])
    for r in results:
        writer.writerow([csv_cell(v) for v in (
            r.student_id, r.lesson, f"{r.score:g}", f"{r.max_score:g}", f"{r.by_hand:g}",
            r.status, *(f"{r.exercise_score(n):g}" for n in names))])
    return buf.getvalue()


def _autograded_notebook(nb, result: StudentResult, cells: dict[str, str]):
    """The executed, restored notebook for formgrader, test cells showing the verdicts
    (the worker already made the rest safe: `run.formgrader_safe`)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type == "code" and gid in cells:
            message = result.exercises[cells[gid]].message
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=clean_text(message) + "\n")]
    return nb


def _students(submissions: Path, out: Path, db_url: str) -> dict[str, str | None]:
    """{student id: their folder in `submissions`, or None}: every student with a folder,
    in the gradebook, or with a result in `out`."""
    found: dict[str, str | None] = {}
    for p in submissions.iterdir():
        if p.name.startswith(".") or p == out or not (p.is_dir() or p.is_symlink()):
            continue
        found[student_id(p.name)] = p.name
    earlier = []
    if (out / STUDENTS).is_dir():
        for folder in (out / STUDENTS).iterdir():
            result = feedback.read_student(folder)
            if result is not None:
                earlier.append(result.student_id)
    for student in [*gradebook.students(db_url), *earlier]:
        found.setdefault(student, None)
    return dict(sorted(found.items()))


def _placeholder(student: str, lesson: str, exercises, max_score: float, manual: float,
                 status: Status, note: str, fingerprint: str | None = None) -> StudentResult:
    return StudentResult(student, lesson, 0, max_score, manual, status,
                         {ex.name: ExerciseResult(0, ex.points, status,
                                                  f"✗ {ex.name}: not graded ({note}).")
                          for ex in exercises}, (note,), fingerprint)


def grade(root: Path, lesson: str, submissions: Path, out: Path | None = None, jobs: int = 1,
          limits: Limits | None = None, scheduler: str | None = None, use_bwrap: bool = True,
          log=print, submission_timeout: float | None = None,
          unsandboxed: bool = False) -> list[StudentResult]:
    """Grade every submission of `lesson`; return the results, the rows of grades.csv.

    `submission_timeout` is each submission's wall-clock budget in seconds, replays after
    a restart included (default: `run.default_budget`). Without bubblewrap, students' code
    would run as the grader, able to read `solutions/` and the seed (as root, to change
    anything): that is refused unless `unsandboxed` says it is meant."""
    limits = limits or Limits()
    exercises = registry.all_exercises(lesson)
    if not exercises:
        raise CourseError(f"no graded exercise is registered for lesson {lesson!r}")
    submissions = submissions.resolve()
    is_zip = submissions.is_file() and zipfile.is_zipfile(submissions)
    if not (submissions.is_dir() or is_zip):
        raise CourseError(f"{submissions}: neither a folder nor a zip of submissions")
    out = (out or root / "grading" / "graded" / lesson).resolve()
    release_path = release_notebook(root, lesson)
    release = read_notebook(release_path)
    cells, manual = test_cells(release), sum(by_hand(release).values())
    db_url, autograded = nbgrader_paths(root)
    if not gradebook.registered(db_url, lesson, graded_cells(release)):
        register(root, lesson)  # creates the gradebook (and grading/) on a fresh clone
    gradebook.require(db_url, lesson)
    withheld = [p for ex in exercises for p in ex.withheld_paths]
    missing = [str(p) for p in withheld if not p.is_file()]
    if missing:
        raise CourseError(f"the data to withhold from students' kernels is not where the "
                          f"registry says: {', '.join(missing)}")
    seed = hidden_seed(root)

    work = out / ".work"
    shutil.rmtree(work, ignore_errors=True)
    (work / "cases").mkdir(parents=True)
    if is_zip:
        submissions = unpack(submissions, work / "submissions")
    cases = {ex.name: {"public": cases_for(ex, False), "hidden": cases_for(ex, True, seed)}
             for ex in exercises}
    inputs = work / "cases" / "cases.pkl"
    inputs.write_bytes(pickle.dumps(cases))
    stub_reference(Path(nnlib.__file__).parent, [ex.reference for ex in exercises],
                   work / "stub")
    sandbox = make_sandbox(root, [submissions, out, seed_file(root)], work / "stub",
                           Path(nnlib.__file__).parent, limits, use_bwrap, withheld)
    if sandbox.mode != "bubblewrap" and not unsandboxed:
        shutil.rmtree(work, ignore_errors=True)
        why = "; ".join(sandbox.notes) or "bwrap is not installed"
        raise CourseError(
            f"no sandbox for students' code ({why}): it would run as "
            f"{'root' if os.geteuid() == 0 else 'you'}, able to read solutions/ and the "
            "hidden-test seed. Install bubblewrap (Debian: apt-get install bubblewrap) or, to "
            "grade trusted submissions anyway, pass --unsandboxed")
    log(sandbox.describe())

    counts = {name: (len(c["public"]), len(c["hidden"])) for name, c in cases.items()}
    uses = {ex.name: given.references(ex) for ex in exercises if ex.uses}
    withheld = {ex.name: given.withheld(ex, [e.reference for e in exercises])
                for ex in exercises if ex.uses}
    budget = float(submission_timeout or 0)
    students = _students(submissions, out, db_url)
    prints, tasks, kept = {}, [], 0
    for student, folder in students.items():
        notebook, notes, refused = inspect(submissions, folder, lesson)
        earlier = _earlier(out, student)
        if notebook is None and not refused and earlier is not None:
            # nothing handed in for this lesson in this run: the earlier result stands
            if feedback.read_student(student_dir(out, student)) is None:
                feedback.write_student(student_dir(out, student), earlier)
            kept += 1
            continue
        prints[student] = fingerprint(notebook, lesson, seed, limits, budget, notes)
        if earlier is None or earlier.fingerprint != prints[student] or \
                feedback.read_student(student_dir(out, student)) is None:
            tasks.append(Task(student, lesson, str(notebook) if notebook else None,
                              str(release_path), str(inputs), counts, sandbox, budget, notes,
                              uses, withheld))
    log(f"{lesson}: {len(students)} student(s)"
        + (f" ({kept} with nothing handed in this time keep an earlier result)" if kept else "")
        + f", {len(students) - len(tasks)} already graded, {len(tasks)} to grade")

    max_score = sum(ex.points for ex in exercises) + manual
    pending = {t.student for t in tasks}
    try:
        for execution in parallel.run(execute, tasks, jobs, scheduler):
            pending.discard(execution.student)
            try:
                result = _result(execution, lesson, exercises, cases, max_score, manual,
                                 prints[execution.student])
                result = _write(out, autograded, lesson, cells, execution, result)
            except Exception as exc:  # noqa: BLE001 - one student's row, never the run
                result = _placeholder(execution.student, lesson, exercises, max_score, manual,
                                      Status.REFUSED, f"the grader failed on this submission "
                                      f"({type(exc).__name__})", prints[execution.student])
                feedback.write_student(student_dir(out, execution.student), result)
            log(f"  {printable(execution.student)}: {result.score:g}/{max_score:g} "
                f"{result.status}")
    except Exception as exc:  # noqa: BLE001 - a worker died or Dask failed: rows for all
        log(f"grading stopped: {type(exc).__name__}: {exc}; {len(pending)} submission(s) "
            "left are graded the next time this command runs")
        for student in sorted(pending):
            feedback.write_student(student_dir(out, student), _placeholder(
                student, lesson, exercises, max_score, manual, Status.CRASHED,
                f"grading was interrupted ({type(exc).__name__}); the next run grades it"))

    results = []
    for student in students:
        result = feedback.read_student(student_dir(out, student))
        if result is None:
            result = _placeholder(student, lesson, exercises, max_score, manual,
                                  Status.CRASHED,
                                  "its results could not be written; the next run grades it")
        results.append(result)
    graded_now = {t.student for t in tasks}
    for student, why in gradebook.record(db_url, lesson, results, cells, graded_now).items():
        log(f"  {printable(student)}: not recorded in the gradebook ({printable(why)})")
    feedback.write_atomic(out / "grades.csv", grades_csv(results, [ex.name for ex in exercises]))
    shutil.rmtree(work, ignore_errors=True)
    return results


def _result(execution, lesson, exercises, cases, max_score, manual,
            fingerprint) -> StudentResult:
    per_exercise = judge_execution(execution, exercises, cases)
    return feedback.cleaned(StudentResult(
        execution.student, lesson, sum(e.score for e in per_exercise.values()), max_score,
        manual, status_text(execution.statuses), per_exercise, tuple(execution.notes),
        fingerprint))


def _write(out: Path, autograded: Path, lesson: str, cells, execution,
           result: StudentResult) -> StudentResult:
    """The autograded notebook for formgrader (a failure there is a note), then the
    student's results.json and feedback.html; the result as written."""
    if execution.notebook is not None:
        student = execution.student
        try:
            if folder_name(student) != student:
                raise ValueError("the student id is not a plain folder name")
            path = autograded / student / lesson / f"{lesson}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            text = nbformat.writes(_autograded_notebook(execution.notebook, result, cells))
            feedback.write_atomic(path, clean_text(text) + "\n")
        except Exception as exc:  # noqa: BLE001 - formgrader loses a view, not the grade
            result = replace(result, notes=(
                *result.notes, f"the autograded notebook for formgrader could not be written "
                               f"({type(exc).__name__})"))
    feedback.write_student(student_dir(out, execution.student), result)
    return result
