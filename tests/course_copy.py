"""A course root for a test: the project's nbgrader_config.py and a copy of some lessons'
source (solutions/) and release (lectures/)."""

import shutil
from pathlib import Path

from autograder.course import find_root

ROOT = find_root(Path(__file__).parent)


def copy_course(root: Path, *lessons: str) -> Path:
    """Make `root` a course holding `lessons` (by default 00-welcome); return it."""
    for lesson in lessons or ("00-welcome",):
        for name in ("solutions", "lectures"):
            shutil.copytree(ROOT / name / lesson, root / name / lesson)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    return root
