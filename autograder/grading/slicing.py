"""Which cells of a submission grading must run: those its graded functions can depend on.

Most of a lesson's cells are demonstrations (plots, widgets, training runs) that define
nothing a graded function reads. Grading needs only the cells that define a graded
function, and, repeatedly, every cell that defines a name a needed cell reads, or that
may change an object a needed cell reads (stores into it, passes it to a call, iterates
it). Reads and definitions are gathered from the whole cell, function bodies included,
which only ever adds cells.

When the analysis cannot see what a cell does to the notebook's namespace (a syntax
error, IPython magics or shell commands, `exec`, `eval`, `globals()`, `vars()`,
`__import__`, `from m import *`, the `sys`, `builtins` or `importlib` modules), `needed`
returns None and the whole notebook runs, as nbgrader would run it.
"""

from __future__ import annotations

import ast
import symtable
from dataclasses import dataclass, field

# Names through which code reaches the namespace by a string, or rebinds it wholesale.
OPAQUE = frozenset({"exec", "eval", "compile", "globals", "locals", "vars", "__import__",
                    "__builtins__", "__main__", "get_ipython", "sys", "builtins",
                    "importlib", "runpy"})


class Opaque(Exception):
    """The cell does something to the namespace the analysis cannot follow."""


@dataclass
class Cell:
    """What one cell reads and defines, and which names it may change objects through."""

    reads: set[str] = field(default_factory=set)
    defines: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)  # bound by assignment, not def/import
    touches: set[str] = field(default_factory=set)  # stored into, passed on, iterated


def _root(node: ast.AST) -> str | None:
    """The name an expression such as `a.b[c].d` starts from."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _scopes(table: symtable.SymbolTable, cell: Cell, top: bool) -> None:
    """Reads and definitions of the notebook's namespace: every name at the top level,
    and in functions and classes the names that resolve to the namespace."""
    for sym in table.get_symbols():
        name = sym.get_name()
        here = top or sym.is_global() or sym.is_declared_global()
        if here and sym.is_referenced():
            cell.reads.add(name)
        if here and (sym.is_assigned() or sym.is_imported()) and (top or
                                                                  sym.is_declared_global()):
            cell.defines.add(name)
            if sym.is_assigned() and not sym.is_imported() and not sym.is_namespace():
                cell.variables.add(name)
    for child in table.get_children():
        _scopes(child, cell, top=False)


def analyse(source: str) -> Cell:
    """The reads, definitions and touched names of one cell; Opaque if it cannot tell."""
    if source.lstrip().startswith(("%", "!")) or "\n%" in source or "\n!" in source:
        raise Opaque("IPython magic or shell command")
    try:
        tree = ast.parse(source)
        table = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        raise Opaque("syntax error") from None
    cell = Cell()
    _scopes(table, cell, top=True)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in OPAQUE:
            raise Opaque(node.id)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*" or alias.name.split(".")[0] in OPAQUE:
                    raise Opaque(f"import {alias.name}")
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx,
                                                                                ast.Load):
            cell.touches.add(_root(node))
        elif isinstance(node, ast.Call):
            cell.touches.update(_root(a) for a in [node.func, *node.args,
                                                   *(k.value for k in node.keywords)])
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            cell.touches.add(_root(node.iter))
        elif isinstance(node, ast.AugAssign):
            cell.touches.add(_root(node.target))
        elif isinstance(node, ast.Global):  # the function rebinds these when called
            cell.touches.update(node.names)
    cell.touches.discard(None)
    return cell


def needed(sources: list[str], graded: set[str]) -> list[bool] | None:
    """For each cell source, whether grading must run it so that the functions named in
    `graded` behave as after running every cell; None when the analysis is unsure."""
    try:
        cells = [analyse(s) for s in sources]
    except Opaque:
        return None
    variables = set().union(*(c.variables for c in cells))
    keep = [bool(c.defines & graded) for c in cells]
    while True:
        reads = graded.union(*(c.reads for c, k in zip(cells, keep) if k))
        changing = _mutators(cells, reads & variables)
        grown = [k or bool(c.defines & reads) or bool(c.touches & changing)
                 for c, k in zip(cells, keep)]
        if grown == keep:
            return keep
        keep = grown


def _mutators(cells: list[Cell], mutable: set[str]) -> set[str]:
    """`mutable`, and the names of functions whose cell may change one of them, directly
    or through another such function: calling one may change what a graded one reads."""
    changing = set(mutable)
    while True:
        more = set().union(*(c.defines - c.variables for c in cells if c.touches & changing))
        if more <= changing:
            return changing
        changing |= more
