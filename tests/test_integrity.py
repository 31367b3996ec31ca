"""Integrity of graded answers: inputs that must stay intact, the capstone trained inside
the graded call, and the policy on libraries. Each is enforced by code that `check()` in the
notebook and grading's `collect` share (`autograder.judge.run_case`), so both give the same
verdict."""

import json
import os
import pickle
import re

import numpy as np
import pytest
from checking import fails

from autograder import registry
from autograder.cases import SEED_ENV, cases_for
from autograder.judge import judge, run_case
from autograder.registry import Case


@pytest.fixture(autouse=True)
def _hidden_seed(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "20240610")


# ---- 1. inputs stay intact ---------------------------------------------------------------


def _negate_exercise():
    return registry.Exercise(
        name="negate", lessons=(), signature="(x)", reference="numpy.negative",
        public=lambda: [Case((np.array([1.0, -2.0]),))], hidden=lambda rng: [], pure=True)


def writes_after_unlocking(x):
    x.flags.writeable = True
    x *= -1
    return x


def test_unlocking_and_editing_an_input_fails_in_run_case():
    ex = _negate_exercise()
    cases = cases_for(ex, hidden=False)
    bad = run_case(writes_after_unlocking, cases[0])
    assert bad.error == "InputChanged"
    assert "changed its argument x in place" in bad.error_message
    report = judge(ex, cases, [bad], False)
    assert not report.passed and "changed its argument x in place" in report.message(cases)
    assert cases[0].args[0].tolist() == [1.0, -2.0]
    assert run_case(np.negative, cases[0]).error is None


def test_a_pure_exercise_fails_a_function_that_unlocks_and_edits_in_check():
    assert registry.get("huber").pure

    def huber(y, y_hat, delta=1.0):
        r = np.abs(np.asarray(y, float) - np.asarray(y_hat, float))
        loss = float(np.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta)).sum()) / len(r)
        y_hat = np.asarray(y_hat)
        y_hat.flags.writeable = True
        y_hat[...] = 0.0  # the caller's array
        return loss

    message = fails("huber", huber)
    assert "changed its argument y_hat in place" in message


def collected(ex, fn, tmp_path, monkeypatch):
    """The public outcomes of `fn` on `ex`'s public cases through the kernel-side `collect`,
    as the grader decodes them, and the payload's text."""
    from autograder.grading import collect as collect_module

    cases = {ex.name: {"public": cases_for(ex, False), "hidden": []}}
    inputs = tmp_path / "cases.pkl"
    inputs.write_bytes(pickle.dumps(cases))
    published = []

    class Shell:
        user_ns = {ex.name: fn}

    monkeypatch.setattr("IPython.get_ipython", lambda: Shell())
    monkeypatch.setattr("IPython.display.publish_display_data", published.append)
    collect_module.collect(ex.name, str(inputs), "n0nce")
    text = published[0][collect_module.MIME]
    n = len(cases[ex.name]["public"])
    public, _ = collect_module.decode(text, ex.name, "n0nce", (n, 0))
    return cases[ex.name]["public"], public, text


def test_editing_an_input_fails_in_the_collect_path(tmp_path, monkeypatch):
    """The kernel-side `collect` reports the same outcome as check() does."""
    ex = _negate_exercise()
    cases, public, text = collected(ex, writes_after_unlocking, tmp_path, monkeypatch)
    assert public[0].error == "InputChanged"
    report = judge(ex, cases, public, False)
    assert "changed its argument x in place" in report.message(cases)
    assert json.loads(text)["public"][0]["error"] == "InputChanged"


def test_nested_inputs_and_kwargs_are_compared():
    case = Case(([np.zeros(2), (np.ones(1),)],), {"scale": np.ones(3)}, read_only=True)

    def edits_nested(layers, scale=None):
        layers[1][0].flags.writeable = True
        layers[1][0][0] = 5.0
        return 0.0

    def edits_kwarg(layers, scale=None):
        scale[0] = 2.0
        return 0.0

    def appends(layers, scale=None):
        layers.append(1)
        return 0.0

    assert "argument layers" in run_case(edits_nested, case).error_message
    assert "argument scale" in run_case(edits_kwarg, case).error_message
    assert run_case(appends, case).error == "InputChanged"
    assert run_case(lambda layers, scale=None: 1.0, case).error is None
    nan = Case((np.array([np.nan, 1.0]),), read_only=True)
    assert run_case(lambda x: x + 1, nan).error is None  # NaN equals itself here


# ---- 2. the capstone is trained inside the graded call ---------------------------------------


