"""Run a student's function on cases and judge its outputs against nnlib's.

The two halves are separate on purpose. `run_case` calls the student's code and turns
whatever comes back into plain data (numbers, arrays, lists, dicts). `judge` compares
that data with the reference and writes the message a teaching assistant would write.
In a notebook both halves run in the student's kernel; when grading officially only
`run_case` does, and the data crosses to the grader, which runs `judge` itself.
"""

from __future__ import annotations

import _thread
import copy
import hashlib
import importlib.util
import inspect
import os
import random
import re
import sys
import threading
import time
import types
import warnings
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autograder.registry import Case, Exercise


class Unserializable(str):
    """Stands in for an object that is not data (a class instance, a function, ...)."""


_PLAIN = (bool, int, float, complex, str)
_NUMPY_SCALARS = frozenset(np.sctypeDict.values())


def to_data(obj: Any, depth: int = 0) -> Any:
    """Turn a return value into nested lists/tuples/dicts of numbers, strings and arrays.

    Everything in the result has an exact built-in or NumPy type: the methods of a
    subclass (a list subclass's `__iter__`, a dict subclass's `items`, ...) run here, while
    `run_case` still watches the call, and never afterwards, when the outcome is judged or
    sent to the grader."""
    if depth > 20:
        return Unserializable("nested too deeply")
    kind = type(obj)
    if obj is None or kind in _PLAIN or kind in _NUMPY_SCALARS or kind is Unserializable:
        return obj
    if isinstance(obj, np.ndarray):
        arr = np.array(obj, order="C", subok=False)
        return arr if arr.dtype != object else to_data(arr.tolist(), depth + 1)
    if isinstance(obj, str):
        return str.__str__(obj)
    for plain in _PLAIN[1:4]:  # int, float, complex (a bool's type is always exact)
        if isinstance(obj, plain):
            return plain(obj)
    if isinstance(obj, np.generic):
        return to_data(np.array(obj, subok=False)[()], depth + 1)
    if isinstance(obj, (list, tuple)):
        items = [to_data(x, depth + 1) for x in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, dict):
        return {str.__str__(str(k)): to_data(v, depth + 1) for k, v in obj.items()}
    return Unserializable(type(obj).__name__)


@dataclass
class Outcome:
    """What one call of the student's function produced, as data."""

    value: Any = None
    error: str | None = None
    error_message: str = ""
    warnings: list[str] = field(default_factory=list)
    # for a case with `reseeded`: digests of the result, of the same call again and of the
    # call with another seed (`digest`); for a case with `count_lines`: the lines run
    seeded: list[str] = field(default_factory=list)
    lines: int | None = None


def _same(before, after) -> bool:
    """Whether `after` still holds what `before` held: the same arrays (dtype, shape and
    bits, NaN included), lists, tuples, dicts and numbers. Other objects (a Generator whose
    state the function may advance) are not compared."""
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and after.dtype == before.dtype
                and after.shape == before.shape
                and (before.dtype == object and before.tolist() == after.tolist()
                     or before.dtype != object and before.tobytes() == after.tobytes()))
    if isinstance(before, (list, tuple)):
        return (type(after) is type(before) and len(after) == len(before)
                and all(_same(b, a) for b, a in zip(before, after, strict=True)))
    if isinstance(before, dict):
        return (isinstance(after, dict) and after.keys() == before.keys()
                and all(_same(before[k], after[k]) for k in before))
    if before is None or isinstance(before, (bool, int, float, complex, str, np.generic)):
        return type(after) is type(before) and (after == before or before != before)
    return True


def _parameter_names(fn, n: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"#{i + 1}" for i in range(n)]


def changed_inputs(fn, case: Case, args, kwargs) -> list[str]:
    """The names of the arguments of `case` that `args`/`kwargs` (what `fn` received) no
    longer equal."""
    names = _parameter_names(fn, len(case.args))
    changed = [name for name, b, a in zip(names, case.args, args, strict=True) if not _same(b, a)]
    return changed + [k for k in case.kwargs if not _same(case.kwargs[k], kwargs.get(k))]


INPUT_CHANGED = "InputChanged"


def input_changed_message(names: list[str]) -> str:
    which = " and ".join(names)
    return (f"your function changed its argument{'s' if len(names) > 1 else ''} {which} in "
            "place; the inputs of this exercise are read-only, and your function changes an "
            "input in place (`x -= ...`, `x[...] = ...`, `out=x` or `x.sort()` write into the "
            "caller's array): work on a copy and return a new array")


# ---- the policy on libraries -------------------------------------------------------------
#
# A graded function computes its answer itself, with NumPy and the standard library, in the
# Python process and threads that `run_case` watches. While it runs (and while its result is
# turned into data), two watches decide the case at the first thing that breaks the policy:
#
# - a profiler (sys.setprofile) on the calling thread, and on every thread started during a
#   graded call, for as long as that thread lives: entering Python code of a forbidden
#   package, calling one of their compiled functions, calling ctypes or cffi, starting a
#   process through `_posixsubprocess`, turning a profiler off, or starting a thread that
#   does not report to the watch (`_thread.start_new_thread`, a doctored `threading`);
# - an audit hook (sys.addaudithook), process-wide and so on every thread: starting a
#   process (subprocess, os.system, os.fork, os.exec*, os.posix_spawn, pty.spawn, ...),
#   native code through ctypes (loading a library, reading memory), a new interpreter, a
#   socket to another process or machine, and loading a forbidden package's module.
#
# What a process, native code or an unwatched thread computes is invisible to the
# profiler, so starting one is itself the violation, whatever it then does. Using any
# library outside a graded call (demonstrations, the grader's own comparisons) is untouched.

FORBIDDEN_LIBRARIES = {"sklearn": "scikit-learn", "scipy": "SciPy", "torch": "PyTorch",
                       "tensorflow": "TensorFlow", "keras": "Keras", "jax": "JAX"}
FORBIDDEN = "ForbiddenLibrary"
UNWATCHED = "UnwatchedWork"
REFERENCE = "ReferenceUnavailable"
TAMPERED = "WatchTurnedOff"
POLICY = ("graded functions must be written with NumPy and the standard library (see the "
          "course's policy on libraries in 00-welcome); that scores zero")
WATCH_POLICY = ("graded functions compute their answer themselves, in the notebook's Python "
                "process, where the checker watches them: no other process, no native code "
                "through ctypes or cffi, no socket, no thread but threading's (see the "
                "course's policy on libraries in 00-welcome); that scores zero")

# Packages whose use is running native code the profiler cannot follow, by where their
# Python code lives or which module their compiled functions name.
NATIVE_PACKAGES = {"ctypes": "ctypes", "_ctypes": "ctypes", "cffi": "cffi",
                   "_cffi_backend": "cffi"}
