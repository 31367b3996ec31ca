"""What a student's kernel may see, do and spend.

Threat model: the student is hostile, and the grader may run as root (containers,
JupyterHub images, CI). Whatever a submission does, it must not read what it could use
to score (the solutions, nnlib's implementations of the graded functions, the registry's
exercise modules, the hidden-test seed, other students' work), must not change anything
outside its own scratch folder, and must not take more memory, disk or processes than
its limits, all of its processes together.

With bubblewrap (`bwrap`) the kernel gets:

- an unprivileged identity: uid and gid 65534 inside a user namespace, no capabilities
  (`--cap-drop ALL`), no further user namespaces, `no_new_privs`. When the grader is
  root, that user namespace is one the grader prepares (`_userns_fd`), in which uid
  65534 is also host uid 65534, so the kernel is not root on the host either; otherwise
  bubblewrap's own `--unshare-user` maps it to the grader's uid.
- a file system built from nothing: a read-only root holding only the Python
  environment (the virtual environment at /grading/env, the base installation at its own
  path), the system libraries and fonts, a passwd file naming only uid 65534, and the
  runtime under /grading/lib: the kernel side of `autograder.grading.collect` (with
  `calls`, `fallback` and `registry.Case` from the package, and a `check` that only says
  the grader grades) and nnlib without the lesson's graded functions' bodies and without
  their private helpers (`stub_reference`). The course root, `solutions/`, the
  submissions, the output folder, the gradebook and the seed are not mounted at all, nor
  are `autograder.exercises`, `autograder.judge` or the real `autograder.registry`; files
  the registry withholds (`withheld`) are left out of the folders that hold them.
  The grader's inputs are copied in read-only at /grading/in/N. No host folder is
  writable: the kernel's working directory, HOME and /tmp are a private, size-limited
  tmpfs at /scratch (`scratch_mb`), with small ones at /dev/shm and at /grading/kernel,
  where its sockets are (the grader reaches them through /proc/PID/root). Of the working
  folder the grader prepares, only the regular files at its top (the notebook) are
  copied in; nothing is bound.
- its own PID namespace and /proc (the grader's processes and command line are not
  there), no network, its own IPC and UTS namespaces.
- limits over all its processes together: a memory cgroup (v1 `memory.limit_in_bytes`
  and `memory.memsw.limit_in_bytes`, or v2 `memory.max`), which also counts the pages of
  its tmpfs files, and a pids cgroup; an out-of-memory kill in it is told apart from a
  crash (`Confinement.oom_kills`). Each process also has an address-space limit
  (`memory_mb` plus AS_MARGIN_MB: a quick MemoryError for one huge allocation) and a
  CPU-time backstop.
  Cgroups are removed when the kernel stops, at exit, and (if a grader was killed) by the
  next grader, which removes those whose owner is gone.

A student can still: use up to its limits; read the public parts of the environment
(installed packages and their data, system libraries and fonts); call nnlib's public
non-graded functions, and the private helpers that such a function needs even when a
graded function uses them too (`graded_helpers` lists them: these stay); read the
grader's cases for the lesson, hidden ones included, at /grading/in (inputs only, not
the expected answers, which the grader computes outside); and write, run and fork
within the scratch folder and its limits.

Degraded modes, which `describe()` states: without root or a writable cgroup hierarchy,
memory is limited per process by RLIMIT_AS and processes by RLIMIT_NPROC, and the
tmpfs sizes bound its files; if uid 65534 cannot read the environment, a root grader's
kernel keeps bubblewrap's mapping to the grader's uid (still without capabilities);
without bubblewrap only the rlimits remain, nnlib's stubs come first on PYTHONPATH, the
real files stay readable and the network open.
"""

from __future__ import annotations

import ast
import atexit
import ctypes
import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

import autograder

SANDBOX_UID = 65534  # uid and gid of the kernel inside its user namespace ("nobody")
HOST_UID = 65534  # ... and on the host, when the grader is root
GRADING = Path("/grading")  # in the sandbox: environment, runtime, inputs, sockets
ENV = GRADING / "env"
LIB = GRADING / "lib"
SOCKETS = GRADING / "kernel"  # the kernel's sockets, on a tmpfs of SOCKETS_KB
SOCKETS_KB = 256
SCRATCH = Path("/scratch")  # the kernel's working directory, HOME and /tmp
SHM_MB = 64
# With a memory cgroup, each process's address space may exceed the memory limit by this
# much (a kernel reserves about 800 MB of address space for 170 MB of memory); without
# one, the address space is the only limit and equals it.
AS_MARGIN_MB = 1024
KERNEL_ENV = ("LANG", "LC_ALL", "TZ")
SYSTEM = ("/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/lib", "/lib32", "/lib64",
          "/libx32", "/usr/share/fonts", "/usr/share/zoneinfo", "/etc/ld.so.cache",
          "/etc/localtime")
CGROUP = Path("/sys/fs/cgroup")
CLONE_NEWUSER = 0x10000000
PROBE = ("import numpy, nnlib, autograder, autograder.grading.collect\n"
         "assert autograder.check.__module__ == 'autograder'\nprint('sandbox-ok')")


@dataclass(frozen=True)
class Limits:
    """Per-cell wall clock; memory of all the kernel's processes and files together (each
    process's address space is limited to it too, or to it plus AS_MARGIN_MB under a
    memory cgroup); a process cap; a CPU-time backstop; the size of the scratch tmpfs."""

    timeout: float = 30.0
    memory_mb: int = 2048
    processes: int = 64
    cpu_seconds: int = 3600
    scratch_mb: int = 512


