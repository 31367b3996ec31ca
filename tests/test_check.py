"""check(): verdicts and messages on right and wrong implementations of `step`."""

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import nnlib
from autograder import CheckFailed, check, registry
from autograder.cases import SEED_ENV, cases_for
from autograder.course import find_root
from autograder.judge import Case, compare, judge, run_case

ROOT = find_root(Path(__file__).parent)


def step_where(z):
    return np.where(np.asarray(z) >= 0, 1.0, 0.0)


def step_heaviside(z):
    return np.heaviside(np.asarray(z, dtype=float), 1.0)


def step_loop(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for i, v in np.ndenumerate(z):
        out[i] = 1 if v >= 0 else 0
    return out


@pytest.mark.parametrize("fn", [step_where, step_heaviside])
def test_correct_implementations_written_differently_pass(fn, capsys, monkeypatch):
    monkeypatch.setenv(SEED_ENV, "123")
    check("step", fn)
    check("step", fn, hidden=True)
    out = capsys.readouterr().out.splitlines()
    # the hidden cases: 4 drawn, the 3 public ones, the 2 that look for a loop
    assert out == ["✓ step: all 5 public cases pass.", "✓ step: all 9 hidden cases pass."]


def test_a_loop_where_the_text_asks_for_vectorized_code_fails():
    """step's text asks for NumPy operations on the whole array: a loop over its elements
    runs more Python lines on the larger of the two inputs of the check."""
    msg = failure(step_loop)
    assert "case 5 (128 values)" in msg and "runs a Python loop over its input" in msg
    assert "asks for vectorized code" in msg


def failure(fn, hidden=False) -> str:
    with pytest.raises(CheckFailed) as info:
        check("step", fn, hidden=hidden)
    return str(info.value)


def test_strict_inequality_is_named_as_the_likely_cause():
    msg = failure(lambda z: (np.asarray(z) > 0).astype(float))
    assert "case 2 (exactly at the threshold)" in msg
    assert "is 0 but should be 1 for z = 0" in msg
    assert "likely cause: z > 0 where z >= 0" in msg


def test_wrong_shape_names_both_shapes():
    msg = failure(lambda z: np.ravel(step_where(z)))
    assert "shape (6,) but should have shape (2, 3)" in msg


def test_transposed_result_is_recognised():
    msg = failure(lambda z: step_where(z).T if np.ndim(z) == 2 else step_where(z))
    assert "it is the right answer transposed" in msg or "looks transposed" in msg


def test_missing_return_and_exceptions_and_stubs():
    assert "did you forget `return`" in failure(lambda z: None)
    assert "raised ZeroDivisionError: division by zero" in failure(lambda z: 1 / 0)

    def stub(z):
        raise NotImplementedError()

    assert failure(stub) == ("✗ step: not implemented yet: replace `raise NotImplementedError()` "
                             "with your code.")


def test_arbitrary_wrong_answers_fail(monkeypatch):
    """Not only the anticipated mistakes: any perturbation of one element must fail."""
    monkeypatch.setenv(SEED_ENV, "7")
    rng = np.random.default_rng(0)
    for k in rng.integers(1000, size=20):
        def wrong(z, k=k):
            out = step_where(z)
            if out.size:
                out.flat[k % out.size] = 1 - out.flat[k % out.size]
            return out
        failure(wrong)
        failure(wrong, hidden=True)


def test_hidden_failures_reveal_no_inputs(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "99")
    msg = failure(lambda z: (np.asarray(z) > 0).astype(float), hidden=True)
    assert msg.startswith("✗ step: ") and "hidden cases failed" in msg
    assert "input" not in msg and "[" not in msg and "should be" not in msg


def test_hidden_cases_come_from_the_seed(monkeypatch):
    ex = registry.get("step")
    a = cases_for(ex, hidden=True, seed=1)
    b = cases_for(ex, hidden=True, seed=1)
    c = cases_for(ex, hidden=True, seed=2)
    flat = lambda cases: np.concatenate([np.ravel(x.args[0]) for x in cases])  # noqa: E731
    assert np.array_equal(flat(a), flat(b))
    assert not np.array_equal(flat(a), flat(c))
    monkeypatch.setenv(SEED_ENV, "1")
    assert np.array_equal(flat(cases_for(ex, hidden=True)), flat(a))


def test_checking_nnlib_itself_is_refused():
    from nnlib.activations import step

    with pytest.raises(CheckFailed, match="nnlib's function, not yours"):
        check("step", step)


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(KeyError, match="registered: .*step"):
        check("stepp", step_where)


def test_not_a_function():
    with pytest.raises(CheckFailed, match="needs your function itself, got ndarray"):
        check("step", np.zeros(3))


def test_registering_twice_is_an_error():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(registry.get("step"))


def test_every_exercise_names_a_known_tolerance_and_a_real_reference():
    for ex in registry.all_exercises():
        assert ex.tolerance in registry.TOLERANCES
        assert callable(ex.reference_fn), ex.name
        assert ex.points > 0
        assert all(p.is_file() for p in ex.withheld_paths), ex.name
    assert any(ex.withheld_paths for ex in registry.all_exercises())


def test_overflow_is_reported_as_such():
    case = Case((np.array([1.0, 1000.0]),))
    v = compare(np.array([0.5, 1.0]), np.array([0.5, np.nan]), registry.TOLERANCES["float"], case,
                params=["z"])
    assert v.category == "non-finite" and "for z = 1000" in v.message


def test_extra_axis_and_constant_factor():
    tol, case = registry.TOLERANCES["float"], Case(())
    v = compare(np.ones(3), np.ones((3, 1)), tol, case)
    assert "extra or missing axis" in v.message
    v = compare(np.array([1.0, 2.0, 4.0]), np.array([4.0, 8.0, 16.0]), tol, case)
    assert v.category == "value" and v.cause == "every element is off by the same factor 4"
    assert compare(np.array([1.0, -2.0]), np.array([-1.0, 2.0]), tol, case).cause == \
        "the sign is flipped"


def test_scalar_results_accept_numpy_scalars_and_one_element_arrays():
    tol, case = registry.TOLERANCES["float"], Case(())
    assert compare(np.float64(2.0), 2, tol, case).passed
    assert compare(2.0, np.array([2.0]), tol, case).passed
    assert not compare(2.0, "2.0", tol, case).passed


@pytest.mark.parametrize("name", [ex.name for ex in registry.all_exercises()])
def test_every_reference_passes_its_own_checks(name):
    """The reference is a right answer: it passes the public and two draws of hidden cases,
    whether the exercise compares with it or verifies properties (`Exercise.verify`)."""
    ex = registry.get(name)
    for hidden, seed in ((False, None), (True, 1), (True, 2)):
        cases = cases_for(ex, hidden, seed)
        report = judge(ex, cases, [run_case(ex.reference_fn, c) for c in cases], hidden)
        assert report.passed, report.message(cases)


def test_verify_replaces_the_comparison_and_reports_its_message():
    ex = registry.Exercise(
        name="unit_vector", lessons=(), signature="(n)", reference="numpy.ones",
        public=lambda: [Case((3,))], hidden=lambda rng: [Case((4,))],
        verify=lambda out, case: None if np.isclose(np.linalg.norm(out), 1)
        else f"its length is {np.linalg.norm(out):.3g}, not 1")
    cases = ex.public()
    good = judge(ex, cases, [run_case(lambda n: np.eye(n)[0], c) for c in cases], False)
    assert good.passed  # differs from the "reference" np.ones, yet right by the property
    bad = judge(ex, cases, [run_case(np.ones, c) for c in cases], False)
    assert not bad.passed and "its length is 1.73, not 1" in bad.message(cases)


def test_a_pure_exercise_keeps_its_inputs_intact_even_after_pickling():
    import pickle

    ex = registry.Exercise(
        name="negate", lessons=(), signature="(x)", reference="numpy.negative",
        public=lambda: [Case((np.array([1.0, -2.0]),))], hidden=lambda rng: [], pure=True)
    cases = pickle.loads(pickle.dumps(cases_for(ex, hidden=False)))  # as the grader sends them

    def in_place(x):
        x *= -1
        return x

    bad = run_case(in_place, cases[0])
    assert bad.error == "InputChanged" and "changed its argument x in place" in bad.error_message
    assert run_case(np.negative, cases[0]).value.tolist() == [-1.0, 2.0]
    assert cases[0].args[0].flags.writeable  # the case itself stays untouched


def test_a_mistake_that_cannot_run_on_a_case_names_nothing_and_breaks_nothing():
    def broken(z):
        raise ValueError("this mistake does not apply here")

    ex = registry.Exercise(
        name="ident", lessons=(), signature="(z)", reference="numpy.positive",
        public=lambda: [Case((np.array([1.0, 2.0]),))], hidden=lambda rng: [],
        mistakes={"never matches": broken, "negates": np.negative})
    cases = ex.public()
    report = judge(ex, cases, [run_case(np.negative, c) for c in cases], False)
    assert not report.passed and "likely cause: negates" in report.message(cases)


def test_an_answer_of_zeros_is_not_called_off_by_a_factor_of_zero():
    msg = failure(lambda z: np.zeros(np.shape(z)))
    assert "factor 0" not in msg and "it returns zeros where the answer is not zero" in msg


def test_hidden_hints_say_each_kind_of_failure_once():
    from autograder.judge import Report, Verdict

    failed = [Verdict(False, "shape", "m", "it looks transposed"), Verdict(False, "shape", "m"),
              Verdict(False, "value", "m", "the sign is flipped"),
              Verdict(False, "value", "m", "every element is off by the same factor 2")]
    message = Report("step", True, failed + [Verdict(True)]).message([])
    assert message == ("✗ step: 4 of 5 hidden cases failed (hint: wrong shape, likely it looks "
                       "transposed; wrong values, likely every element is off by the same "
                       "factor 2 or the sign is flipped).")


def test_grading_says_not_implemented_once(monkeypatch):
    from autograder.grading.run import Execution, judge_execution
    from autograder.judge import Outcome

    monkeypatch.setenv(SEED_ENV, "5")
    ex = registry.get("step")
    cases = {"step": {"public": cases_for(ex, False), "hidden": cases_for(ex, True)}}
    stub = Outcome(error="NotImplementedError")
    execution = Execution("ada", outcomes={"step": tuple(
        [stub] * len(cases["step"][key]) for key in ("public", "hidden"))})
    entry = judge_execution(execution, [ex], cases)["step"]
    assert entry.score == 0
    assert entry.message == ("✗ step: not implemented yet: replace `raise "
                             "NotImplementedError()` with your code.")


# ---- messages a student can act on -------------------------------------------------------


def test_a_factor_is_named_by_its_cause():
    tol = registry.TOLERANCES["float"]
    dA = np.arange(1.0, 9.0).reshape(4, 2)
    case = Case((dA, np.ones((4, 2))))
    exp = np.array([[3.0, -1.0], [2.0, 5.0]])
    assert "divided by m = 4, the number of rows of `dA`" in compare(
        exp, exp / 4, tol, case, params=["dA", "Z"]).cause
    assert "times m = 4" in compare(exp, exp * 4, tol, case, params=["dA", "Z"]).cause
    assert "a missing ½" in compare(exp, exp * 2, tol, case, params=["dA", "Z"]).cause
    x = np.array([0.5, 2.0, -3.0])
    assert "times `x` is the right one" in compare(
        x * 3.0, np.full(3, 3.0), tol, Case((x,)), params=["x"]).cause
    from nnlib.activations import sigmoid_prime
    Z = np.array([[0.3, -1.2], [2.0, 0.1]])
    missing = compare(np.ones((2, 2)) * sigmoid_prime(Z), np.ones((2, 2)), tol,
                      Case((np.ones((2, 2)), Z)), params=["dA", "Z"]).cause
    assert "the derivative sigmoid'(`Z`)" in missing


def test_a_single_number_never_gets_the_factor_message():
    tol = registry.TOLERANCES["float"]
    v = compare(0.3, 0.9, tol, Case((0.5, 0.0)), params=["w", "b"])
    assert not v.passed and "factor" not in v.cause
    assert "for w" not in v.message and "input" not in v.message


def test_the_failing_case_is_printed_as_a_call_that_runs():
    from autograder.judge import call_text

    case = Case((np.array([[0.1, -2.5e-7], [3.0, 4.0]]), np.array([1, 2], dtype=np.int32)),
                {"alpha": 0.2})
    text = call_text("f", case)
    assert "..." not in text and "0x" not in text
    assert eval(text.replace("f(", "(lambda *a, **k: (a, k))("), {"np": np}) is not None
    args, kwargs = eval(text.replace("f(", "(lambda *a, **k: (a, k))("), {"np": np})
    assert args[0].tobytes() == case.args[0].tobytes() and args[1].dtype == np.int32
    assert kwargs == {"alpha": 0.2}
    big = Case((np.zeros((50, 50)),))
    assert call_text("f", big) == ""  # too long: the message offers show_case instead
    assert call_text("f", Case((print,))) == ""


def test_a_long_case_offers_show_case_and_show_case_defines_it(capsys):
    from autograder import show_case

    def dense_backward(dA, cache, W, activation="sigmoid"):
        return None

    msg = str(pytest.raises(CheckFailed, check, "dense_backward", dense_backward).value)
    assert "case 1" in msg and "dense_backward(dA, cache, W)" in msg
    assert "show_case('dense_backward', 1)" in msg and "0x" not in msg and "..." not in msg
    namespace = {}
    show_case("dense_backward", 1, namespace)
    out = capsys.readouterr().out
    assert set(namespace) == {"dA", "cache", "W"}
    assert out.rstrip().endswith("dense_backward(dA, cache, W)")
    case = cases_for(registry.get("dense_backward"), False)[0]
    assert np.array_equal(namespace["dA"], case.args[0])
    with pytest.raises(ValueError, match="public cases 1 to"):
        show_case("dense_backward", 99, {})


def test_the_show_case_hint_runs_as_printed_in_a_fresh_namespace(capsys):
    """The notebooks import only check and latest: the hint imports show_case itself."""
    def dense_backward(dA, cache, W, activation="sigmoid"):
        return None

    msg = str(pytest.raises(CheckFailed, check, "dense_backward", dense_backward).value)
    hint = re.search(r"\((.*show_case\('dense_backward', 1\))", msg)
    assert hint, msg
    namespace = {}
    exec(hint.group(1), namespace)  # noqa: S102 - what a student pastes into a cell
    assert {"dA", "cache", "W"} <= set(namespace)
    assert capsys.readouterr().out.rstrip().endswith("dense_backward(dA, cache, W)")


# error (lesson 03) through nnlib's forward pass, which calls nnlib's sigmoid: graded in
# lesson 03, so refused there, and the message must name it, not error's reference
ERROR_THROUGH_FORWARD = """
import numpy as np
import nnlib.network


def error(w, b, X, Y):
    out, _ = nnlib.network.forward(np.asarray(X, float)[:, None],
                                   [(np.array([[w]]), np.array([b]))], "sigmoid")
    r = out[:, 0] - Y
    return 0.5 * float(r @ r)
"""


def test_a_refused_call_names_the_function_it_called_in_check(monkeypatch):
    monkeypatch.setattr(sys.modules["autograder.checker"], "WATCH_REFERENCES", True)
    monkeypatch.chdir(ROOT / "solutions" / "03-error-surface")
    namespace = {}
    exec(ERROR_THROUGH_FORWARD, namespace)  # noqa: S102
    msg = str(pytest.raises(CheckFailed, check, "error", namespace["error"]).value)
    assert "calls nnlib's reference (nnlib.activations.sigmoid)" in msg, msg
    assert "nnlib.surface.error" not in msg


def test_a_refused_call_names_the_function_it_called_in_grading(tmp_path):
    """In a grading kernel the lesson's graded functions are stubs that raise: the outcome
    of the same function, judged in the grader, names the same function."""
    from autograder.given import load
    from autograder.grading.sandbox import stub_reference

    stub = stub_reference(Path(nnlib.__file__).parent,
                          [ex.reference for ex in registry.all_exercises("03-error-surface")],
                          tmp_path)
    namespace = {}
    exec(ERROR_THROUGH_FORWARD.replace("import nnlib.network\n", ""), namespace)  # noqa: S102
    namespace["nnlib"] = SimpleNamespace(network=SimpleNamespace(
        forward=load(stub, {"forward": "nnlib.network.forward"})["forward"]))
    exercise = registry.get("error")
    cases = cases_for(exercise, False)
    outcomes = [run_case(namespace["error"], c) for c in cases]
    assert outcomes[0].error == "ReferenceUnavailable", outcomes[0]
    msg = judge(exercise, cases, outcomes, False).message(cases)
    assert "calls nnlib's reference (nnlib.activations.sigmoid)" in msg, msg
    assert "nnlib.surface.error" not in msg


def test_a_value_where_the_reference_is_infinite_fails_with_a_message_and_no_warning():
    # pyproject turns RuntimeWarning into an error: inf / inf in the message would raise
    tol = registry.TOLERANCES["float"]
    v = compare(np.array([1.0, np.inf]), np.array([1.0, 5.0]), tol, Case((0.0,)))
    assert not v.passed and "your result[1] is 5 but should be inf" in v.message
    assert "a different value" in v.message
