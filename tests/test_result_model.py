"""The grading core's typed boundaries (issue 17): a student's result is a
`StudentResult` that reads and writes results.json; nbgrader's metadata is read by
`autograder.notebook` alone; the seed and cases live apart from the notebook-facing
`check`, which the grading package never imports."""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import autograder
from autograder import cases, notebook, registry
from autograder.course import lessons, read_notebook, release_notebook
from autograder.grading import batch, feedback
from autograder.grading.result import ExerciseResult, ResultError, StudentResult
from autograder.grading.status import Status
from autograder.report_data import read_lesson

PACKAGE = Path(autograder.__file__).parent
ROOT = PACKAGE.parent


# results.json as `nncourse grade` wrote it before StudentResult: the format is unchanged
WRITTEN = """{
 "student_id": "=ada",
 "lesson": "00-welcome",
 "score": 2,
 "max_score": 3.0,
 "by_hand": 1.0,
 "status": "timeout",
 "exercises": {
  "step": {
   "score": 2,
   "max": 2,
   "status": "graded",
   "message": "✓ step: all 4 public cases pass.\\n✓ step: all 9 hidden cases pass."
  },
  "ramp": {
   "score": 0,
   "max": 1,
   "status": "timeout",
   "message": "✗ ramp: calling it did not finish in time."
  }
 },
 "notes": [
  "grading ramp ran past the time limit and was interrupted"
 ],
 "fingerprint": "abc"
}"""


def test_a_result_reads_and_writes_results_json_byte_for_byte(tmp_path):
    # what the writer of the plain dict wrote, as that dict read back
    assert json.dumps(json.loads(WRITTEN), indent=1, ensure_ascii=False) == WRITTEN
    result = StudentResult.from_json(json.loads(WRITTEN))
    assert result.exercises["ramp"] == ExerciseResult(0, 1, "timeout",
                                                      "✗ ramp: calling it did not finish in time.")
    assert result.notes == ("grading ramp ran past the time limit and was interrupted",)
    assert (result.exercise_score("step"), result.exercise_score("absent")) == (2, 0)
    feedback.write_student(tmp_path, result)
    assert (tmp_path / "results.json").read_text(encoding="utf-8") == WRITTEN
    assert feedback.read_student(tmp_path) == result
    page = (tmp_path / "feedback.html").read_text()
    assert "Score: <b>2 / 3</b>. Status: timeout." in page and "1 of the 3 points" in page
    assert batch.grades_csv([result], ["step", "ramp", "absent"]).splitlines() == [
        "student_id,lesson,score,max_score,by_hand,status,step,ramp,absent",
        "'=ada,00-welcome,2,3,1,timeout,2,0,0"]


def test_what_a_result_holds_is_cleaned_before_it_is_written(tmp_path):
    result = StudentResult("bob\ud800", "00-welcome", 0, 2, 0, Status.CRASHED,
                           {"step": ExerciseResult(0, 2, Status.CRASHED, "x\ud800")})
    feedback.write_student(tmp_path, result)
    read = feedback.read_student(tmp_path)
    assert (read.student_id, read.exercises["step"].message) == ("bob\ufffd", "x\ufffd")
    assert read.status == "crashed" and read.notes == () and read.fingerprint is None


@pytest.mark.parametrize("change, named", [
    (lambda d: d.pop("lesson"), "no field 'lesson'"),
    (lambda d: d.update(score="2"), "'score' is '2', not a number"),
    (lambda d: d.update(max_score=True), "'max_score' is True, not a number"),
    (lambda d: d.update(exercises=[]), "'exercises' is [], not an object"),
    (lambda d: d["exercises"]["ramp"].pop("message"), "exercise 'ramp': no field 'message'"),
    (lambda d: d["exercises"].update(step=3), "exercise 'step': not a JSON object"),
    (lambda d: d["notes"].append(7), "note 1 is 7, not a string"),
    (lambda d: d.update(fingerprint=1), "'fingerprint' is 1, not a string or null"),
])
def test_a_damaged_result_names_the_file_and_the_field(tmp_path, change, named):
    data = json.loads(WRITTEN)
    change(data)
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(ResultError, match="results.json.*" + named.replace("[", r"\[")
                       .replace("]", r"\]")) as caught:
        feedback.load_student(tmp_path)
    assert str(tmp_path / "results.json") in str(caught.value)
    assert feedback.read_student(tmp_path) is None  # the grader grades such a student again


def test_results_written_before_by_hand_and_fingerprint_still_read():
    data = json.loads(WRITTEN)
    for key in ("by_hand", "notes", "fingerprint"):
        del data[key]
    result = StudentResult.from_json(data)
    assert (result.by_hand, result.notes, result.fingerprint) == (0, (), None)


