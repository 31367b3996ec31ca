"""Where the course lives, which lessons it has, and how nbgrader is started.

nbgrader reads `nbgrader_config.py` only from its working directory, and creating a
gradebook shells out to `alembic`; so every nbgrader call goes through `nbgrader()`,
which starts it from the course root with this environment's `bin/` first on PATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat


class CourseError(Exception):
    """A problem with the course's files that the instructor must fix."""


def find_root(start: Path | None = None) -> Path:
    """The course root: NNCOURSE_ROOT, else the nearest folder up from `start` (default: the
    current directory) holding nbgrader_config.py and solutions/, else the source checkout
    this package was imported from."""
    if os.environ.get("NNCOURSE_ROOT"):
        return Path(os.environ["NNCOURSE_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "nbgrader_config.py").is_file():
        return checkout
    raise CourseError("cannot find the course: run nncourse inside the course folder "
                      "(the one holding nbgrader_config.py) or set NNCOURSE_ROOT")


def lessons(root: Path) -> list[str]:
    """The lesson ids: the folders of solutions/ that hold a notebook of the same name."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def resolve_lessons(root: Path, names: list[str] | None) -> list[str]:
    """`names`, checked against the course; all lessons when none are given."""
    known = lessons(root)
    if not names:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CourseError(f"no lesson {', '.join(map(repr, unknown))} in "
                          f"{root / 'solutions'}; lessons are: {', '.join(known) or 'none'}")
    return list(names)


def source_notebook(root: Path, lesson: str) -> Path:
    return root / "solutions" / lesson / f"{lesson}.ipynb"


def release_notebook(root: Path, lesson: str) -> Path:
    return root / "lectures" / lesson / f"{lesson}.ipynb"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook; a malformed one raises CourseError naming the file."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except FileNotFoundError:
        raise CourseError(f"{path}: no such notebook") from None
    except Exception as exc:  # nbformat raises several unrelated types for bad files
        raise CourseError(f"{path}: not a valid notebook ({type(exc).__name__}: {exc})") from None
    return nb


def environment() -> dict[str, str]:
    """os.environ with this interpreter's bin/ first on PATH (for alembic and jupyter)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` from the course root; return the finished process (text output)."""
    (root / "grading").mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root,
                          env=environment(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc
