"""The grading core's typed boundaries (issue 17): the seed and cases live apart from the
notebook-facing `check`, which the grading package never imports."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import autograder
from autograder import cases

PACKAGE = Path(autograder.__file__).parent


def _module_file(name: str) -> Path | None:
    """The file of autograder module `name`, or None when it is not one of ours."""
    if name != "autograder" and not name.startswith("autograder."):
        return None
    path = PACKAGE.parent.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports(source: str) -> set[str]:
    """The autograder modules `source` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from autograder import registry` imports the module autograder.registry
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if _module_file(f"{node.module}.{a.name}")}
    return {n for n in found if _module_file(n)}


def reaches(start: str) -> dict[str, str]:
    """{autograder module: the module that imports it} for every module `start` imports,
    directly or through others. The package's __init__ is left out: it is the notebooks'
    `from autograder import check, latest`, not a dependency of the module imported."""
    seen, todo = {start: ""}, [start]
    while todo:
        name = todo.pop()
        for found in imports(_module_file(name).read_text()) - {"autograder"}:
            if found not in seen:
                seen[found] = name
                todo.append(found)
    return seen


def test_the_import_scan_finds_every_way_to_import_check():
    for source in ("import autograder.check", "from autograder.check import cases_for",
                   "from autograder import check", "def f():\n    import autograder.check"):
        assert "autograder.check" in imports(source), source
    assert "autograder.check" not in imports("from autograder import cases, latest")
    assert reaches("autograder.selftest").keys() >= {"autograder.contract", "autograder.cases",
                                                     "autograder.registry"}


def test_the_grading_package_never_imports_check():
    for path in sorted((PACKAGE / "grading").glob("*.py")):
        name = f"autograder.grading.{path.stem}" if path.stem != "__init__" else \
            "autograder.grading"
        found = reaches(name)
        assert "autograder.check" not in found, (name, found.get("autograder.check"))
    for name in ("autograder.report_data", "autograder.report", "autograder.cases"):
        assert "autograder.check" not in reaches(name), name


def test_the_seed_comes_from_the_environment_then_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv(cases.SEED_FILE_ENV, raising=False)
    monkeypatch.setenv(cases.SEED_ENV, "42")
    assert cases.hidden_seed() == cases.hidden_seed(tmp_path) == 42
    assert not (tmp_path / "grading").exists()
    monkeypatch.delenv(cases.SEED_ENV)
    seed = cases.hidden_seed(tmp_path)  # the grader's first run creates the file
    path = tmp_path / "grading" / "hidden-seed"
    assert path.read_text() == f"{seed}\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cases.hidden_seed(tmp_path) == seed
    monkeypatch.setenv(cases.SEED_FILE_ENV, os.fspath(path))
    assert cases.hidden_seed() == seed  # what a notebook reads inside grading
    monkeypatch.delenv(cases.SEED_FILE_ENV)
    assert cases.hidden_seed() != cases.hidden_seed()  # no seed anywhere: fresh cases