def _pretrained():
    """A good model trained on every digit, before any graded call."""
    from test_lesson10 import train_digits_with_fit

    from nnlib.datasets import digits

    X, y = digits()
    return train_digits_with_fit(X, y, rng=0)


def test_a_closure_returning_pretrained_params_fails_with_a_clear_message():
    model = _pretrained()

    def train_digits(X, Y, blocks, rng=None):  # any name: what counts is how it was made
        return model

    public, hidden = __import__("checking").messages("train_digits", train_digits)
    assert public and "not all the result of one step of blocks.sgd_update" in public
    assert "not trained with the building blocks" in public
    assert hidden and "not trained with the building blocks" in hidden  # the hint says why


HONEST_SEEDS = [1, 42, 20240610]  # each seed trains two models, public and hidden: 10 s


@pytest.mark.parametrize("seed", HONEST_SEEDS)
def test_honest_models_pass_the_hidden_cases_of_several_seeds(monkeypatch, seed):
    from checking import passes
    from test_lesson10 import _sgd_loop, train_digits_own_loop

    monkeypatch.setenv(SEED_ENV, str(seed))
    passes("train_digits", train_digits_own_loop)
    passes("train_digits", _sgd_loop)


# ---- 3. the policy on libraries --------------------------------------------------------------


@pytest.fixture
def watch_references(monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["autograder.checker"], "WATCH_REFERENCES", True)


def _ints(y):
    return np.asarray(y, dtype=float).astype(int)


def sk_precision(y, y_pred, average="binary", pos_label=1):
    from sklearn.metrics import precision_score  # a first call imports it: that fails too

    return precision_score(_ints(y), _ints(y_pred), average=average, pos_label=pos_label,
                           zero_division=0)


def test_scikit_learn_metrics_fail_naming_the_function():
    import sklearn.metrics  # noqa: F401 - a setup cell imported it

    message = fails("precision", sk_precision)
    assert "sklearn.metrics._classification.precision_score (scikit-learn)" in message
    assert "NumPy and the standard library" in message and "scores zero" in message


def test_mlp_classifier_fails_the_capstone():
    from sklearn.neural_network import MLPClassifier

    def train_digits(X, Y, blocks, rng=None):
        m = MLPClassifier((32,), max_iter=3).fit(X, Y.argmax(axis=1))
        return ([(m.coefs_[0].T, m.intercepts_[0]), (m.coefs_[1].T, m.intercepts_[1])],
                ["relu", "softmax"])

    assert "MLPClassifier" in fails("train_digits", train_digits)


def test_scipy_fails_through_python_code_and_through_a_ufunc():
    import scipy.special as sp
    from scipy.optimize._numdiff import approx_derivative

    def sigmoid_by_differences(z):  # σ as the derivative of softplus, numerically
        z = np.asarray(z, dtype=float)
        return np.diag(np.atleast_2d(approx_derivative(lambda t: np.logaddexp(0, t), z)))

    assert "scipy.optimize._numdiff.approx_derivative (SciPy)" in fails(
        "sigmoid", sigmoid_by_differences)

    def helper(z):
        return sp.expit(z)

    assert "scipy.special.expit (SciPy)" in fails("sigmoid", lambda z: helper(z))


def test_turning_the_watch_off_fails():
    import sys

    def sneaky(y, y_pred, average="binary", pos_label=1):
        sys.setprofile(None)
        return sk_precision(y, y_pred, average, pos_label)

    assert "turns off the checker's watch" in fails("precision", sneaky)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_thread_started_by_the_function_is_watched():
    import threading

    started = []

    def threaded(y, y_pred, average="binary", pos_label=1):
        out = []
        t = threading.Thread(target=lambda: out.append(sk_precision(y, y_pred, average,
                                                                    pos_label)))
        started.append(t)
        t.start()
        t.join()
        return out[0] if out else 0.0

    assert "scikit-learn" in fails("precision", threaded)
    # the refused call returned at once; its thread goes on and would be seen by the
    # graded calls of the tests that follow (a thread whose start was refused never ran)
    for t in started:
        if t.ident is not None:
            t.join()


def test_the_libraries_work_outside_a_graded_call_and_the_profiler_is_restored():
    import sys

    from sklearn.metrics import precision_score

    def previous(frame, event, arg):
        return None

    sys.setprofile(previous)
    try:
        fails("precision", sk_precision)
        assert sys.getprofile() is previous
    finally:
        sys.setprofile(None)
    assert precision_score([1, 0, 1], [1, 1, 1]) == pytest.approx(2 / 3)


