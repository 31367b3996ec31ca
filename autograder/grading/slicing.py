"""Which cells of a submission grading must run: those its graded functions can depend on.

Most of a lesson's cells are demonstrations (plots, widgets, training runs) that define
nothing a graded function reads. Grading needs only the cells that define a graded
function, and, repeatedly, every cell that defines a name a needed cell reads, or that
may change the object of a name a needed cell reads (`needed`). Reads and definitions are
gathered from the whole cell, function bodies included, which only ever adds cells.

What counts as changing the object of a name the notebook defines (builtins are never
tracked): storing into it or deleting from it (`C.rate = 5`, `t[0] = 9`, `del t[0]`,
`t += [1]`, `setattr(C, "rate", 5)`), whatever it is; calling its methods
(`C.items.append(3)`), but of an imported name only setters (`np.seterr`,
`np.random.seed`, `warnings.simplefilter`: `np.exp(x)` changes nothing); and, for a name
bound by assignment, also passing it to a call or iterating it. Calling a function
(`g(3)`) or a class (`C(2)`) does not change it, but calling a function whose cell may
change a tracked object counts as changing that object. A change through another name
counts too: after `u = t`, `u = t[0]`, `u = t.T`, `u = t.reshape(-1)` (a method's result
may be a view of its object), `u = np.asarray(t)` (a call's result may be its argument),
`for u in t`, `d["k"] = t`, `lst.append(t)` or `class C: u = t`, storing into `u`, `d`,
`lst` or `C` changes `t` (and for a variable `t`, so does passing them on, or a method
of theirs); after `h = g` or `r = np.random`, h and r are g and numpy, methods included.
No such link: `u = t.copy()`, `u = 2 if t else 3`, `u = t > 0`, `u = d[t]` for t, the
functions called (`u = g(x)`: u is not g), a module's attributes in an expression
(`W = np.zeros(3)`, `x = np.pi * 2`); a function's own names (parameters, locals) are
told apart from the notebook's, and link only through a notebook name (`def h(): u = t;
u[0] = 9`). What is not seen: a module's state changed by a function that is not a
setter; an object changed by a library it was passed to (a function handed to a library
that sets attributes on it); a method of a function or class called through a container
(`fns[0].cache.clear()` after `fns = [g]`); an object a function returns from the
namespace (`def get(): return t`, then `get()[0] = 9`); a class's attribute changed
through an instance (`C(2).items.append(3)`).

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
import builtins
import functools
import io
import symtable
import zlib
from collections.abc import Callable, Iterator
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
# A module's functions that change its state for later calls, beside those whose names
# start with "set" or "seed" (np.seterr, np.random.seed, np.set_printoptions), but for
# numpy's set operations (np.setdiff1d), which only compute.
SETTERS = frozenset({"manual_seed", "filterwarnings", "simplefilter", "resetwarnings"})
NOT_SETTERS = frozenset({"setdiff1d", "setxor1d", "setmember1d"})
# Methods whose result is never a view of their object: `u = t.copy()` links u to nothing.
COPIES = frozenset({"copy"})
# Methods that store what they are given in their object: after `lst.append(t)`, lst
# holds t (a method in general does not: `ax.set(title=name)`).
STORING = frozenset({"append", "extend", "insert", "add", "update", "setdefault",
                     "appendleft", "extendleft"})
# Names the notebook may use without defining them: never tracked, unless it defines them.
BUILTINS = frozenset(dir(builtins))
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
    """What one cell reads and defines, and which names it may change objects through, and
    how; which names may hold (part of) another's object after it; the names it mentions
    anywhere (strings that are names included: `latest("f", ...)` looks one up), the
    modules its other imports reach, and its Display statements."""

    reads: frozenset[str]
    defines: frozenset[str]
    variables: frozenset[str]  # bound by assignment, not def/import
    touches: frozenset[str]  # stored into, passed on, iterated, called, methods called
    mentions: frozenset[str]
    imports: frozenset[str]
    display: tuple[Display, ...]
    statements: int
    imported: frozenset[str]  # bound by import
    stores: frozenset[str]  # stored into or deleted from, setattr's object
    methods: frozenset[tuple[str, str]]  # (a, m) of `a.b.m(...)`
    # (u, t): u may be or hold (part of) t's object: `u = t[0]`, `d["k"] = t`; unless t
    # is imported: `x = np.pi * 2` does not hold numpy
    aliases: frozenset[tuple[str, str]]
    # the same through a method, its object's or its result's, which holds unless either
    # name is imported: `u = t.reshape(-1)`, `lst.append(t)` (STORING), not
    # `W = np.zeros(3)`
    views: frozenset[tuple[str, str]]
    # (u, t) of `u = t` and `u = t.a.b`: u is (part of) t, an imported name's too, u then
    # counting as imported: `r = np.random`
    rebinds: frozenset[tuple[str, str]]


def _base(node: ast.AST) -> ast.AST:
    """The expression such as `a.b[c].d` starts from: the Name a, or what is not a name."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node


