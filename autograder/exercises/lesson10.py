"""10-training: classification metrics, and a model trained on the digits.

The metrics follow scikit-learn (rows of the confusion matrix are true labels, zero
division gives 0, the macro average runs over the classes seen in y or y_pred, ROC AUC
counts ties ½ and averages one-vs-rest over the classes); top-k accuracy counts a class
tied with the k-th score as inside the top k, as Keras's and TensorFlow's `in_top_k` do.
Labels may arrive as floats, as `nnlib.datasets.digits()` gives them.

`train_digits` has no unique answer, and the grader trains nothing of its own choosing.
The student's function gets the training rows (X, one-hot Y) and the building blocks of a
training loop, `nnlib.blocks.TrainingBlocks` (init_params, forward, cce_grad, backward,
sgd_update: nnlib's, so a bug in lessons 05-08 costs nothing here), which record every step
of gradient descent. `verify` (`autograder.verifiers.verify_trained`) finds in that record
the chain of steps that ends at the returned parameters and starts at an init_params call,
replays it in the grader's process from the case's rows alone, requires the replay to give
the returned parameters, and measures the replayed network on the rows the case's split
held out. So a model from nnlib's MLP and fit, from another library, loaded, trained in
another cell, or trained on any row that is not one of the given ones, earns nothing, under
any name; held-out rows never enter the kernel (the digits file is `withheld` there). Every
case also disguises the task (`_disguise`: pixels shuffled, classes renamed by a
derangement).
"""

from functools import cache

import numpy as np

from autograder.registry import Case, Exercise, register
from autograder.results import array, number
from autograder.verifiers import verify_trained
from nnlib import metrics
from nnlib.blocks import TrainingBlocks
from nnlib.datasets import DIGITS, digits, one_hot, train_val_split

NO_MATCH = np.array(np.nan)



def _labels(rng, K, m):
    """m labels in 0..K-1 in which every class occurs (m >= K), as floats."""
    y = np.concatenate([np.arange(K), rng.integers(0, K, m - K)])
    return rng.permutation(y).astype(float)


# ---- confusion_matrix -------------------------------------------------------------------

Y6, PRED6 = np.array([0, 1, 2, 2, 1, 0]), np.array([0, 2, 2, 2, 1, 1])


def _confusion_hidden(rng):
    K, m = int(rng.integers(3, 11)), int(rng.integers(12, 80))
    y = _labels(rng, K, m)
    noisy = np.where(rng.random(m) < 0.6, y, rng.integers(0, K, m))
    top = np.array([0.0, 1.0, 2.0, 1.0])
    return [
        Case((y, noisy), note=f"{K} classes, {m} samples"),
        Case((rng.integers(0, 4, 30), rng.integers(0, 4, 30)), note="random int labels"),
        Case((np.array([0.0, 1.0, 2.0, 1.0]), np.array([0.0, 1.0, 2.0, max(K, 4) + 0.0])),
             note="the largest label occurs only in y_pred, after a gap"),
        Case((top, top[::-1]), {"n_classes": int(rng.integers(4, 9))}, "n_classes > labels"),
        Case((np.zeros(0), np.zeros(0)), {"n_classes": 3}, "no samples"),
    ]


def _counts(out, case=None):
    """`project` of confusion_matrix: a list of lists is a mismatch (the result is an array);
    counts held as floats are counts all the same (`np.zeros((K, K))` then `+= 1`), so an
    array whose values are all whole numbers is compared as integers."""
    if (isinstance(out, np.ndarray) and out.dtype.kind in "fb" and np.all(np.isfinite(out))
            and np.all(out == np.round(out))):
        return out.astype(np.int64)
    return array(out)


def _rates_mistake(y, y_pred, n_classes=None):
    """The row-normalised matrix, or NO_MATCH where every rate is 0 or 1 (as counts)."""
    rates = _row_rates(metrics.confusion_matrix(y, y_pred, n_classes))
    return NO_MATCH if np.all(rates == np.round(rates)) else rates