def test_the_report_reads_grades_csv_when_a_results_json_is_missing_or_damaged(tmp_path):
    good = StudentResult.from_json(json.loads(WRITTEN))
    results = [good, *(StudentResult.from_json({**json.loads(WRITTEN), "student_id": s})
                       for s in ("bob", "cy"))]
    for result in results:
        feedback.write_student(batch.student_dir(tmp_path, result.student_id), result)
    (batch.student_dir(tmp_path, "bob") / "results.json").unlink()
    (batch.student_dir(tmp_path, "cy") / "results.json").write_text('{"student_id": "cy"}')
    feedback.write_atomic(tmp_path / "grades.csv", batch.grades_csv(results, ["step", "ramp"]))
    lesson = read_lesson(tmp_path)
    assert [s.id for s in lesson.students] == ["=ada", "bob", "cy"]
    ada, bob, cy = lesson.students
    assert ada.exercises == good.exercises
    for student in (bob, cy):
        assert student.exercises == {"step": ExerciseResult(2, 2, "timeout", ""),
                                     "ramp": ExerciseResult(0, 1, "timeout", "")}


def _module_file(name: str) -> Path | None:
    """The file of autograder module `name`, or None when it is not one of ours."""
    if name != "autograder" and not name.startswith("autograder."):
        return None
    path = PACKAGE.parent.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports(source: str) -> set[str]:
    """The autograder modules `source` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from autograder import registry` imports the module autograder.registry;
            # `from autograder import check` loads autograder.checker (autograder.__getattr__)
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if _module_file(f"{node.module}.{a.name}")}
            if node.module == "autograder" and {a.name for a in node.names} & set(
                    autograder._CHECKER):
                found.add("autograder.checker")
    return {n for n in found if _module_file(n)}


def reaches(start: str) -> dict[str, str]:
    """{autograder module: the module that imports it} for every module `start` imports,
    directly or through others. The package's __init__ is left out: it is the notebooks'
    `from autograder import check, latest`, not a dependency of the module imported."""
    seen, todo = {start: ""}, [start]
    while todo:
        name = todo.pop()
        for found in imports(_module_file(name).read_text()) - {"autograder"}:
            if found not in seen:
                seen[found] = name
                todo.append(found)
    return seen


def test_the_import_scan_finds_every_way_to_import_check():
    for source in ("import autograder.checker", "from autograder.checker import check",
                   "from autograder import check", "from autograder import show_case",
                   "def f():\n    import autograder.checker"):
        assert "autograder.checker" in imports(source), source
    assert "autograder.checker" not in imports("from autograder import cases, latest")
    assert reaches("autograder.selftest").keys() >= {"autograder.contract", "autograder.cases",
                                                     "autograder.registry"}


def test_the_grading_package_never_loads_the_checker():
    """Not even through the package's __init__, which the scan above leaves out: importing
    every grading module, the report and the seed's module loads no autograder.checker."""
    modules = [f"autograder.grading.{p.stem}" for p in sorted((PACKAGE / "grading").glob("*.py"))
               if p.stem != "__init__"] + ["autograder.report", "autograder.report_data",
                                            "autograder.cases", "autograder.notebook"]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('autograder.check')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    from autograder import check
    assert check.__name__ == "check" and callable(check)


def test_the_grading_package_never_imports_check():
    for path in sorted((PACKAGE / "grading").glob("*.py")):
        name = f"autograder.grading.{path.stem}" if path.stem != "__init__" else \
            "autograder.grading"
        found = reaches(name)
        assert "autograder.checker" not in found, (name, found.get("autograder.checker"))
    for name in ("autograder.report_data", "autograder.report", "autograder.cases",
                 "autograder.notebook"):
        assert "autograder.checker" not in reaches(name), name


def test_the_seed_comes_from_the_environment_then_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv(cases.SEED_FILE_ENV, raising=False)
    monkeypatch.setenv(cases.SEED_ENV, "42")
    assert cases.hidden_seed() == cases.hidden_seed(tmp_path) == 42
    assert not (tmp_path / "grading").exists()
    monkeypatch.delenv(cases.SEED_ENV)
    seed = cases.hidden_seed(tmp_path)  # the grader's first run creates the file
    path = tmp_path / "grading" / "hidden-seed"
    assert path.read_text() == f"{seed}\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cases.hidden_seed(tmp_path) == seed
    monkeypatch.setenv(cases.SEED_FILE_ENV, os.fspath(path))
    assert cases.hidden_seed() == seed  # what a notebook reads inside grading
    monkeypatch.delenv(cases.SEED_FILE_ENV)
    assert cases.hidden_seed() != cases.hidden_seed()  # no seed anywhere: fresh cases