def _root(node: ast.AST) -> str | None:
    """The name an expression such as `a.b[c].d` starts from."""
    node = _base(node)
    return node.id if isinstance(node, ast.Name) else None


def _targets(node: ast.AST) -> set[str]:
    """The names a target binds or stores into: `u`, `u, *v`, `u.x`, `u[0]`."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return set().union(*(_targets(e) for e in node.elts))
    root = _root(node)
    return {root} if root else set()


def _results(node: ast.AST) -> Iterator[ast.AST]:
    """The parts of expression `node` whose objects its result may be or hold: not an
    `if`'s test, an index, a comparison, an f-string, a `not`, a lambda's body, a
    comprehension's conditions, which make new objects or none of the result."""
    stack = [node]
    while stack:
        part = stack.pop()
        if isinstance(part, (ast.Compare, ast.JoinedStr, ast.Lambda)) or (
                isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.Not)):
            continue
        yield part
        if isinstance(part, ast.IfExp):
            stack += [part.body, part.orelse]
        elif isinstance(part, ast.Subscript):
            stack.append(part.value)
        elif isinstance(part, ast.comprehension):
            stack += [part.target, part.iter]
        else:
            stack += ast.iter_child_nodes(part)


def _held(values: list[ast.AST]) -> tuple[set[str], set[str]]:
    """The names whose objects what `values` compute may be or hold (`_results`): every
    name they load but the functions they call (`g(t)` may return t, not g), and apart
    the objects whose methods they call (`t.reshape(-1)` may be a view of t, `t.copy()`
    is not)."""
    parts = [n for v in values for n in _results(v)]
    called, receivers = set(), set()
    for node in parts:
        if isinstance(node, ast.Call) and isinstance(base := _base(node.func), ast.Name):
            called.add(id(base))
            if base is not node.func and getattr(node.func, "attr", None) not in COPIES:
                receivers.add(base.id)
    loaded = {n.id for n in parts if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
              and id(n) not in called}
    return loaded, receivers


def _links(node: ast.AST, key: Callable[[str], str]) -> dict[str, set[tuple[str, str]]]:
    """The aliases, views and rebinds (the fields of Cell) one node makes: its targets may
    hold what its value computes (an assignment, a for loop's items); an object may hold
    what its method is given. `key`: what a name is where the node is evaluated (`_key`)."""
    links = {"aliases": set(), "views": set(), "rebinds": set()}
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value:
        targets, value = [node.target], node.value
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets, value = [node.target], node.iter
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in STORING:
        held = set().union(*_held([*node.args, *(k.value for k in node.keywords)]))
        links["views"] = {(key(n), key(h)) for n in _targets(node.func) for h in held}
        return links
    else:
        return links
    names = {key(n) for t in targets for n in _targets(t)}
    loaded, receivers = _held([value])
    links["aliases"] = {(n, key(h)) for n in names for h in loaded}
    links["views"] = {(n, key(h)) for n in names for h in receivers}
    if not isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)) and \
            isinstance(value, (ast.Name, ast.Attribute)) and _chain(value):
        links["rebinds"] = {(key(t.id), key(_root(value))) for t in targets
                            if isinstance(t, ast.Name)}
    return links