register(Exercise(
    name="confusion_matrix",
    lessons=("10-training",),
    signature="(y, y_pred, n_classes=None)",
    reference="nnlib.metrics.confusion_matrix",
    public=lambda: [
        Case((Y6, PRED6), note="3 classes: rows are true labels, columns predictions"),
        Case((np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 3.0, 1.0, 2.0])),
             note="float labels; class 3 is only predicted, so C is 4 x 4"),
        Case((np.array([1, 0, 1]), np.array([1, 1, 1])), {"n_classes": 4}, "n_classes=4"),
    ],
    hidden=_confusion_hidden,
    tolerance="exact",
    points=2,
    project=_counts,
    mistakes={
        "the matrix is transposed: row i must count the samples whose TRUE label is i":
            lambda y, y_pred, n_classes=None: metrics.confusion_matrix(
                y_pred, y, n_classes),
        "the rows are normalised; count the samples instead":
            _rates_mistake,
    },
))


def _row_rates(C):
    return C / np.maximum(C.sum(axis=1, keepdims=True), 1)


# ---- precision, recall, f1 ----------------------------------------------------------------

Y_BIN = np.array([1, 1, 0, 1, 0, 0, 1, 0])
PRED_BIN = np.array([1, 0, 0, 1, 1, 1, 1, 0])          # TP 3, FP 2, FN 1
Y_MULTI = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0])
PRED_MULTI = np.array([0.0, 1.0, 1.0, 1.0, 2.0, 0.0, 2.0, 1.0])


def _prf_public():
    return [
        Case((Y_BIN, PRED_BIN), note="binary: 3 true positives, 2 false positives, 1 miss"),
        Case((Y_BIN, PRED_BIN), {"pos_label": 0}, "binary with class 0 as the positive"),
        Case((Y_MULTI, PRED_MULTI), {"average": "macro"}, "3 classes, macro average"),
        Case((Y_MULTI, PRED_MULTI), {"average": "micro"}, "3 classes, micro average"),
        Case((Y_MULTI, PRED_MULTI), {"average": "weighted"}, "3 classes, weighted average"),
        Case((np.array([0, 0, 3, 3, 4]), np.array([0, 3, 3, 3, 3])), {"average": "macro"},
             "classes 1 and 2 occur nowhere; class 4 is never predicted"),
    ]


def _prf_hidden(rng):
    cases = []
    for average in ("macro", "micro", "weighted", "macro"):
        K, m = int(rng.integers(3, 9)), int(rng.integers(10, 60))
        y = _labels(rng, K, m)
        y_pred = np.where(rng.random(m) < 0.5, y, rng.integers(0, K, m))
        cases.append(Case((y, y_pred), {"average": average}, f"{K} classes, {average}"))
    yb = rng.integers(0, 2, int(rng.integers(10, 50)))
    pb = np.where(rng.random(len(yb)) < 0.7, yb, 1 - yb)
    cases.append(Case((yb, pb), note="binary"))
    cases.append(Case((yb, pb), {"pos_label": 0}, "binary, pos_label=0"))
    cases.append(Case((np.array([1.0, 1.0, 0.0]), np.zeros(3)), note="nothing predicted positive"))
    gap = np.array([0, 5, 5, 2, 0, 5])
    cases.append(Case((gap, np.array([5, 5, 0, 2, 0, 3])), {"average": "macro"},
                      "labels with gaps; class 3 occurs only in y_pred"))
    return cases


def _metric(name):
    return getattr(metrics, name)


def _macro_over_all(name):
    """Macro average over every class 0..K-1, K = 1 + the largest label."""

    def wrong(y, y_pred, average="binary", pos_label=1):
        if average != "macro":
            return _metric(name)(y, y_pred, average, pos_label)
        y, y_pred = np.asarray(y, int), np.asarray(y_pred, int)
        K = int(max(y.max(), y_pred.max())) + 1
        return float(np.mean([_metric(name)(y == k, y_pred == k) for k in range(K)]))

    return wrong