# ---- what a module's top level binds and uses ---------------------------------------------

def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _bound_names(node) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
    return []


def _uses(nodes, skip_annotations: bool) -> tuple[set[str], set[tuple[str, str]]]:
    """Names read in `nodes`, and (name, attribute) pairs; annotations skipped when they are
    never evaluated (`from __future__ import annotations`)."""
    names, attrs, stack = set(), set(), list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            attrs.add((node.value.id, node.attr))
            continue
        if isinstance(node, ast.Name):
            names.add(node.id)
        for name, value in ast.iter_fields(node):
            if skip_annotations and name in ("annotation", "returns"):
                continue
            if isinstance(value, ast.AST):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, ast.AST))
    return names, attrs


class _Module:
    """One module's top level: which statements bind each name, and what they import."""

    def __init__(self, name: str, text: str, is_package: bool = False):
        self.name, self.tree = name, ast.parse(text)
        self.future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                          and any(a.name == "annotations" for a in n.names)
                          for n in self.tree.body)
        self.binds: dict[str, list[int]] = {}
        self.imports: dict[str, tuple[str, str | None]] = {}
        package = name if is_package else name.rpartition(".")[0]
        for i, node in enumerate(self.tree.body):
            for bound in _bound_names(node):
                self.binds.setdefault(bound, []).append(i)
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(p for p in [*up, base] if p)
                for a in node.names:
                    self.imports[a.asname or a.name] = (base, a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0], None)

    def uses(self, i: int, stub: bool = False):
        node = self.tree.body[i]
        if stub and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts = [*node.decorator_list, *node.args.defaults,
                     *(d for d in node.args.kw_defaults if d is not None)]
            return _uses(parts, self.future)
        return _uses([node], self.future)


def _extract(text: str, wanted: set[str], doc: str) -> str:
    """The source of the top-level definitions `wanted` of a module, with everything they
    use from its top level (imports pruned to the names needed), under docstring `doc`."""
    module = _Module("m", text)
    missing = wanted - module.binds.keys()
    if missing:
        raise RuntimeError(f"the grading runtime needs {sorted(missing)}, which are gone")
    keep, names, todo = set(), set(), list(wanted)
    while todo:
        name = todo.pop()
        if name in names or name not in module.binds:
            continue
        names.add(name)
        for i in module.binds[name]:
            keep.add(i)
            read, attrs = module.uses(i)
            todo += [*read, *(base for base, _ in attrs)]
    body = [ast.Expr(ast.Constant(doc))]
    for i, node in enumerate(module.tree.body):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            body.append(node)
        elif i in keep and isinstance(node, (ast.Import, ast.ImportFrom)):
            node.names = [a for a in node.names if (a.asname or a.name.split(".")[0]) in names]
            body.append(node)
        elif i in keep:
            body.append(node)
    return ast.unparse(ast.Module(body, [])) + "\n"


# ---- nnlib without what implements a graded function ---------------------------------------

