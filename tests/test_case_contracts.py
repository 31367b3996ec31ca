"""Every case gives an exercise the inputs its notebook promises, and right answers that
rely on the promise pass (issue 14, part 3).

An exercise's text says what its function receives ("a NumPy array `z` of any shape",
"`W` of shape `(n_out, n_in)`", "a list or 1-D array"); a student may rely on it and write
`z >= 0` or `W.T`. CONTRACTS writes each promise down, one entry for every parameter of
every registered exercise, and the tests hold every public case and the hidden cases of
several seeds to it, so a new exercise or a new case cannot break a promise unnoticed.
TYPED tables in the lesson tests hold right answers that use what the text promises (array
methods and operators, no `np.asarray`); each passes its public and hidden checks.

The tolerances are sized by `benchmarks/sweep.py`: right answers written differently pass
2,000 hidden seeds. A short run of it here keeps the sweep working, and the mistakes named
by the exercises of the widest class ("numerical") still fail.

A contract is made of specs: `Arr` (an ndarray, or with `like=True` also a list: "array-like"),
scalars (`INT`, `NUMBER`, ...), `ListOf`, `Pair`, `Either`. Shapes are strings of dimension
names, matched across the arguments of one case: "m n_in" for A_prev and "n_out n_in" for W
force the same n_in. "..." is any shape; a name starting with "_" is local to one element of
a list (the layers of a network differ). `relations` add what shapes cannot say.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from checking import passes

from autograder import registry
from autograder.cases import SEED_ENV, cases_for
from autograder.judge import judge, run_case
from nnlib.activations import ACTIVATIONS

HIDDEN_SEEDS = range(12)
ROOT = Path(__file__).resolve().parents[1]


# ---- specs -------------------------------------------------------------------------------


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_number(x) -> bool:
    return (_is_int(x) or isinstance(x, (float, np.floating))) and math.isfinite(x)


def _kind(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an ndarray of dtype {x.dtype} and shape {x.shape}"
    return f"a {type(x).__name__}"


@dataclass(frozen=True)
class Is:
    """A value for which `test` holds, e.g. an int >= 1."""

    what: str
    test: object

    def match(self, x, dims):
        ok = False
        try:
            ok = bool(self.test(x))
        except Exception:  # noqa: BLE001 - a value the test cannot handle does not match
            ok = False
        return [dims] if ok else []

    def describe(self) -> str:
        return self.what


def Int(low=None, high=None) -> Is:
    bounds = (f" >= {low}" if low is not None else "") + (f" <= {high}" if high is not None
                                                           else "")
    return Is(f"an int{bounds}", lambda x: _is_int(x) and (low is None or x >= low)
              and (high is None or x <= high))


def Number(low=None, high=None, low_open=False) -> Is:
    sign = ">" if low_open else ">="
    bounds = (f" {sign} {low}" if low is not None else "") + (f" <= {high}" if high is not None
                                                              else "")
    return Is(f"a number{bounds}", lambda x: _is_number(x) and (
        low is None or (x > low if low_open else x >= low)) and (high is None or x <= high))


def Choice(*options) -> Is:
    return Is(f"one of {options}", lambda x: type(x) in (str, int) and x in options)


INT, NUMBER = Int(), Number()
BOOL = Is("a bool", lambda x: isinstance(x, (bool, np.bool_)))
NONE = Is("None", lambda x: x is None)
CALLABLE = Is("a function", callable)
SEED = Is("None, an int seed or a np.random.Generator",
          lambda x: x is None or _is_int(x) or isinstance(x, np.random.Generator))
NAME = Choice(*ACTIVATIONS)


@dataclass(frozen=True)
class Values:
    """What the elements of an array are promised to be."""

    what: str
    test: object


BINARY = Values("0s and 1s", lambda a: np.isin(a, (0, 1)).all())
PROBABILITIES = Values("probabilities in [0, 1]", lambda a: ((a >= 0) & (a <= 1)).all())
LABELS = Values("labels 0, 1, ... (possibly as floats)",
                lambda a: ((a >= 0) & (a == np.round(a))).all())
ONE_HOT = Values("one-hot rows", lambda a: np.isin(a, (0, 1)).all() and (a.sum(axis=-1) == 1)
                 .all())
BLOCKS = Is("the building blocks init_params, forward, cce_grad, backward and sgd_update",
            lambda x: all(callable(getattr(x, name, None)) for name in (
                "init_params", "forward", "cce_grad", "backward", "sgd_update")))


@dataclass(frozen=True)
class Arr:
    """An ndarray (with `like`, also a list of numbers) of one of the `shapes`, each a
    string of dimension names or sizes ("m n_in", "n 64"; "" is 0-d, "..." any shape)."""

    shapes: tuple[str, ...] = ("...",)
    dtype: str = "numeric"  # "numeric", "float" or "int"
    values: Values | None = None
    like: bool = False

    def match(self, x, dims):
        if isinstance(x, list) and self.like:
            try:
                x = np.array(x)
            except ValueError:
                return []
        if not isinstance(x, np.ndarray):
            return []
        kinds = {"numeric": "biuf", "float": "f", "int": "iu"}[self.dtype]
        if x.dtype.kind not in kinds or x.dtype.kind == "b":
            return []
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            return []
        if self.values is not None and x.size and not self.values.test(x):
            return []
        return [d for shape in self.shapes for d in _shape_bindings(shape, x.shape, dims)]

    def describe(self) -> str:
        shapes = " or ".join("any shape" if s == "..." else f"shape ({', '.join(s.split())}"
                             f"{',' if len(s.split()) == 1 else ''})" for s in self.shapes)
        kind = {"numeric": "", "float": "float "}.get(self.dtype, "integer ")
        what = f" of {self.values.what}" if self.values else ""
        return (f"{'an array-like (list or ndarray)' if self.like else 'an ndarray'} "
                f"{kind}of {shapes}{what}")


def _shape_bindings(shape: str, actual: tuple, dims: dict) -> list[dict]:
    if shape == "...":
        return [dims]
    names = shape.split()
    if len(names) != len(actual):
        return []
    bound = dict(dims)
    for name, size in zip(names, actual, strict=True):
        if name == "*":
            continue
        if name.isdigit():
            if int(name) != size:
                return []
        elif bound.setdefault(name, size) != size:
            return []
    return [bound]


@dataclass(frozen=True)
class ListOf:
    """A list (not a tuple) of items matching `item`, at least `min_len` of them."""

    item: object
    min_len: int = 0

    def match(self, x, dims):
        if not isinstance(x, list) or len(x) < self.min_len:
            return []
        found = [dims]
        for element in x:
            found = [{k: v for k, v in d.items() if not k.startswith("_")}
                     for before in found for d in self.item.match(element, before)]
            if not found:
                return []
        return found

    def describe(self) -> str:
        return f"a list of {self.item.describe()}"


@dataclass(frozen=True)
class Pair:
    """A tuple of two items."""

    first: object
    second: object

    def match(self, x, dims):
        if not isinstance(x, tuple) or len(x) != 2:
            return []
        return [d2 for d1 in self.first.match(x[0], dims) for d2 in self.second.match(x[1], d1)]

    def describe(self) -> str:
        return f"a pair ({self.first.describe()}, {self.second.describe()})"


@dataclass(frozen=True)
class Either:
    options: tuple

    def match(self, x, dims):
        return [d for option in self.options for d in option.match(x, dims)]

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)


def maybe(spec):
    return Either((NONE, spec))


@dataclass(frozen=True)
class Contract:
    """What the text promises: a spec per parameter and relations between them; each
    relation gets the call's arguments by name (defaults filled in) and returns a message
    when it does not hold."""

    params: dict
    relations: tuple = ()


# ---- relations ----------------------------------------------------------------------------


def same_shape(*names):
    def relation(a):
        shapes = {n: np.shape(a[n]) for n in names}
        if len(set(shapes.values())) > 1:
            return f"{' and '.join(names)} must have the same shape, got {shapes}"
        return None
    return relation


def _layers(params) -> list[tuple[int, int]]:
    return [(np.shape(W)[1], np.shape(W)[0]) for W, _ in params]


def network_chain(a):
    """The layers of params connect: W(l) has n_l columns, b(l) matches W(l)'s rows."""
    params = a["params"]
    for l, (W, b) in enumerate(params):
        if np.shape(b) != (np.shape(W)[0],):
            return f"b{l + 1} has shape {np.shape(b)}, W{l + 1} {np.shape(W)}"
    sizes = _layers(params)
    if any(n_out != n_in for (_, n_out), (n_in, _) in zip(sizes, sizes[1:])):
        return f"the layers do not connect: {sizes}"
    return None


