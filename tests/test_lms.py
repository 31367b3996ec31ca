"""`nncourse export --lms canvas|moodle|csv`: the course gradebook in the layouts that
Canvas's and Moodle's grade importers read, hand-graded points included once entered.

The gradebook holds two lessons: L1 (a test cell worth 2 and a written answer worth 3) and
L2 (a test cell worth 4); three students, one of them with a hostile id and name, one
without an L2 submission. Scores are recorded as `nncourse grade` records them, and a
written answer is graded as formgrader grades it (the grade's manual_score).
"""

import csv
import shutil

import pytest
from nbgrader.api import Gradebook
from test_instructor import course, empty_gradebook, nncourse  # noqa: F401 (fixtures)

from autograder.grading import gradebook
from autograder.grading.export import FORMULA
from autograder.grading.lms import export
from autograder.grading.result import ExerciseResult, StudentResult

HOSTILE = "=HYPERLINK(\"http://x\")"
STUDENTS = {  # id: (first, last, email, lms_user_id)
    "ada": ("Ada", "Lovelace", "ada@example.org", "1001"),
    "bob": ("Bob", "Smith, Jr", "bob@example.org", None),
    HOSTILE: (HOSTILE, "-2+3", "@x", None),
}
AUTO = {"L1": {"ada": 2, "bob": 0, HOSTILE: 2}, "L2": {"ada": 4}}  # no L2 from bob


@pytest.fixture
def db_url(empty_gradebook, tmp_path):  # noqa: F811 (the fixture imported above)
    grading = tmp_path / "course" / "grading"
    grading.mkdir(parents=True)
    shutil.copy(empty_gradebook, grading / "gradebook.db")
    url = f"sqlite:///{grading / 'gradebook.db'}"
    with Gradebook(url) as gb:
        for lesson, cells in (("L1", {"f-tests": 2, "why-answer": 3}), ("L2", {"g-tests": 4})):
            gb.add_assignment(lesson)
            gb.add_notebook(lesson, lesson)
            for name, points in cells.items():
                kind = "markdown" if name.endswith("answer") else "code"
                gb.add_grade_cell(name, lesson, lesson, max_score=points, cell_type=kind)
                if kind == "markdown":
                    gb.add_solution_cell(name, lesson, lesson)
        for sid, (first, last, email, lms) in STUDENTS.items():
            gb.add_student(sid, first_name=first, last_name=last, email=email, lms_user_id=lms)
    for lesson, scores in AUTO.items():
        test = "f" if lesson == "L1" else "g"
        top = {"L1": 2, "L2": 4}[lesson]  # the points of its test cell
        results = [StudentResult(s, lesson, p, top, 0, "graded",
                                 {test: ExerciseResult(p, top, "graded", "")})
                   for s, p in scores.items()]
        gradebook.record(url, lesson, results, {f"{test}-tests": test})
    return url


def grade_by_hand(db_url: str, student: str, points: float) -> None:
    """What formgrader does when the instructor enters a written answer's points."""
    with Gradebook(db_url) as gb:
        grade = gb.find_grade("why-answer", "L1", "L1", student)
        grade.manual_score = points
        grade.needs_manual_grade = False
        gb.db.commit()


def read(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_canvas_layout_with_points_possible_and_hand_graded_points(db_url, tmp_path):
    grade_by_hand(db_url, "ada", 2.5)
    export(db_url, "canvas", tmp_path / "canvas.csv")
    header, points, *rows = read(tmp_path / "canvas.csv")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "L1", "L2"]
    assert points == ["Points Possible", "", "", "", "", "5", "4"]
    by_login = {row[3]: row for row in rows}
    assert by_login["ada"] == ["Lovelace, Ada", "1001", "", "ada", "", "4.5", "4"]
    assert by_login["bob"] == ["Smith, Jr, Bob", "", "", "bob", "", "0", "0"]
    assert len(rows) == 3


def test_moodle_layout(db_url, tmp_path):
    export(db_url, "moodle", tmp_path / "moodle.csv")
    header, *rows = read(tmp_path / "moodle.csv")
    assert header == ["First name", "Last name", "ID number", "Email address", "L1", "L2"]
    assert ["Ada", "Lovelace", "ada", "ada@example.org", "2", "4"] in rows
    assert ["Bob", "Smith, Jr", "bob", "bob@example.org", "0", "0"] in rows


def test_plain_csv_totals_and_what_awaits_hand_grading(db_url, tmp_path):
    grade_by_hand(db_url, "ada", 3)
    export(db_url, "csv", tmp_path / "grades.csv")
    header, *rows = read(tmp_path / "grades.csv")
    assert header == ["student_id", "last_name", "first_name", "email", "L1", "L2", "total",
                      "max", "awaiting_hand_grading"]
    by_id = {row[0]: row for row in rows}
    assert by_id["ada"][4:] == ["5", "4", "9", "9", ""]
    assert by_id["bob"][4:] == ["0", "0", "0", "9", "L1"]


@pytest.mark.parametrize("lms", ["canvas", "moodle", "csv"])
def test_no_cell_reads_as_a_formula(db_url, tmp_path, lms):
    export(db_url, lms, tmp_path / "out.csv")
    cells = [cell for row in read(tmp_path / "out.csv") for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA)]
    assert "'" + HOSTILE in cells


def test_an_unknown_format_is_named(db_url, tmp_path):
    with pytest.raises(ValueError, match="unknown LMS format 'blackboard'.*canvas, moodle, csv"):
        export(db_url, "blackboard", tmp_path / "out.csv")


def test_the_command_writes_into_grading_and_names_unfinished_hand_grading(course, db_url):  # noqa: F811
    done = nncourse("export", "--lms", "canvas", cwd=course)
    assert done.returncode == 0, done.stderr
    assert (course / "grading" / "canvas-grades.csv").is_file()
    assert "3 students" in done.stdout
    assert "written answers not yet graded" in done.stderr and "ada (L1)" in done.stderr
    refused = nncourse("export", "--lms", "blackboard", cwd=course)
    assert refused.returncode == 2 and "invalid choice" in refused.stderr
