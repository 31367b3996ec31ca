"""Every case of every exercise can be unpickled in a grading kernel, whose `autograder` is
the small runtime of `build_runtime` (no `autograder.exercises`): a function defined in a
registry module and put in a case would make every collection of its lesson fail."""

import pickle
import subprocess
import sys

import pytest

from autograder import registry
from autograder.cases import cases_for
from autograder.grading.sandbox import build_runtime

LESSONS = sorted({lesson for ex in registry.all_exercises() for lesson in ex.lessons})


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_cases_unpickle_with_the_kernels_runtime(lesson, tmp_path):
    build_runtime(tmp_path)
    cases = {ex.name: {"public": cases_for(ex, False), "hidden": cases_for(ex, True, 1)}
             for ex in registry.all_exercises(lesson)}
    (tmp_path / "cases.pkl").write_bytes(pickle.dumps(cases))
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import pickle, autograder; "
            f"assert not hasattr(autograder, 'registry') or not hasattr(autograder.registry, "
            f"'Exercise'); pickle.load(open({str(tmp_path / 'cases.pkl')!r}, 'rb'))")
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-600:]
