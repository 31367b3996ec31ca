"""Run a student's function on cases and judge its outputs against nnlib's.

The two halves are separate on purpose. `run_case` calls the student's code and turns
whatever comes back into plain data (numbers, arrays, lists, dicts). `judge` compares
that data with the reference and writes the message a teaching assistant would write.
In a notebook both halves run in the student's kernel; when grading officially only
`run_case` does, and the data crosses to the grader, which runs `judge` itself.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.registry import Case, Exercise


class Unserializable(str):
    """Stands in for an object that is not data (a class instance, a function, ...)."""


def to_data(obj: Any, depth: int = 0) -> Any:
    """Turn a return value into nested lists/tuples/dicts of numbers, strings and arrays."""
    if depth > 20:
        return Unserializable("nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float, complex, str, np.generic)):
        return obj
    if isinstance(obj, np.ndarray):
        return obj.copy() if obj.dtype != object else to_data(obj.tolist(), depth + 1)
    if isinstance(obj, (list, tuple)):
        items = [to_data(x, depth + 1) for x in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, dict):
        return {str(k): to_data(v, depth + 1) for k, v in obj.items()}
    return Unserializable(type(obj).__name__)


@dataclass
class Outcome:
    """What one call of the student's function produced, as data."""

    value: Any = None
    error: str | None = None
    error_message: str = ""
    warnings: list[str] = field(default_factory=list)


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
# A graded function is written with NumPy and the standard library. While it runs,
# `run_case` watches every call it makes (sys.setprofile, on its thread and on the threads
# it starts): entering Python code of one of these packages, or calling one of their
# compiled functions, fails the case and names the function. Their use outside a graded
# call (demonstrations, the grader's own comparisons) is untouched.

FORBIDDEN_LIBRARIES = {"sklearn": "scikit-learn", "scipy": "SciPy", "torch": "PyTorch",
                       "tensorflow": "TensorFlow", "keras": "Keras", "jax": "JAX"}
FORBIDDEN = "ForbiddenLibrary"
REFERENCE = "ReferenceUnavailable"
TAMPERED = "WatchTurnedOff"
POLICY = ("graded functions must be written with NumPy and the standard library (see the "
          "course's policy on libraries in 00-welcome); that scores zero")


class _Stop(BaseException):
    """Raised into the student's code once a forbidden call is seen: the case is decided."""


# The real functions, taken when this module is imported (before any student code runs in
# the kernel or the notebook): replacing sys.setprofile later does not blind the watch.
_SETPROFILE, _GETPROFILE = sys.setprofile, sys.getprofile
_SETTRACE, _THREAD_SETPROFILE = sys.settrace, threading.setprofile
_DIRS: list = []


def _library_dirs() -> tuple[str, ...]:
    """The folders of the forbidden libraries that are installed, imported or not (a graded
    function may import one while it runs)."""
    if not _DIRS:
        dirs = set()
        for name in FORBIDDEN_LIBRARIES:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            for d in (spec.submodule_search_locations or ()) if spec else ():
                dirs |= {os.path.join(d, ""), os.path.join(os.path.realpath(d), "")}
        _DIRS.append(tuple(sorted(dirs)))
    return _DIRS[0]


class _Watch:
    """A profile function that records the first forbidden call of a graded function."""

    def __init__(self, references=frozenset()):
        self.references = {id(c) for c in references}  # nnlib's graded functions' code
        self.found: tuple[str, str] | None = None
        self.active = True
        self.dirs = _library_dirs()
        self.setters = {id(f) for f in (_SETPROFILE, _SETTRACE, _THREAD_SETPROFILE,
                                         threading.settrace)}

    def __call__(self, frame, event, arg):
        if self.found is not None or not self.active:
            return
        if event == "call":
            code = frame.f_code
            if id(code) in self.references:
                self.found = (REFERENCE, f"nnlib's {frame.f_globals.get('__name__', '?')}."
                                         f"{code.co_qualname}")
            elif code.co_filename.startswith(self.dirs):
                self.found = (FORBIDDEN, _called(frame))
        elif event == "c_call":
            if id(arg) in self.setters:
                self.found = (TAMPERED, f"{getattr(arg, '__module__', None) or 'sys'}."
                                        f"{arg.__name__}")
            else:
                module = getattr(arg, "__module__", None)
                if not isinstance(module, str) or not module:
                    module = type(getattr(arg, "__self__", None)).__module__
                if isinstance(module, str) and module.partition(".")[0] in FORBIDDEN_LIBRARIES:
                    self.found = (FORBIDDEN, f"{module}.{getattr(arg, '__name__', '?')}")
        if self.found is not None:
            raise _Stop


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


