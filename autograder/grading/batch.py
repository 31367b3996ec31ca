"""`nncourse grade`: a whole lesson, every student, resumable.

The grader draws the hidden cases from the secret seed, builds the sandbox and the
stubbed nnlib once, then executes each student's submission (`run.execute`, in workers)
and judges the data that comes back in this process. A student whose `results.json`
was written for the same notebook, seed and limits is not graded again, so an
interrupted run resumes and a repeated run changes nothing. At the end the gradebook
and `grades.csv` are rewritten from every student's `results.json`. The lesson enters
nbgrader's gradebook here (`release.register`, which also creates the gradebook), the
first time it is graded or when its graded cells changed; `nncourse release` leaves the
gradebook alone, so it holds only lessons that were graded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import secrets
import shutil
import zipfile
from dataclasses import asdict
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade
from traitlets.config.loader import PyFileConfigLoader

import nnlib
from autograder import registry
from autograder.check import SEED_ENV, SEED_FILE_ENV, cases_for
from autograder.course import CourseError, read_notebook, release_notebook
from autograder.grading import feedback, gradebook, parallel
from autograder.grading.run import (
    Task,
    by_hand,
    execute,
    judge_execution,
    status_text,
    test_cells,
)
from autograder.grading.sandbox import Limits, make_sandbox, stub_reference
from autograder.release import register

FORMAT = 1


def nbgrader_paths(root: Path) -> tuple[str, Path]:
    """(gradebook URL, autograded folder) as nbgrader_config.py sets them."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    course = config.CourseDirectory
    return (course.get("db_url", f"sqlite:///{root / 'gradebook.db'}"),
            Path(course.get("autograded_directory", root / "autograded")))


def graded_cells(release) -> dict[str, tuple[float, str]]:
    """{grade_id: (points, cell type)} of every graded cell of a released notebook."""
    return {c.metadata["nbgrader"]["grade_id"]: (float(c.metadata["nbgrader"]["points"]),
                                                 c.cell_type)
            for c in release.cells if is_grade(c)}


def seed_file(root: Path) -> Path:
    return Path(os.environ.get(SEED_FILE_ENV) or root / "grading" / "hidden-seed")


def secret_seed(root: Path) -> int:
    """NNCOURSE_HIDDEN_SEED, else the seed file (created with a fresh seed the first time)."""
    if os.environ.get(SEED_ENV):
        return int(os.environ[SEED_ENV])
    path = seed_file(root)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        feedback.write_atomic(path, f"{secrets.randbits(63)}\n")
        path.chmod(0o600)
    return int(path.read_text().strip())


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


def find_notebook(submissions: Path, student: str, lesson: str) -> Path | None:
    folder = submissions / student / lesson
    exact = folder / f"{lesson}.ipynb"
    if exact.is_file():
        return exact
    found = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    return found[0] if found else None


def fingerprint(notebook: Path | None, lesson: str, seed: int, limits: Limits) -> str:
    h = hashlib.sha256(f"{FORMAT}|{lesson}|{seed}|{json.dumps(asdict(limits))}".encode())
    h.update(notebook.read_bytes() if notebook is not None else b"<missing>")
    return h.hexdigest()


def grades_csv(results: list[dict], names: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student_id", "lesson", "score", "max_score", "by_hand", "status", *names])
    for r in results:
        writer.writerow([r["student_id"], r["lesson"], f"{r['score']:g}", f"{r['max_score']:g}",
                         f"{r.get('by_hand', 0):g}", r["status"],
                         *(f"{r['exercises'][n]['score']:g}" for n in names)])
    return buf.getvalue()


def _autograded_notebook(nb, result: dict, cells: dict[str, str]):
    """The executed, restored notebook for formgrader, test cells showing the verdicts."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and gid in cells:
            message = result["exercises"][cells[gid]]["message"]
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=message + "\n")]
    return nb


def _students(submissions: Path, out: Path, db_url: str) -> list[str]:
    folders = [p.name for p in submissions.iterdir()
               if p.is_dir() and not p.name.startswith(".") and p != out]
    return sorted(set(folders) | set(gradebook.students(db_url)))


def grade(root: Path, lesson: str, submissions: Path, out: Path | None = None, jobs: int = 1,
          limits: Limits | None = None, scheduler: str | None = None, use_bwrap: bool = True,
          log=print) -> list[dict]:
    """Grade every submission of `lesson`; return the rows of grades.csv as dicts."""
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
    seed = secret_seed(root)

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
    log(sandbox.describe())

    counts = {name: (len(c["public"]), len(c["hidden"])) for name, c in cases.items()}
    students = _students(submissions, out, db_url)
    prints, tasks = {}, []
    for student in students:
        notebook = find_notebook(submissions, student, lesson)
        prints[student] = fingerprint(notebook, lesson, seed, limits)
        done = feedback.read_student(out / student)
        if done is None or done.get("fingerprint") != prints[student]:
            tasks.append(Task(student, lesson, str(notebook) if notebook else None,
                              str(release_path), str(inputs), counts, sandbox))
    log(f"{lesson}: {len(students)} student(s), {len(students) - len(tasks)} already graded, "
        f"{len(tasks)} to grade")

    max_score = sum(ex.points for ex in exercises) + manual
    for execution in parallel.run(execute, tasks, jobs, scheduler):
        per_exercise = judge_execution(execution, exercises, cases)
        result = {"student_id": execution.student, "lesson": lesson,
                  "score": sum(e["score"] for e in per_exercise.values()),
                  "max_score": max_score, "by_hand": manual,
                  "status": status_text(execution.statuses),
                  "exercises": per_exercise, "notes": execution.notes,
                  "fingerprint": prints[execution.student]}
        if execution.notebook is not None:
            path = autograded / execution.student / lesson / f"{lesson}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(_autograded_notebook(execution.notebook, result, cells), path)
        feedback.write_student(out / execution.student, result)
        log(f"  {execution.student}: {result['score']:g}/{max_score:g} {result['status']}")

    results = [feedback.read_student(out / s) for s in students]
    gradebook.record(db_url, lesson, results, cells)
    feedback.write_atomic(out / "grades.csv", grades_csv(results, [ex.name for ex in exercises]))
    shutil.rmtree(work, ignore_errors=True)
    return results