class _Package:
    """Every module of a package, and the dependencies between their top-level names.

    A node is (module, name), or ("module", dotted name) for a module used as a whole."""

    def __init__(self, directory: Path, package: str):
        self.modules: dict[str, _Module] = {}
        self.paths: dict[str, Path] = {}
        for path in sorted(directory.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = [package, *path.relative_to(directory).with_suffix("").parts]
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            self.modules[name] = _Module(name, path.read_text(), is_package)
            self.paths[name] = path

    def resolve(self, module: str, name: str) -> list[tuple[str, str]]:
        src = self.modules[module]
        if name in src.imports:
            target, attr = src.imports[name]
            if attr is None:
                return [("module", target)] if target in self.modules else []
            if f"{target}.{attr}" in self.modules:
                return [("module", f"{target}.{attr}")]
            return [(target, attr)] if target in self.modules else []
        return [(module, name)] if name in src.binds else []

    def edges(self, node, stubbed) -> list[tuple[str, str]]:
        kind, name = node
        if kind == "module":
            return [(name, n) for n in self.modules[name].binds]
        src, out = self.modules[kind], []
        if name in src.imports:
            return self.resolve(kind, name)
        for i in src.binds.get(name, []):
            read, attrs = src.uses(i, stub=node in stubbed)
            for used in read:
                out += self.resolve(kind, used)
            for base, attr in attrs:
                targets = self.resolve(kind, base)
                out += [(t[1], attr) if t[0] == "module" else t for t in targets]
        return out

    def closure(self, start, stubbed=frozenset(), stop=lambda node: False) -> set:
        """Every node reachable from `start` (stubbed nodes' bodies left out; `stop`
        nodes reached but not gone through)."""
        seen, todo = set(), list(start)
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in start or not stop(node):
                todo += self.edges(node, stubbed)
        return seen

    def roots(self) -> list:
        """Every public name, and whatever the statements that bind no name use. A public
        name that is a module imported whole is not one: its public names are roots anyway,
        and what the module's own code uses of it counts from that code."""
        out = []
        for name, src in self.modules.items():
            out += [(name, n) for n in src.binds if not _private(n)
                    and not any(t[0] == "module" for t in self.resolve(name, n))]
            for node in src.tree.body:
                if not _bound_names(node):
                    read, attrs = _uses([node], src.future)
                    for used in read | {base for base, _ in attrs}:
                        out += self.resolve(name, used)
        return out


def graded_helpers(nnlib_dir: Path, references: list[str]) -> tuple[set, set]:
    """(removed, kept): the private top-level names, as (module, name), that the graded
    functions in `references` use, directly, through each other or through other private
    names; removed when nothing public and not graded needs them, kept when something
    does (a student can then call them: the part of the reference that stays)."""
    package = _Package(nnlib_dir, "nnlib")
    graded = {tuple(ref.rsplit(".", 1)) for ref in references}
    graded = {g for g in graded if g[0] in package.modules}
    keep = package.closure(package.roots(), stubbed=graded)
    public = lambda node: node[0] == "module" or not _private(node[1])  # noqa: E731
    used = {n for n in package.closure(graded, stop=public) if not public(n)}
    return used - keep, used & keep


def stub_reference(nnlib_dir: Path, references: list[str], dest: Path) -> Path:
    """A copy of nnlib without what implements the graded functions in `references`: each
    of them keeps its signature and docstring but raises ReferenceUnavailable, and the
    private helpers that only they use are removed (`graded_helpers`). Everything public
    and not graded works as before. Returns the new package."""
    target = dest / "nnlib"
    shutil.copytree(nnlib_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    for relative, text in stubbed_sources(nnlib_dir, references).items():
        (target / relative).write_text(text)
    return target


def stubbed_sources(nnlib_dir: Path, references: list[str]) -> dict[str, str]:
    """{path relative to `nnlib_dir`: new text} of the modules of nnlib that change when the
    graded functions in `references` are stubbed and their private helpers removed, as
    `stub_reference` does; the other modules stay as they are."""
    nnlib_dir = Path(nnlib_dir)
    package = _Package(nnlib_dir, "nnlib")
    removed, _ = graded_helpers(nnlib_dir, references)
    by_module: dict[str, set[str]] = {}
    for ref in references:
        module, _, attr = ref.rpartition(".")
        if module in package.modules:
            by_module.setdefault(module, set()).add(attr)
    out = {}
    for module in sorted(set(by_module) | {m for m, _ in removed}):
        src, names = package.modules[module], by_module.get(module, set())
        gone = {n for m, n in removed if m == module}
        body = []
        for node in src.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
                doc = ast.get_docstring(node)
                node.body = ([ast.Expr(ast.Constant(doc))] if doc else []) + ast.parse(
                    "raise type('ReferenceUnavailable', (Exception,), {})("
                    f"'{module}.{node.name} is not available while grading')").body
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                node.names = [a for a in node.names if (a.asname or a.name) not in gone]
                if not node.names:
                    continue
            bound = _bound_names(node)
            if bound and not isinstance(node, ast.ImportFrom) and set(bound) <= gone:
                continue
            body.append(node)
        src.tree.body = body
        out[str(package.paths[module].relative_to(nnlib_dir))] = ast.unparse(src.tree) + "\n"
    return out


# ---- the part of `autograder` a grading kernel has -----------------------------------------

KERNEL_INIT = '''"""autograder as a grading kernel has it: `check` and `show_case` only say
that the grader grades, and `latest` is the course's. The registry, its exercises and the
judge are not here."""

from autograder.fallback import latest


class CheckFailed(AssertionError):
    """A graded function gave a wrong answer (never raised while grading)."""


def check(name, fn, hidden=False):
    """While grading, the grader runs `fn` itself and judges its outputs outside."""
    print(f"{name}: graded by the grader, outside this kernel.")


def show_case(name, number, namespace=None):
    """While grading, cases are the grader's: none is shown."""
    print(f"{name}: graded by the grader, outside this kernel.")


__all__ = ["check", "CheckFailed", "latest", "show_case"]
'''

LIFELINE = '''"""The kernel's lifeline: when the grader is gone, the kernel ends too.

The grader holds the write end of a pipe whose read end the kernel inherits (its number
is in NNCOURSE_LIFELINE). A grader killed outright cannot stop its kernels, and when it
is root, bubblewrap's --die-with-parent does not reach a sandbox whose uid is not root;
so the kernel waits on the pipe, and when it reads its end it leaves, taking every
other process of its sandbox with it when it has a PID namespace of its own
(NNCOURSE_LIFELINE_PIDNS), in which they are all the student's.
"""

import os
import threading


def watch():
    fd = int(os.environ.pop("NNCOURSE_LIFELINE", "-1"))
    everyone = os.environ.pop("NNCOURSE_LIFELINE_PIDNS", "") == "1"
    if fd < 0:
        return

    def wait(read=os.read, end=os._exit, kill=os.kill):
        try:
            read(fd, 1)
        finally:
            if everyone:
                try:
                    kill(-1, 9)
                except OSError:
                    pass
            end(1)

    threading.Thread(target=wait, name="nncourse-lifeline", daemon=True).start()
'''


# ipykernel imports its debugger, debugpy, at every start (a twentieth of a second of CPU
# per kernel); found first on the kernel's path, this makes it start without one.
NO_DEBUGGER = '''"""No debugger in a grading kernel: ipykernel starts without one."""

raise ImportError("a grading kernel has no debugger")
'''


def build_runtime(dest: Path) -> Path:
    """The `autograder` package of a grading kernel, in `dest/autograder`: its __init__
    (KERNEL_INIT), `fallback`, `given` (loading and binding correct versions of the
    functions an exercise calls), `grading.collect` importing `calls` instead of `judge`,
    `calls` (what collect takes from the judge: calling a function on a case, as data),
    `registry` (only `Case`, which the grader's pickled cases name) and
    `grading.lifeline` (LIFELINE); and a `debugpy` that is not there (NO_DEBUGGER)."""
    package = Path(autograder.__file__).resolve().parent
    out = dest / "autograder"
    (out / "grading").mkdir(parents=True, exist_ok=True)
    collect = ast.parse((package / "grading" / "collect.py").read_text())
    wanted: set[str] = set()
    for node in ast.walk(collect):
        if isinstance(node, ast.ImportFrom) and node.module == "autograder.judge":
            node.module = "autograder.calls"
            wanted |= {a.name for a in node.names}
    modules = {
        "autograder": KERNEL_INIT,
        "autograder.fallback": (package / "fallback.py").read_text(),
        "autograder.given": _extract((package / "given.py").read_text(), {"load", "bound"},
                                     "Correct versions of the functions an exercise calls."),
        "autograder.calls": _extract(
            (package / "judge.py").read_text(), wanted,
            "Calling a student's function on a case, as data (taken from the judge)."),
        "autograder.registry": _extract((package / "registry.py").read_text(), {"Case"},
                                        "The one class of the registry that cases are made of."),
        "autograder.grading": '"""The kernel side of official grading."""\n',
        "autograder.grading.lifeline": LIFELINE,
        "autograder.grading.collect": ast.unparse(collect) + "\n",
    }
    parsed = {name: _Module(name, text) for name, text in modules.items()}
    for module in parsed.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                wants = {a.name: [] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                wants = {node.module or "": [a.name for a in node.names]}
            else:
                continue
            for name, names in wants.items():
                if name.split(".")[0] != "autograder":
                    continue
                have = parsed.get(name)
                lacking = [n for n in names if have is None or n not in have.binds]
                if have is None or lacking:
                    raise RuntimeError(f"the grading kernel's runtime lacks {name} "
                                       f"{', '.join(lacking)}: add it to build_runtime")
    (dest / "debugpy").mkdir(exist_ok=True)
    (dest / "debugpy" / "__init__.py").write_text(NO_DEBUGGER)
    for name, text in modules.items():
        parts = name.split(".")
        is_package = name in ("autograder", "autograder.grading")
        path = dest.joinpath(*parts, "__init__.py") if is_package else dest.joinpath(
            *parts).with_suffix(".py")
        path.write_text(text)
    return out


def _readable_tree(path: Path) -> None:
    """Let any uid read `path` (it holds nothing secret, by construction)."""
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() else 0o644)


# ---- cgroups ------------------------------------------------------------------------------

_LIVE: set[Path] = set()


def _own_cgroups() -> dict[str, str]:
    """{controller: path} of this process ("" for cgroup v2)."""
    out = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _try_group(base: Path, needs: str) -> bool:
    probe = base / f"nncourse-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    ok = (probe / needs).exists()
    try:
        probe.rmdir()
    except OSError:
        pass
    return ok


def cgroup_bases() -> dict[str, str]:
    """{"memory": dir, "pids": dir} where this process can create cgroups: its own cgroup or
    the nearest above it where it may, else the top of the hierarchy. Empty without
    permission.

    An ordinary user may where a cgroup is delegated to it (systemd delegates one to a
    user's session). With cgroup v2 that is often above its own: a cgroup with processes
    hands no controller to its children, so they live in a leaf of the delegated one,
    which the user may then create groups in and move processes into (it may write the
    cgroup.procs of their common ancestor)."""
    own, found = _own_cgroups(), {}
    unified = CGROUP if (CGROUP / "cgroup.controllers").exists() else CGROUP / "unified"
    hierarchies = [(CGROUP / c, c, c, needs) for c, needs in (
        ("memory", "memory.limit_in_bytes"), ("pids", "pids.max"))
        if (CGROUP / c / "cgroup.procs").exists()
        and not (CGROUP / c / "cgroup.controllers").exists()]
    if (unified / "cgroup.controllers").exists():
        hierarchies += [(unified, "", c, needs)
                        for c, needs in (("memory", "memory.max"), ("pids", "pids.max"))]
    for mount, key, controller, needs in hierarchies:
        if controller in found:
            continue
        path = Path(own.get(key, "/"))  # "/../x": outside our cgroup namespace
        mine = mount / ("." if ".." in path.parts else path.relative_to("/"))
        for base in [mine, *mine.parents[:len(mine.relative_to(mount).parts)]]:
            # cgroup v2 (not v1) moves a process only for those who may write the
            # cgroup.procs of the common ancestor of where it is and where it goes: `base`
            may_move = bool(key) or os.access(base / "cgroup.procs", os.W_OK)
            if base.is_dir() and may_move and _try_group(base, needs):
                found[controller] = str(base)
                break
    for base in set(found.values()):
        _sweep(Path(base))
    return found


def _kill_members(group: Path) -> bool:
    """SIGKILL every process in `group` until it is empty; True if it is."""
    for _ in range(100):
        try:
            pids = (group / "cgroup.procs").read_text().split()
        except OSError:
            return True
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)
    return False


def _remove_group(group: Path) -> None:
    if _kill_members(group):
        for _ in range(20):
            try:
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
    _LIVE.discard(group)


def _sweep(base: Path) -> None:
    """Remove the cgroups of graders that are gone (killed before they could)."""
    try:
        children = list(base.iterdir())
    except OSError:
        return
    for child in children:
        owner = re.fullmatch(r"nncourse-(\d+)-[0-9a-f]+", child.name)
        if owner and not psutil.pid_exists(int(owner[1])):
            _remove_group(child)
        elif re.fullmatch(r"nncourse-[0-9a-f]{32}", child.name):  # before owners were named
            try:
                if time.time() - child.stat().st_mtime > 3600 and not (
                        child / "cgroup.procs").read_text().strip():
                    child.rmdir()
            except OSError:
                pass


@atexit.register
def _release_all() -> None:
    for group in list(_LIVE):
        _remove_group(group)


def _counters_of(text: str) -> dict[str, str]:
    """The "name value" lines of a cgroup's counters file (memory.events, pids.events)."""
    return dict(line.split() for line in text.splitlines() if len(line.split()) == 2)


class Confinement:
    """One kernel's cgroups: memory (all its processes and their tmpfs pages together) and
    a process cap; or, where there are none, RLIMIT_NPROC for the kernel's host uid."""

    def __init__(self, bases: dict[str, str], limits: Limits, uid: int):
        self.limits, self.uid, self.dirs = limits, uid, {}
        self.root: str | None = None  # the sandbox's file system as the grader sees it
        self.lifeline: int | None = None  # write end of the pipe the kernel watches
        try:
            for controller, base in sorted(bases.items()):
                shared = [d for d in self.dirs.values() if d.parent == Path(base)]
                group = shared[0] if shared else (
                    Path(base) / f"nncourse-{os.getpid()}-{uuid.uuid4().hex[:12]}")
                if not shared:
                    group.mkdir()
                    _LIVE.add(group)
                self.dirs[controller] = group
                if controller == "pids":
                    (group / "pids.max").write_text(str(limits.processes))
                else:
                    self._limit_memory(group, limits.memory_mb * 2**20)
        except OSError:
            self.release()
            raise

    @staticmethod
    def _limit_memory(group: Path, size: int) -> None:
        if (group / "memory.limit_in_bytes").exists():  # cgroup v1
            (group / "memory.limit_in_bytes").write_text(str(size))
            optional = (("memory.memsw.limit_in_bytes", size), ("memory.swappiness", 0))
        else:
            (group / "memory.max").write_text(str(size))
            optional = (("memory.swap.max", 0), ("memory.oom.group", 1))
        for name, value in optional:
            try:
                (group / name).write_text(str(value))
            except OSError:
                pass

    @property
    def memory(self) -> bool:
        return "memory" in self.dirs

    def enter(self) -> None:
        """In the kernel's first process, before exec: every later process inherits it."""
        for group in dict.fromkeys(self.dirs.values()):
            (group / "cgroup.procs").write_text(str(os.getpid()))
        if "pids" not in self.dirs:
            mine = sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"]
                       and p.info["uids"].real == self.uid)
            resource.setrlimit(resource.RLIMIT_NPROC, (mine + self.limits.processes,) * 2)

    def processes(self) -> int | None:
        """How many processes the pids cgroup holds, as a scan of the kernel's process tree
        would count them, zombies not yet reaped included; None without a pids cgroup.

        cgroup.procs lists the live ones; pids.current counts the live threads (listed in
        `tasks`, or `cgroup.threads` in cgroup v2) and the zombies. Three small reads take
        tens of microseconds, where a scan of /proc takes milliseconds."""
        group = self.dirs.get("pids")
        if group is None:
            return None
        threads = "tasks" if (group / "tasks").exists() else "cgroup.threads"
        try:
            live = len((group / threads).read_bytes().split())
            charged = int((group / "pids.current").read_bytes())
            return len((group / "cgroup.procs").read_bytes().split()) + max(0, charged - live)
        except (OSError, ValueError):
            return None

    def refused_forks(self) -> int:
        """How many times the pids cgroup has refused a fork because the kernel's processes
        were at their cap (pids.events); 0 without a pids cgroup. A cell that hit the cap
        and then reaped its children leaves no more processes than it found."""
        group = self.dirs.get("pids")
        if group is None:
            return 0
        try:
            return int(_counters_of((group / "pids.events").read_text()).get("max", 0))
        except (OSError, ValueError):
            return 0

    def oom_kills(self) -> int:
        """How many of its processes the kernel's out-of-memory killer has killed."""
        group = self.dirs.get("memory")
        if group is None:
            return 0
        for name in ("memory.oom_control", "memory.events"):
            try:
                text = (group / name).read_text()
            except OSError:
                continue
            counts = _counters_of(text)
            if "oom_kill" in counts:
                return int(counts["oom_kill"])
            if name == "memory.oom_control":  # kernels before 4.13: hits of the limit
                try:
                    return int(counts.get("under_oom", 0)) + int(
                        (group / "memory.failcnt").read_text())
                except (OSError, ValueError):
                    return 0
        return 0

    def release(self) -> None:
        """Kill whatever is left in the cgroups and remove them; cut the lifeline."""
        for group in dict.fromkeys(self.dirs.values()):
            _remove_group(group)
        self.dirs = {}
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None


