"""The course's nbgrader configuration, exercised with stock nbgrader commands."""

from pathlib import Path

import nbformat
from course_copy import copy_course
from nbgrader.api import Gradebook

from autograder.course import find_root, nbgrader

LESSON = "00-welcome"


def test_deleted_test_cells_come_back_and_feedback_hides_hidden_tests(tmp_path):
    root = copy_course(tmp_path / "course", LESSON)
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


def test_a_cells_identity_changes_exactly_when_nbgrader_s_checksum_does():
    """Grading tells an edited locked cell by `notebook.identity` (without importing
    nbgrader in every worker): on every graded cell of the course, and on each field an
    edit can change, it agrees with nbgrader's own checksum."""
    import copy

    from nbgrader.utils import compute_checksum

    from autograder.notebook import grade_id, identity

    root = find_root(Path(__file__).parent)
    cells = [c for path in sorted(root.glob("*/*/*.ipynb"))
             if path.parts[-3] in ("lectures", "solutions")
             for c in nbformat.read(path, 4).cells if grade_id(c)]
    edits = [lambda c: c.update(source=c.source + " "),
             lambda c: c.metadata.nbgrader.update(points=c.metadata.nbgrader.get("points", 0) + 1),
             lambda c: c.metadata.nbgrader.update(grade=not c.metadata.nbgrader.get("grade"),
                                                  points=c.metadata.nbgrader.get("points", 1)),
             lambda c: c.metadata.nbgrader.update(locked=not c.metadata.nbgrader.get("locked")),
             lambda c: c.metadata.nbgrader.update(grade_id=c.metadata.nbgrader.grade_id + "x")]
    variants = cells + [edit(c := copy.deepcopy(cell)) or c for cell in cells[:40]
                        for edit in edits]
    checksums, identities = {}, {}
    for cell in variants:
        checksums.setdefault(identity(cell), set()).add(compute_checksum(cell))
        identities.setdefault(compute_checksum(cell), set()).add(identity(cell))
    assert len(cells) > 100
    assert all(len(v) == 1 for v in checksums.values())
    assert all(len(v) == 1 for v in identities.values())