def first_layer_takes_x(a):
    if np.shape(a["X"])[-1] != _layers(a["params"])[0][0]:
        return "X's last axis is not W1's number of columns"
    return None


def forward_relation(a):
    return first_layer_takes_x(a) or names_per_layer(a)


def names_per_layer(a):
    names = a["activations"]
    if isinstance(names, list) and len(names) != len(a["params"]):
        return "one activation name per layer"
    return None


def backward_relation(a):
    caches, params = a["caches"], a["params"]
    if len(caches) != len(params):
        return "one cache per layer"
    for (A_prev, Z), (n_in, n_out) in zip(caches, _layers(params)):
        if np.shape(A_prev)[1] != n_in or np.shape(Z)[1] != n_out:
            return "a cache does not match its layer"
    if np.shape(a["dY_hat"]) != np.shape(caches[-1][1]):
        return "dY_hat does not have the shape of the output"
    return names_per_layer(a)


def indices_below(arg, of):
    def relation(a):
        n = np.shape(a[of])[-1]
        if a[arg] is not None and not all(0 <= i < n for i in a[arg]):
            return f"{arg} holds a column index outside 0..{n - 1}"
        return None
    return relation


def truth_table_length(a):
    k = len(a["y"])
    if k < 2 or k & (k - 1):
        return f"a truth table has 2^n entries, got {k}"
    n = k.bit_length() - 1
    if a["inhibitory"] is not None and not all(0 <= i < n for i in a["inhibitory"]):
        return "inhibitory holds a column index outside the n inputs"
    return None


