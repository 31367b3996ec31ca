"""Grading runs only the cells a graded function can depend on (autograder/grading/slicing.py),
and the whole notebook when the analysis cannot tell."""

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from autograder.grading.slicing import LEFT_OUT, analyse, needed, plan

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


# A cell that changes an object a graded function reads, whatever the object (a class, a
# module, a function) and through whatever name, is kept: the probes of the audit.
CHANGED = {
    "class attribute": ["class C:\n    rate = 1", "def f(x):\n    return C.rate * x",
                        "C.rate = 5"],
    "module attribute": ["import numpy as np", "def f(x):\n    return np.exp(x)",
                         "np.exp = lambda x: 0"],
    "module setter": ["import numpy as np", "def f(x):\n    return np.exp(x)",
                      "np.seterr(all='raise')"],
    "function attribute": ["def g(x):\n    return x * g.k", "g.k = 1",
                           "def f(x):\n    return g(x)", "g.k = 7"],
    "alias of a list": ["t = [1]", "u = t", "def f(i):\n    return t[i]", "u[0] = 9"],
    "setattr": ["class C:\n    rate = 1", "def f(x):\n    return C.rate * x",
                "setattr(C, 'rate', 5)"],
    "method of a class's attribute": ["class C:\n    items = []",
                                      "def f(x):\n    return len(C.items) * x",
                                      "C.items.append(3)"],
    "alias of a function": ["def g(x):\n    return x * g.k", "g.k = 1",
                            "def f(x):\n    return g(x)", "h = g", "h.k = 7"],
    "loop variable": ["W = [[0, 0]]", "def f(i):\n    return W[i][0]",
                      "for row in W:\n    row[0] = 1"],
    "element": ["t = [[1]]", "u = t[0]", "def f(i):\n    return t[0][i]", "u[0] = 9"],
    "call's argument": [SETUP, "t = np.zeros(3)", "u = np.asarray(t)",
                        "def f(i):\n    return t[i]", "u[0] = 9"],
    "method's view": [SETUP, "t = np.zeros(3)", "u = t.reshape(-1)",
                      "def f(i):\n    return t[i]", "u[0] = 9"],
    "held in a dict": ["t = [1]", "d = {}", "d['k'] = t", "def f(i):\n    return t[i]",
                       "d['k'][0] = 9"],
    "appended": ["t = [1]", "held = []", "held.append(t)", "def f(i):\n    return t[i]",
                 "held[0][0] = 9"],
    "class body": ["t = []", "class C:\n    items = t", "def f(i):\n    return t[i]",
                   "C.items.append(3)"],
    "rebound class": ["class C:\n    items = []", "def f(x):\n    return len(C.items) * x",
                      "C2 = C", "C2.items.append(3)"],
    "rebound module": ["import numpy as np", "def f(x):\n    return np.random.rand() * x",
                       "r = np.random", "r.seed(0)"],
    "local alias": ["t = [1]", "def h():\n    u = t\n    u[0] = 9",
                    "def f(i):\n    return t[i]", "h()"],
    "closure": ["t = [1]", "def outer():\n    u = t\n    def inner():\n        u.append(1)\n"
                "    inner()", "def f(i):\n    return t[i]", "outer()"],
    "setter in a function": ["import numpy as np", "def quiet():\n    np.seterr(all='ignore')",
                             "def f(x):\n    return np.exp(x)", "quiet()"],
}


@pytest.mark.parametrize("cells", CHANGED.values(), ids=CHANGED)
def test_a_cell_that_changes_an_object_the_function_reads_is_kept(cells):
    assert kept(cells) == cells


def test_calls_of_functions_classes_and_a_module_change_nothing():
    cells = [SETUP, "def g(x):\n    return 2 * x",
             "class C:\n    def __init__(self, a):\n        self.a = a",
             "def f(x):\n    return g(np.exp(x)) + C(x).a",
             "import matplotlib.pyplot as plt\nx = np.linspace(0, 1)\nplt.plot(np.exp(x))",
             "y = np.exp(x)", "print(g(3))", "c = C(2)\nc.a = 3"]
    assert kept(cells) == cells[:4]


@pytest.mark.parametrize("demo", [
    "def h(t):\n    t.append(3)\n    return t\nprint(h([2]))",  # its own t
    "table = {'f': f}\nfor name, fn in table.items():\n    print(name, fn(1))",
    "x = np.pi * 2\nxs = [x]\nxs.append(1)",  # a module's attribute, not the module
    "r = np.random\nr.normal()",  # not a setter
    "z = np.setdiff1d([1, 2], [2])",
])
def test_a_demonstration_that_changes_nothing_the_function_reads_is_skipped(demo):
    cells = [SETUP, "t = [1, 2]", "def f(i):\n    return np.exp(t[i])", demo]
    assert kept(cells) == cells[:3]


def test_a_copy_a_test_and_an_index_link_nothing():
    cells = ["t = [1, 2]", "d = {1: [5]}", "def f(i):\n    return t[i]",
             "u = t.copy()",  # kept: a method of t, which might change it
             "u[0] = 9", "n = 2 if t else 3\nm = [n]\nm[0] = 1", "v = d[t[0]]\nv.append(1)"]
    assert kept(cells) == [cells[0], cells[2], cells[3]]


