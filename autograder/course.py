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


class CourseError(Exception):
    """A problem with the course's files that the instructor must fix."""


def is_course(folder: Path) -> bool:
    """Whether `folder` is a course root: it holds nbgrader_config.py and solutions/."""
    return (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir()


def find_root(start: Path | None = None) -> Path:
    """The course root: NNCOURSE_ROOT if set, else the nearest folder up from `start`
    (default: the current directory) that holds nbgrader_config.py and solutions/.

    There is no other fallback. In particular not the checkout this package was imported
    from: with an editable install, a command run in another clone, or outside any course,
    would silently read and write that checkout's files instead."""
    if os.environ.get("NNCOURSE_ROOT"):
        root = Path(os.environ["NNCOURSE_ROOT"]).resolve()
        if not is_course(root):
            raise CourseError(f"NNCOURSE_ROOT={os.environ['NNCOURSE_ROOT']} is not a course "
                              "folder: it has no nbgrader_config.py and solutions/")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_course(folder):
            return folder
    raise CourseError(f"{here} is not inside a course: neither it nor any folder above it holds "
                      "nbgrader_config.py and solutions/. Run nncourse in the course folder (the "
                      "git checkout) or below it, or set NNCOURSE_ROOT to that folder")


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


def read_notebook(path: Path) -> nbformat.NotebookNode:  # noqa: F821
    """Read and validate a notebook; a malformed one raises CourseError naming the file."""
    import nbformat  # here, not at the top: it takes a second to import

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


def nbgrader(root: Path, *args: str, check: bool = True, capture: bool = True
             ) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` from the course root; return the finished process (its text
    output, unless `capture` is false: then nbgrader writes to this process's terminal)."""
    (root / "grading").mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root,
                          env=environment(), capture_output=capture, text=True)
    if check and proc.returncode != 0:
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout or ''}"
                          f"{proc.stderr or ''}")
    return proc