# ---- identity ------------------------------------------------------------------------------

_USERNS: dict[int, int | None] = {}


def _userns_fd() -> int | None:
    """(Grader is root.) A user namespace for kernels, made once per process: uid and gid
    65534 there are host uid and gid 65534; host root is uid 1 there, so that bubblewrap
    (which keeps host root's identity until it switches to 65534) can reach the
    environment through folders only root may enter, such as /root. Nothing in it may
    create another user namespace. None where this does not work."""
    pid = os.getpid()
    if pid in _USERNS:
        return _USERNS[pid]
    fd = None
    libc = ctypes.CDLL(None, use_errno=True)
    helper_binary = shutil.which("cat") or "/bin/cat"

    def enter():
        if libc.unshare(CLONE_NEWUSER) != 0:
            os._exit(1)
        try:
            with open("/proc/sys/user/max_user_namespaces", "w") as f:
                f.write("0")
        except OSError:
            os._exit(1)

    r, w = os.pipe()
    helper = None
    try:
        helper = subprocess.Popen([helper_binary], stdin=r, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, preexec_fn=enter)
        if os.readlink(f"/proc/{helper.pid}/ns/user") != os.readlink("/proc/self/ns/user"):
            maps = f"1 0 1\n{SANDBOX_UID} {HOST_UID} 1\n"
            for name in ("uid_map", "gid_map"):
                with open(f"/proc/{helper.pid}/{name}", "w") as f:
                    f.write(maps)
            fd = os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        fd = None
    finally:
        os.close(r)
        os.close(w)
        if helper is not None:
            helper.wait()
    _USERNS[pid] = fd
    return fd