def _ignoring_pos_label(name):
    return lambda y, y_pred, average="binary", pos_label=1: _metric(name)(
        y, y_pred, average, 1)


def _prf_mistakes(name, other):
    return {
        f"precision and recall are swapped: this is the {other}": _metric(other),
        "macro and micro are mixed up: macro is the plain mean of the per-class values, "
        "micro pools the counts of all classes": _swap_micro_macro(name),
        "the macro average includes classes that occur in neither y nor y_pred":
            _macro_over_all(name),
        "pos_label is ignored": _ignoring_pos_label(name),
    }


def _swap_micro_macro(name):
    swap = {"micro": "macro", "macro": "micro"}

    def wrong(y, y_pred, average="binary", pos_label=1):
        return _metric(name)(y, y_pred, swap.get(average, average), pos_label)

    return wrong


for _name, _other, _points in (("precision", "recall", 1), ("recall", "precision", 1)):
    register(Exercise(
        name=_name,
        lessons=("10-training",),
        uses=("confusion_matrix",),
        signature='(y, y_pred, average="binary", pos_label=1)',
        reference=f"nnlib.metrics.{_name}",
        public=_prf_public,
        hidden=_prf_hidden,
        points=_points,
        project=number,
        mistakes=_prf_mistakes(_name, _other),
    ))


def _f1_of_averages(y, y_pred, average="binary", pos_label=1):
    p = metrics.precision(y, y_pred, average, pos_label)
    r = metrics.recall(y, y_pred, average, pos_label)
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


register(Exercise(
    name="f1",
    uses=("confusion_matrix", "precision", "recall"),
    lessons=("10-training",),
    signature='(y, y_pred, average="binary", pos_label=1)',
    reference="nnlib.metrics.f1",
    public=_prf_public,
    hidden=_prf_hidden,
    points=1,
    project=number,
    mistakes={
        "the harmonic mean of the averaged precision and recall; average the per-class F1 "
        "scores instead": _f1_of_averages,
        "the arithmetic mean (P + R) / 2 instead of the harmonic mean 2PR / (P + R)":
            lambda y, y_pred, average="binary", pos_label=1: (metrics.precision(
                y, y_pred, average, pos_label) + metrics.recall(y, y_pred, average,
                                                                pos_label)) / 2,
        "macro and micro are mixed up: macro is the plain mean of the per-class values, "
        "micro pools the counts of all classes": _swap_micro_macro("f1"),
        "the macro average includes classes that occur in neither y nor y_pred":
            _macro_over_all("f1"),
    },
))


# ---- top_k_accuracy ---------------------------------------------------------------------

P_TOPK = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
Y_TOPK = np.array([0, 2, 1, 0])
P_TIES = np.array([[0.4, 0.4, 0.2], [0.25, 0.25, 0.25], [0.5, 0.25, 0.25], [0.45, 0.45, 0.1]])


def _true_scores(y, P):
    y = np.asarray(y, float)
    y = y.argmax(axis=1) if y.ndim == 2 else y.astype(int)
    P = np.asarray(P, float)
    return P, P[np.arange(len(y)), y][:, None], y


def _top_k_pessimistic(y, P, k=5):
    P, s, _ = _true_scores(y, P)
    return float(np.mean(np.sum(P >= s, axis=1) <= k))


def _top_k_by_position(y, P, k=5):
    P, _, y = _true_scores(y, P)
    top = np.argsort(-P, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == y[:, None], axis=1)))


def _bottom_k(y, P, k=5):
    P, _, y = _true_scores(y, P)
    return float(np.mean(np.any(np.argsort(P, axis=1)[:, :k] == y[:, None], axis=1)))