# Audit events (docs.python.org/3/library/audit_events.html) of starting a process.
PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.fork",
                            "os.forkpty", "os.exec", "os.spawn", "os.startfile", "pty.spawn",
                            "_winapi.CreateProcess"})
SOCKET_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.sendto",
                           "socket.sendmsg"})
CTYPES_EVENTS = frozenset(f"ctypes.{name}" for name in (
    "addressof", "call_function", "cdata", "cdata/buffer", "create_string_buffer",
    "create_unicode_buffer", "dlopen", "dlsym", "dlsym/handle", "get_errno", "get_last_error",
    "memoryview_at", "seh_exception", "set_errno", "set_exception", "set_last_error",
    "string_at", "wstring_at"))
# Every event the audit hook acts on; it returns at once on the others (it hears every
# id() and frame.f_code of the process).
_HEARD = PROCESS_EVENTS | SOCKET_EVENTS | CTYPES_EVENTS | {
    "cpython.PyInterpreterState_New", "import", "exec", "sys.setprofile", "nncourse.watch"}
# The modules whose compiled functions the profiler refuses (see `_c_function`).
_WATCHED_MODULES = frozenset(FORBIDDEN_LIBRARIES) | frozenset(NATIVE_PACKAGES) | {
    "_posixsubprocess"}


class _Stop(BaseException):
    """Raised into the student's code once a forbidden call is seen: the case is decided."""


# The real functions, taken when this module is imported (before any student code runs in
# the kernel or the notebook): replacing sys.setprofile later does not blind the watch.
_SETPROFILE, _GETPROFILE = sys.setprofile, sys.getprofile
_SETTRACE, _THREAD_SETPROFILE = sys.settrace, threading.setprofile
_ADD_AUDIT_HOOK, _AUDIT = sys.addaudithook, sys.audit
_SLEEP, _CLOCK, _THREAD_STATE = time.sleep, time.monotonic, threading.local()
# What turns a profiler or tracer off: C functions (seen as calls) and threading's setters
# (seen as entered).
_SETTERS = {f: f"sys.{f.__name__}" for f in (
    _SETPROFILE, _SETTRACE, getattr(sys, "_setprofileallthreads", None),
    getattr(sys, "_settraceallthreads", None)) if f is not None}
_SETTER_CODES = {id(f.__code__): f"threading.{f.__name__}" for f in (
    _THREAD_SETPROFILE, threading.settrace, getattr(threading, "setprofile_all_threads", None),
    getattr(threading, "settrace_all_threads", None)) if f is not None}
# The C functions that start a thread; `threading.Thread.start` calls one of them. Keyed by
# the function: an alias (start_new) compares equal, and finds the name written first.
_THREAD_STARTERS = dict(reversed([(getattr(_thread, name), f"_thread.{name}") for name in (
    "start_new_thread", "start_new", "start_joinable_thread") if hasattr(_thread, name)]))
_THREAD_START = threading.Thread.start.__code__
_WATCHING: list = [None]  # the watch of the graded call that is running, if any
_DIRS: dict = {}
# A thread started during a graded call must report to the watch (its profiler's first
# event) within this many seconds of the call's end, or it counts as unwatched.
THREAD_GRACE = 5.0


def _package_dirs(names) -> tuple[str, ...]:
    """The folders of the packages `names` that are installed, imported or not (a graded
    function may import one while it runs)."""
    names = tuple(names)
    if names not in _DIRS:
        dirs = set()
        for name in names:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            for d in (spec.submodule_search_locations or ()) if spec else ():
                dirs |= {os.path.join(d, ""), os.path.join(os.path.realpath(d), "")}
        _DIRS[names] = tuple(sorted(dirs))
    return _DIRS[names]


def _library(qualified: str) -> str:
    return FORBIDDEN_LIBRARIES.get(qualified.partition(".")[0], qualified.partition(".")[0])


def _forbidden(verb: str, qualified: str) -> tuple[str, str]:
    return FORBIDDEN, f"{verb} {qualified} ({_library(qualified)})"


def _native(package: str, what: str) -> tuple[str, str]:
    loads = any(k in what for k in ("dlopen", "load_library", "CDLL", "LibraryLoader"))
    return UNWATCHED, f"{'loads a native library' if loads else 'runs native code'} with " \
                      f"{package} ({what})"


