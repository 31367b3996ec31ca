"""`latest` and `working`: demonstrations use the student's function once it works and
nnlib's before, looked up in the notebook's namespace at every call."""

import sys

import nbformat
import numpy as np
import pytest

from autograder import latest
from autograder.selftest import run_notebook


@pytest.fixture
def notebook(monkeypatch):
    """The namespace `latest` reads outside a kernel: `__main__`'s globals."""
    main = sys.modules["__main__"]

    def define(name, value):
        monkeypatch.setattr(main, name, value, raising=False)

    return define


def stub(*args, **kwargs):
    raise NotImplementedError


def test_latest_follows_the_newest_definition(notebook):
    sign = latest("my_sign", np.sign)
    assert sign(-2.0) == -1.0  # not defined yet: nnlib's
    notebook("my_sign", stub)
    assert sign(-2.0) == -1.0  # still a stub
    notebook("my_sign", lambda z: 7.0)
    assert sign(-2.0) == 7.0  # the student's, even a wrong one, once it runs
    notebook("my_sign", lambda z: 8.0)
    assert sign(-2.0) == 8.0  # redefined: no need to call latest again
    assert sign.__name__ == "my_sign"


def test_latest_passes_other_errors_and_keywords(notebook):
    def broken(z, scale=1.0):
        raise ZeroDivisionError

    notebook("my_scale", broken)
    scale = latest("my_scale", lambda z, scale=1.0: z * scale)
    with pytest.raises(ZeroDivisionError):
        scale(2.0, scale=3.0)
    notebook("my_scale", stub)
    assert scale(2.0, scale=3.0) == 6.0


def test_latest_bound_to_its_own_name_uses_the_fallback(notebook):
    wrapper = latest("my_abs", abs)
    notebook("my_abs", wrapper)  # `my_abs = latest("my_abs", abs)` in a cell
    assert wrapper(-3) == 3
    notebook("my_abs", 42)  # not a function
    assert wrapper(-3) == 3


def test_latest_reads_the_kernel_namespace(tmp_path):
    cells = [
        "from autograder import latest\nimport numpy as np\n"
        "def sign(z):\n    raise NotImplementedError\nf = latest('sign', np.sign)\nprint(f(-2.0))",
        "def sign(z):\n    return 'mine'\nprint(f(-2.0))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    run_notebook(nb, tmp_path, timeout=60)
    assert [c.outputs[0].text.strip() for c in nb.cells] == ["-1.0", "mine"]