def at_least(arg, minimum, axis=0):
    def relation(a):
        if np.shape(a[arg])[axis] < minimum:
            return f"{arg} has fewer than {minimum} entries along axis {axis}"
        return None
    return relation


def labels_fit(a):
    n = a["n_classes"]
    if n is not None and max(np.max(a["y"], initial=0), np.max(a["y_pred"], initial=0)) >= n:
        return "a label is not below n_classes"
    return None


def binary_labels(a):
    if a["average"] == "binary" and not (np.isin(a["y"], (0, 1)).all()
                                         and np.isin(a["y_pred"], (0, 1)).all()):
        return "average='binary' with labels other than 0 and 1"
    return None


def top_k_relation(a):
    y, P = np.asarray(a["y"]), a["P"]
    if y.ndim == 2 and y.shape != P.shape:
        return "one-hot y must have P's shape"
    if y.ndim == 1 and y.max() >= P.shape[1]:
        return "a label is not a column of P"
    return None


def roc_relation(a):
    y, s = np.asarray(a["y"]), np.asarray(a["scores"])
    classes = [(0, 1)] if s.ndim == 1 or s.shape[1] == 1 else [(k,) for k in range(s.shape[1])]
    if len(classes) == 1 and not np.isin(y, (0, 1)).all():
        return "binary scores with labels other than 0 and 1"
    if len(classes) > 1 and y.max() >= s.shape[1]:
        return "a label is not a column of scores"
    for positive in classes:
        hits = np.isin(y, positive[-1:])
        if hits.all() or not hits.any():
            return "the text lets students assume positives and negatives for every class"
    return None


