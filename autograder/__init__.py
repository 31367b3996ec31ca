"""autograder: the exercise registry, `check()` and the `nncourse` command.

Notebooks use `from autograder import check, latest`.
"""

from autograder.check import CheckFailed, check, show_case
from autograder.fallback import latest

__all__ = ["check", "CheckFailed", "latest", "show_case"]