class _Watch:
    """The profile function of one graded call: it records the first thing that breaks the
    policy (`found`: kind and what the function did) and stops the call there."""

    def __init__(self, references=frozenset()):
        self.references = {id(c) for c in references}  # nnlib's graded functions' code
        # the files where code is looked up by identity: the references', threading's
        self.suspects = frozenset({c.co_filename for c in references} | {threading.__file__})
        self.found: tuple[str, str] | None = None
        self.dirs = _package_dirs(FORBIDDEN_LIBRARIES)
        self.native_dirs = _package_dirs(NATIVE_PACKAGES)
        self.thread = None  # the ident of the thread that makes the graded call
        self.unset = False  # whether that thread changed its profiler (audit sys.setprofile)
        # per thread started: the C function's name, and whether threading.Thread.start
        # called it (such a thread reports as soon as it runs, unless threading was doctored)
        self.started: list[tuple[str, bool]] = []
        self.reported: list[bool] = []  # one item per thread whose profiler reported

    def __call__(self, frame, event, arg):
        if _WATCHING[0] is not self:
            return
        if self.found is not None:  # decided: the call goes no further
            raise _Stop
        # id() and frame.f_code raise audit events: used sparingly, they cost little
        if event == "call":
            code = frame.f_code
            filename = code.co_filename
            if filename in self.suspects:
                if id(code) in self.references:
                    self.found = (REFERENCE, f"called nnlib's "
                                             f"{frame.f_globals.get('__name__', '?')}"
                                             f".{code.co_qualname}")
                elif id(code) in _SETTER_CODES:
                    self.found = (TAMPERED, f"called {_SETTER_CODES[id(code)]}")
            elif filename.startswith(self.dirs):
                self.found = _forbidden("called", _called(frame))
            elif filename.startswith(self.native_dirs):
                package = "cffi" if filename.startswith(_package_dirs(("cffi",))) else "ctypes"
                self.found = _native(package, f"{frame.f_globals.get('__name__', package)}."
                                              f"{code.co_qualname}")
        elif event == "c_call":
            if arg in _SETTERS:
                self.found = (TAMPERED, f"called {_SETTERS[arg]}")
            elif arg not in _THREAD_STARTERS:
                module = getattr(arg, "__module__", None)
                if not isinstance(module, str) or not module:
                    module = type(getattr(arg, "__self__", None)).__module__
                if isinstance(module, str) and module.partition(".")[0] in _WATCHED_MODULES:
                    self.found = _c_function(module, arg)
        elif event == "c_return" and arg in _THREAD_STARTERS:
            self.started.append((_THREAD_STARTERS[arg], frame.f_code is _THREAD_START))
        if self.found is not None:
            raise _Stop

    def run(self, work, *args):
        """`work(*args)` under this watch, with every thread it starts watched too: what it
        returns, or the outcome the watch decided."""
        if not (_AUDIT_HOOKED and _audit_heard()):
            return _watched_outcome((TAMPERED, "runs where the checker's audit hook was "
                                               "silenced"))
        if any(left() is not None for left in _LEFT):
            return _watched_outcome((UNWATCHED, "runs while a thread that a graded call "
                                                "started has turned off its watch"))
        previous = _GETPROFILE(), threading._profile_hook, _WATCHING[0]
        result, still_watched = None, False
        try:
            self.thread = _thread.get_ident()
            _THREAD_SETPROFILE(_report)
            _SETPROFILE(self)
            _WATCHING[0] = self  # after the profilers are set: the audit hook hears that
            try:
                result = work(*args)
                self._await_threads()
            finally:
                _WATCHING[0] = previous[2]  # first: our own calls below are not watched
                still_watched = (not self.unset and _GETPROFILE() is self
                                 and threading._profile_hook is _report)
                _SETPROFILE(previous[0])
                _THREAD_SETPROFILE(previous[1])
        except _Stop:
            pass
        if self.found is not None:
            return _watched_outcome(self.found)
        # a failing call stands (CPython also switches off a profiler that raises, say a
        # RecursionError); a result from a call that ran unwatched does not
        if result is None or not still_watched and result.error is None:
            return _watched_outcome((TAMPERED, "called sys.setprofile" if self.unset
                                     else "called something"))
        return result

    def _await_threads(self):
        """Every thread started during the call must have reported to the watch: give the
        ones threading started a moment to reach their first Python call."""
        deadline = _CLOCK() + THREAD_GRACE
        expected = sum(by_threading for _, by_threading in self.started)
        while len(self.reported) < expected and _CLOCK() < deadline:
            _SLEEP(0.001)
        if len(self.reported) < len(self.started):
            unwatched = [name for name, by_threading in self.started if not by_threading]
            self.found = (UNWATCHED, f"starts a thread ({(unwatched or ['threading'])[0]}) "
                                     "that the checker cannot watch")


def _report(frame, event, arg):
    """The profile function of the threads started during a graded call: for as long as they
    live, every graded call watches them. Their first event reports them to the watch, and
    it never raises into them: a profile function that raises is switched off."""
    watch = _WATCHING[0]
    if watch is None:
        return
    if not getattr(_THREAD_STATE, "reported", False):
        _THREAD_STATE.reported = True
        watch.reported.append(True)
    try:
        watch(frame, event, arg)
    except _Stop:  # decided; the calling thread stops at its next event
        pass


class _Left:
    """Held by a thread that turned its watch off, for as long as it lives."""


_LEFT: list = []  # weak references to the _Left of such threads


def _profile_changed(watch) -> None:
    """The audit event sys.setprofile, however it was called (even from C, where the
    profiler sees no call). In the thread that makes the graded call it is noted for
    `_Watch.run`. A thread started during a graded call leaves the watch: that decides the
    graded call that runs, if any, and graded calls are refused while that thread lives."""
    watched = getattr(_THREAD_STATE, "reported", False)
    if watch is not None and watch.found is None:
        if watched:
            watch.found = (TAMPERED, "called sys.setprofile")
        elif _thread.get_ident() == watch.thread:
            watch.unset = True
    if watched and getattr(_THREAD_STATE, "left", None) is None:
        _THREAD_STATE.left = _Left()
        _LEFT.append(weakref.ref(_THREAD_STATE.left))


def _c_function(module: str, fn) -> tuple[str, str]:
    """What calling the compiled function `fn` of `module` (a watched one) breaks."""
    top, name = module.partition(".")[0], f"{module}.{getattr(fn, '__name__', '?')}"
    if top in FORBIDDEN_LIBRARIES:
        return _forbidden("called", name)
    if top in NATIVE_PACKAGES:
        return _native(NATIVE_PACKAGES[top], name)
    return UNWATCHED, f"starts a process ({name})"


def _audited(event: str, args: tuple) -> tuple[str, str] | None:
    """What the audit event `event` of a graded call breaks, or None."""
    if event in PROCESS_EVENTS:
        return UNWATCHED, f"starts a process ({event})"
    if event in CTYPES_EVENTS:
        return _native("ctypes", event)
    if event == "cpython.PyInterpreterState_New":
        return UNWATCHED, f"starts another Python interpreter ({event})"
    if event in SOCKET_EVENTS:
        return UNWATCHED, f"talks to another process or machine over a socket ({event})"
    if event == "import" and args and isinstance(args[0], str):
        if args[0].partition(".")[0] in FORBIDDEN_LIBRARIES:
            return _forbidden("imported", args[0])
    elif event == "exec" and args and inspect.iscode(args[0]):
        filename = args[0].co_filename
        for d in _package_dirs(FORBIDDEN_LIBRARIES):
            if filename.startswith(d):
                parts = [os.path.basename(os.path.dirname(d)),
                         *os.path.splitext(filename[len(d):])[0].split(os.sep)]
                return _forbidden("imported", ".".join(parts[:-1] if parts[-1] == "__init__"
                                                       else parts))
    return None


_PROBE: list = [None]


def _audit(event: str, args: tuple) -> None:
    """The audit hook: during a graded call, an event that breaks the policy decides the
    case and is refused (the process is not started, the library not loaded)."""
    if event not in _HEARD:
        return
    if event == "nncourse.watch":
        _PROBE[0] = args[0]
        return
    watch = _WATCHING[0]
    if event == "sys.setprofile":
        _profile_changed(watch)
    if watch is None:
        return
    found = _audited(event, args)
    if found is not None:
        if watch.found is None:
            watch.found = found
        raise _Stop


def _audit_heard() -> bool:
    """Whether the audit hook hears events (a hook added before it could silence it)."""
    token = object()
    try:
        _AUDIT("nncourse.watch", token)
    except Exception:  # noqa: BLE001 - a hook that refuses the probe silences ours
        return False
    return _PROBE[0] is token


def _install_audit_hook() -> bool:
    try:
        _ADD_AUDIT_HOOK(_audit)
    except Exception:  # noqa: BLE001 - refused by a hook added earlier
        return False
    return _audit_heard()