def _chain(node: ast.AST) -> bool:
    """Whether `node` is a name or its attributes only: `t`, `np.random`."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


# --- the names of functions, lambdas, comprehensions and class bodies -----------------

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, *COMPREHENSIONS)


@dataclass(frozen=True)
class _Scope:
    """A function's, lambda's, comprehension's or class body's own names, those it declares
    global, and the tag that tells its own names from the notebook's and from other
    scopes' (`u@3:4/1a2b3c4d`): a parameter `X` is not the notebook's `X`."""

    names: frozenset[str]
    declared: frozenset[str]
    tag: str
    is_class: bool


def _key(chain: tuple[_Scope, ...], name: str) -> str:
    """What `name` is where the scopes of `chain` (innermost last) evaluate it: one of the
    innermost's own names, or of an enclosing function's (a class body's names are not
    seen from the functions in it), or the notebook's name."""
    for k, scope in enumerate(reversed(chain)):
        if scope.is_class and k:
            continue
        if name in scope.declared:
            return name
        if name in scope.names:
            return f"{name}@{scope.tag}"
    return name


def _parts(node: ast.AST) -> tuple[list[ast.AST], list[ast.AST]]:
    """The parts of a scope's node evaluated around it (decorators, defaults, annotations,
    bases, a comprehension's first iterable) and in it."""
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *node.keywords], node.body
    if isinstance(node, COMPREHENSIONS):
        first, *rest = node.generators
        result = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return [first.iter], [first.target, *first.ifs, *rest, *result]
    a = node.args
    around = [*a.defaults, *(d for d in a.kw_defaults if d)]
    if isinstance(node, ast.Lambda):
        return around, [node.body]
    annotated = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
    around += [*node.decorator_list, *(x.annotation for x in annotated if x and x.annotation),
               *([node.returns] if node.returns else [])]
    return around, node.body