# ---- the sandbox ---------------------------------------------------------------------------

@dataclass
class Sandbox:
    """How kernels are started (see the module docstring). `mode` is "bubblewrap" or
    "rlimits"; `identity` says how the kernel's uid is made: "userns" (host uid 65534,
    the grader is root), "unshare" (the grader's uid) or "" (no namespace)."""

    mode: str
    limits: Limits
    stub_dir: Path
    layout: list[str] = field(default_factory=list)
    python: str = sys.executable
    identity: str = ""
    cgroups: dict[str, str] = field(default_factory=dict)
    fontlists: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lim = self.limits
        if self.mode == "bubblewrap":
            who = ("uid 65534 in a user namespace (host uid 65534), no capabilities"
                   if self.identity == "userns" else
                   "uid 65534 in a user namespace (the grader's uid on the host), "
                   "no capabilities")
            what = (f"bubblewrap: kernel as {who}; no network; own PID namespace; only the "
                    "Python environment, the collection runtime and nnlib without the "
                    "graded functions are mounted, read-only; course files, submissions, "
                    f"seed and output absent; {lim.scratch_mb} MB scratch tmpfs")
        else:
            what = ("resource limits only (bubblewrap unavailable): network open and files "
                    "readable; nnlib's graded functions stubbed on PYTHONPATH")
        memory = (f"{lim.memory_mb} MB for all its processes and files together "
                  f"(memory cgroup), {lim.memory_mb + AS_MARGIN_MB} MB address space per "
                  "process"
                  if "memory" in self.cgroups else
                  f"{lim.memory_mb} MB address space per process only (no memory cgroup)")
        cap = ("a pids cgroup" if "pids" in self.cgroups else "RLIMIT_NPROC")
        notes = "".join(f"; {n}" for n in self.notes)
        return (f"isolation: {what}; limits: {lim.timeout:g} s per cell, {memory}, "
                f"{lim.processes} processes via {cap}{notes}")

    def host_uid(self) -> int:
        """The kernel's uid on the host."""
        return HOST_UID if self.identity == "userns" else os.getuid()

    def inside(self, path, readonly=()) -> str:
        """Where the kernel sees host `path`, one of (or a file in) the `readonly` folders."""
        path = Path(path)
        if self.mode != "bubblewrap":
            return str(path)
        for i, folder in enumerate(readonly):
            if path == Path(folder) or path.is_relative_to(folder):
                return str(GRADING / "in" / str(i) / path.relative_to(folder))
        raise ValueError(f"{path} is not mounted in the sandbox")

    def env(self, workdir: Path) -> dict[str, str]:
        env = {k: os.environ[k] for k in KERNEL_ENV if k in os.environ}
        home = SCRATCH if self.mode == "bubblewrap" else workdir
        env.update(HOME=str(home), IPYTHONDIR=str(home / ".ipython"),
                   MPLCONFIGDIR=str(home / ".matplotlib"), MPLBACKEND="Agg",
                   JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
                   JUPYTER_DATA_DIR=str(home / ".jupyter" / "data"),
                   JUPYTER_RUNTIME_DIR=str(home / ".jupyter" / "runtime"),
                   PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1",
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   NNCOURSE_COLLECT="1",
                   # what nbgrader sets when it autogrades: lessons skip expensive demos
                   NBGRADER_EXECUTION="autograde")
        if self.mode == "bubblewrap":
            env.update(PATH=str(Path(self.python).parent),
                       TMPDIR=str(SCRATCH / ".tmp"), PYTHONPATH=str(LIB))
        else:
            env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"),
                       PYTHONPATH=str(self.stub_dir))
        return env

    def command(self, argv, workdir, readonly, data, fds: list[int]) -> list[str]:
        """`argv` wrapped in bwrap; the file descriptors it needs are appended to `fds`."""
        if self.mode != "bubblewrap":
            return list(argv)
        lim = self.limits
        if self.identity == "userns":
            userns = _userns_fd()
            if userns is None:
                raise OSError("the kernels' user namespace could not be made")
            fds.append(userns)
            who = ["--userns", str(userns)]
        else:
            who = ["--unshare-user", "--disable-userns"]
        args = [shutil.which("bwrap") or "bwrap", *who, "--uid", str(SANDBOX_UID),
                "--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--unshare-pid",
                "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "grading", "--die-with-parent", "--new-session", *self.layout,
                "--size", str(lim.scratch_mb * 2**20), "--tmpfs", str(SCRATCH),
                "--dir", str(SCRATCH / ".tmp"), "--symlink", str(SCRATCH / ".tmp"), "/tmp",
                "--dir", str(SCRATCH / ".matplotlib"),
                "--size", str(SOCKETS_KB * 2**10), "--tmpfs", str(SOCKETS)]
        files = [(Path(f), SCRATCH / ".matplotlib" / Path(f).name) for f in self.fontlists]
        files += [(f, SCRATCH / f.name) for f in sorted(Path(workdir).iterdir())
                  if not f.name.startswith(".") and not f.is_symlink() and f.is_file()]
        for host, where in files:
            fds.append(os.open(host, os.O_RDONLY | os.O_NOFOLLOW))
            args += ["--file", str(fds[-1]), str(where)]
        for where, content in data.items():
            fds.append(os.memfd_create("nncourse-data"))
            os.write(fds[-1], content)
            os.lseek(fds[-1], 0, os.SEEK_SET)
            args += ["--ro-bind-data", str(fds[-1]), str(where)]
        for folder in readonly:
            for path in _files(Path(folder)):
                fds.append(os.open(path, os.O_RDONLY | os.O_NOFOLLOW))
                args += ["--ro-bind-data", str(fds[-1]), self.inside(path, readonly)]
        return args + ["--remount-ro", "/", "--chdir", str(SCRATCH), "--", *argv]

    def popen(self, argv, workdir: Path, readonly=(), data=None, **kwargs):
        """Start `argv` inside the sandbox, in its own session; return (process,
        confinement), whose `root` is where the grader sees the sandbox's file system
        (/proc/PID/root; None without bubblewrap).

        `readonly` folders are copied in at /grading/in/N (read-only; regular files only)
        and `data` ({path in the sandbox: bytes}) too. Without bubblewrap `workdir` is
        the working directory; with it, the working directory is /scratch, a fresh tmpfs
        into which only the regular files at the top of `workdir` are copied (hidden ones
        and symbolic links are not); /grading/kernel is a tiny tmpfs for the kernel's
        sockets, which the grader reaches at `root`/grading/kernel."""
        cap = Confinement(self.cgroups, self.limits, self.host_uid())
        lim, fds, root = self.limits, [], os.geteuid() == 0
        info_r = info_w = None
        try:
            lifeline, cap.lifeline = os.pipe()
            fds.append(lifeline)
            env = {**self.env(workdir), "NNCOURSE_LIFELINE": str(lifeline)}
            if self.mode == "bubblewrap":
                env["NNCOURSE_LIFELINE_PIDNS"] = "1"
            command = self.command(argv, workdir, readonly, data or {}, fds)
            if self.mode == "bubblewrap":
                # bwrap's options through a file descriptor: the sandbox's /proc shows
                # `bwrap --args N` and no host path
                info_r, info_w = os.pipe()
                fds.append(info_w)
                end = command.index("--")
                options = [*command[1:end], "--info-fd", str(info_w)]
                fds.append(os.memfd_create("nncourse-bwrap-args"))
                os.write(fds[-1], b"".join(os.fsencode(o) + b"\0" for o in options))
                os.lseek(fds[-1], 0, os.SEEK_SET)
                command = [command[0], "--args", str(fds[-1]), *command[end:]]

            def limit():
                cap.enter()
                mem = (lim.memory_mb + (AS_MARGIN_MB if cap.memory else 0)) * 2**20
                resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
                resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds))
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                if root and self.mode == "bubblewrap":
                    os.setgroups([])

            proc = subprocess.Popen(command, cwd="/" if self.mode == "bubblewrap" else workdir,
                                    env=env, preexec_fn=limit,
                                    start_new_session=True, pass_fds=fds, **kwargs)
        except BaseException:
            cap.release()
            if info_r is not None:
                os.close(info_r)
            raise
        finally:
            for fd in fds:
                if fd != _USERNS.get(os.getpid()):
                    os.close(fd)
        if info_r is not None:
            cap.root = _sandbox_root(info_r)
        return proc, cap


