"""Scores into nbgrader's gradebook, from the grader's process only.

Workers never open the SQLite file: the parent records every student's scores in one
transaction per student at the end of a run, so `--jobs` and Dask cannot corrupt it,
and formgrader and `nbgrader export` show exactly the numbers of grades.csv. A student
whose scores cannot be recorded is reported, and the others are recorded all the same.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning

from autograder.course import CourseError
from autograder.grading.result import StudentResult


def _notebooks(gb: Gradebook, lesson: str) -> list[str]:
    try:
        return [nb.name for nb in gb.find_assignment(lesson).notebooks]
    except MissingEntry:
        raise CourseError(f"{lesson} is not in the gradebook (`nncourse grade {lesson}` "
                          "registers it)") from None


def registered(db_url: str, lesson: str, grade_cells: dict[str, tuple[float, str]]) -> bool:
    """Whether the gradebook exists and holds `lesson` with exactly these graded cells
    (`grade_cells`: grade_id -> (points, cell type)) in its notebook of the same name."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return False  # opening it here would create it, and that needs alembic on PATH
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_notebook(lesson, lesson)
        except MissingEntry:
            return False
        found = {c.name: (float(c.max_score), c.cell_type) for c in notebook.grade_cells}
    return found == grade_cells


def require(db_url: str, lesson: str) -> None:
    """Fail early when the lesson is not in the gradebook."""
    with Gradebook(db_url) as gb:
        _notebooks(gb, lesson)


def record(db_url: str, lesson: str, results: list[StudentResult], cells: dict[str, str],
           fresh: set[str] | None = None) -> dict[str, str]:
    """Set the autograder score of each test cell (`cells`: grade_id -> exercise).

    A hand-set score of a test cell is cleared for the students in `fresh` (graded in this
    run; None: all), whose new grading supersedes it, and kept for the others.
    One transaction per student: a student whose scores cannot be recorded is rolled back
    and named in the returned {student: reason}; the others are recorded."""
    failed = {}
    with Gradebook(db_url) as gb:
        notebooks = _notebooks(gb, lesson)
        for result in results:
            student = result.student_id
            try:
                _record_one(gb, lesson, notebooks, student, result, cells,
                            fresh is None or student in fresh)
                gb.db.commit()
            except Exception as exc:  # noqa: BLE001 - one student's row, not the run
                gb.db.rollback()
                failed[student] = f"{type(exc).__name__}: {exc}"[:300]
    return failed


def _record_one(gb: Gradebook, lesson: str, notebooks: list[str], student: str,
                result: StudentResult, cells: dict[str, str], fresh: bool) -> None:
    gb.update_or_create_student(student)
    try:
        gb.find_submission(lesson, student)
    except MissingEntry:
        with warnings.catch_warnings():
            # nbgrader 0.9's add_submission trips SQLAlchemy 2's autoflush warnings
            warnings.simplefilter("ignore", SAWarning)
            gb.add_submission(lesson, student)
    for notebook in notebooks:
        for grade_id, name in cells.items():
            try:
                grade = gb.find_grade(grade_id, notebook, lesson, student)
            except MissingEntry:
                continue
            grade.auto_score = result.exercise_score(name)
            if fresh:
                grade.manual_score = None
            # a Grade is created needing a manual grade; nbgrader's autograde clears
            # that for every cell it scored (SaveAutoGrades), and so does this: only
            # written answers, which are not scored here, wait in formgrader
            grade.needs_manual_grade = False


def students(db_url: str) -> list[str]:
    with Gradebook(db_url) as gb:
        return [s.id for s in gb.students]