def _own(node: ast.AST) -> tuple[set[str], set[str]]:
    """The names a scope's node binds for itself (its parameters, and what its own
    statements assign, define or import, a comprehension's targets), and those it
    declares global. Unsure, a name is taken to be the notebook's: that only adds cells."""
    if isinstance(node, COMPREHENSIONS):
        return {n.id for g in node.generators for n in ast.walk(g.target)
                if isinstance(n, ast.Name)}, set()
    bound, declared, nonlocal_ = set(), set(), set()
    if not isinstance(node, ast.ClassDef):
        a = node.args
        bound |= {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
                  if x}
    stack = list(_parts(node)[1])
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in n.names}
        elif isinstance(n, ast.Global):
            declared |= set(n.names)
        elif isinstance(n, ast.Nonlocal):
            nonlocal_ |= set(n.names)
        elif isinstance(n, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            bound.add(n.rest)
        if isinstance(n, COMPREHENSIONS):  # `(t := ...)` in one binds t here
            bound |= {w.target.id for w in ast.walk(n) if isinstance(w, ast.NamedExpr)}
        stack += _parts(n)[0] if isinstance(n, SCOPES) else ast.iter_child_nodes(n)
    return bound - declared - nonlocal_, declared


def _scoped(tree: ast.AST, source: str) -> Iterator[tuple[ast.AST, Callable[[str], str],
                                                           _Scope | None]]:
    """Every node of `tree`, with the key (`_key`) of a name where the node is evaluated,
    and the scope it makes, if it makes one."""
    digest = f"{zlib.crc32(source.encode()):08x}"
    stack: list[tuple[ast.AST, tuple[_Scope, ...]]] = [(tree, ())]
    while stack:
        node, chain = stack.pop()
        if not isinstance(node, SCOPES):
            yield node, functools.partial(_key, chain), None
            stack += [(n, chain) for n in ast.iter_child_nodes(node)]
            continue
        around, inside = _parts(node)
        names, declared = _own(node)
        scope = _Scope(frozenset(names), frozenset(declared),
                       f"{node.lineno}:{node.col_offset}/{digest}",
                       isinstance(node, ast.ClassDef))
        yield node, functools.partial(_key, chain), scope
        stack += [(n, chain) for n in around] + [(n, (*chain, scope)) for n in inside]


def _rooted(node: ast.AST, key: Callable[[str], str]) -> str | None:
    """The key of the name `node` starts from (`_root`), None if none."""
    root = _root(node)
    return key(root) if root else None


def _effects(tree: ast.AST, source: str) -> dict[str, set]:
    """Which names a cell may change objects through, and how (the fields of Cell of the
    same names); a name a function, lambda, comprehension or class body binds for itself
    is keyed apart (`_key`), so that it joins what a change counts for only through a
    link from one of the notebook's names."""
    out = {k: set() for k in ("touches", "stores", "methods", "aliases", "views",
                              "rebinds")}
    for node, key, scope in _scoped(tree, source):
        for kind, links in _links(node, key).items():
            out[kind] |= links
        if isinstance(node, ast.ClassDef):  # `class C: items = t`: C.items is t
            out["aliases"] |= {(key(node.name), f"{n}@{scope.tag}") for n in scope.names}
        if isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx,
                                                                              ast.Load):
            out["stores"].add(_rooted(node, key))
        elif isinstance(node, ast.Call):
            out["touches"].update(_rooted(a, key) for a in [node.func, *node.args,
                                                      *(k.value for k in node.keywords)])
            if isinstance(node.func, ast.Attribute):
                out["methods"].add((_rooted(node.func, key), node.func.attr))
            elif isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
                    and node.args:
                out["stores"].add(_rooted(node.args[0], key))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            out["touches"].add(_rooted(node.iter, key))
        elif isinstance(node, COMPREHENSIONS):  # its first iterable, evaluated around it
            out["touches"].add(_rooted(node.generators[0].iter, key))
        elif isinstance(node, ast.AugAssign):
            out["stores"].add(_rooted(node.target, key))
        elif isinstance(node, ast.Global):  # the function rebinds these when called
            out["touches"].update(node.names)
    out["stores"].discard(None)
    out["touches"] = (out["touches"] | out["stores"]) - {None}
    out["methods"] = {(r, m) for r, m in out["methods"] if r}
    return out


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
            if sym.is_imported():
                names["imported"].add(name)
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
    names = {"reads": set(), "defines": set(), "variables": set(), "imported": set()}
    _scopes(table, names, top=True)
    mentions, imports = set(), set()
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
        elif isinstance(node, ast.Call):
            names["reads"].update(_looked_up(node))
    effects = {k: frozenset(v) for k, v in _effects(tree, source).items()}
    return Cell(frozenset(names["reads"]), frozenset(names["defines"]),
                frozenset(names["variables"]), effects["touches"], frozenset(mentions),
                frozenset(imports), tuple(display.values()), len(tree.body),
                imported=frozenset(names["imported"]), stores=effects["stores"],
                methods=effects["methods"], aliases=effects["aliases"],
                views=effects["views"], rebinds=effects["rebinds"])


@functools.lru_cache(maxsize=1024)
def _cached(source: str) -> Cell | str:
    try:
        return _analyse(source)
    except Opaque as exc:
        return str(exc)


def analyse(source: str) -> Cell:
    """What one cell reads, defines, changes and imports; Opaque if it cannot tell."""
    found = _cached(source) if len(source) <= CACHED_CHARS else _cached.__wrapped__(source)
    if isinstance(found, str):
        raise Opaque(found)
    return found


@dataclass(frozen=True)
class Names:
    """The names a notebook's cells define; of those, the imported ones and those that
    rebind one or what it exports (`r = np.random`), whose changes are stores and
    setters; and the other ones bound by assignment, which a call may change too."""

    defined: set[str]
    variables: set[str]
    imported: set[str]