def targets_fit_task(a):
    """Real targets for regression, 0/1 for binary, one-hot rows for multiclass."""
    y, task = a["y"], a["task"]
    if task == "binary" and not BINARY.test(y):
        return "a binary task's targets are not 0s and 1s"
    if task == "multiclass" and not ONE_HOT.test(y):
        return "a multiclass task's targets are not one-hot rows"
    return None


def valid_axis(a):
    if not -np.ndim(a["z"]) <= a["axis"] < np.ndim(a["z"]):
        return f"axis {a['axis']} is not an axis of z"
    return None


def low_below_high(a):
    return None if a["low"] < a["high"] else "low must be below high"


def not_with_one_input(a):
    return "NOT has exactly one input" if a["name"] == "NOT" and a["n"] != 1 else None


# ---- the promises, exercise by exercise ----------------------------------------------------

ANY = Arr()
LAYER = Pair(Arr(("_o _i",)), Arr(("_o",)))
NETWORK = ListOf(LAYER, min_len=1)
NAMES = Either((NAME, ListOf(NAME, min_len=1)))
POINT = {"w": NUMBER, "b": NUMBER, "X": Arr(("N",)), "Y": Arr(("N",))}
REGRESSION = {"y": Arr(("N", "N K")), "y_hat": Arr(("N", "N K"))}
BINARY_PAIR = {"y": Arr(("N", "N K"), values=BINARY), "p": Arr(("N", "N K"),
                                                               values=PROBABILITIES)}
LOGITS = {"y": Arr(("N K",), values=ONE_HOT), "logits": Arr(("N K",))}
LABEL_PAIR = {"y": Arr(("m",), values=LABELS), "y_pred": Arr(("m",), values=LABELS)}
METRIC = {**LABEL_PAIR, "average": Choice("binary", "macro", "micro", "weighted"),
          "pos_label": Choice(0, 1)}
INIT = {"n_in": Int(1), "n_out": Int(1), "rng": SEED}
Z_ONLY = Contract({"z": ANY})