_AUDIT_HOOKED = _install_audit_hook()  # on import, before any student code; for good


def _called(frame) -> str:
    """The name of the function running in `frame`, or of the one a decorator's wrapper
    running there wraps (scikit-learn wraps its public functions)."""
    for key in ("func", "f", "fn", "function", "wrapped"):
        inner = frame.f_locals.get(key)
        module = getattr(inner, "__module__", None) or ""
        if callable(inner) and module.partition(".")[0] in FORBIDDEN_LIBRARIES:
            return f"{module}.{getattr(inner, '__qualname__', '?')}"
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"


_UFUNCS: dict = {}


def _library_ufuncs() -> dict[int, str]:
    """{id: name} of the ufuncs the forbidden libraries define (not NumPy's own)."""
    loaded = tuple(sorted(n for n in sys.modules if n.partition(".")[0] in FORBIDDEN_LIBRARIES))
    if _UFUNCS.get("loaded") != loaded:
        numpy_own = {id(v) for v in vars(np).values() if isinstance(v, np.ufunc)}
        found = {}
        with warnings.catch_warnings():  # deprecated module attributes warn when inspected
            warnings.simplefilter("ignore")
            for name in loaded:
                for attr, value in list(vars(sys.modules[name] or object).items()):
                    if isinstance(value, np.ufunc) and id(value) not in numpy_own:
                        found.setdefault(id(value), f"{name}.{attr}")
        _UFUNCS.update(loaded=loaded, found=found)
    return _UFUNCS["found"]


def _unseen(fn, depth: int = 0, seen: set | None = None) -> tuple[str, str] | None:
    """What `fn` (or a function it names, to a depth of 4) breaks by merely referring to it,
    or None: a forbidden library's ufunc, or a ctypes or cffi object (a library, a function
    pointer). Calling either is compiled code that raises no profile event, so the watch
    cannot see it happen."""
    ufuncs = _library_ufuncs()
    seen = set() if seen is None else seen
    code = getattr(fn, "__code__", None)
    if code is None or id(code) in seen or depth > 4:
        return None
    seen.add(id(code))
    codes, names = [code], set()
    while codes:
        c = codes.pop()
        names.update(c.co_names)
        codes += [k for k in c.co_consts if inspect.iscode(k)]
    space = getattr(fn, "__globals__", {})
    objects = [space.get(n) for n in names]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            objects.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    for obj in objects:
        if isinstance(obj, np.ufunc) and id(obj) in ufuncs:
            return _forbidden("called", ufuncs[id(obj)])
        native = _native_object(obj)
        if native:
            return native
        if inspect.ismodule(obj) and obj.__name__.partition(".")[0] in FORBIDDEN_LIBRARIES:
            for n in names:
                attr = getattr(obj, n, None)
                if isinstance(attr, np.ufunc) and id(attr) in ufuncs:
                    return _forbidden("called", ufuncs[id(attr)])
        if inspect.isfunction(obj):
            inner = _unseen(obj, depth + 1, seen)
            if inner:
                return inner
    return None


_MRO, _MODULE = type.__dict__["__mro__"].__get__, type.__dict__["__module__"].__get__


def _module_of(klass) -> str:
    """The module a class names, read without running any of its (meta)class's code."""
    try:
        owner = _MODULE(klass)
    except AttributeError:  # a class whose __module__ was deleted
        return ""
    return owner if type(owner) is str else ""


def _native_object(obj) -> tuple[str, str] | None:
    """What referring to `obj` breaks when it is ctypes, cffi, `_thread` or
    `_posixsubprocess` itself, an object of ctypes or cffi (a library, a function pointer)
    or a C function that starts a thread; else None. Read from the types alone, so that no
    code of the student's runs here."""
    for starter, name in _THREAD_STARTERS.items():
        if obj is starter:
            return UNWATCHED, f"uses {name}, which starts threads the checker cannot watch"
    if issubclass(type(obj), types.ModuleType):
        name = getattr(obj, "__name__", "")
        name = name if type(name) is str else ""
        what = {"_thread": "threads", "_posixsubprocess": "processes"}.get(name)
        if what:
            return UNWATCHED, f"uses {name}, which starts {what} the checker cannot watch"
        owners = [name]
    elif type(obj) is types.BuiltinFunctionType:
        owners, name = [obj.__module__], f"{obj.__module__}.{obj.__name__}"
    else:
        owners = [_module_of(k) for k in _MRO(type(obj))]
        name = f"a {owners[0]}.{type.__dict__['__name__'].__get__(type(obj))} object"
    for owner in owners:
        top = owner.partition(".")[0] if type(owner) is str else ""
        if top in NATIVE_PACKAGES:
            return UNWATCHED, (f"uses {name}: native code through {NATIVE_PACKAGES[top]}, "
                               "which the checker cannot watch")
    return None


def _watched_outcome(found) -> Outcome:
    kind, what = found
    if kind == REFERENCE:
        return Outcome(error=REFERENCE, error_message=f"your function {what}")
    if kind == TAMPERED:
        return Outcome(error=TAMPERED, error_message=(
            f"your function {what}, which turns off the checker's watch on the libraries it "
            f"calls; {POLICY}"))
    policy = WATCH_POLICY if kind == UNWATCHED else POLICY
    return Outcome(error=kind, error_message=f"your function {what}; {policy}")


def _text(get, *args) -> str:
    """The string `get(*args)` returns (an exception's message, a warning's), as a plain
    str."""
    try:
        text = get(*args)
    except Exception:  # noqa: BLE001 - a __str__ that fails leaves a placeholder
        return "?"
    return str.__str__(text) if isinstance(text, str) else "?"


def _with_recordings(value, args, kwargs):
    """`value`, or {"returned": value, "recorded": [...]} when arguments of the case record
    what the function did with them (objects whose class has a `recording()` method, such
    as `nnlib.blocks.TrainingBlocks`): `verify` then judges the value with the records."""
    recordings = [to_data(type(a).recording(a)) for a in (*args, *kwargs.values())
                  if callable(getattr(type(a), "recording", None))]
    return {"returned": value, "recorded": recordings} if recordings else value


def _graded_call(fn, case: Case, args, kwargs, caught) -> Outcome:
    """Call `fn` and turn what it did into an Outcome of plain data. `run_case` runs this
    under the watch: the student's code it may run besides `fn` (an exception's __str__, a
    result's or an argument's methods) is watched too."""
    try:
        value = fn(*args, **kwargs)
        if case.read_only:
            changed = changed_inputs(fn, case, args, kwargs)
            if changed:
                return Outcome(error=INPUT_CHANGED, error_message=input_changed_message(changed))
        value = _with_recordings(to_data(value), args, kwargs)
        seen = sorted({_text(str, w.message) for w in caught
                       if issubclass(w.category, RuntimeWarning)})
    except Exception as exc:  # noqa: BLE001 - any failure of student code is a verdict
        return Outcome(error=_text(getattr, type(exc), "__name__"),
                       error_message=_text(str, exc)[:500])
    return Outcome(value=value, warnings=seen)