def _forbidden_ufunc(fn, depth: int = 0, seen: set | None = None) -> str | None:
    """The name of a forbidden library's ufunc that `fn` (or a function it names, to a
    depth of 4) refers to, or None. Ufuncs are compiled objects whose calls raise no profile
    event, so the watch cannot see them being called."""
    ufuncs = _library_ufuncs()
    seen = set() if seen is None else seen
    code = getattr(fn, "__code__", None)
    if not ufuncs or code is None or id(code) in seen or depth > 4:
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
            return ufuncs[id(obj)]
        if inspect.ismodule(obj) and obj.__name__.partition(".")[0] in FORBIDDEN_LIBRARIES:
            for n in names:
                attr = getattr(obj, n, None)
                if isinstance(attr, np.ufunc) and id(attr) in ufuncs:
                    return ufuncs[id(attr)]
        if inspect.isfunction(obj):
            inner = _forbidden_ufunc(obj, depth + 1, seen)
            if inner:
                return inner
    return None


def _library(qualified: str) -> str:
    return FORBIDDEN_LIBRARIES.get(qualified.partition(".")[0], qualified.partition(".")[0])


def _watched_outcome(found) -> Outcome:
    kind, what = found
    if kind == REFERENCE:
        return Outcome(error=REFERENCE, error_message=f"your function called {what}")
    if kind == TAMPERED:
        return Outcome(error=TAMPERED, error_message=(
            f"your function called {what}, which turns off the checker's watch on the "
            f"libraries it calls; {POLICY}"))
    return Outcome(error=FORBIDDEN, error_message=(
        f"your function called {what} ({_library(what)}); {POLICY}"))


def run_case(fn, case: Case, references=frozenset()) -> Outcome:
    """Call `fn` on fresh copies of the case's inputs and capture value, error, warnings.

    When the case's inputs must stay intact (`case.read_only`, from `Exercise.pure`), the
    copies the function received are compared with the case's own inputs after the call:
    a change is the outcome `InputChanged`, whatever the function did to get write access.
    While `fn` runs, a call into a forbidden library (FORBIDDEN_LIBRARIES) or into one of
    the code objects `references` (nnlib's graded functions) decides the case.
    `check()` and grading's `collect` both call this, so they give the same verdict.
    """
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    ufunc = _forbidden_ufunc(fn)
    if ufunc:  # compiled NumPy ufuncs (scipy.special's) make no call the watch can see
        return _watched_outcome((FORBIDDEN, ufunc))
    watch = _Watch(references)
    before = _GETPROFILE(), threading._profile_hook
    # Underflow to 0 is the correct result of exp(-1000), not a sign of instability.
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn", under="ignore"):
        warnings.simplefilter("always")
        error = None
        try:
            _THREAD_SETPROFILE(watch)
            _SETPROFILE(watch)
            try:
                value = fn(*args, **kwargs)
            finally:
                watch.active = False
                still_watched = _GETPROFILE() is watch
                _SETPROFILE(before[0])
                _THREAD_SETPROFILE(before[1])
        except _Stop:
            pass
        except Exception as exc:  # noqa: BLE001 - any failure of student code is a verdict
            error = Outcome(error=type(exc).__name__, error_message=str(exc)[:500])
    if watch.found is not None:
        return _watched_outcome(watch.found)
    if not still_watched and error is None:
        return _watched_outcome((TAMPERED, "something"))
    if error is not None:
        return error
    if case.read_only:
        changed = changed_inputs(fn, case, args, kwargs)
        if changed:
            return Outcome(error=INPUT_CHANGED, error_message=input_changed_message(changed))
    seen = sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})
    return Outcome(value=to_data(value), warnings=seen)


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


def _input_at(case: Case, shape, index) -> str:
    """The element of the first argument at `index`, when the function is elementwise."""
    if not case.args:
        return ""
    try:
        first = np.asarray(case.args[0]) if not isinstance(case.args[0], dict) else None
    except ValueError:  # ragged, e.g. a list of (W, b) pairs
        return ""
    if first is None or first.shape != shape or first.dtype == object:
        return ""
    return f" for input {_fmt(first[index])}"