@pytest.mark.parametrize("opaque", [
    "%timeit np.zeros(3)", "x = 1\n!ls", "exec('y = 1')", "globals()['y'] = 1",
    "vars()['y'] = 2", "from numpy import *", "import sys\nsys.modules['__main__'].y = 1",
    "__import__('os')", "import builtins", "def f(:", "get_ipython().run_line_magic('x', '')",
    "import importlib", "eval('1')",
])
def test_anything_the_analysis_cannot_follow_runs_the_whole_notebook(opaque):
    assert needed([SETUP, opaque, "def f(z):\n    return z"], {"f"}) is None


@pytest.mark.parametrize("reach", [
    "def f(z):\n    return f.__globals__['K'] * z",
    "import inspect\ndef f(z):\n    return inspect.currentframe().f_globals['K'] * z",
    "def f(z):\n    return getattr(f, '__globals__')['K'] * z",
    "from autograder.fallback import notebook_namespace\ndef f(z):\n"
    "    return notebook_namespace()['K'] * z",
])
def test_a_function_that_reaches_the_namespace_runs_the_whole_notebook(reach):
    assert needed([SETUP, "K = 2", reach], {"f"}) is None


def test_a_name_that_latest_looks_up_counts_as_read():
    cells = [SETUP, "def helper(z):\n    return 2 * z", "from autograder import latest",
             "def f(z):\n    return latest('helper', np.negative)(z)"]
    assert kept(cells) == cells


# --- statements left out of the cells that run ------------------------------------------

IMPORTS = ("import time\n\nimport numpy as np\nimport matplotlib.pyplot as plt\n"
           "import ipywidgets as widgets\n\nfrom nnlib import activations")


def ran(cells: list[str], graded=("f",)) -> list[str | None]:
    code = plan(cells, set(graded))
    assert code is not None
    return code


def left_out(code: str) -> list[int]:
    return [k for k, line in enumerate(code.splitlines(), 1) if line == LEFT_OUT]


def test_display_imports_nothing_uses_are_left_out_and_lines_keep_their_numbers():
    cells = [IMPORTS, "def f(z):\n    return activations.sigmoid(np.asarray(z))",
             "plt.plot(f(np.linspace(-1, 1)))\nwidgets.FloatSlider()"]
    setup, function, demo = ran(cells)
    assert left_out(setup) == [1, 4, 5]
    assert [line for line in setup.splitlines() if line != LEFT_OUT] == [
        "", "import numpy as np", "", "from nnlib import activations"]
    # IPython drops empty lines at the start of a cell, which would move every line after
    assert TransformerManager().transform_cell(setup) == setup + "\n"
    assert function == cells[1] and demo is None


@pytest.mark.parametrize("use", [
    "def f(z):\n    plt.plot(z)\n    return z",  # in a graded function's body
    "def f(z, ax=plt.gca):\n    return z",  # a default, evaluated at definition
    "def f(z: plt.Axes):\n    return z",  # an annotation
    "SCALE = len(plt.rcParams)\ndef f(z):\n    return SCALE * z",  # by a kept statement
    "from autograder import latest\ndef f(z):\n    return latest('plt', None) and z",
    "del plt\ndef f(z):\n    return z",  # a NameError without it: f would not be defined
])
def test_a_display_import_that_kept_code_names_runs(use):
    cells = ["import matplotlib.pyplot as plt", use]
    assert ran(cells) == cells


@pytest.mark.parametrize("setup", [
    "import matplotlib.pyplot as plt, numpy as np",  # np too
    "from nnlib import plot, network",  # network too
    "import time; SCALE = 2",  # a statement that shares its line
    "SCALE = 2; \\\nimport time",  # joined to the line before
    "from . import plot",  # relative: not the module it names
])
def test_an_import_that_does_more_than_display_runs_as_written(setup):
    cells = [setup, "def f(z):\n    return z"]
    assert ran(cells, graded=("f", "plot", "time", "np", "SCALE"))[0] == setup
    assert analyse(setup).display == ()


def test_a_graded_name_that_a_display_import_binds_is_kept():
    cells = ["import time\nfrom nnlib.plot import LiveFigure"]
    assert left_out(ran(cells, graded=("LiveFigure",))[0]) == [1]


def test_an_import_whose_modules_kept_code_reaches_into_runs():
    cells = ["import matplotlib.pyplot as plt\nfrom tqdm import tqdm\nimport matplotlib as mpl",
             "def f(z):\n    return mpl.pyplot.gca() and z"]
    assert left_out(ran(cells)[0]) == [2]


def test_a_cell_of_display_imports_only_is_not_run_and_one_that_defines_more_is():
    cells = ["import matplotlib.pyplot as plt\nfrom IPython.display import (\n    display,\n"
             "    HTML,\n)", "import time\n# the clock\nSCALE = 2",
             "def f(z):\n    return SCALE * z"]
    only, clock, _ = ran(cells)
    assert only is None and left_out(clock) == [1]


def test_analyses_are_shared_but_cannot_be_changed():
    first, again = analyse(SETUP), analyse(SETUP)
    assert first == again
    with pytest.raises(AttributeError):
        first.reads.add("x")
    with pytest.raises(AttributeError):
        first.reads = frozenset()