def digest(data) -> str:
    """A fingerprint of a data tree (what `to_data` returns): equal trees, equal digests."""
    h = hashlib.sha256()

    def feed(x):
        if isinstance(x, np.ndarray):
            h.update(f"nd{x.dtype.str}{x.shape}".encode())
            h.update(x.tobytes() if x.dtype != object else repr(x.tolist()).encode())
        elif isinstance(x, (list, tuple)):
            h.update(f"{type(x).__name__}{len(x)}[".encode())
            for item in x:
                feed(item)
            h.update(b"]")
        elif isinstance(x, dict):
            h.update(f"dict{len(x)}{{".encode())
            for k, v in x.items():
                feed(k)
                feed(v)
            h.update(b"}")
        else:
            h.update(f"{type(x).__name__}:{x!r};".encode())

    feed(data)
    return h.hexdigest()


def _outcome_digest(outcome: Outcome) -> str:
    return digest(outcome.value) if outcome.error is None else f"raised {outcome.error}"


def _global_random_state():
    """The states of NumPy's and Python's global random generators."""
    return np.random.mtrand._rand.get_state(legacy=False), random.getstate()


GLOBAL_RANDOM = "GlobalRandom"


def run_case(fn, case: Case, references=frozenset()) -> Outcome:
    """Call `fn` on fresh copies of the case's inputs and capture value, error, warnings.

    A function that draws from NumPy's or Python's global random state (`np.random.rand`,
    `np.random.seed`, `random.random`) fails the case (`GlobalRandom`): randomness comes only
    from the `rng` argument. A case with `reseeded` is run twice more, with the same seed and
    with another one, and the outcome carries the digests of the three results (`seeded`),
    which the judge compares. A case with `count_lines` counts the Python lines the call runs
    (`lines`), outside the checker's own code: a loop over the rows makes it grow with them.

    When the case's inputs must stay intact (`case.read_only`, from `Exercise.pure`), the
    copies the function received are compared with the case's own inputs after the call:
    a change is the outcome `InputChanged`, whatever the function did to get write access.
    While `fn` runs, whatever breaks the policy on libraries (see `_Watch`, `_audit`) or
    calls one of the code objects `references` (nnlib's graded functions) decides the case.
    `check()` and grading's `collect` both call this, so they give the same verdict.
    """
    outcome = _run_once(fn, case, references)
    if case.reseeded is not None and outcome.error is None:
        again = _run_once(fn, case, references)
        args, kwargs = case.reseeded
        other = _run_once(fn, replace(case, args=args, kwargs=kwargs), references)
        outcome.seeded = [_outcome_digest(o) for o in (outcome, again, other)]
    return outcome


def _run_once(fn, case: Case, references) -> Outcome:
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    unseen = _unseen(fn)
    if unseen:
        return _watched_outcome(unseen)
    before = _global_random_state()
    counter = [0] if case.count_lines else None
    # Underflow to 0 is the correct result of exp(-1000), not a sign of instability.
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn", under="ignore"):
        warnings.simplefilter("always")
        if counter is not None:
            _SETTRACE(_line_counter(counter))
        try:
            outcome = _Watch(references).run(_graded_call, fn, case, args, kwargs, caught)
        finally:
            if counter is not None:
                _SETTRACE(None)
    if not _same(before, _global_random_state()):
        np.random.mtrand._rand.set_state(before[0])
        random.setstate(before[1])
        return Outcome(error=GLOBAL_RANDOM, error_message=(
            "your function used NumPy's or Python's global random state (np.random.seed, "
            "np.random.rand, random.random, ...); take every random number from the `rng` "
            "argument: rng = np.random.default_rng(rng), then rng.random(...)"))
    if counter is not None:
        outcome.lines = counter[0]
    return outcome


def _line_counter(counter: list):
    """A trace function that counts the 'line' events of every frame but the checker's."""
    def local(frame, event, arg):
        if event == "line":
            counter[0] += 1
        return local

    def start(frame, event, arg):
        return None if frame.f_code.co_filename == __file__ else local

    return start


@dataclass
class Verdict:
    """The judgement on one case: `category` names the kind of failure ('' when passed)."""

    passed: bool
    category: str = ""
    message: str = ""
    cause: str = ""


def _kind(x) -> str:
    if x is None:
        return "None"
    if isinstance(x, Unserializable):
        return f"a {x} object"
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    return f"a {type(x).__name__}"


def _fmt(x) -> str:
    try:
        arr = np.asarray(x)
    except ValueError:  # ragged, e.g. a list of (W, b) pairs
        return repr(x)
    if arr.ndim == 0:
        return f"{arr.item():.6g}" if arr.dtype.kind in "fc" else repr(arr.item())
    return np.array2string(arr, precision=6, threshold=8, edgeitems=3, separator=", ")


def _as_numeric(x):
    if isinstance(x, (str, Unserializable)) or x is None:
        return None
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError):
        return None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return None
    return arr


def parameter_names(signature: str) -> list[str]:
    """The parameter names of a signature as the registry writes it, e.g. "(z, alpha=0.01)"."""
    return [part.split("=")[0].strip().lstrip("*")
            for part in signature.strip().removeprefix("(").removesuffix(")").split(",")
            if part.strip() and part.strip() not in ("*", "/")]


def _input_at(case: Case, shape, index, params=(), where="your result") -> str:
    """The element of the first argument at `index`, by its parameter name, when the function
    is elementwise in it (an array of the result's shape; never a single number, which may
    be any parameter's, nor an item of a tuple the function returns)."""
    if not case.args or not shape or where != "your result":
        return ""
    try:
        first = np.asarray(case.args[0]) if not isinstance(case.args[0], dict) else None
    except ValueError:  # ragged, e.g. a list of (W, b) pairs
        return ""
    if first is None or first.shape != shape or first.dtype == object:
        return ""
    return f" for {params[0] if params else 'input'} = {_fmt(first[index])}"