def test_calling_nnlib_s_reference_fails_in_check_as_in_grading(watch_references):
    import nnlib.metrics

    def precision(y, y_pred, average="binary", pos_label=1):
        return nnlib.metrics.precision(y, y_pred, average, pos_label)

    assert "calls nnlib's reference (nnlib.metrics.precision)" in fails("precision", precision)
    from checking import passes
    from test_lesson10 import _sgd_loop

    passes("train_digits", _sgd_loop)  # the blocks, built on nnlib's network, stay allowed


def test_a_library_call_fails_in_the_collect_path(tmp_path, monkeypatch):
    ex = registry.get("precision")
    cases, public, _ = collected(ex, sk_precision, tmp_path, monkeypatch)
    report = judge(ex, cases, public, False)
    assert not report.passed
    # the first call may be scikit-learn importing itself, named as such
    assert re.search(r"sklearn\.\S+ \(scikit-learn\)", report.message(cases))


def test_replacing_sys_setprofile_before_the_call_does_not_blind_the_watch(monkeypatch):
    import sys

    monkeypatch.setattr(sys, "setprofile", lambda f: None)  # a notebook cell did this
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    assert "scikit-learn" in fails("precision", sk_precision)


def test_check_refuses_what_grading_of_this_lesson_refuses(tmp_path, monkeypatch,
                                                          watch_references):
    """In 06-backprop, whose grading leaves nnlib's softmax alone, an output_delta whose
    sigma'(z) is built on it (sigma(z) = softmax((0, z))[1]) passes check(); in
    04-activations, where softmax is graded and stubbed, sigmoid_prime built so fails."""
    from autograder import CheckFailed, check
    from nnlib import activations as act

    def sigmoid_prime(z):
        z = np.asarray(z, dtype=float)
        s = act.softmax(np.stack([np.zeros_like(z), z], axis=-1))[..., 1]
        return s * (1.0 - s)

    def output_delta(dA, Z, activation="sigmoid"):
        f_prime = sigmoid_prime if activation == "sigmoid" else act.ACTIVATIONS[activation][1]
        return np.asarray(dA, dtype=float) * f_prime(Z)

    for lesson in ("06-backprop", "04-activations"):
        (tmp_path / lesson).mkdir()
    monkeypatch.chdir(tmp_path / "06-backprop")
    check("output_delta", output_delta)
    monkeypatch.chdir(tmp_path / "04-activations")
    with pytest.raises(CheckFailed, match="nnlib"):
        check("sigmoid_prime", sigmoid_prime)


# ---- 4. work the watch cannot follow: processes, native code, unwatched threads ------------
#
# Each function below gets scikit-learn's answer (or could) without a Python call into it
# that the profiler sees on the thread it watches; each is refused by what it does to get
# there, in check() and in grading's kernel-side collect alike.


def refused(fn, tmp_path, monkeypatch, expected: str) -> None:
    """`fn` fails `precision` in check() and in the collect path, naming `expected`."""
    message = fails("precision", fn)
    assert expected in message and "scores zero" in message, message
    ex = registry.get("precision")
    cases, public, _ = collected(ex, fn, tmp_path, monkeypatch)
    report = judge(ex, cases, public, False)
    assert not report.passed and expected in report.message(cases), report.message(cases)


def _labels_json(y, y_pred, average, pos_label) -> str:
    return json.dumps([_ints(y).tolist(), _ints(y_pred).tolist(), average, pos_label])


def _sk_from_json(text: str) -> float:
    y, y_pred, average, pos_label = json.loads(text)
    return sk_precision(y, y_pred, average, pos_label)


SK_SCRIPT = ("import json, sys; from sklearn.metrics import precision_score; "
             "y, p, a, k = json.load(sys.stdin); "
             "print(precision_score(y, p, average=a, pos_label=k, zero_division=0))")


def through_subprocess(y, y_pred, average="binary", pos_label=1):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", SK_SCRIPT], capture_output=True, text=True,
                         input=_labels_json(y, y_pred, average, pos_label), check=True)
    return float(out.stdout)


def through_os_system(y, y_pred, average="binary", pos_label=1):
    import os
    import shlex
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        given, answer = os.path.join(folder, "in"), os.path.join(folder, "out")
        with open(given, "w") as f:
            f.write(_labels_json(y, y_pred, average, pos_label))
        os.system(f"{shlex.quote(sys.executable)} -c {shlex.quote(SK_SCRIPT)} "
                  f"< {given} > {answer}")
        with open(answer) as f:
            return float(f.read())


