"""nncourse release / selftest and the exercise contract, on real and broken courses."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course_copy import copy_course

from autograder import contract
from autograder.course import CourseError, find_root, lessons, read_notebook
from autograder.release import build, leaks, lint_source
from autograder.selftest import unexpected_errors

ROOT = find_root(Path(__file__).parent)
LESSONS = lessons(ROOT)


def nncourse(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=env)


@pytest.fixture
def course(tmp_path):
    """A copy of the course root holding only lesson 00-welcome."""
    return copy_course(tmp_path / "course")


def test_every_lesson_keeps_the_exercise_contract():
    assert LESSONS, "the course has no lessons"
    for lesson in LESSONS:
        assert contract.problems(ROOT, lesson) == []


def test_contract_reports_a_wrong_signature_and_wrong_points(course):
    path = course / "solutions" / "00-welcome" / "00-welcome.ipynb"
    nb = read_notebook(path)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = cell.source.replace("def step(z):", "def step(x, theta=0):")
        if meta.get("grade"):
            meta["points"] = 5
    nbformat.write(nb, path)
    found = "\n".join(contract.problems(course, "00-welcome"))
    assert "defines step(x, theta=0), the registry says step(z)" in found
    assert "worth 5 points, the registry says 2" in found


def test_release_is_byte_identical_and_free_of_solutions(tmp_path):
    a = build(ROOT, "00-welcome", tmp_path / "a") / "00-welcome.ipynb"
    b = build(ROOT, "00-welcome", tmp_path / "b") / "00-welcome.ipynb"
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "hidden=True", "np.where(z >= 0"):
        assert secret not in text
    assert '"execution"' not in text and "raise NotImplementedError()" in text


def test_leaks_are_found_and_unmarked_solutions_are_refused():
    source = read_notebook(ROOT / "solutions" / "00-welcome" / "00-welcome.ipynb")
    assert leaks(source, read_notebook(ROOT / "lectures" / "00-welcome" / "00-welcome.ipynb")) \
        == []
    assert leaks(source, source)  # the source itself leaks everything
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION")])
    with pytest.raises(CourseError, match="cell 1 has a '### BEGIN SOLUTION' region but is not"):
        lint_source(bad, Path("x.ipynb"))


def test_release_check_from_a_folder_inside_the_course(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NNCOURSE_ROOT"}
    inside = ROOT / "lectures" / "00-welcome"
    proc = nncourse("release", "--check", "00-welcome", cwd=inside, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lectures/ is up to date." in proc.stdout
    assert not (inside / "gradebook.db").exists()
    proc = nncourse("release", "--check", "00-welcome", cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "is not inside a course" in proc.stderr


def test_clear_errors_for_missing_lesson_and_malformed_notebook(course):
    env = dict(os.environ, NNCOURSE_ROOT=str(course))
    proc = nncourse("release", "99-nothing", cwd=course, env=env)
    assert proc.returncode == 2
    assert "no lesson '99-nothing'" in proc.stderr and "lessons are: 00-welcome" in proc.stderr
    (course / "solutions" / "00-welcome" / "00-welcome.ipynb").write_text("{not json")
    proc = nncourse("release", cwd=course, env=env)
    assert proc.returncode == 2 and "not a valid notebook" in proc.stderr


def test_release_detects_a_stale_lecture(course):
    env = dict(os.environ, NNCOURSE_ROOT=str(course))
    lecture = course / "lectures" / "00-welcome" / "00-welcome.ipynb"
    lecture.write_text(lecture.read_text().replace("Welcome", "Welcome!"))
    proc = nncourse("release", "--check", cwd=course, env=env)
    assert proc.returncode == 1 and "00-welcome.ipynb differs" in proc.stdout
    assert nncourse("release", cwd=course, env=env).returncode == 0
    assert nncourse("release", "--check", cwd=course, env=env).returncode == 0


def test_selftest_fails_a_lesson_whose_solution_is_wrong(course):
    path = course / "solutions" / "00-welcome" / "00-welcome.ipynb"
    nb = read_notebook(path)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = cell.source.replace("z >= 0, 1.0", "z > 0, 1.0")
    nbformat.write(nb, path)
    env = dict(os.environ, NNCOURSE_ROOT=str(course))
    proc = nncourse("selftest", cwd=course, env=env)
    assert proc.returncode == 1
    assert "the solution scores 0/2" in proc.stdout


def _executed(*outputs):
    cells = []
    for source, ename, evalue in outputs:
        cell = nbformat.v4.new_code_cell(source)
        if ename:
            cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                                   traceback=[])]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def test_release_errors_are_allowed_only_when_they_come_from_stubs():
    nb = _executed(("W = make_weights()", "NotImplementedError", ""),
                   ("W.sum()", "NameError", "name 'W' is not defined"),
                   ("check('step', step)", "CheckFailed", "✗ step: not implemented yet"),
                   ("1 / 0", "ZeroDivisionError", "division by zero"),
                   ("V.sum()", "NameError", "name 'V' is not defined"))
    assert unexpected_errors(nb) == ["cell 4: ZeroDivisionError: division by zero",
                                     "cell 5: NameError: name 'V' is not defined"]


def test_selftest_prints_each_lesson_as_it_finishes_and_no_kernel_warnings(course):
    """The row of the first lesson arrives while the second is still running, and the
    kernels (ipc transport, shut down at once) add nothing to the output."""
    env = dict(os.environ, NNCOURSE_ROOT=str(course))
    proc = subprocess.Popen([sys.executable, "-m", "autograder.cli", "selftest", "--jobs", "1",
                             *["00-welcome"] * 2], cwd=course, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().split() == ["#", "lesson", "solution", "release", "by",
                                              "hand", "time", "status"]
    first = proc.stdout.readline()
    still_running = proc.poll() is None
    rest, errors = proc.communicate(timeout=600)
    shown = first + rest + errors
    assert first.split()[:4] == ["1/2", "00-welcome", "2/2", "0/2"], shown
    assert first.split()[-1] == "ok", shown
    assert still_running, "the first row was printed only when everything had finished"
    assert [line.split()[0] for line in rest.splitlines()] == ["2/2"]
    assert proc.returncode == 0
    assert "WARNING" not in errors and "ERROR" not in errors, errors