def compare(expected, actual, tol: dict, case: Case, where: str = "your result",
            params=()) -> Verdict:
    """Compare two data trees; the verdict names the first difference. `params` are the
    exercise's parameter names, for messages about the case's arguments."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return Verdict(False, "type", f"{where} is {_kind(actual)}; expected a "
                           f"{type(expected).__name__} of {len(expected)} items")
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            v = compare(e, a, tol, case, f"{where}[{i}]", params)
            if not v.passed:
                return v
        return Verdict(True)
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return Verdict(False, "type", f"{where} should be a dict with keys {sorted(expected)}")
        for k in expected:
            v = compare(expected[k], actual[k], tol, case, f"{where}[{k!r}]", params)
            if not v.passed:
                return v
        return Verdict(True)
    if actual is None:
        return Verdict(False, "type", f"{where} is None: did you forget `return`?")
    exp = np.asarray(expected)
    act = _as_numeric(actual)
    if act is None:
        return Verdict(False, "type", f"{where} is {_kind(actual)}; expected "
                       + ("a number" if exp.ndim == 0 else f"an array of shape {exp.shape}"))
    if exp.ndim == 0 and act.size == 1:
        act = act.reshape(())
    if act.shape != exp.shape:
        return Verdict(False, "shape", _shape_message(where, exp, act, tol))
    return _compare_values(where, exp, act.astype(exp.dtype if exp.dtype.kind == "f" else float),
                           tol, case, params)


def _close(exp, act, tol) -> np.ndarray:
    return np.isclose(act, exp, rtol=tol["rtol"], atol=tol["atol"], equal_nan=True)


def _shape_message(where, exp, act, tol) -> str:
    msg = f"{where} has shape {act.shape} but should have shape {exp.shape}"
    if act.ndim == 2 and act.shape[::-1] == exp.shape:
        hint = "it looks transposed"
        if _close(exp, act.T, tol).all():
            hint = "it is the right answer transposed"
        return f"{msg}: {hint}"
    if act.size == exp.size and np.squeeze(act).shape == np.squeeze(exp).shape:
        return f"{msg}: an extra or missing axis of length 1 (check keepdims or reshape)"
    if act.ndim == exp.ndim + 1 or act.size > exp.size:
        return f"{msg}: broadcasting made it larger (is an axis missing in a sum or a bias?)"
    return msg


def _compare_values(where, exp, act, tol, case, params=()) -> Verdict:
    ok = _close(exp, act, tol)
    if ok.all():
        return Verdict(True)
    bad = ~np.isfinite(act) & np.isfinite(exp)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if act.ndim else ()
        return Verdict(False, "non-finite",
                       f"{where}{list(idx) if idx else ''} is {act[idx]} where {exp[idx]:.6g} is "
                       f"expected{_input_at(case, exp.shape, idx, params, where)}: an "
                       "overflow; use a form that stays finite for large inputs")
    idx = tuple(int(i) for i in np.argwhere(~ok)[0]) if act.ndim else ()
    e, a = exp[idx], act[idx]
    if not np.isfinite(e):  # the reference overflows here too: no error to measure
        error = "a different value"
    elif e != 0:
        error = f"relative error {abs(a - e) / abs(e):.1e}"
    else:
        error = f"absolute error {abs(a - e):.1e}"
    n_bad = int((~ok).sum())
    count = f"; {n_bad} of {ok.size} elements differ" if ok.size > 1 else ""
    msg = (f"{where}{list(idx) if idx else ''} is {_number(a, e)} but should be "
           f"{_number(e, a)}{_input_at(case, exp.shape, idx, params, where)}: {error}{count}")
    return Verdict(False, "value", msg, _generic_cause(exp, act, tol, case, params))


def _number(x, other) -> str:
    """`x` with as many significant digits (6 to 17) as it takes to tell it from `other`."""
    for digits in (6, 10, 17):
        if f"{x:.{digits}g}" != f"{other:.{digits}g}":
            break
    return f"{x:.{digits}g}"


def _not_restored(message: str) -> str:
    """The message for an input that a `restores` exercise did not put back exactly."""
    found = re.search(r"arguments? (.+?) in place", message)
    which = found[1] if found else "an input"
    return (f"after your function returned, {which} was not exactly as the caller passed it; "
            "you may change an entry while you evaluate f, but put back the value you saved "
            "(x[i] = old): adding h and then subtracting it again does not give back the "
            "same bits")


def _generic_cause(exp, act, tol, case: Case | None = None, params=()) -> str:
    """A likely cause of `act` where `exp` is right, recognised from the numbers alone: a
    flipped sign, a transpose, zeros, a factor 1/m or m (averaging where the formula sums, or
    the reverse), ½ or 2, or a factor that is one of the arguments or an activation's
    derivative at one of them."""
    if _close(-exp, act, tol).all():
        return "the sign is flipped"
    if act.ndim == 2 and act.shape[0] == act.shape[1] and _close(exp, act.T, tol).all():
        return "it looks transposed"
    nz = np.abs(exp) > 1e-12
    if not nz.any():
        return ""
    ratio = act[nz] / exp[nz]
    if np.all(ratio == 0):
        return "it returns zeros where the answer is not zero"
    arrays = _named_arrays(case, params) if case is not None else []
    if np.allclose(ratio, ratio[0], rtol=1e-9) and not np.isclose(ratio[0], 1.0):
        cause = _constant_factor(float(ratio[0]), arrays)
        if cause or exp.size == 1:
            return cause
        return (_factor_of_arguments(exp, act, tol, arrays)
                or f"every element is off by the same factor {ratio[0]:.6g}")
    return _factor_of_arguments(exp, act, tol, arrays)


def _named_arrays(case: Case, params) -> list[tuple[str, np.ndarray]]:
    """(parameter name, float array) of each numeric argument of `case`; the items of a short
    tuple or list (a cache) by their index, e.g. `cache[1]`."""
    names = list(params) + [f"argument {i + 1}" for i in range(len(params), len(case.args))]
    found = []
    for name, value in [*zip(names, case.args), *case.kwargs.items()]:
        arr = _as_numeric(value)
        if arr is not None:
            found.append((name, arr.astype(float)))
        elif isinstance(value, (tuple, list)) and len(value) <= 4:
            found += [(f"{name}[{i}]", a.astype(float)) for i, a in enumerate(map(
                _as_numeric, value)) if a is not None]
    return found


def _constant_factor(ratio: float, arrays) -> str:
    """The cause of a result off by the same factor everywhere, when it is recognisable."""
    for name, arr in arrays:
        if arr.ndim >= 1 and len(arr) > 2:  # with 2 rows, 1/m is the factor ½ below
            m = len(arr)
            if np.isclose(ratio, 1 / m, rtol=1e-9, atol=0):
                return (f"your result is the right one divided by m = {m}, the number of rows "
                        f"of `{name}`: it averages over the batch (1/m) where the formula sums")
            if np.isclose(ratio, m, rtol=1e-9, atol=0):
                return (f"your result is the right one times m = {m}, the number of rows of "
                        f"`{name}`: it sums over the batch where the formula averages (1/m)")
    for factor, text in ((2.0, "an extra factor 2 (or a missing ½)"),
                         (0.5, "a missing factor 2 (or an extra ½)")):
        if np.isclose(ratio, factor, rtol=1e-9, atol=0):
            return f"your result is off by a factor {factor:g}: {text}"
    return ""


def _factor_of_arguments(exp, act, tol, arrays) -> str:
    """A cause when `act` is `exp` without (or with an extra) factor that is an argument
    (a missing x) or an activation's derivative at an argument (a missing f'(Z))."""
    from nnlib.activations import ACTIVATIONS

    candidates = []
    for name, arr in arrays:
        candidates.append((f"`{name}`", arr))
        for act_name in ("sigmoid", "tanh"):
            with np.errstate(all="ignore"):
                candidates.append((f"the derivative {act_name}'(`{name}`)",
                                   ACTIVATIONS[act_name][1](arr)))
    for label, factor in candidates:
        try:
            with np.errstate(all="ignore"):
                missing, extra = np.broadcast_arrays(act * factor, act / factor)
        except ValueError:
            continue
        if missing.shape != exp.shape or np.all(factor == 1) or np.all(factor == 0):
            continue
        if _close(exp, missing, tol).all():
            return f"a factor is missing: your result times {label} is the right one"
        if _close(exp, extra, tol).all():
            return f"an extra factor: your result divided by {label} is the right one"
    return ""


_NNLIB_NAME = re.compile(r"\bnnlib(?:\.[A-Za-z_]\w*)+")


def _called_reference(ex: Exercise, outcome: Outcome) -> str:
    """The nnlib function a refused call reached, as its outcome names it: the watch's
    "called nnlib's nnlib.x.f" in the notebook, the stub's "nnlib.x.f is not available" while
    grading; the exercise's own reference when the message names none."""
    found = _NNLIB_NAME.search(outcome.error_message or "")
    return found.group() if found else ex.reference


