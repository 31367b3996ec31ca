"""Checks catch what the text forbids, for every exercise of the kind, not one instance.

Each wrong answer is nnlib's right one with one forbidden thing added, so it fails for that
thing alone: an input changed in place, randomness that does not come from `rng` (global
state, a fixed seed, no seed), a Python loop where vectorized code is asked for. It is
judged the way `check()` and grading judge (`cases_for`, `run_case`, `judge`), without the
reference watch: the wrong answers call nnlib on purpose. Last, every named mistake of the
registry fails the hidden check on every one of 5 seeds (`benchmarks/mistakes.py` runs
200).
"""

import inspect
import sys

import numpy as np
import pytest

from autograder import registry
from autograder.cases import cases_for
from autograder.judge import judge, parameter_names, run_case

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "benchmarks"))
from mistakes import passing_seeds  # noqa: E402

EXERCISES = registry.all_exercises()
RANDOM = [e for e in EXERCISES if "rng" in parameter_names(e.signature)]
SEEDS = range(5)


def report(ex, fn, hidden=False, seed=1):
    cases = cases_for(ex, hidden, seed)
    with np.errstate(all="ignore"):
        return judge(ex, cases, [run_case(fn, c) for c in cases], hidden), cases


def _array_positions(ex) -> list[int]:
    """The positions of the arguments that are non-empty arrays in some public case."""
    return sorted({i for c in ex.public() for i, a in enumerate(c.args)
                   if isinstance(a, np.ndarray) and a.size})


def _mutating(ex, position):
    """nnlib's answer, after which the argument at `position` is changed in place."""
    reference = ex.reference_fn

    def answer(*args, **kwargs):
        out = reference(*args, **kwargs)
        target = args[position] if position < len(args) else None
        if isinstance(target, np.ndarray) and target.size:
            target.flags.writeable = True
            target.flat[0] = target.flat[0] + 1 if target.dtype != bool else not target.flat[0]
        return out

    answer.__signature__ = inspect.signature(reference)
    return answer


MUTATIONS = [(ex.name, i) for ex in EXERCISES for i in _array_positions(ex)
             if ex.name != "train_digits"]  # a training: see test_integrity


@pytest.mark.parametrize("name, position", MUTATIONS, ids=[f"{n}-{i}" for n, i in MUTATIONS])
def test_changing_an_input_in_place_fails_and_names_the_parameter(name, position):
    ex = registry.get(name)
    result, cases = report(ex, _mutating(ex, position))
    failed = [v for v in result.verdicts if not v.passed]
    param = parameter_names(ex.signature)[position]
    assert failed, f"{name} passed with {param} changed in place"
    assert all(v.category in ("input-changed", "not-restored") for v in failed), failed[0]
    assert all(f" {param} " in v.message for v in failed), failed[0].message


def _with_rng(ex, rng_of):
    """nnlib's answer with its `rng` argument replaced by `rng_of(given)`."""
    reference, position = ex.reference_fn, parameter_names(ex.signature).index("rng")

    def answer(*args, **kwargs):
        args = list(args)
        if "rng" in kwargs:
            kwargs["rng"] = rng_of(kwargs["rng"])
        elif position < len(args):
            args[position] = rng_of(args[position])
        return reference(*args, **kwargs)

    return answer


@pytest.mark.parametrize("ex", RANDOM, ids=lambda e: e.name)
def test_randomness_from_the_global_state_fails(ex):
    result, _ = report(ex, _with_rng(ex, lambda rng: np.random.randint(2**31)))
    assert not result.passed
    assert any("global random state" in v.message for v in result.failures)


@pytest.mark.parametrize("ex", [e for e in RANDOM if e.reseed], ids=lambda e: e.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_a_fixed_seed_or_no_seed_instead_of_rng_fails(ex, hidden):
    fixed, _ = report(ex, _with_rng(ex, lambda rng: 0), hidden)
    assert not fixed.passed and any("ignores its `rng` argument" in v.message
                                    for v in fixed.failures)
    fresh, _ = report(ex, _with_rng(ex, lambda rng: None), hidden)
    assert not fresh.passed  # perceptron_fit without rng keeps the order: wrong values
    assert any("same `rng` seed" in v.message for v in fresh.failures) or ex.name == \
        "perceptron_fit"
    right, _ = report(ex, ex.reference_fn, hidden)
    assert right.passed


def test_python_s_global_random_state_counts_too():
    import random

    ex = registry.get("xavier_init")
    reference = ex.reference_fn
    result, _ = report(ex, lambda n_in, n_out, rng=None: reference(n_in, n_out,
                                                                 random.getrandbits(31)))
    assert not result.passed
    state = random.getstate()
    report(ex, lambda n_in, n_out, rng=None: reference(n_in, n_out, random.random() and rng))
    assert random.getstate() == state  # the checker puts the caller's state back


VECTORIZED = [e for e in EXERCISES if e.vectorized is not None]


def _looping(ex):
    """nnlib's answer after a Python loop as long as the input's rows (or grid lines)."""
    reference = ex.reference_fn

    def answer(*args, **kwargs):
        sizes = [len(a) for a in args if isinstance(a, np.ndarray) and a.ndim]
        sizes += [v for v in kwargs.values() if type(v) is int]
        total = 0
        for row in range(max(sizes)):
            total += row
        return reference(*args, **kwargs)

    return answer


def test_the_exercises_that_ask_for_vectorized_code_check_it():
    names = {e.name for e in VECTORIZED}
    assert {"step", "mp_neuron", "perceptron_predict", "sigmoid", "error_surface",
            "dense_forward"} <= names


@pytest.mark.parametrize("ex", VECTORIZED, ids=lambda e: e.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_a_loop_over_the_rows_fails_where_vectorized_code_is_asked_for(ex, hidden):
    result, _ = report(ex, _looping(ex), hidden)
    assert [v.category for v in result.failures] == ["loop"]
    assert "asks for vectorized code" in result.failures[0].message
    assert report(ex, ex.reference_fn, hidden)[0].passed


MISTAKES = [(ex.name, d) for ex in EXERCISES for d in ex.mistakes]


@pytest.mark.parametrize("name, description", MISTAKES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(MISTAKES)])
def test_every_named_mistake_fails_on_every_hidden_seed(name, description):
    ex = registry.get(name)
    assert passing_seeds(ex, ex.mistakes[description], SEEDS) == []
