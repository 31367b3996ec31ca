"""Stop a bare `nbgrader` from making a course wherever it is started.

nbgrader reads `nbgrader_config.py` only from its current folder. Started anywhere else,
its course commands silently make an empty course there: `nbgrader export` run in /tmp
creates /tmp/gradebook.db and an empty /tmp/grades.csv, `autograde` creates folders.

`make` copies this file to `<venv>/etc/jupyter/nbgrader_config.py`, a Jupyter config file
that every nbgrader of that environment loads before the one in the current folder. There
it ends the nbgrader command line with an error when the command works on a course and the
current folder has no `nbgrader_config.py`. Commands that need no course (validate,
fetch_assignment, submit, list, quickstart, ...), nbgrader inside JupyterLab, and commands
given `--CourseDirectory.root` or `--config` are left alone. Imported as a module it does
nothing.
"""

from __future__ import annotations

import os
import sys

#: nbgrader subcommands that read or write a course's folders or gradebook
COURSE_COMMANDS = frozenset({
    "assign", "generate_assignment", "autograde", "formgrade", "feedback",
    "generate_feedback", "release", "release_assignment", "release_feedback", "collect",
    "zip_collect", "export", "db", "generate_solution",
})


def refusal(argv: list[str], cwd: str) -> str | None:
    """Why nbgrader started as `argv` in `cwd` must stop, or None when it may go on."""
    program = argv[0] if argv else ""
    if os.path.basename(program) not in ("nbgrader", "nbgrader.exe") and not program.endswith(
            os.path.join("nbgrader", "__main__.py")):
        return None  # not the nbgrader command line (e.g. JupyterLab's nbgrader extension)
    command = argv[1] if len(argv) > 1 else ""
    if command not in COURSE_COMMANDS:
        return None
    if any(a.startswith(("--CourseDirectory.root", "--config")) for a in argv[2:]):
        return None
    if os.path.isfile(os.path.join(cwd, "nbgrader_config.py")):
        return None
    return (f"nbgrader: {cwd} has no nbgrader_config.py, so `nbgrader {command}` would make "
            "an empty course here (gradebook.db and more). Run it in the course folder, or as "
            f"`nncourse nbgrader {command} ...` from anywhere inside the course.")


if "get_config" in globals():  # loaded by traitlets as a Jupyter config file
    _why = refusal(sys.argv, os.getcwd())
    if _why:
        raise SystemExit(_why)