def _top_k_hidden(rng):
    K, m = int(rng.integers(4, 11)), int(rng.integers(20, 80))
    y = _labels(rng, K, m)
    P = rng.dirichlet(np.ones(K), m)
    tied = np.round(P * 4) / 4
    return [
        Case((y, P), {"k": int(rng.integers(1, K))}, f"{K} classes"),
        Case((y, tied), {"k": 1}, "many ties, k = 1"),
        Case((y, tied), {"k": int(rng.integers(2, K))}, "many ties"),
        Case((one_hot(y, K), P), {"k": 2}, "one-hot targets"),
        Case((y, P), {"k": K}, "k = K: every sample counts"),
        Case((y[:1], P[:1]), {"k": 1}, "a single sample"),
        Case((_labels(rng, 6, m), rng.dirichlet(np.ones(6), m)),
             note="6 classes, k left at its default, 5"),
    ]


register(Exercise(
    name="top_k_accuracy",
    lessons=("10-training",),
    signature="(y, P, k=5)",
    reference="nnlib.metrics.top_k_accuracy",
    public=lambda: [
        Case((Y_TOPK, P_TOPK), {"k": 1}, "k = 1 is plain accuracy when nothing ties"),
        Case((Y_TOPK, P_TOPK), {"k": 2}, "k = 2"),
        Case((np.array([1.0, 2.0, 1.0, 0.0]), P_TIES), {"k": 1},
             "ties with the k-th score count as inside the top k"),
        Case((np.eye(3)[Y_TOPK], P_TOPK), {"k": 2}, "one-hot targets"),
    ],
    hidden=_top_k_hidden,
    points=1,
    project=number,
    mistakes={
        "a tie with the k-th score is counted as outside the top k; count a sample when "
        "fewer than k classes score strictly higher": _top_k_pessimistic,
        "ties are broken by class position (argsort); count a sample when fewer than k "
        "classes score strictly higher": _top_k_by_position,
        "takes the k LOWEST scores (argsort sorts ascending)": _bottom_k,
    },
))


# ---- roc_auc ------------------------------------------------------------------------------


def _auc_hard(y, scores):
    """The mistake: AUC of hard predictions (argmax / score >= 0.5) instead of the scores."""
    scores = np.asarray(scores, float)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return metrics.roc_auc(y, one_hot(scores.argmax(axis=1), scores.shape[1]))
    return metrics.roc_auc(y, (scores.reshape(-1) >= 0.5).astype(float))


def _auc_strict(y, scores):
    """Ties between a positive and a negative count 0 instead of 1/2."""
    y, scores = np.asarray(y, int), np.asarray(scores, float)
    columns = [scores.reshape(-1)] if scores.ndim == 1 or scores.shape[1] == 1 else scores.T
    targets = [y == 1] if len(columns) == 1 else [y == k for k in range(len(columns))]
    return float(np.mean([np.mean(s[t][:, None] > s[~t][None, :])
                          for s, t in zip(columns, targets)]))


def _auc_weighted(y, scores):
    scores = np.asarray(scores, float)
    if scores.ndim == 1 or scores.shape[1] == 1:
        return metrics.roc_auc(y, scores)
    y = np.asarray(y, int)
    aucs = [metrics.roc_auc(y == k, scores[:, k]) for k in range(scores.shape[1])]
    return float(np.bincount(y, minlength=scores.shape[1]) @ aucs / len(y))


def _roc_hidden(rng):
    m = int(rng.integers(20, 80))
    yb = np.concatenate([[0, 1], rng.integers(0, 2, m - 2)])
    s = rng.normal(size=m) + 1.2 * yb
    K, n = int(rng.integers(3, 8)), int(rng.integers(30, 90))
    y = _labels(rng, K, n)
    P = rng.dirichlet(np.ones(K), n)
    P[np.arange(n), y.astype(int)] += rng.uniform(0, 0.6, n)
    P /= P.sum(axis=1, keepdims=True)
    return [
        Case((yb, s), note="binary, scores of any sign"),
        Case((yb, np.round(s)), note="binary, many ties"),
        Case((yb, s[:, None] * 0.1 + 0.5), note="binary, scores as a column"),
        Case((y, P), note=f"{K} classes, one-vs-rest"),
        Case((y, np.round(P, 1)), note=f"{K} classes with ties"),
    ]


