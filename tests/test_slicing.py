"""Grading runs only the cells a graded function can depend on (autograder/grading/slicing.py),
and the whole notebook when the analysis cannot tell."""

import pytest

from autograder.grading.slicing import needed

SETUP = "import numpy as np\nfrom nnlib import activations"


def kept(cells: list[str], graded=("f",)) -> list[str]:
    keep = needed(cells, set(graded))
    assert keep is not None
    return [c for c, k in zip(cells, keep) if k]


def test_a_demonstration_is_skipped_and_what_the_function_reads_is_kept():
    cells = [SETUP, "SCALE = 2.0", "def f(z):\n    return SCALE * np.tanh(z)",
             "import matplotlib.pyplot as plt\nplt.plot(f(np.linspace(-1, 1)))",
             "print(activations.sigmoid(0.0))"]
    assert kept(cells) == cells[:3]


def test_local_names_of_a_function_pull_in_nothing():
    cells = [SETUP, "X = np.ones(3)\nW = np.eye(3)", "def f(X, W):\n    Z = W @ X\n    return Z",
             "demo = f(X, W)"]
    assert kept(cells) == [cells[2]]


def test_definitions_are_followed_through_chains_and_function_bodies():
    cells = ["import numpy as np", "def helper(z):\n    return np.exp(-z) * K", "K = 3",
             "def f(z):\n    return helper(z) + 1", "unused = helper(2)"]
    assert kept(cells) == cells[:4]


@pytest.mark.parametrize("mutation", [
    "table.append(4)", "table[0] = 9", "table += [5]", "grow(table)", "del table[0]",
    "for _ in table:\n    pass", "setup.done = True", "v = [x for x in table]",
])
def test_a_cell_that_may_change_what_the_function_reads_is_kept(mutation):
    cells = ["table = [1, 2, 3]\nclass Setup: pass\nsetup = Setup()",
             "def grow(t):\n    t.append(0)",
             "def f(i):\n    return table[i] + getattr(setup, 'done', 0)", mutation]
    assert mutation in kept(cells)


def test_a_cell_that_redefines_a_graded_function_is_kept():
    cells = ["def f(z):\n    return z", "print(f(1))", "def f(z):\n    return 2 * z",
             "f = lambda z: 3 * z"]
    # f is also a variable now, which a call might change: the demonstration is kept too
    assert kept(cells) == cells
    assert kept(cells[:3]) == [cells[0], cells[2]]


def test_globals_declared_in_a_function_count_as_definitions():
    cells = ["def init():\n    global RATE\n    RATE = 0.5", "init()",
             "def f(x):\n    return RATE * x"]
    assert kept(cells) == cells


def test_a_call_of_a_function_that_changes_what_the_function_reads_is_kept():
    cells = ["table = [1]", "def push(v):\n    table.append(v)",
             "def twice(v):\n    push(v)\n    push(v)", "twice(2)", "print('pushed')",
             "def f(i):\n    return table[i]"]
    assert kept(cells) == cells[:4] + cells[5:]


@pytest.mark.parametrize("opaque", [
    "%timeit np.zeros(3)", "x = 1\n!ls", "exec('y = 1')", "globals()['y'] = 1",
    "vars()['y'] = 2", "from numpy import *", "import sys\nsys.modules['__main__'].y = 1",
    "__import__('os')", "import builtins", "def f(:", "get_ipython().run_line_magic('x', '')",
    "import importlib", "eval('1')",
])
def test_anything_the_analysis_cannot_follow_runs_the_whole_notebook(opaque):
    assert needed([SETUP, opaque, "def f(z):\n    return z"], {"f"}) is None