CONTRACTS = {
    # 00-welcome: "a NumPy array z of any shape"
    "step": Z_ONLY,
    # 01-mp-neuron
    "mp_neuron": Contract(
        {"X": Arr(("m n", "n"), values=BINARY), "theta": NUMBER,
         "inhibitory": maybe(ListOf(Int(0)))}, (indices_below("inhibitory", "X"),)),
    "mp_gate": Contract({"name": Choice("AND", "OR", "NOR", "NOT"), "n": Int(1)},
                        (not_with_one_input,)),
    "mp_thresholds": Contract({"y": Arr(("k",), values=BINARY),
                               "inhibitory": maybe(ListOf(Int(0)))}, (truth_table_length,)),
    # 02-perceptron
    "perceptron_predict": Contract({"X": Arr(("m n", "n")), "w": Arr(("n",)), "b": NUMBER}),
    "perceptron_step": Contract({"x": Arr(("n",)), "y": Choice(0, 1), "w": Arr(("n",)),
                                 "b": NUMBER, "lr": NUMBER}),
    "perceptron_fit": Contract({"X": Arr(("m n",)), "y": Arr(("m",), values=BINARY),
                                "lr": Number(0, low_open=True), "epochs": Int(1),
                                "w": maybe(Arr(("n",))), "b": NUMBER, "rng": SEED}),
    "xor_network": Contract({}),
    # 03-error-surface
    "sigmoid": Z_ONLY,
    "error": Contract(POINT),
    "error_surface": Contract({"X": Arr(("N",)), "Y": Arr(("N",)), "low": NUMBER,
                               "high": NUMBER, "num": Int(2)}, (low_below_high,)),
    "grad_w": Contract(POINT),
    "grad_b": Contract(POINT),
    "gradient_descent": Contract({"X": Arr(("N",)), "Y": Arr(("N",)), "w0": NUMBER,
                                  "b0": NUMBER, "eta": Number(0, low_open=True),
                                  "epochs": Int(0)}),
    # 04-activations: "an array z of any shape"; networks as in lesson 05, X with m >= 1 rows
    **{name: Z_ONLY for name in ("sigmoid_prime", "relu_prime")},
    "softmax": Contract({"z": ANY, "axis": INT}, (valid_axis,)),
    "gradient_sizes": Contract({"X": Arr(("m n0",)), "params": NETWORK,
                                "activation": Choice("sigmoid", "tanh", "relu")},
                               (network_chain, first_layer_takes_x)),
    **{name: Contract({"X": Arr(("m n0",)), "params": NETWORK},
                      (network_chain, first_layer_takes_x, at_least("X", 1)))
       for name in ("dead_units", "revive_dead_units")},
    # 05-forward
    "dense_forward": Contract({"A_prev": Arr(("m n_in", "n_in")), "W": Arr(("n_out n_in",)),
                               "b": Arr(("n_out",)), "activation": NAME}),
    "forward": Contract({"X": Arr(("m n0", "n0")), "params": NETWORK, "activations": NAMES},
                        (network_chain, forward_relation)),
    "count_params": Contract({"sizes": ListOf(Int(1), min_len=2)}),
    "staircase": Contract({"f": CALLABLE, "low": NUMBER, "high": NUMBER, "n": Int(2)},
                          (low_below_high,)),
    "approximate": Contract({"f": CALLABLE, "low": NUMBER, "high": NUMBER,
                             "eps": Number(0, low_open=True)}, (low_below_high,)),
    # 06-backprop
    "output_delta": Contract({"dA": Arr(("m n",)), "Z": Arr(("m n",)), "activation": NAME}),
    "hidden_delta": Contract({"delta_next": Arr(("m n_next",)),
                              "W_next": Arr(("n_next n",)), "Z": Arr(("m n",)),
                              "activation": NAME}),
    "dense_backward": Contract({"dA": Arr(("m n_out",)),
                                "cache": Pair(Arr(("m n_in",)), Arr(("m n_out",))),
                                "W": Arr(("n_out n_in",)), "activation": NAME}),
    "backward": Contract({"dY_hat": Arr(("m n_L",)),
                          "caches": ListOf(Pair(Arr(("m _in",)), Arr(("m _out",))), 1),
                          "params": NETWORK, "activations": NAMES},
                         (network_chain, backward_relation)),
    "numerical_gradient": Contract({"f": CALLABLE, "x": Arr(dtype="float"),
                                    "h": Number(0, low_open=True)}),
    "value_and_grad": Contract({"expr": CALLABLE, "x": Arr(("n",), dtype="float")}),
    # 07-losses
    "huber": Contract({**REGRESSION, "delta": Number(0, low_open=True)},
                      (same_shape("y", "y_hat"),)),
    "bce": Contract(BINARY_PAIR, (same_shape("y", "p"),)),
    **{name: Contract(LOGITS) for name in ("softmax_cross_entropy",
                                           "softmax_cross_entropy_grad")},
    "output_gradient": Contract({"y": Arr(("N K",)), "z": Arr(("N K",)),
                                 "task": Choice("regression", "binary", "multiclass")},
                                (targets_fit_task,)),
    # 08-optimizers
    "minibatches": Contract({"m": Int(1), "batch_size": Int(1), "shuffle": BOOL,
                             "rng": SEED}),
    "sgd_update": Contract({"theta": ANY, "grad": ANY, "eta": NUMBER},
                           (same_shape("theta", "grad"),)),
    "momentum_update": Contract({"theta": ANY, "grad": ANY, "v": ANY, "eta": NUMBER,
                                 "beta": Number(0, 1)}, (same_shape("theta", "grad", "v"),)),
    "rmsprop_update": Contract({"theta": ANY, "grad": ANY, "mu": ANY, "eta": NUMBER,
                                "beta": Number(0, 1), "eps": Number(0),
                                "eps_inside_sqrt": BOOL},
                               (same_shape("theta", "grad", "mu"),)),
    "adam_update": Contract({"theta": ANY, "grad": ANY, "m": ANY, "v": ANY, "t": Int(1),
                             "eta": NUMBER, "beta1": Number(0, 1), "beta2": Number(0, 1),
                             "eps": Number(0), "bias_correction": BOOL},
                            (same_shape("theta", "grad", "m", "v"),)),
    # 09-regularization
    "l2_penalty": Contract({"params": NETWORK, "lam": Number(0)}),
    "l2_grad": Contract({"params": NETWORK, "lam": Number(0)}),
    "dropout_forward": Contract({"A": ANY, "p": Number(0, 1, low_open=True), "rng": SEED,
                                 "inverted": BOOL}),
    "batchnorm_forward": Contract({"Z": Arr(("m n",)), "gamma": Arr(("n",)),
                                   "beta": Arr(("n",)), "eps": Number(0, low_open=True)},
                                  (at_least("Z", 2),)),
    "dropout_backward": Contract({"dA_tilde": ANY, "r": Arr(values=BINARY),
                                  "p": Number(0, 1, low_open=True), "inverted": BOOL},
                                 (same_shape("dA_tilde", "r"),)),
    "batchnorm_backward": Contract({"dY": Arr(("m n",)), "Z": Arr(("m n",)),
                                    "gamma": Arr(("n",)), "eps": Number(0, low_open=True)},
                                   (at_least("Z", 2),)),
    "xavier_init": Contract(INIT),
    "he_init": Contract(INIT),
    # "a list or 1-D array with at least one value"
    "early_stopping_epoch": Contract({"val_losses": Arr(("k",), like=True),
                                      "patience": Int(0), "min_delta": Number(0)},
                                     (at_least("val_losses", 1),)),
    # 10-training
    "confusion_matrix": Contract({**LABEL_PAIR, "n_classes": maybe(Int(1))}, (labels_fit,)),
    "precision": Contract(METRIC, (binary_labels,)),
    "recall": Contract(METRIC, (binary_labels,)),
    "f1": Contract(METRIC, (binary_labels,)),
    "top_k_accuracy": Contract({"y": Either((Arr(("m",), values=LABELS),
                                             Arr(("m K",), values=ONE_HOT))),
                                "P": Arr(("m K",)), "k": Int(1)}, (top_k_relation,)),
    "roc_auc": Contract({"y": Arr(("m",), values=LABELS), "scores": Arr(("m", "m 1", "m K"))},
                        (roc_relation,)),
    "train_digits": Contract({"X": Arr(("m 64",), dtype="float", values=PROBABILITIES),
                              "Y": Arr(("m 10",), dtype="float", values=ONE_HOT),
                              "blocks": BLOCKS, "rng": SEED}),
}