def through_a_pool(method):
    def precision(y, y_pred, average="binary", pos_label=1):
        import multiprocessing

        with multiprocessing.get_context(method).Pool(1) as pool:
            return pool.apply(_sk_from_json, (_labels_json(y, y_pred, average, pos_label),))

    return precision


def through_a_process_pool(y, y_pred, average="binary", pos_label=1):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool:
        return pool.submit(_sk_from_json, _labels_json(y, y_pred, average, pos_label)).result()


def loading_scipy_with_ctypes(y, y_pred, average="binary", pos_label=1):
    import ctypes
    import glob
    import importlib.util

    folder = importlib.util.find_spec("scipy").submodule_search_locations[0]  # not imported
    blas = glob.glob(os.path.join(os.path.dirname(folder), "scipy.libs", "*openblas*"))
    ctypes.CDLL((blas or glob.glob(os.path.join(folder, "special", "_ufuncs*")))[0])
    return precision_with_threads(y, y_pred, average, pos_label)


def importing_with_importlib(y, y_pred, average="binary", pos_label=1):
    import importlib

    metrics = importlib.import_module("sklearn.metrics")
    return metrics.precision_score(_ints(y), _ints(y_pred), average=average,
                                   pos_label=pos_label, zero_division=0)


def scipy_in_a_thread(y, y_pred, average="binary", pos_label=1):
    import threading

    def work():  # Python code of SciPy, imported here unless an earlier test did
        from scipy.optimize._numdiff import approx_derivative

        approx_derivative(np.sin, np.zeros(1))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return precision_with_threads(y, y_pred, average, pos_label)


ESCAPES = {
    "subprocess": (through_subprocess, "starts a process (subprocess.Popen)"),
    "os.system": (through_os_system, "starts a process (os.system)"),
    "multiprocessing, fork": (through_a_pool("fork"), "starts a process (os.fork)"),
    "multiprocessing, spawn": (through_a_pool("spawn"),
                               "starts a process (_posixsubprocess.fork_exec)"),
    "ProcessPoolExecutor": (through_a_process_pool, "starts a process ("),
    "ctypes": (loading_scipy_with_ctypes, "loads a native library with ctypes"),
    "importlib": (importing_with_importlib, "sklearn"),
    "a thread importing SciPy": (scipy_in_a_thread, "(SciPy)"),
}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("route", ESCAPES)
def test_each_way_around_the_profiler_is_refused_in_check_and_in_grading(route, tmp_path,
                                                                         monkeypatch):
    fn, expected = ESCAPES[route]
    refused(fn, tmp_path, monkeypatch, expected)


def test_a_thread_the_watch_cannot_follow_is_refused(tmp_path, monkeypatch):
    """A thread started with _thread itself gets no profiler: scikit-learn, imported before
    the call, would run there unseen. Starting it is the violation."""
    import sklearn.metrics  # noqa: F401 - imported already: no import for the hook to hear

    def precision(y, y_pred, average="binary", pos_label=1):
        import _thread
        import time

        out = []
        _thread.start_new_thread(lambda: out.append(sk_precision(y, y_pred, average,
                                                                 pos_label)), ())
        while not out:
            time.sleep(0.001)
        return out[0]

    refused(precision, tmp_path, monkeypatch,
            "starts a thread (_thread.start_new_thread) that the checker cannot watch")


def test_a_thread_started_by_an_earlier_graded_call_stays_watched(tmp_path, monkeypatch):
    """A worker that an honest first call leaves idle is watched again in the next call,
    with the watch of that call."""
    from concurrent.futures import ThreadPoolExecutor

    import sklearn.metrics  # noqa: F401

    workers = []

    def honest(y, y_pred, average="binary", pos_label=1):
        if not workers:
            workers.append(ThreadPoolExecutor(1))
        return workers[0].submit(precision_with_threads, y, y_pred, average, pos_label).result()

    def precision(y, y_pred, average="binary", pos_label=1):
        return workers[0].submit(sk_precision, y, y_pred, average, pos_label).result()

    case = cases_for(registry.get("precision"), False)[0]
    assert run_case(honest, case).error is None
    refused(precision, tmp_path, monkeypatch, "(scikit-learn)")
    workers[0].shutdown()