def _sandbox_root(info_fd: int, timeout: float = 30) -> str | None:
    """/proc/PID/root of the sandbox's first process, from what bwrap writes to its
    --info-fd (read up to the end of its JSON object; then closed)."""
    text, deadline = b"", time.monotonic() + timeout
    with os.fdopen(info_fd, "rb", buffering=0) as f:
        while b"}" not in text and len(text) < 4096:
            ready, _, _ = select.select([f], [], [], max(0.0, deadline - time.monotonic()))
            chunk = f.read(4096) if ready else b""
            if not chunk:
                break
            text += chunk
    try:
        return f"/proc/{int(json.loads(text)['child-pid'])}/root"
    except (ValueError, KeyError, TypeError):
        return None


def _files(folder: Path) -> list[Path]:
    """The regular files under `folder`; symbolic links are not followed."""
    out = []
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                out.append(path)
    return sorted(out)


# ---- building the file system ---------------------------------------------------------------

def _outermost(paths) -> list[Path]:
    paths = sorted({Path(p) for p in paths}, key=lambda p: len(p.parts))
    out: list[Path] = []
    for p in paths:
        if not any(p.is_relative_to(q) for q in out):
            out.append(p)
    return out


def _tree(host: Path, inside: Path, excluded: list[Path]) -> list[str]:
    """bwrap arguments binding `host` read-only at `inside`, with `excluded` (files or
    folders under it) absent: each folder holding one is rebuilt from its other entries."""
    excluded = [e for e in excluded if e != host and e.is_relative_to(host)]
    args = ["--ro-bind", str(host), str(inside)]
    parents = sorted({e.parent for e in excluded}, key=lambda p: len(p.parts))
    for parent in parents:
        where = inside / parent.relative_to(host)
        args += ["--tmpfs", str(where)]
        for entry in sorted(parent.iterdir()):
            if entry in excluded:
                continue
            target = where / entry.name
            if entry.is_symlink():
                args += ["--symlink", os.readlink(entry), str(target)]
            elif entry.is_dir() or entry.is_file():
                args += ["--ro-bind", str(entry), str(target)]
        args += ["--remount-ro", str(where)]
    return args