# ---- checking a case against its contract ---------------------------------------------------


def _arguments(exercise, case) -> dict:
    """The case's arguments by parameter name, defaults filled in."""
    signature = inspect.signature(exercise.reference_fn)
    bound = signature.bind(*case.args, **case.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _bind(items, dims) -> dict | None:
    if not items:
        return dims
    (spec, value), rest = items[0], items[1:]
    for found in spec.match(value, dims):
        done = _bind(rest, found)
        if done is not None:
            return done
    return None


def broken_promise(exercise, case) -> str | None:
    """What in `case` the text of `exercise` does not promise, or None."""
    contract = CONTRACTS[exercise.name]
    args = _arguments(exercise, case)
    for name, value in args.items():
        if not contract.params[name].match(value, {}):
            return (f"{name} is {_kind(value)}; the text promises "
                    f"{contract.params[name].describe()}")
    if _bind([(contract.params[n], v) for n, v in args.items()], {}) is None:
        return "the shapes do not fit together: " + ", ".join(
            f"{n} {np.shape(v)}" for n, v in args.items() if isinstance(v, np.ndarray))
    for relation in contract.relations:
        problem = relation(args)
        if problem:
            return problem
    return None


EXERCISES = registry.all_exercises()


def test_every_parameter_of_every_exercise_has_a_written_promise():
    for exercise in EXERCISES:
        assert exercise.name in CONTRACTS, f"{exercise.name}: add its contract to CONTRACTS"
        parameters = list(inspect.signature(exercise.reference_fn).parameters)
        assert list(CONTRACTS[exercise.name].params) == parameters, exercise.name
    assert set(CONTRACTS) == {e.name for e in EXERCISES}


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_every_case_gives_what_the_text_promises(exercise):
    draws = [("public", cases_for(exercise, False))]
    draws += [(f"hidden seed {s}", cases_for(exercise, True, s)) for s in HIDDEN_SEEDS]
    for which, cases in draws:
        for i, case in enumerate(cases):
            if case.raises:  # an input the text says to refuse lies outside the promise
                continue
            problem = broken_promise(exercise, case)
            assert problem is None, f"{exercise.name}, {which} case {i + 1} ({case.note}): " \
                                    f"{problem}"


@pytest.mark.parametrize(("spec", "good", "bad"), [
    (Arr(), np.zeros(3), [0.0, 1.0]),
    (Arr(like=True), [0.5, 1.0], "0.5"),
    (Arr(("m n",)), np.zeros((2, 3)), np.zeros(3)),
    (Arr(dtype="float"), np.zeros(2), np.zeros(2, dtype=int)),
    (Arr(values=BINARY), np.array([0, 1, 1]), np.array([0, 2])),
    (Arr(values=ONE_HOT, shapes=("m K",)), np.eye(3), np.ones((2, 2))),
    (ListOf(INT, min_len=2), [1, 2], (1, 2)),
    (Pair(ANY, ANY), (np.zeros(1), np.zeros(2)), [np.zeros(1), np.zeros(2)]),
    (INT, 3, 3.0),
    (NUMBER, 0.5, True),
    (SEED, np.random.default_rng(0), 0.5),
])
def test_a_spec_tells_a_promised_value_from_another(spec, good, bad):
    assert spec.match(good, {}) and not spec.match(bad, {})


def test_shapes_are_matched_across_the_arguments():
    exercise = registry.get("dense_forward")
    good = registry.Case((np.zeros((4, 3)), np.zeros((2, 3)), np.zeros(2)))
    bad = registry.Case((np.zeros((4, 3)), np.zeros((3, 2)), np.zeros(2)))
    assert broken_promise(exercise, good) is None
    assert "do not fit together" in broken_promise(exercise, bad)
    layers = registry.Case((np.zeros((1, 2)), [(np.zeros((3, 2)), np.zeros(3)),
                                               (np.zeros((1, 4)), np.zeros(1))], "tanh"))
    assert "do not connect" in broken_promise(registry.get("forward"), layers)


def test_a_list_where_the_text_promises_an_array_is_caught():
    """The bug that started this: 00-welcome's public cases passed lists to `step`."""
    problem = broken_promise(registry.get("step"), registry.Case(([-1.0, 2.0],)))
    assert problem == "z is a list; the text promises an ndarray of any shape"


# ---- right answers that rely on the promise ------------------------------------------------

LESSON_TESTS = ("test_lesson00", "test_lessons_01_03", "test_lessons_04_06", "test_lesson07",
                "test_lesson08", "test_lesson09", "test_lesson10")


def _typed() -> dict:
    table = {}
    for module in LESSON_TESTS:
        for name, fn in importlib.import_module(module).TYPED.items():
            assert name not in table, f"{name} has a TYPED answer in two lesson tests"
            table[name] = fn
    return table


TYPED = _typed()
# Exercises that take an array but whose typed answer would be too slow to run here; the
# lesson test named passes a right answer that relies on the arrays.
TYPED_ELSEWHERE = {"train_digits": "test_lesson10.train_digits_own_loop"}


def _promises_an_array(spec) -> bool:
    if isinstance(spec, Arr):
        return not spec.like
    if isinstance(spec, (ListOf,)):
        return _promises_an_array(spec.item)
    if isinstance(spec, Pair):
        return _promises_an_array(spec.first) or _promises_an_array(spec.second)
    if isinstance(spec, Either):
        return any(_promises_an_array(o) for o in spec.options if o is not NONE)
    return False


def test_every_exercise_promised_an_array_has_a_typed_right_answer():
    promised = {name for name, c in CONTRACTS.items()
                if any(_promises_an_array(s) for s in c.params.values())}
    missing = promised - set(TYPED) - set(TYPED_ELSEWHERE)
    assert not missing, f"add a right answer relying on the arrays to TYPED: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(TYPED))
@pytest.mark.parametrize("seed", ["5", "20240607"])
def test_a_right_answer_relying_on_the_promised_types_passes(name, seed, monkeypatch):
    monkeypatch.setenv(SEED_ENV, seed)
    passes(name, TYPED[name])


NUMERICAL = [e for e in EXERCISES if e.tolerance == "numerical"]


@pytest.mark.parametrize("exercise", NUMERICAL, ids=[e.name for e in NUMERICAL])
def test_the_widened_numerical_tolerance_still_fails_every_named_mistake(exercise):
    """"numerical" allows 1e-6 absolute for float32 answers (benchmarks/sweep.py); each
    mistake its exercises name still fails the hidden cases of every seed tried."""
    for seed in range(20):
        cases = cases_for(exercise, True, seed)
        for description, wrong in exercise.mistakes.items():
            report = judge(exercise, cases, [run_case(wrong, c) for c in cases], True)
            assert not report.passed, f"{exercise.name}, seed {seed}: {description}"

# ---- the tolerance sweep, briefly ----------------------------------------------------------


@functools.cache
def _sweep_module():
    spec = importlib.util.spec_from_file_location("sweep", ROOT / "benchmarks" / "sweep.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sweep"] = module  # dataclasses look their module up while it is defined
    spec.loader.exec_module(module)
    return module


def test_the_tolerance_sweep_runs_and_finds_no_failure():
    """10 seeds of every swept exercise with every implementation: the full run
    (`python benchmarks/sweep.py`, 2,000 seeds) is too long for CI."""
    sweep = _sweep_module()
    results = sweep.run(seeds=range(10), jobs=1, progress=False)
    assert {r.name for r in results} == {e.name for e in sweep.swept()}
    failed = [f"{r.name}: {f}" for r in results for f in r.failures]
    assert not failed, "\n".join(failed[:10])
    for r in results:
        assert r.runs == 10 * len(r.implementations) and len(r.implementations) >= 2, r.name
        assert r.worst_used <= 1.0


def test_the_sweep_catches_an_answer_that_is_off_by_more_than_the_tolerance():
    sweep = _sweep_module()
    exercise = registry.get("gradient_descent")
    bumped = lambda *a, **k: exercise.reference_fn(*a, **k) * (1 + 3e-6)  # noqa: E731
    result = sweep.sweep_exercise(exercise, [("bumped", bumped)], range(3))
    assert result.runs == 3 and result.worst_used > 1
    assert {f.split(", case")[0] for f in result.failures} == {f"bumped, seed {s}"
                                                               for s in range(3)}