register(Exercise(
    name="roc_auc",
    lessons=("10-training",),
    signature="(y, scores)",
    reference="nnlib.metrics.roc_auc",
    public=lambda: [
        Case((np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])),
             note="one negative outscores one positive: AUC 3/4"),
        Case((np.array([0, 1, 0, 1, 1, 0]), np.array([0.2, 0.6, 0.6, 0.9, 0.3, 0.1])),
             note="a positive and a negative tie: the pair counts 1/2"),
        Case((np.array([0.0, 1.0, 2.0, 2.0, 1.0, 0.0]),
              np.array([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.2, 0.6],
                        [0.1, 0.5, 0.4], [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])),
             note="3 classes: the mean of the one-vs-rest AUCs"),
        Case((np.array([1, 0, 1, 0, 1]), np.array([[0.9], [0.4], [0.3], [0.2], [0.45]])),
             note="binary scores as an (m, 1) column"),
    ],
    hidden=_roc_hidden,
    points=2,
    project=number,
    mistakes={
        "computed from hard predictions (argmax or score >= 0.5); AUC needs the scores, "
        "it measures how well they rank positives above negatives": _auc_hard,
        "a tie between a positive and a negative counts 0; it counts 1/2": _auc_strict,
        "the one-vs-rest AUCs are weighted by class size; take their plain mean":
            _auc_weighted,
    },
))


# ---- train_digits ------------------------------------------------------------------------


@cache
def _split(seed: int):
    X, y = digits()
    return train_val_split(X, y, val_fraction=0.2, rng=seed)


def _disguise(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, perm): the secret form of a case's task. Column j of the rows the student
    gets is pixel `pixels[j]`, and the samples of digit d are labelled `perm[d]`, a
    derangement (no digit keeps its label).

    Neither secret changes anything for a network trained on the data it gets: its first
    layer treats the 64 inputs alike, its ten outputs likewise, and every class keeps its
    samples. They keep the rows the student gets from being looked up in the public data
    set by their usual order and names.
    """
    rng = np.random.default_rng([seed, 10])
    while True:
        perm = rng.permutation(10)
        if np.all(perm != np.arange(10)):
            return rng.permutation(64), perm


@cache
def _task(seed: int):
    """(X_train, X_val, Y_train, y_val): the split of `seed` in the disguise of `seed`, with
    one-hot training targets and held-out labels."""
    X_train, X_val, y_train, y_val = _split(seed)
    pixels, perm = _disguise(seed)
    return (X_train[:, pixels], X_val[:, pixels], one_hot(perm[y_train.astype(int)], 10),
            perm[y_val.astype(int)])


def _digits_case(seed: int, note: str) -> Case:
    X_train, _, Y_train, _ = _task(seed)
    return Case((X_train, Y_train, TrainingBlocks(X_train, Y_train, seed)), {"rng": seed},
                note)


register(Exercise(
    name="train_digits",
    lessons=("10-training",),
    signature="(X, Y, blocks, rng=None)",
    reference="nnlib.train.train_digits",
    public=lambda: [_digits_case(0, "the 80/20 split of seed 0, in the disguise of seed 0")],
    hidden=lambda rng: [_digits_case(int(rng.integers(1, 2**31)),
                                     "another 80/20 split, in another disguise")],
    points=5,
    verify=verify_trained(_task),
    pure=True,
    reseed=False,  # a second and a third training would triple its seconds
    # The held-out rows are rows of this file: the student's kernel must not read them.
    withheld=(DIGITS,),
))
