"""The course's nbgrader configuration, exercised with stock nbgrader commands."""

import shutil
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.course import find_root, nbgrader

ROOT = find_root(Path(__file__).parent)
LESSON = "00-welcome"


def test_deleted_test_cells_come_back_and_feedback_hides_hidden_tests(tmp_path):
    root = tmp_path / "course"
    for name in ("solutions", "lectures"):
        shutil.copytree(ROOT / name / LESSON, root / name / LESSON)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    nbgrader(root, "generate_assignment", LESSON, "--force")

    solution = nbformat.read(root / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    answer = next(c.source for c in solution.cells
                  if c.metadata.get("nbgrader", {}).get("solution"))
    nb = nbformat.read(root / "lectures" / LESSON / f"{LESSON}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answer
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    submitted = root / "grading" / "submitted" / "ada" / LESSON
    submitted.mkdir(parents=True)
    nbformat.write(nb, submitted / f"{LESSON}.ipynb")

    nbgrader(root, "autograde", LESSON, "--create", "--force")
    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        submission = gb.find_submission(LESSON, "ada")
        assert (submission.score, submission.max_score) == (2, 2)

    nbgrader(root, "generate_feedback", LESSON, "--force")
    html = (root / "grading" / "feedback" / "ada" / LESSON / f"{LESSON}.html").read_text()
    assert "check(&quot;step&quot;, step)" in html or 'check("step", step)' in html
    for secret in ("BEGIN HIDDEN TESTS", "hidden=True"):
        assert secret not in html
    assert not (tmp_path / "gradebook.db").exists()