def compare(expected, actual, tol: dict, case: Case, where: str = "your result") -> Verdict:
    """Compare two data trees; the verdict names the first difference."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return Verdict(False, "type", f"{where} is {_kind(actual)}; expected a "
                           f"{type(expected).__name__} of {len(expected)} items")
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            v = compare(e, a, tol, case, f"{where}[{i}]")
            if not v.passed:
                return v
        return Verdict(True)
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return Verdict(False, "type", f"{where} should be a dict with keys {sorted(expected)}")
        for k in expected:
            v = compare(expected[k], actual[k], tol, case, f"{where}[{k!r}]")
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
                           tol, case)


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


def _compare_values(where, exp, act, tol, case) -> Verdict:
    ok = _close(exp, act, tol)
    if ok.all():
        return Verdict(True)
    bad = ~np.isfinite(act) & np.isfinite(exp)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if act.ndim else ()
        return Verdict(False, "non-finite",
                       f"{where}{list(idx) if idx else ''} is {act[idx]} where {exp[idx]:.6g} is "
                       f"expected{_input_at(case, exp.shape, idx)}: an overflow; use a form "
                       f"that stays finite for large inputs")
    idx = tuple(int(i) for i in np.argwhere(~ok)[0]) if act.ndim else ()
    e, a = exp[idx], act[idx]
    error = (f"relative error {abs(a - e) / abs(e):.1e}" if e != 0
             else f"absolute error {abs(a - e):.1e}")
    n_bad = int((~ok).sum())
    count = f"; {n_bad} of {ok.size} elements differ" if ok.size > 1 else ""
    msg = (f"{where}{list(idx) if idx else ''} is {a:.6g} but should be {e:.6g}"
           f"{_input_at(case, exp.shape, idx)}: {error}{count}")
    return Verdict(False, "value", msg, _generic_cause(exp, act, tol))


def _generic_cause(exp, act, tol) -> str:
    if _close(-exp, act, tol).all():
        return "the sign is flipped"
    if act.ndim == 2 and act.shape[0] == act.shape[1] and _close(exp, act.T, tol).all():
        return "it looks transposed"
    nz = np.abs(exp) > 1e-12
    if nz.any():
        ratio = act[nz] / exp[nz]
        if np.allclose(ratio, ratio[0], rtol=1e-6) and not np.isclose(ratio[0], 1.0):
            if ratio[0] == 0:
                return "it returns zeros where the answer is not zero"
            return f"every element is off by the same factor {ratio[0]:.6g}"
    return ""


def judge_case(ex: Exercise, case: Case, outcome: Outcome) -> Verdict:
    """Judge one outcome against the reference on the same case."""
    if outcome.error == "NotImplementedError":
        return Verdict(False, "not-implemented", "not implemented yet: replace "
                       "`raise NotImplementedError()` with your code")
    if outcome.error == REFERENCE:
        return Verdict(False, "reference", f"calls nnlib's reference ({ex.reference}) instead "
                       "of computing the answer; that scores zero")
    if outcome.error in (FORBIDDEN, TAMPERED):
        return Verdict(False, "library", outcome.error_message)
    if outcome.error == INPUT_CHANGED:
        return Verdict(False, "input-changed", outcome.error_message)
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
        verdict = compare(_project(ex, ex.reference_fn, case), actual, ex.tol, case)
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
        call = f"{self.name}({_args_text(case)})"
        lines.append(f"  case {first + 1}{' (' + case.note + ')' if case.note else ''}: {call}")
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
    "library": "calls a library graded functions may not use (scikit-learn, SciPy, PyTorch, "
               "...)",
}


def _hints(failed: list[Verdict]) -> str:
    """One hint per kind of failure, with every likely cause seen for that kind."""
    causes: dict[str, set[str]] = {}
    for v in failed:
        causes.setdefault(v.category, set()).update([v.cause] if v.cause else [])
    return "; ".join(HINTS.get(category, category)
                     + (f", likely {' or '.join(sorted(found))}" if found else "")
                     for category, found in sorted(causes.items()))


def _args_text(case: Case) -> str:
    parts = [_fmt(a) if isinstance(a, (np.ndarray, list)) else repr(a) for a in case.args]
    parts += [f"{k}={_fmt(v) if isinstance(v, (np.ndarray, list)) else repr(v)}"
              for k, v in case.kwargs.items()]
    text = ", ".join(p.replace("\n", "") for p in parts)
    return text if len(text) < 160 else text[:157] + "..."


def judge(ex: Exercise, cases: list[Case], outcomes: list[Outcome], hidden: bool) -> Report:
    """Judge every case of one check."""
    return Report(ex.name, hidden, [judge_case(ex, c, o) for c, o in zip(cases, outcomes,
                                                                          strict=True)])