def judge_case(ex: Exercise, case: Case, outcome: Outcome) -> Verdict:
    """Judge one outcome against the reference on the same case."""
    if outcome.error == "NotImplementedError":
        return Verdict(False, "not-implemented", "not implemented yet: replace "
                       "`raise NotImplementedError()` with your code")
    refused = case.raises
    if refused and outcome.error not in (REFERENCE, FORBIDDEN, UNWATCHED, TAMPERED):
        if outcome.error == refused:
            return Verdict(True)
        got = f"it raised {outcome.error}" if outcome.error else "it returned a result"
        return Verdict(False, "no-error", f"this input must be refused with {refused}, but "
                                          f"{got}; raise {refused} with a message that says "
                                          "what is wrong")
    if outcome.error == REFERENCE:
        return Verdict(False, "reference", f"calls nnlib's reference "
                       f"({_called_reference(ex, outcome)}) instead of computing the answer; "
                       "that scores zero")
    if outcome.error in (FORBIDDEN, UNWATCHED, TAMPERED):
        return Verdict(False, "library", outcome.error_message)
    if outcome.error == INPUT_CHANGED:
        if ex.restores:
            return Verdict(False, "not-restored", _not_restored(outcome.error_message))
        return Verdict(False, "input-changed", outcome.error_message)
    if outcome.error == GLOBAL_RANDOM:
        return Verdict(False, "random", outcome.error_message)
    if outcome.error:
        return Verdict(False, "exception", f"raised {outcome.error}: {outcome.error_message}")
    try:
        actual = ex.project(outcome.value, case) if ex.project else outcome.value
        if ex.verify:
            problem = ex.verify(actual, case)
    except Exception as exc:  # noqa: BLE001 - a malformed student result is a verdict
        return Verdict(False, "type", f"the result could not be read: {type(exc).__name__}: {exc}")
    if ex.verify:
        # `verify` returns None, a message, or (message, likely cause)
        message, cause = problem if isinstance(problem, tuple) else (problem, "")
        verdict = Verdict(False, "value", message, cause) if message else Verdict(True)
    else:
        verdict = compare(_project(ex, ex.reference_fn, case), actual, ex.tol, case,
                          params=parameter_names(ex.signature))
    if not verdict.passed:
        verdict.cause = _named_mistake(ex, case, actual) or verdict.cause
        return verdict
    if ex.strict_warnings and outcome.warnings:
        return Verdict(False, "warning", f"the values are right but NumPy warned "
                       f"'{outcome.warnings[0]}'; make it stable at extreme inputs")
    return verdict


def _named_mistake(ex: Exercise, case: Case, actual) -> str:
    """The description of the first known mistake that gives `actual`, else ''."""
    for description, wrong in ex.mistakes.items():
        try:
            if compare(_project(ex, wrong, case), actual, ex.tol, case).passed:
                return description
        except Exception:  # noqa: BLE001 - a mistake that cannot run here names nothing
            continue
    return ""


def _project(ex: Exercise, fn, case: Case):
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = to_data(fn(*args, **kwargs))
    return ex.project(out, case) if ex.project else out


@dataclass
class Report:
    """The judgement on all cases of one check."""

    name: str
    hidden: bool
    verdicts: list[Verdict]
    params: list[str] = field(default_factory=list)  # the exercise's parameter names

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]

    def message(self, cases: list[Case]) -> str:
        n, failed = len(self.verdicts), self.failures
        kind = "hidden" if self.hidden else "public"
        if not failed:
            return f"✓ {self.name}: all {n} {kind} cases pass."
        if all(v.category == "not-implemented" for v in failed):
            return f"✗ {self.name}: {failed[0].message}."
        if self.hidden:
            return (f"✗ {self.name}: {len(failed)} of {n} hidden cases failed "
                    f"(hint: {_hints(failed)}).")
        first = next(i for i, v in enumerate(self.verdicts) if not v.passed)
        v, case = self.verdicts[first], cases[first]
        lines = [f"✗ {self.name}: {len(failed)} of {n} public cases failed."]
        call = call_text(self.name, case, self.params)
        lines.append(f"  case {first + 1}{' (' + case.note + ')' if case.note else ''}: "
                     f"{call or self.name + _placeholders(case, self.params)}")
        if not call:
            lines.append(f"  (from autograder import show_case; show_case({self.name!r}, "
                         f"{first + 1}) defines these arguments in your notebook and prints "
                         "the call)")
        lines.append(f"  {v.message}")
        if v.cause:
            lines.append(f"  likely cause: {v.cause}")
        return "\n".join(lines)


