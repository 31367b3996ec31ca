"""autograder: the exercise registry, `check()` and the `nncourse` command.

Notebooks use `from autograder import check`.
"""

from autograder.check import CheckFailed, check

__all__ = ["check", "CheckFailed"]
