"""Integrity of graded answers: inputs that must stay intact, the capstone trained inside
the graded call, and the policy on libraries. Each is enforced by code that `check()` in the
notebook and grading's `collect` share (`autograder.judge.run_case`), so both give the same
verdict."""

import json
import pickle
import re

import numpy as np
import pytest
from checking import fails

from autograder import registry
from autograder.check import SEED_ENV, cases_for
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
    assert registry.get("mse").pure

    def mse(y, y_hat):
        y, y_hat = np.asarray(y, float), np.asarray(y_hat, float)
        loss = float(np.mean((y_hat - y) ** 2))
        y_hat.flags.writeable = True
        y_hat[...] = 0.0  # the caller's array
        return loss

    message = fails("mse", mse)
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

    def train_digits(X, y, rng=None):  # any name: what counts is what the model learnt
        return model

    public, hidden = __import__("checking").messages("train_digits", train_digits)
    assert public and "was not trained on the data train_digits was given" in public
    assert "a model built before the call" in public
    assert hidden and "built before the call" in hidden  # the hint names the cause


HONEST_SEEDS = [1, 2, 3, 7, 11, 42, 99, 2024, 31337, 20240610, 123456789, 987654321]


@pytest.mark.parametrize("seed", HONEST_SEEDS)
def test_honest_models_pass_every_hidden_seed(monkeypatch, seed):
    from checking import passes
    from test_lesson10 import train_digits_own_loop, train_digits_with_fit

    monkeypatch.setenv(SEED_ENV, str(seed))
    passes("train_digits", train_digits_own_loop)
    passes("train_digits", train_digits_with_fit)


# ---- 3. the policy on libraries --------------------------------------------------------------


@pytest.fixture
def watch_references(monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["autograder.check"], "WATCH_REFERENCES", True)


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

    def train_digits(X, y, rng=None):
        m = MLPClassifier((32,), max_iter=3).fit(X, y)
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

    def threaded(y, y_pred, average="binary", pos_label=1):
        out = []
        t = threading.Thread(target=lambda: out.append(sk_precision(y, y_pred, average,
                                                                    pos_label)))
        t.start()
        t.join()
        return out[0] if out else 0.0

    assert "scikit-learn" in fails("precision", threaded)


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
    from test_lesson10 import train_digits_with_fit

    passes("train_digits", train_digits_with_fit)  # nnlib's training stack stays allowed


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
    """In 06-backprop, whose grading leaves nnlib's sigmoid alone, a sigmoid_prime built on it
    passes check(); in 04-activations, where sigmoid is graded and stubbed, it fails."""
    from autograder import CheckFailed, check
    from nnlib import activations as act

    def sigmoid_prime(z):
        s = act.sigmoid(z)
        return s * (1.0 - s)

    for lesson, passes in (("06-backprop", True), ("04-activations", False)):
        (tmp_path / lesson).mkdir()
        monkeypatch.chdir(tmp_path / lesson)
        if passes:
            check("sigmoid_prime", sigmoid_prime)
        else:
            with pytest.raises(CheckFailed, match="nnlib"):
                check("sigmoid_prime", sigmoid_prime)
