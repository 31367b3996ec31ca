"""autograder: the exercise registry, `check()` and the `nncourse` command.

Notebooks use `from autograder import check, latest`. `check`, `CheckFailed` and
`show_case` live in `autograder.checker`, which is loaded on first use: the grading
package imports `autograder` too, and never loads what the students' notebooks use.
"""

from autograder.fallback import latest

_CHECKER = ("check", "CheckFailed", "show_case")


def __getattr__(name: str):
    if name in _CHECKER:
        from autograder import checker

        value = getattr(checker, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")


__all__ = ["check", "CheckFailed", "latest", "show_case"]
