"""autograder: the exercise registry, `check()` and the `nncourse` command.

Notebooks use `from autograder import check, working`.
"""

from autograder.check import CheckFailed, check
from autograder.fallback import working

__all__ = ["check", "CheckFailed", "working"]
