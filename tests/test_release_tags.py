"""The release tags every check cell `raises-exception` (Run All goes on past an unsolved
exercise) and nothing else; nbgrader validate still names each unsolved or wrong exercise,
as selftest reads it."""

from pathlib import Path

import nbformat
import pytest
from course_copy import copy_course

from autograder.course import CourseError, find_root, read_notebook
from autograder.release import build
from autograder.selftest import (
    answered,
    cell_errors,
    execute,
    exercises,
    validate_failures,
    validate_problems,
    validate_reports,
)

ROOT = find_root(Path(__file__).parent)


def _tagged(nb):
    return [bool(c.cell_type == "code" and "raises-exception" in c.metadata.get("tags", []))
            for c in nb.cells]


def _is_check(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def test_release_tags_exactly_the_check_cells(tmp_path):
    nb = read_notebook(build(ROOT, "01-mp-neuron", tmp_path) / "01-mp-neuron.ipynb")
    assert _tagged(nb) == [bool(_is_check(c)) for c in nb.cells]
    assert sum(_tagged(nb)) == 3
    source = read_notebook(ROOT / "solutions" / "01-mp-neuron" / "01-mp-neuron.ipynb")
    assert not any(_tagged(source))  # nbval on the solution still demands no error


def test_validate_report_is_read_cell_by_cell():
    report = """VALIDATION FAILED ON 2 CELL(S)!
==========
The following cell failed:

    check("mp_neuron", mp_neuron)

The error was:

    ✗ mp_neuron: not implemented yet

==========
The following cell failed:

    print(undefined)

The error was:

    NameError

==========
The following cell failed:

    YOUR ANSWER HERE

The error was:

    You did not provide a response.
"""
    # the written answer is graded by hand: not one of the failures selftest compares
    assert validate_failures(report) == {"mp_neuron", "a cell starting 'print(undefined)'"}
    assert validate_failures("Success! Your notebook passes all the tests.") == set()


def test_answered_release_solves_and_breaks_exercises_in_turn():
    names = exercises(read_notebook(ROOT / "lectures" / "02-perceptron" /
                                    "02-perceptron.ipynb"))
    nb = answered(ROOT, "02-perceptron", lambda k, name: ("wrong", "solved", "stub")[k % 3])
    sources = {name: c.source for c in nb.cells for name in names
               if c.metadata.get("nbgrader", {}).get("solution") and f"def {name}(" in c.source}
    assert "return None" in sources[names[0]] and "NotImplementedError" not in sources[names[0]]
    assert "NotImplementedError" not in sources[names[1]] and "return None" not in sources[names[1]]
    assert "raise NotImplementedError()" in sources[names[2]]


def test_selftest_catches_validate_passing_an_unsolved_exercise(tmp_path):
    """A check cell that checks nothing passes validate while unsolved: selftest says so."""
    course = copy_course(tmp_path / "course")
    path = course / "lectures" / "00-welcome" / "00-welcome.ipynb"
    nb = read_notebook(path)
    for cell in nb.cells:
        if _is_check(cell):
            cell.source = "step"
    nbformat.write(nb, path)
    problems = validate_problems(course, "00-welcome")
    assert len(problems) == 2, problems
    assert "on the release reports [] failing, expected every exercise: ['step']" in problems[0]
    assert "with ['step'] answered wrongly and the rest solved reports []" in problems[1]


def test_selftest_kernels_listen_on_private_unix_sockets(tmp_path):
    """Kernels started side by side on TCP can race for a port (jupyter_client picks free
    ports and releases them for the kernel to bind), so selftest's kernels, its own and
    those of nbgrader validate, use Unix sockets in a private folder."""
    probe = tmp_path / "probe.ipynb"
    cell = nbformat.v4.new_code_cell(
        "from ipykernel.kernelapp import IPKernelApp\n"
        "app = IPKernelApp.instance()\n"
        "assert app.transport == 'ipc' and '/nncourse-kernel-' in app.ip, (app.transport, "
        "app.ip)")
    # a test cell: nbgrader validate reports the failures of graded cells only
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "probe", "points": 1,
                                 "solution": False, "locked": True, "schema_version": 3}
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), probe)
    report, = validate_reports(copy_course(tmp_path / "course"), probe)
    assert report.startswith("Success!"), report
    assert cell_errors(execute(probe)) == []


def test_one_validate_run_reports_on_each_notebook_in_turn(tmp_path):
    """selftest validates a lesson's two notebooks in one nbgrader process and splits its
    report; a notebook it does not report on is an error, not a pass."""
    course = copy_course(tmp_path / "course")
    release = course / "lectures" / "00-welcome" / "00-welcome.ipynb"
    solved = tmp_path / "solved" / "00-welcome.ipynb"
    solved.parent.mkdir()
    nbformat.write(answered(course, "00-welcome", lambda k, name: "solved"), solved)
    on_release, on_solved = validate_reports(course, release, solved)
    assert validate_failures(on_release) == {"step"}, on_release
    assert on_solved.startswith("Success!") and validate_failures(on_solved) == set(), on_solved
    with pytest.raises(CourseError, match="reported on 1 of 2 notebooks"):
        validate_reports(course, solved, tmp_path / "missing.ipynb")
