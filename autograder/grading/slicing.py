"""Which cells of a submission grading must run: those its graded functions can depend on.

Most of a lesson's cells are demonstrations (plots, widgets, training runs) that define
nothing a graded function reads. Grading needs only the cells that define a graded
function, and, repeatedly, every cell that defines a name a needed cell reads, or that
may change an object a needed cell reads (stores into it, passes it to a call, iterates
it). Reads and definitions are gathered from the whole cell, function bodies included,
which only ever adds cells.

Of the cells it runs, grading leaves out the top-level statements that import only
modules for showing and timing things (DISPLAY: plotting, widgets, clocks), which change
nothing a graded function computes, when no code it runs names what they bind
(`plan`): in a lesson's setup cell, `import matplotlib.pyplot as plt` alone costs more
than the rest of a submission's grading.

A name that `latest("name", ...)` looks up counts as read. When the analysis cannot see
what a cell does to the notebook's namespace (a syntax error, IPython magics or shell
commands, `exec`, `eval`, `globals()`, `vars()`, `__import__`, `from m import *`, the
`sys`, `builtins` or `importlib` modules, a function's `__globals__`, a frame's
`f_globals`), `needed` and `plan` return None and the whole notebook runs, as nbgrader
would run it.
"""

from __future__ import annotations

import ast
import functools
import io
import symtable
from dataclasses import dataclass

# Names through which code reaches the namespace by a string, or rebinds it wholesale.
OPAQUE = frozenset({"exec", "eval", "compile", "globals", "locals", "vars", "__import__",
                    "__builtins__", "__main__", "get_ipython", "sys", "builtins",
                    "importlib", "runpy", "notebook_namespace"})
# Attributes (or getattr's strings) that lead to the namespace.
REACHING = frozenset({"__globals__", "f_globals", "f_locals", "user_ns", "notebook_namespace"})
# Modules (with their submodules) whose import changes nothing a graded function computes.
DISPLAY = ("matplotlib", "ipywidgets", "IPython.display", "tqdm", "time", "timeit",
           "nnlib.plot", "nnlib.widgets")
# What stands in for each line of an import left out: a comment, not an empty line, which
# IPython would drop from the start of a cell, moving the line numbers of the rest.
LEFT_OUT = "# (left out while grading: autograder/grading/slicing.py)"
# Sources of at most this many characters are analysed once per process: a class's
# submissions share most cells with the release.
CACHED_CHARS = 2**14


class Opaque(Exception):
    """The cell does something to the namespace the analysis cannot follow."""


@dataclass(frozen=True)
class Display:
    """A top-level statement, alone on its lines `first`..`last`, that imports only DISPLAY
    modules: the names it binds and the entries of DISPLAY it imports from."""

    first: int
    last: int
    binds: frozenset[str]
    families: frozenset[str]


@dataclass(frozen=True)
class Cell:
    """What one cell reads and defines, and which names it may change objects through;
    the names it mentions anywhere (strings that are names included: `latest("f", ...)`
    looks one up), the modules its other imports reach, and its Display statements."""

    reads: frozenset[str]
    defines: frozenset[str]
    variables: frozenset[str]  # bound by assignment, not def/import
    touches: frozenset[str]  # stored into, passed on, iterated
    mentions: frozenset[str]
    imports: frozenset[str]
    display: tuple[Display, ...]
    statements: int