def _names(cells: list[Cell]) -> Names:
    """The Names of a notebook of `cells`."""
    defined = set().union(*(c.defines for c in cells))
    imported = set().union(*(c.imported for c in cells))
    rebinds = set().union(*(c.rebinds for c in cells))
    modules = set(imported)
    while more := {u for u, t in rebinds if t in modules} - modules:
        modules |= more
    variables = set().union(*(c.variables for c in cells)) - (modules - imported)
    return Names(defined, variables, modules)


def needed(sources: list[str], graded: set[str]) -> list[bool] | None:
    """For each cell source, whether grading must run it so that the functions named in
    `graded` behave as after running every cell; None when the analysis is unsure."""
    try:
        cells = [analyse(s) for s in sources]
    except Opaque:
        return None
    names = _names(cells)
    keep = [bool(c.defines & graded) for c in cells]
    while True:
        reads = graded.union(*(c.reads for c, k in zip(cells, keep) if k))
        objects = _objects(cells, reads & names.defined, names)
        mutators = _mutators(cells, objects, names)
        grown = [k or bool(c.defines & reads) or _changes(c, objects, names, mutators)
                 for c, k in zip(cells, keep)]
        if grown == keep:
            return keep
        keep = grown


@dataclass(frozen=True)
class Objects:
    """The names whose objects needed cells read, by what changes them: `every` name that
    may be or hold (part of) one, which storing into changes; the `same` names, those read
    and what rebinds them (`h = g`, `r = np.random`), whose methods change them too; the
    `data`, those that may be or hold a variable's object, which passing on or iterating
    may change as well. Holding a function is not changing it: that `f` in
    `for name, f in table.items()` may be a graded function does not make `table.items()`
    or `f(z)` a change."""

    every: set[str]
    same: set[str]
    data: set[str]


def _objects(cells: list[Cell], read: set[str], names: Names) -> Objects:
    """The Objects of the `read` names the notebook defines."""
    rebinds = set().union(*(c.rebinds for c in cells))
    return Objects(_holders(cells, read, names), _closure(read, rebinds, names),
                   _holders(cells, read & names.variables, names))


def _holders(cells: list[Cell], read: set[str], names: Names) -> set[str]:
    """`read`, and every name that may be or hold (part of) the object of one of them,
    through others too: a change through it is a change of what a needed cell reads.
    An imported name is followed only where it is rebound (`r = np.random`)."""
    links = {(u, t) for c in cells for u, t in c.aliases if t not in names.imported} | {
        (u, t) for c in cells for u, t in c.views if not {u, t} & names.imported}
    return _closure(read, links | set().union(*(c.rebinds for c in cells)), names)


def _closure(names_: set[str], links: set[tuple[str, str]], names: Names) -> set[str]:
    """`names_`, and the names linked (u, t) to one of them, repeatedly; not builtins the
    notebook does not define."""
    held = set(names_)
    while True:
        more = {u for u, t in links if t in held} - (BUILTINS - names.defined)
        if more <= held:
            return held
        held |= more


def _sets_state(method: str) -> bool:
    """Whether calling a module's function `method` may change how it computes later."""
    return (method.startswith(("set", "seed")) and method not in NOT_SETTERS) or \
        method in SETTERS


def _changes(cell: Cell, objects: Objects, names: Names, mutators: set[str]) -> bool:
    """Whether `cell` may change one of `objects` (see Objects): it stores into one; it
    calls a method of one of the same names, a setter if imported; it passes on, iterates
    or calls a method of data; it calls, or passes on, a mutator."""
    return bool(cell.stores & objects.every
                or cell.touches & (objects.data - names.imported | mutators)
                or any(r in objects.same and (r not in names.imported or _sets_state(m))
                       for r, m in cell.methods))


def _mutators(cells: list[Cell], objects: Objects, names: Names) -> set[str]:
    """The functions (and classes) whose cell may change one of `objects`, directly or by
    calling another such function: calling one may change what a graded one reads. An
    imported name is never one: a module's function cannot reach the notebook's names."""
    mutators: set[str] = set()
    while True:
        more = set().union(*(c.defines - c.variables - c.imported for c in cells
                             if _changes(c, objects, names, mutators)))
        if more <= mutators:
            return mutators
        mutators |= more


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
