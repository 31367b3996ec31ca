"""`import nnlib` is cheap: no plotting or widget library until they are used; and nbformat,
which every nbgrader command and grading process imports, builds no parsers at import."""

import subprocess
import sys

CORE = ["activations", "losses", "neurons", "gates", "surface", "network", "gradcheck",
        "optim", "regularization", "batchnorm", "metrics", "datasets", "train"]


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_nnlib_loads_neither_matplotlib_nor_ipywidgets():
    code = ("import sys, nnlib\n"
            f"for m in {CORE!r}: getattr(nnlib, m)\n"
            "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'sklearn', 'torch') "
            "if m in sys.modules))")
    assert run(code) == "[]"


def test_core_nnlib_imports_only_numpy_and_the_standard_library():
    code = ("import sys; before = set(sys.modules)\n"
            "import nnlib.activations, nnlib.losses, nnlib.neurons, nnlib.gates, nnlib.surface,"
            " nnlib.network, nnlib.gradcheck\n"
            "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
            "std = set(sys.stdlib_module_names)\n"
            "print(sorted(m for m in new - std if not m.startswith('_') and m not in "
            "('nnlib', 'numpy')))")
    assert run(code) == "[]"


def test_plot_module_loads_matplotlib_on_use():
    assert run("import sys, nnlib; nnlib.plot; print('matplotlib' in sys.modules)") == "True"


def test_unknown_attribute_is_an_attribute_error():
    assert run("import nnlib\ntry:\n nnlib.nope\nexcept AttributeError as e:\n print(e)") == \
        "module 'nnlib' has no attribute 'nope'"


def test_importing_nbformat_builds_no_iri_parsers():
    """pyproject.toml keeps jsonschema below 4.25, whose import builds rfc3987-syntax's 39
    Earley parsers (a second of CPU per process)."""
    code = ("import sys, nbformat\n"
            "print(sorted(m for m in ('rfc3987_syntax', 'lark') if m in sys.modules))")
    assert run(code) == "[]"
