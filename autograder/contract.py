"""The exercise contract: notebooks, registry and nnlib agree on every graded function.

For each lesson, every `check("name", fn)` in a test cell names a registered exercise of
that lesson; the function it checks is defined in a solution cell with the registry's
signature, which is also the signature of the nnlib reference; the cell's points are the
registry's points; and every exercise the registry lists for the lesson is checked.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from autograder import notebook, registry
from autograder.course import read_notebook, source_notebook


def _definitions(source: str) -> dict[str, str]:
    """Function name -> its parameter list as source, e.g. '(z, alpha=0.01)'."""
    out = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            args = node.args
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if a is not None:
                    a.annotation = None
            out[node.name] = f"({ast.unparse(args)})"
    return out


def _plain(sig: inspect.Signature) -> str:
    """The parameter list without annotations: names, kinds and defaults only."""
    return str(sig.replace(parameters=[p.replace(annotation=p.empty) for p in
                                       sig.parameters.values()], return_annotation=sig.empty))


def _normal(signature: str) -> str:
    return _plain(inspect.signature(eval(f"lambda {signature[1:-1]}: None")))  # noqa: S307


def problems(root: Path, lesson: str) -> list[str]:
    """Everything that breaks the contract in `lesson`; empty when all is well."""
    nb = read_notebook(source_notebook(root, lesson))
    found, defs = [], {}
    checked: dict[str, set[bool]] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if notebook.is_solution(cell):
            defs.update(_definitions(cell.source))
        for name, fn_name, hidden in notebook.checks(cell.source):
            checked.setdefault(name, set()).add(hidden)
            where = f"{lesson}: check({name!r}, {fn_name})"
            if not notebook.is_graded(cell):
                continue  # a demonstration, such as checking a deliberately wrong function
            try:
                ex = registry.get(name)
            except KeyError as exc:
                found.append(f"{where}: {exc.args[0]}")
                continue
            if lesson not in ex.lessons:
                found.append(f"{where}: the registry grades {name!r} in {ex.lessons}")
            if notebook.points(cell) != ex.points:
                found.append(f"{where}: the cell is worth {notebook.points(cell):g} points, "
                             f"the registry says {ex.points}")
            if fn_name not in defs:
                found.append(f"{where}: no solution cell defines {fn_name}")
                continue
            if _normal(defs[fn_name]) != _normal(ex.signature):
                found.append(f"{where}: the notebook defines {fn_name}{defs[fn_name]}, the "
                             f"registry says {name}{ex.signature}")
            ref = _plain(inspect.signature(ex.reference_fn))
            if ref != _normal(ex.signature):
                found.append(f"{where}: nnlib's {ex.reference} takes {ref}, the registry "
                             f"says {ex.signature}")
    for ex in registry.all_exercises(lesson):
        if checked.get(ex.name) != {False, True}:
            found.append(f"{lesson}: exercise {ex.name!r} needs a public and a hidden check")
    return found
