"""`nncourse release`: build `lectures/` from `solutions/` with nbgrader, reproducibly.

nbgrader's generate_assignment replaces solution regions with stubs, removes hidden
tests and locks test cells; here it runs with `--no-db`, since a lesson enters the
gradebook only when `nncourse grade` grades it (see `register`). Around it this module
adds four things: it lints the source first (a solution or hidden-test region outside an
nbgrader cell would be released as is), it strips what varies between runs and machines
(execution timestamps, the interpreter's version), it tags every check cell
`raises-exception`, so that JupyterLab's Restart & Run All shows an unsolved exercise's ✗
and runs on (nbgrader's validate and autograde, and `nncourse grade`, ignore the tag:
a check that raises still fails), and it refuses to write a release in which any line of
a solution or a hidden test survived.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder import notebook
from autograder.course import (
    CourseError,
    nbgrader,
    read_notebook,
    release_notebook,
    source_notebook,
)

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def lint_source(nb, path: Path) -> None:
    """Every solution region sits in a solution cell, every hidden test in a graded cell."""
    ids = set()
    for i, cell in enumerate(nb.cells, start=1):
        where, gid = f"{path}, cell {i}", notebook.grade_id(cell)
        if "BEGIN SOLUTION" in cell.source and not notebook.is_solution(cell):
            raise CourseError(f"{where} has a '### BEGIN SOLUTION' region but is not an nbgrader "
                              "solution cell; mark it 'Autograded answer' in the Create "
                              "Assignment toolbar")
        if "BEGIN HIDDEN TESTS" in cell.source and not notebook.is_graded(cell):
            raise CourseError(f"{where} has hidden tests but is not an nbgrader test cell; mark "
                              "it 'Autograder tests' with its points")
        if gid:
            if gid in ids:
                raise CourseError(f"{where}: grade_id {gid!r} is used twice")
            ids.add(gid)


def _secret_lines(nb) -> set[str]:
    """Lines that appear only inside solution or hidden-test regions of the source."""
    secret, public = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if any(m in text for m in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS")):
                inside = True
            elif any(m in text for m in ("END SOLUTION", "END HIDDEN TESTS")):
                inside = False
            elif text and not text.startswith("#"):
                (secret if inside else public).add(text)
    return secret - public


def leaks(source, release) -> list[str]:
    """What of the solutions and hidden tests would reach students through `release`."""
    found = []
    secret = _secret_lines(source)
    for i, cell in enumerate(release.cells, start=1):
        for line in cell.source.splitlines():
            text = line.strip()
            if any(m in text for m in MARKERS):
                found.append(f"cell {i}: marker {text!r}")
            elif text in secret:
                found.append(f"cell {i}: solution or hidden-test line {text!r}")
    return found


def normalize(nb) -> None:
    """Drop what differs between runs and machines, so a release is byte-identical."""
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC,
                                      "language_info": {"name": "python"}})
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def tag_checks(nb) -> None:
    """Tag each autograder-test cell `raises-exception`: Run All continues past it."""
    for cell in nb.cells:
        if cell.cell_type == "code" and notebook.is_test(cell):
            tags = cell.metadata.setdefault("tags", [])
            if "raises-exception" not in tags:
                tags.append("raises-exception")


def build(root: Path, lesson: str, out: Path, register: bool = False) -> Path:
    """Generate `lesson`'s release under `out/<lesson>/`; return that folder (see
    `build_all`)."""
    return build_all(root, [lesson], out, register)[lesson]


def build_all(root: Path, lessons: list[str], out: Path, register: bool = False
              ) -> dict[str, Path]:
    """Generate the release of each of `lessons` under `out/<lesson>/`; return those folders.

    One nbgrader process generates them all (starting nbgrader takes longer than releasing a
    lesson): its source folder is a temporary one holding links to just these lessons.
    The gradebook is left alone unless `register` is true: regenerating lectures/ (or
    checking it) is not handing a lesson out, and nbgrader's `export` would list every
    lesson in the gradebook with a row per student. `nncourse grade` registers its lesson."""
    sources = {}
    for lesson in lessons:
        src_path = source_notebook(root, lesson)
        sources[lesson] = read_notebook(src_path)
        lint_source(sources[lesson], src_path)
    with tempfile.TemporaryDirectory(prefix="nncourse-source-") as staged:
        for lesson in lessons:
            (Path(staged) / lesson).symlink_to(source_notebook(root, lesson).parent)
        nbgrader(root, "generate_assignment", "*", "--force",
                 f"--CourseDirectory.source_directory={staged}",
                 f"--CourseDirectory.release_directory={out}", "--log-level=WARN",
                 *(() if register else ("--no-db",)))
    folders = {}
    for lesson in lessons:
        folders[lesson] = folder = out / lesson
        for path in sorted(folder.glob("*.ipynb")):
            nb = read_notebook(path)
            normalize(nb)
            tag_checks(nb)
            problems = leaks(sources[lesson], nb)
            if problems:
                raise CourseError(f"refusing to release {lesson}: {path.name} would contain\n  "
                                  + "\n  ".join(problems[:20]))
            nbformat.write(nb, path)
    return folders


def register(root: Path, lesson: str) -> None:
    """Record `lesson`'s notebooks and graded cells in nbgrader's gradebook (creating it),
    as nbgrader's generate_assignment does; lectures/ is not touched."""
    with tempfile.TemporaryDirectory(prefix="nncourse-register-") as tmp:
        build(root, lesson, Path(tmp), register=True)


def _differences(new: Path, old: Path) -> list[str]:
    if not old.is_dir():
        return [f"{old} is missing"]
    cmp = filecmp.dircmp(new, old)
    out = [f"{old / n} is missing" for n in cmp.left_only]
    out += [f"{old / n} should not be there" for n in cmp.right_only]
    _, mismatch, errors = filecmp.cmpfiles(new, old, cmp.common_files, shallow=False)
    return out + [f"{old / n} differs" for n in mismatch + errors]


def release(root: Path, lessons: list[str], check_only: bool = False) -> list[str]:
    """Regenerate `lectures/` for `lessons` (or, with check_only, list what would change)."""
    changes = []
    with tempfile.TemporaryDirectory(prefix="nncourse-release-") as tmp:
        for lesson, built in build_all(root, lessons, Path(tmp)).items():
            target = release_notebook(root, lesson).parent
            diff = _differences(built, target)
            changes += diff
            if diff and not check_only:
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(built, target)
    return changes
