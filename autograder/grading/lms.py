"""The course gradebook in a learning management system's import format.

    nncourse export --lms canvas|moodle|csv [--out FILE]

One row per student of nbgrader's gradebook, one column per lesson. A lesson's score is
the one `nbgrader export` gives (autograded points plus the points entered by hand in
formgrader, less any late penalty; 0 when nothing was submitted), so written answers count
as soon as they are graded in formgrader.

- canvas: the layout of Canvas's gradebook export, which its gradebook import reads back:
  `Student, ID, SIS User ID, SIS Login ID, Section`, one column per assignment, and a
  `Points Possible` row under the header. Canvas matches a row by `ID` (the student's
  `lms_user_id` in nbgrader, when set) or by `SIS Login ID` (the nbgrader student id); a
  column whose name is not an assignment of the Canvas course creates one.
- moodle: the columns of Moodle's "Export to text file", which its "Import from CSV file"
  reads: `First name, Last name, ID number, Email address` and one column per grade item;
  map `ID number` (the nbgrader student id) to the user field when importing.
- csv: `student_id, last_name, first_name, email`, a column per lesson, `total`, `max`
  and `awaiting_hand_grading` (the lessons whose written answers are not graded yet).

Every cell goes through `csv_cell`: names are the students' own text.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.grading.export import COLUMNS, csv_cell, submission_row


@dataclass
class StudentGrades:
    """A student's gradebook entries: scores[lesson] and the lessons awaiting hand grading."""

    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    scores: dict[str, float] = field(default_factory=dict)
    awaiting: list[str] = field(default_factory=list)


def read_gradebook(db_url: str) -> tuple[dict[str, float], list[StudentGrades]]:
    """({lesson: max score}, every student's grades), lessons and students sorted by name."""
    with Gradebook(db_url) as gb:
        lessons = sorted(gb.assignments, key=lambda a: a.name)
        maxima = {a.name: float(a.max_score) for a in lessons}
        students = []
        for s in sorted(gb.students, key=lambda s: s.id):
            grades = StudentGrades(s.id, s.first_name or "", s.last_name or "", s.email or "",
                                   s.lms_user_id or "")
            for a in lessons:
                row = dict(zip(COLUMNS, submission_row(gb, a, s)))
                grades.scores[a.name] = float(row["score"])
                try:
                    if gb.find_submission(a.name, s.id).needs_manual_grade:
                        grades.awaiting.append(a.name)
                except MissingEntry:
                    pass
            students.append(grades)
    return maxima, students


def _number(x: float) -> str:
    return f"{x:g}"


def canvas_rows(maxima, students):
    yield ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *maxima]
    yield ["Points Possible", "", "", "", "", *map(_number, maxima.values())]
    for s in students:
        name = ", ".join(n for n in (s.last_name, s.first_name) if n) or s.id
        yield [name, s.lms_user_id, "", s.id, "", *(_number(s.scores[a]) for a in maxima)]


def moodle_rows(maxima, students):
    yield ["First name", "Last name", "ID number", "Email address", *maxima]
    for s in students:
        yield [s.first_name, s.last_name, s.id, s.email, *(_number(s.scores[a]) for a in maxima)]


def csv_rows(maxima, students):
    yield ["student_id", "last_name", "first_name", "email", *maxima, "total", "max",
           "awaiting_hand_grading"]
    for s in students:
        yield [s.id, s.last_name, s.first_name, s.email,
               *(_number(s.scores[a]) for a in maxima), _number(sum(s.scores.values())),
               _number(sum(maxima.values())), " ".join(s.awaiting)]


ROWS = {"canvas": canvas_rows, "moodle": moodle_rows, "csv": csv_rows}


def export(db_url: str, lms: str, dest: Path) -> list[StudentGrades]:
    """Write the gradebook to `dest` in the format `lms`; return the students written."""
    if lms not in ROWS:
        raise ValueError(f"unknown LMS format {lms!r}; choose one of {', '.join(ROWS)}")
    maxima, students = read_gradebook(db_url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for row in ROWS[lms](maxima, students):
            writer.writerow([csv_cell(cell) for cell in row])
    return students