def test_a_watched_thread_that_turns_its_profiler_off_between_calls_is_refused(tmp_path,
                                                                              monkeypatch):
    """Between graded calls nothing is refused, but a thread that a graded call started and
    that switched its profiler off would run unseen in the next: graded calls are refused
    for as long as it lives."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    workers = [ThreadPoolExecutor(1)]
    case = cases_for(registry.get("precision"), False)[0]

    def precision(y, y_pred, average="binary", pos_label=1):
        return workers[0].submit(precision_with_threads, y, y_pred, average, pos_label).result()

    assert run_case(precision, case).error is None  # the worker starts, watched
    workers[0].submit(sys.setprofile, None).result()
    refused(precision, tmp_path, monkeypatch, "a thread that a graded call started has "
                                              "turned off its watch")
    workers[0].shutdown()
    assert run_case(precision_with_threads, case).error is None  # gone with the thread


class _Deferred(list):
    """A result whose item is computed only when it is read: after the call returns."""

    def __iter__(self):
        return iter([sk_precision(*self.arguments)])


def test_a_result_computed_when_the_checker_reads_it_is_watched(tmp_path, monkeypatch):
    def precision(y, y_pred, average="binary", pos_label=1):
        result = _Deferred([0.0])
        result.arguments = (y, y_pred, average, pos_label)
        return result

    refused(precision, tmp_path, monkeypatch, "(scikit-learn)")


def test_switching_the_profiler_off_from_c_is_refused(tmp_path, monkeypatch):
    """map() calls sys.setprofile from C, where the profiler sees no call; the audit event
    sys.setprofile still fires, and is refused while a graded call runs."""

    def precision(y, y_pred, average="binary", pos_label=1):
        import sys

        watch = sys.getprofile()
        list(map(sys.setprofile, [None]))
        try:
            return sk_precision(y, y_pred, average, pos_label)
        finally:
            list(map(sys.setprofile, [watch]))

    refused(precision, tmp_path, monkeypatch, "turns off the checker's watch")


def test_native_code_prepared_before_the_call_is_refused(tmp_path, monkeypatch):
    """Calling a ctypes function pointer raises no event at all: referring to one is
    refused, like referring to a forbidden library's ufunc."""
    import ctypes

    initialized = ctypes.pythonapi.Py_IsInitialized

    def precision(y, y_pred, average="binary", pos_label=1):
        assert initialized()
        return precision_with_threads(y, y_pred, average, pos_label)

    refused(precision, tmp_path, monkeypatch, "native code through ctypes")


def test_a_socket_to_another_process_is_refused(tmp_path, monkeypatch):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        address = server.getsockname()

        def precision(y, y_pred, average="binary", pos_label=1):
            with socket.create_connection(address):
                return precision_with_threads(y, y_pred, average, pos_label)

        refused(precision, tmp_path, monkeypatch, "over a socket (socket.connect)")


def precision_with_threads(y, y_pred, average="binary", pos_label=1):
    """An honest precision: per-class counts from worker threads, pooled with itertools,
    functools and collections."""
    import collections
    import functools
    import itertools
    import threading
    from concurrent.futures import ThreadPoolExecutor

    y, y_pred = _ints(y), _ints(y_pred)
    classes = sorted(set(itertools.chain(y.tolist(), y_pred.tolist())))

    def counts(c):
        return int(np.sum((y_pred == c) & (y == c))), int(np.sum(y_pred == c))

    with ThreadPoolExecutor(2) as pool:
        per_class = dict(zip(classes, pool.map(counts, classes), strict=True))
    seen = []
    thread = threading.Thread(target=seen.append, args=(len(per_class),))
    thread.start()
    thread.join()

    def ratio(tp, predicted):
        return tp / predicted if predicted else 0.0

    if average == "binary":
        return ratio(*per_class.get(pos_label, (0, 0)))
    if average == "micro":
        return ratio(*functools.reduce(lambda a, b: (a[0] + b[0], a[1] + b[1]),
                                       per_class.values()))
    p = {c: ratio(*per_class[c]) for c in classes}
    if average == "macro":
        return float(np.mean([p[c] for c in classes]))
    support = collections.Counter(y.tolist())
    return sum(p[c] * support[c] for c in classes) / len(y)


def test_honest_solutions_with_threads_and_the_standard_library_pass(tmp_path, monkeypatch):
    from checking import passes

    ex = registry.get("precision")
    workers = []

    def with_an_idle_worker_left_running(y, y_pred, average="binary", pos_label=1):
        if not workers:
            from concurrent.futures import ThreadPoolExecutor

            workers.append(ThreadPoolExecutor(1))
        return workers[0].submit(precision_with_threads, y, y_pred, average, pos_label).result()

    for fn in (precision_with_threads, with_an_idle_worker_left_running):
        passes("precision", fn)
        cases, public, _ = collected(ex, fn, tmp_path, monkeypatch)
        assert judge(ex, cases, public, False).passed
    workers[0].shutdown()