def _cell(kind: str, source: str, **meta):
    new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = new(source)
    if meta:
        cell.metadata["nbgrader"] = meta
    return cell


def test_what_the_metadata_says_about_each_kind_of_cell():
    nb = nbformat.v4.new_notebook(cells=[
        _cell("code", "def step(z):\n    return z > 0", solution=True, grade=False,
              grade_id="step-answer"),
        _cell("code", 'check("step", step)\n# check("ramp", ramp)\n'
                      'check("step", step, hidden=True)', grade=True, solution=False,
              points=2, grade_id="step-test", locked=True),
        _cell("markdown", "Why?", grade=True, solution=True, points=1.5, grade_id="why"),
        _cell("markdown", "Plot it.", task=True, points=3, grade_id="task"),
        _cell("code", "import numpy as np", locked=True, grade_id="setup"),
        _cell("code", 'check("step", lambda z: z)'),  # a demonstration, not graded
        _cell("code", "%matplotlib inline", grade=True, solution=False, points=1,
              grade_id="magic"),
    ])
    answer, test, why, task, setup, demo, magic = nb.cells
    assert [notebook.grade_id(c) for c in nb.cells] == [
        "step-answer", "step-test", "why", "task", "setup", None, "magic"]
    assert [c for c in nb.cells if notebook.is_test(c)] == [test, magic]
    assert [c for c in nb.cells if notebook.is_locked(c)] == [test, setup, magic]
    assert [c for c in nb.cells if notebook.is_solution(c)] == [answer, why]
    assert notebook.graded_exercise(test) == "step"
    assert notebook.graded_exercise(demo) is notebook.graded_exercise(magic) is None
    assert notebook.checks(test.source) == [("step", "step", False), ("step", "step", True)]
    assert notebook.test_cells(nb) == {"step-test": "step"}
    assert notebook.by_hand(nb) == {"why": 1.5, "task": 3.0}
    assert notebook.graded_cells(nb) == {"step-test": (2.0, "code"), "why": (1.5, "markdown"),
                                         "magic": (1.0, "code")}
    assert notebook.points(setup) == 0 and notebook.metadata(demo) == {}


@pytest.mark.parametrize("lesson", lessons(ROOT))
def test_every_release_has_one_test_cell_per_registered_exercise(lesson):
    release = read_notebook(release_notebook(ROOT, lesson))
    found = notebook.test_cells(release)
    assert sorted(found.values()) == sorted(ex.name for ex in registry.all_exercises(lesson))
    points = {ex.name: ex.points for ex in registry.all_exercises(lesson)}
    assert {name: notebook.graded_cells(release)[gid][0] for gid, name in found.items()} == \
        points


def test_lesson_registries_hold_declarations_and_every_verifier_lives_in_verifiers():
    """A lesson file lists its exercises; the verifiers of answers that are not unique,
    whoever builds them, are functions of autograder/verifiers.py."""
    verified = [ex for ex in registry.all_exercises() if ex.verify is not None]
    assert verified
    elsewhere = {ex.name: ex.verify.__module__ for ex in verified
                 if ex.verify.__module__ != "autograder.verifiers"}
    assert elsewhere == {}


def test_every_exercise_is_graded_in_one_lesson():
    """A function is graded once (sigmoid in 03, sigmoid_prime in 04); later lessons import
    nnlib's."""
    twice = {ex.name: ex.lessons for ex in registry.all_exercises() if len(ex.lessons) != 1}
    assert twice == {}


def test_status_text_lists_statuses_in_their_order_or_graded():
    from autograder.grading.status import status_text
    assert status_text(set()) == "graded"
    assert status_text({Status.REFUSED, Status.TIMEOUT, "crashed"}) == "timeout;crashed;refused"
    assert status_text(["memory", "memory"]) == "memory"


def test_a_failure_says_the_usual_sentence_unless_it_has_a_note():
    from autograder.grading.status import CellStatus, Failure
    assert Failure(Status.MISSING).message("step") == (
        "✗ step: no function `step` was defined (or the cell defining it failed).")
    assert Failure(Status.TIMEOUT, "ran past 30 s").message("step") == "✗ step: ran past 30 s."
    # the two vocabularies stay apart: a cell's "timeout" is not the grader's
    assert CellStatus.TIMEOUT == Status.TIMEOUT == "timeout"
    assert not isinstance(CellStatus.TIMEOUT, Status)
    assert {s.value for s in Status} & {"ok", "hung", "flood", "garbled", "oom", "dead"} == set()