def _root(node: ast.AST) -> str | None:
    """The name an expression such as `a.b[c].d` starts from."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _scopes(table: symtable.SymbolTable, names: dict[str, set], top: bool) -> None:
    """Reads and definitions of the notebook's namespace: every name at the top level,
    and in functions and classes the names that resolve to the namespace."""
    for sym in table.get_symbols():
        name = sym.get_name()
        here = top or sym.is_global() or sym.is_declared_global()
        if here and sym.is_referenced():
            names["reads"].add(name)
        if here and (sym.is_assigned() or sym.is_imported()) and (top or
                                                                  sym.is_declared_global()):
            names["defines"].add(name)
            if sym.is_assigned() and not sym.is_imported() and not sym.is_namespace():
                names["variables"].add(name)
    for child in table.get_children():
        _scopes(child, names, top=False)


def _looked_up(call: ast.Call) -> list[str]:
    """The name `latest("name", ...)` (autograder.fallback) looks up in the namespace."""
    func, args = call.func, call.args
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if called == "latest" and args and isinstance(args[0], ast.Constant) and \
            isinstance(args[0].value, str):
        return [args[0].value]
    return []


def _family(module: str) -> str | None:
    """The entry of DISPLAY that `module` is or lies in."""
    return next((f for f in DISPLAY if module == f or module.startswith(f + ".")), None)


def _modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import may import (for `from m import x`: m, and m.x if a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        return []
    return [node.module, *(f"{node.module}.{a.name}" for a in node.names)]


def _display(body: list[ast.stmt], lines: list[str]) -> dict[int, Display]:
    """{index in `body`: Display} of the top-level statements that import only DISPLAY
    modules and share no line with another statement, not even through a backslash that
    joins lines (`lines`: the source's)."""
    out = {}
    for k, node in enumerate(body):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            families = [_family(a.name) for a in node.names]
        elif node.level:
            continue
        else:  # `from nnlib import plot` imports nnlib.plot; `from time import sleep`, time
            families = [_family(node.module) or _family(f"{node.module}.{a.name}")
                        for a in node.names]
        if None in families:
            continue
        if (k > 0 and body[k - 1].end_lineno >= node.lineno) or (
                k + 1 < len(body) and body[k + 1].lineno <= node.end_lineno):
            continue
        if any(lines[n - 1].rstrip("\r\n").endswith("\\") for n in
               (node.lineno - 1, node.end_lineno) if n > 0):
            continue
        binds = {a.asname or a.name.split(".")[0] for a in node.names}
        out[k] = Display(node.lineno, node.end_lineno, frozenset(binds), frozenset(families))
    return out


def _analyse(source: str) -> Cell:
    if source.lstrip().startswith(("%", "!")) or "\n%" in source or "\n!" in source:
        raise Opaque("IPython magic or shell command")
    try:
        tree = ast.parse(source)
        table = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        raise Opaque("syntax error") from None
    names = {"reads": set(), "defines": set(), "variables": set()}
    _scopes(table, names, top=True)
    touches, mentions, imports = set(), set(), set()
    display = _display(tree.body, _lines(source))
    shown = {id(tree.body[k]) for k in display}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in OPAQUE:
                raise Opaque(node.id)
            mentions.add(node.id)
            if isinstance(node.ctx, ast.Del):  # fails unless the name is defined
                names["reads"].add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in REACHING:
                raise Opaque(node.value)
            if node.value.isidentifier():
                mentions.add(node.value)
        elif isinstance(node, ast.Attribute) and node.attr in REACHING:
            raise Opaque(node.attr)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            mentions.update(node.names)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*" or alias.name.split(".")[0] in OPAQUE:
                    raise Opaque(f"import {alias.name}")
            if id(node) not in shown:
                imports.update(_modules(node))
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx,
                                                                                ast.Load):
            touches.add(_root(node))
        elif isinstance(node, ast.Call):
            touches.update(_root(a) for a in [node.func, *node.args,
                                              *(k.value for k in node.keywords)])
            names["reads"].update(_looked_up(node))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            touches.add(_root(node.iter))
        elif isinstance(node, ast.AugAssign):
            touches.add(_root(node.target))
        elif isinstance(node, ast.Global):  # the function rebinds these when called
            touches.update(node.names)
    touches.discard(None)
    return Cell(frozenset(names["reads"]), frozenset(names["defines"]),
                frozenset(names["variables"]), frozenset(touches), frozenset(mentions),
                frozenset(imports), tuple(display.values()), len(tree.body))


@functools.lru_cache(maxsize=1024)
def _cached(source: str) -> Cell | str:
    try:
        return _analyse(source)
    except Opaque as exc:
        return str(exc)


def analyse(source: str) -> Cell:
    """What one cell reads, defines, touches and imports; Opaque if it cannot tell."""
    found = _cached(source) if len(source) <= CACHED_CHARS else _cached.__wrapped__(source)
    if isinstance(found, str):
        raise Opaque(found)
    return found


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


def plan(sources: list[str], graded: set[str]) -> list[str | None] | None:
    """For each cell source, the code grading runs (None: the cell is not run), so that
    the functions named in `graded` behave as after running every cell; None when the
    analysis is unsure and every cell runs as written.

    A needed cell runs as written but for its Display statements (top-level imports of
    DISPLAY modules only) when no code that runs mentions a name they bind, not even in
    a string, and no import that runs reaches into their modules (`import matplotlib as
    mpl` and then `mpl.pyplot`). Their lines become comments, so that every other line
    keeps its number; a cell left with nothing to run is not run."""
    keep = needed(sources, graded)
    if keep is None:
        return None
    cells = {i: analyse(s) for i, (s, k) in enumerate(zip(sources, keep)) if k}
    mentioned = set(graded).union(*(c.mentions for c in cells.values()))
    out = {(i, d) for i, c in cells.items() for d in c.display if not d.binds & mentioned}
    while True:
        reached = set().union(*(c.imports for c in cells.values()),
                              *(d.families for i, c in cells.items() for d in c.display
                                if (i, d) not in out))
        blocked = {_family(m) for m in reached} - {None}
        fewer = {(i, d) for i, d in out if not d.families & blocked}
        if fewer == out:
            break
        out = fewer
    code: list[str | None] = []
    for i, source in enumerate(sources):
        gone = tuple(d for d in cells[i].display if (i, d) in out) if keep[i] else ()
        if not keep[i] or len(gone) == cells[i].statements:
            code.append(None)
        else:
            code.append(_without(source, gone) if gone else source)
    return code


def _lines(source: str) -> list[str]:
    """The lines of `source`, ends kept, split where Python splits them (not at the form
    feeds and other separators that str.splitlines also splits at)."""
    return io.StringIO(source, newline="").readlines()


def _without(source: str, gone: tuple[Display, ...]) -> str:
    """`source` with the lines of the `gone` statements made LEFT_OUT comments; `source`
    itself when what is left does not parse as exactly the other statements, in place."""
    lines = _lines(source)
    for d in gone:
        for k in range(d.first - 1, d.last):
            lines[k] = LEFT_OUT + lines[k][len(lines[k].rstrip("\r\n")):]
    result = "".join(lines)
    spans = {(d.first, d.last) for d in gone}
    try:
        kept = [n for n in ast.parse(source).body if (n.lineno, n.end_lineno) not in spans]
        if ast.dump(ast.Module(ast.parse(result).body, []), include_attributes=True) != \
                ast.dump(ast.Module(kept, []), include_attributes=True):
            return source
    except SyntaxError:
        return source
    return result