def _layout(stub_dir: Path, excluded: list[Path]) -> tuple[list[str], str]:
    """The read-only part of the kernel's file system, and where its Python is."""
    base = Path(sys.base_prefix).resolve()
    prefix = Path(sys.prefix)
    venv = prefix.resolve() != base
    real = Path(sys.executable).resolve()
    trees = [base] + ([real.parent] if not real.is_relative_to(base) else [])
    system = [Path(p) for p in SYSTEM if os.path.lexists(p)]
    args: list[str] = []
    covered = _outermost([*trees, *(p for p in system if not p.is_symlink())])
    for path in system:
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path in covered:
            args += _tree(path, path, excluded)
    for tree in trees:
        if tree in covered:
            args += _tree(tree, tree, excluded)
    python = sys.executable
    if venv:
        args += _tree(prefix.resolve(), ENV, excluded)
        exe = Path(sys.executable)
        if exe.is_relative_to(prefix):
            python = str(ENV / exe.relative_to(prefix))
    etc = stub_dir / "etc"
    args += ["--ro-bind", str(stub_dir / "nnlib"), str(LIB / "nnlib"),
             "--ro-bind", str(stub_dir / "autograder"), str(LIB / "autograder"),
             "--ro-bind", str(stub_dir / "debugpy"), str(LIB / "debugpy"),
             "--ro-bind", str(etc / "passwd"), "/etc/passwd",
             "--ro-bind", str(etc / "group"), "/etc/group",
             "--proc", "/proc", "--dev", "/dev", "--size", str(SHM_MB * 2**20),
             "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
    return args, python


def _font_cache(dest: Path) -> list[str]:
    """Matplotlib's font lists, with the environment's paths as the kernel sees them: in a
    fresh config folder it would spend seconds rebuilding one at every kernel start."""
    try:
        import matplotlib
    except ImportError:
        return []
    out = []
    for found in sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json")):
        text = found.read_text()
        if Path(sys.prefix).resolve() != Path(sys.base_prefix).resolve():
            for prefix in dict.fromkeys([str(Path(sys.prefix)), str(Path(sys.prefix).resolve())]):
                text = text.replace(json.dumps(prefix)[1:-1] + "/", str(ENV) + "/")
        dest.mkdir(parents=True, exist_ok=True)
        (dest / found.name).write_text(text)
        out.append(str(dest / found.name))
    return out


def _probe(sandbox: Sandbox) -> str:
    """'' if a kernel's Python starts in `sandbox`, else what went wrong."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            proc, cap = sandbox.popen([sandbox.python, "-c", PROBE], Path(tmp),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                out, err = proc.communicate(timeout=60)
            finally:
                proc.kill()
                proc.wait()
                cap.release()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if proc.returncode == 0 and b"sandbox-ok" in out:
        return ""
    lines = (err or out).decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {proc.returncode}"


def make_sandbox(root: Path, secret: list[Path], stub_dir: Path, nnlib_dir: Path,
                 limits: Limits, use_bwrap: bool = True, withheld=()) -> Sandbox:
    """The strongest sandbox that works here. `secret` are paths that must be absent
    (submissions, output folder, seed file) besides the course root; `stub_dir` holds the
    stubbed nnlib (`stub_reference`), next to which the kernel's runtime is built;
    `withheld` are data files that must be absent even inside the environment (the data
    the grader evaluates a trained model on)."""
    build_runtime(stub_dir)
    etc = stub_dir / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(f"nobody:x:{SANDBOX_UID}:{SANDBOX_UID}:nobody:{SCRATCH}:"
                                "/usr/sbin/nologin\n")
    (etc / "group").write_text(f"nogroup:x:{SANDBOX_UID}:\n")
    fontlists = _font_cache(stub_dir / "fonts")
    for part in ("nnlib", "autograder", "debugpy", "etc", "fonts"):
        if (stub_dir / part).exists():
            _readable_tree(stub_dir / part)
    stub_dir.chmod(0o755)
    package = Path(autograder.__file__).resolve().parent
    excluded = [Path(p).resolve() for p in [*withheld, *secret, root, package,
                                             Path(nnlib_dir)] if os.path.lexists(p)]
    cgroups = cgroup_bases()
    notes = []
    if use_bwrap and shutil.which("bwrap"):
        layout, python = _layout(stub_dir, excluded)
        tried = []
        for identity in (["userns"] if os.geteuid() == 0 else []) + ["unshare"]:
            sandbox = Sandbox("bubblewrap", limits, stub_dir, layout, python, identity,
                              cgroups, fontlists, list(notes))
            problem = _probe(sandbox)
            if not problem:
                if tried:
                    sandbox.notes.append(f"the kernel's host uid is the grader's "
                                         f"({'; '.join(tried)})")
                return sandbox
            tried.append(f"uid {HOST_UID} could not start Python: {problem}"
                         if identity == "userns" else problem)
        notes.append(f"bubblewrap failed: {tried[-1]}"[:300])
    return Sandbox("rlimits", limits, stub_dir, [], sys.executable, "", cgroups, [], notes)