HINTS = {
    "not-implemented": "not implemented yet",
    "exception": "your function raised an exception",
    "type": "wrong type of result",
    "shape": "wrong shape",
    "non-finite": "overflow or NaN at large inputs",
    "value": "wrong values",
    "warning": "NumPy warnings at large inputs",
    "reference": "calls nnlib's reference",
    "input-changed": "your function changes an input in place",
    "not-restored": "your function does not put an input back exactly as it was",
    "no-error": "an input that must be refused with an error is not",
    "random": "your function does not take its randomness from its `rng` argument",
    "loop": "a Python loop where vectorized code is asked for",
    "library": "calls a library graded functions may not use (scikit-learn, SciPy, PyTorch, "
               "...) or works outside the checker's watch (a process, ctypes)",
}


def _hints(failed: list[Verdict]) -> str:
    """One hint per kind of failure, with every likely cause seen for that kind."""
    causes: dict[str, set[str]] = {}
    for v in failed:
        causes.setdefault(v.category, set()).update([v.cause] if v.cause else [])
    return "; ".join(HINTS.get(category, category)
                     + (f", likely {' or '.join(sorted(found))}" if found else "")
                     for category, found in sorted(causes.items()))


CALL_LIMIT = 400  # longer calls are shown with the parameter names (see show_case)


def call_text(name: str, case: Case, params=()) -> str:
    """`case` as a call a student can paste into a cell and run, every number in full, or
    '' when an argument has no such text (a function, a generator) or the call would be
    longer than CALL_LIMIT."""
    try:
        parts = [_literal(a) for a in case.args]
        parts += [f"{k}={_literal(v)}" for k, v in case.kwargs.items()]
    except _NoLiteral:
        return ""
    text = f"{name}({', '.join(parts)})"
    return text if len(text) <= CALL_LIMIT else ""


def _placeholders(case: Case, params) -> str:
    names = list(params)[:len(case.args)]
    names += [f"argument{i + 1}" for i in range(len(names), len(case.args))]
    return f"({', '.join(names + [f'{k}={k}' for k in case.kwargs])})"


class _NoLiteral(Exception):
    """An argument that Python text cannot reproduce."""


def _literal(x) -> str:
    """Python text that evaluates to `x` (NumPy as np), with floats written exactly."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return f"float({str(x)!r})"
    if x is None or isinstance(x, (bool, int, float, str)):
        return repr(x)
    if isinstance(x, np.ndarray):
        if x.dtype == object or x.dtype.kind not in "biuf":
            raise _NoLiteral
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise _NoLiteral  # nan and inf have no literal
        dtype = "" if x.dtype in (np.float64, np.int64) else f", dtype=np.{x.dtype.name}"
        if x.size == 0 and x.ndim != 1:
            return f"np.zeros({x.shape}{dtype})"
        return f"np.array({x.tolist()!r}{dtype})"
    if isinstance(x, list):
        return f"[{', '.join(_literal(v) for v in x)}]"
    if isinstance(x, tuple):
        return f"({', '.join(_literal(v) for v in x)}{',' if len(x) == 1 else ''})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in x.items()) + "}"
    raise _NoLiteral


def judge(ex: Exercise, cases: list[Case], outcomes: list[Outcome], hidden: bool) -> Report:
    """Judge every case of one check: each on its own, then what only several runs show
    (the `rng` argument, a loop over the rows)."""
    verdicts = [judge_case(ex, c, o) for c, o in zip(cases, outcomes, strict=True)]
    _judge_seeds(ex, cases, outcomes, verdicts)
    _judge_loops(cases, outcomes, verdicts)
    return Report(ex.name, hidden, verdicts, parameter_names(ex.signature))


IGNORES_RNG = ("with another `rng` seed your function returns the same result as with this "
               "one: it ignores its `rng` argument (a fixed seed such as default_rng(0), or "
               "np.random.seed); draw every random number from rng = np.random.default_rng(rng)")
NOT_REPEATABLE = ("called twice with the same `rng` seed, your function returns different "
                  "results: it draws random numbers from somewhere else than its `rng` "
                  "argument (np.random.default_rng() without it?); draw every random number "
                  "from rng = np.random.default_rng(rng)")


def _judge_seeds(ex: Exercise, cases, outcomes, verdicts) -> None:
    """The same seed must give the same result, and another seed, for at least one of the
    cases on which the reference's results differ, another result."""
    seeded = [i for i, c in enumerate(cases) if c.reseeded is not None
              and outcomes[i].error is None and verdicts[i].passed]
    for i in seeded:
        digests = outcomes[i].seeded
        if len(digests) != 3 or digests[0] != digests[1]:
            verdicts[i] = Verdict(False, "random", NOT_REPEATABLE)
    same = [i for i in seeded if verdicts[i].passed]
    if same and all(outcomes[i].seeded[0] == outcomes[i].seeded[2] for i in same):
        varies = [i for i in same if _reference_varies(ex, cases[i])]
        if varies:
            verdicts[varies[0]] = Verdict(False, "random", IGNORES_RNG)


def _reference_varies(ex: Exercise, case: Case) -> bool:
    """Whether nnlib's answer to `case` changes with the seed of its `rng` argument."""
    runs = []
    for args, kwargs in ((case.args, case.kwargs), case.reseeded):
        args, kwargs = copy.deepcopy((args, kwargs))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(digest(to_data(ex.reference_fn(*args, **kwargs))))
    return runs[0] != runs[1]


# Sizes of the two runs that look for a loop over the rows: a loop runs at least a line per
# row, so at least (LOOP_FACTOR - 1) * LOOP_ROWS more lines in the larger run; vectorized
# code runs the same lines whatever the size.
LOOP_ROWS, LOOP_FACTOR = 32, 4


def _judge_loops(cases, outcomes, verdicts) -> None:
    """The pair of `count_lines` cases (LOOP_ROWS rows, then LOOP_FACTOR times as many) must
    run about as many Python lines as each other."""
    pair = [i for i, c in enumerate(cases) if c.count_lines]
    if len(pair) != 2 or not all(verdicts[i].passed for i in pair):
        return
    small, large = (outcomes[i].lines for i in pair)
    if small is None or large is None:
        verdicts[pair[1]] = Verdict(False, "loop", "the lines your function ran were not "
                                                   "counted")
    elif large - small >= (LOOP_FACTOR - 1) * LOOP_ROWS // 2:
        verdicts[pair[1]] = Verdict(False, "loop", (
            f"your function runs a Python loop over its input: it ran {small} lines of "
            f"Python on {cases[pair[0]].note} and {large} on {cases[pair[1]].note}; this "
            "exercise asks for vectorized code: operate on whole arrays with NumPy (no `for` "
            "over the rows or elements, no comprehension, no np.vectorize or "
            "np.apply_along_axis)"))
