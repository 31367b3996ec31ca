"""Evaluation metrics: accuracy family, precision/recall/F1, confusion matrix, ROC AUC, regression.

Classification labels are integers 0..K−1 of shape (m,); scores or probabilities are
(m, K) (or (m,) / (m, 1) for a binary problem). Every metric returns a Python float
(the confusion matrix an int array).

The regression metrics average over every element, like scikit-learn's and Keras's
metrics with several outputs. `nnlib.losses.mse` instead sums over the outputs of a
sample before averaging over samples; the two agree for one output.
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import as_array, same_shape


def _labels(y, name: str) -> np.ndarray:
    y = as_array(y, name, 1)
    if not np.all(y == np.round(y)) or np.any(y < 0):
        raise ValueError(f"{name} must hold class labels 0, 1, 2, ..., got values like {y[:5]}")
    return y.astype(np.int64)


def _label_pair(y, y_pred):
    y, y_pred = _labels(y, "y"), _labels(y_pred, "y_pred")
    same_shape(y, y_pred, "y", "y_pred")
    return y, y_pred


def _scores(y, P, name: str = "P") -> np.ndarray:
    """Check P (m, K) against labels y (m,)."""
    P = as_array(P, name, 2)
    if P.shape[0] != y.shape[0]:
        raise ValueError(f"y has {y.shape[0]} samples but {name} has shape {P.shape}")
    return P


def accuracy(y, y_pred) -> float:
    """Fraction of predictions equal to the labels: (1/m) Σ_i [ŷ_i = y_i]; any equal shapes."""
    y, y_pred = as_array(y, "y"), as_array(y_pred, "y_pred")
    same_shape(y, y_pred, "y", "y_pred")
    return float(np.mean(y == y_pred))


def binary_accuracy(y, p, threshold: float = 0.5) -> float:
    """Accuracy of 0/1 labels y against probabilities p: ŷ = 1 where p ≥ threshold.

    y and p of shape (m,) or (m, 1).
    """
    y, p = as_array(y, "y", (1, 2)), as_array(p, "p", (1, 2))
    return accuracy(y.reshape(-1), (p.reshape(-1) >= threshold).astype(np.float64))


def sparse_categorical_accuracy(y, P) -> float:
    """Accuracy of integer labels y (m,) against class scores P (m, K): ŷ = argmax_k P_ik."""
    y = _labels(y, "y")
    return accuracy(y, _scores(y, P).argmax(axis=1))


def categorical_accuracy(Y, P) -> float:
    """Accuracy of one-hot targets Y (m, K) against class scores P (m, K): argmax matches."""
    Y, P = as_array(Y, "Y", 2), as_array(P, "P", 2)
    same_shape(Y, P, "Y", "P")
    return accuracy(Y.argmax(axis=1), P.argmax(axis=1))


def top_k_accuracy(y, P, k: int = 5) -> float:
    """Fraction of samples whose true class is among the k highest scores of P (m, K).

    y: integer labels (m,) or one-hot targets (m, K).
    """
    y = as_array(y, "y", (1, 2))
    y = y.argmax(axis=1) if y.ndim == 2 else _labels(y, "y")
    P = _scores(y, P)
    if not 1 <= k <= P.shape[1]:
        raise ValueError(f"k must be in 1..{P.shape[1]} for P of shape {P.shape}, got {k}")
    true_score = P[np.arange(len(y)), y]
    # A class is in the top k when fewer than k classes score strictly higher.
    return float(np.mean(np.sum(P > true_score[:, None], axis=1) < k))


def confusion_matrix(y, y_pred, n_classes: int | None = None) -> np.ndarray:
    """C (K, K) with C_ij = number of samples of true class i predicted as class j.

    K = n_classes, or 1 + the largest label seen.
    """
    y, y_pred = _label_pair(y, y_pred)
    K = int(max(y.max(initial=-1), y_pred.max(initial=-1)) + 1) if n_classes is None else n_classes
    if y.size and max(y.max(), y_pred.max()) >= K:
        raise ValueError(f"labels must be below n_classes={K}")
    C = np.zeros((K, K), dtype=np.int64)
    np.add.at(C, (y, y_pred), 1)
    return C


def _per_class_counts(y, y_pred, n_classes=None):
    """True positives, predicted positives and actual positives per class (from C)."""
    C = confusion_matrix(y, y_pred, n_classes)
    return np.diag(C).astype(np.float64), C.sum(axis=0), C.sum(axis=1)


def _ratio(num, den):
    """num / den elementwise, 0 where den = 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def _precision_recall_f1(y, y_pred, average: str, pos_label: int):
    y, y_pred = _label_pair(y, y_pred)
    binary = average == "binary"
    top = max(y.max(initial=0), y_pred.max(initial=0))
    if binary and (top > 1 or pos_label not in (0, 1)):
        raise ValueError(
            f"average='binary' needs 0/1 labels and pos_label 0 or 1, got labels up to {top} "
            f"and pos_label={pos_label}; use average='macro', 'micro' or 'weighted'"
        )
    tp, pred_pos, true_pos = _per_class_counts(y, y_pred, 2 if binary else None)
    if average == "micro":
        tp, pred_pos, true_pos = tp.sum(), pred_pos.sum(), true_pos.sum()
    elif binary:
        tp, pred_pos, true_pos = tp[pos_label], pred_pos[pos_label], true_pos[pos_label]
    elif average not in ("macro", "weighted"):
        raise ValueError(
            f"average must be 'binary', 'micro', 'macro' or 'weighted', got {average!r}"
        )
    p, r = _ratio(tp, pred_pos), _ratio(tp, true_pos)
    f1 = _ratio(2 * p * r, p + r)
    if average == "macro":
        # classes that appear in neither y nor y_pred do not count, as in scikit-learn
        seen = (pred_pos + true_pos) > 0
        return p[seen].mean(), r[seen].mean(), f1[seen].mean()
    if average == "weighted":
        w = true_pos / true_pos.sum()
        return w @ p, w @ r, w @ f1
    return p, r, f1


def precision(y, y_pred, average: str = "binary", pos_label: int = 1) -> float:
    """Precision TP / (TP + FP): the fraction of predicted positives that are positive.

    average: "binary" (class `pos_label` only), "micro" (counts pooled over classes),
    "macro" (unweighted mean over classes) or "weighted" (mean weighted by class size).
    0 where there are no predicted positives.
    """
    return float(_precision_recall_f1(y, y_pred, average, pos_label)[0])


def recall(y, y_pred, average: str = "binary", pos_label: int = 1) -> float:
    """Recall TP / (TP + FN): the fraction of actual positives found; `average` as precision."""
    return float(_precision_recall_f1(y, y_pred, average, pos_label)[1])


def f1(y, y_pred, average: str = "binary", pos_label: int = 1) -> float:
    """F1 = 2 P R / (P + R), the harmonic mean of precision and recall; `average` as precision."""
    return float(_precision_recall_f1(y, y_pred, average, pos_label)[2])


def _average_ranks(s: np.ndarray) -> np.ndarray:
    """Ranks 1..m of s, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts
    return (first + (counts + 1) / 2.0)[inverse]


def _binary_auc(y, s) -> float:
    """AUC = P(score of a random positive > score of a random negative), ties counting 1/2,
    computed from ranks (Mann–Whitney U): (Σ ranks of positives − n₊(n₊+1)/2) / (n₊ n₋)."""
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both positive and negative samples in y")
    rank_sum = _average_ranks(s)[y == 1].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(y, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of 0/1 labels y (m,) against scores (m,): one point per threshold.

    Predicting positive where score ≥ θ gives TPR(θ) = TP / (TP + FN) and
    FPR(θ) = FP / (FP + TN). Returns (fpr, tpr, thresholds), the thresholds being every
    distinct score from the highest down, preceded by +inf (the point (0, 0)); the curve
    ends at (1, 1). Its area by the trapezoid rule equals `roc_auc(y, scores)`.
    """
    y = _labels(y, "y")
    s = as_array(scores, "scores", 1)
    same_shape(y, s, "y", "scores")
    if y.max(initial=0) > 1 or np.unique(y).size < 2:
        raise ValueError("the ROC curve needs 0/1 labels with both classes present in y")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tp, fp = np.cumsum(y)[last], (last + 1) - np.cumsum(y)[last]
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    return fpr, tpr, np.r_[np.inf, s[last]]


def roc_auc(y, scores) -> float:
    """Area under the ROC curve.

    Binary: y 0/1 (m,), scores (m,) or (m, 1), higher meaning "more positive".
    Multi-class: y labels (m,), scores (m, K): the mean over classes of the one-vs-rest AUC.
    """
    y = _labels(y, "y")
    scores = as_array(scores, "scores", (1, 2))
    if scores.shape[0] != y.shape[0]:
        raise ValueError(f"y has {y.shape[0]} samples but scores has shape {scores.shape}")
    if scores.ndim == 1 or scores.shape[1] == 1:
        if y.max(initial=0) > 1:
            raise ValueError("binary ROC AUC needs 0/1 labels; give one score column per class")
        return _binary_auc(y, scores.reshape(-1))
    return float(np.mean([_binary_auc(y == k, scores[:, k]) for k in range(scores.shape[1])]))


def _regression_pair(y, y_hat):
    y, y_hat = as_array(y, "y"), as_array(y_hat, "y_hat")
    same_shape(y, y_hat, "y", "y_hat")
    return y, y_hat


def mse(y, y_hat) -> float:
    """Mean squared error (1/n) Σ (y − ŷ)² over all n elements."""
    y, y_hat = _regression_pair(y, y_hat)
    return float(np.mean((y - y_hat) ** 2))


def rmse(y, y_hat) -> float:
    """Root mean squared error √MSE."""
    return float(np.sqrt(mse(y, y_hat)))


def mae(y, y_hat) -> float:
    """Mean absolute error (1/n) Σ |y − ŷ| over all n elements."""
    y, y_hat = _regression_pair(y, y_hat)
    return float(np.mean(np.abs(y - y_hat)))


def mape(y, y_hat) -> float:
    """Mean absolute percentage error, in percent as in the slides: (100/n) Σ |y − ŷ| / |y|.

    scikit-learn returns the fraction (no factor 100) and guards y = 0 with a tiny ε;
    here y = 0 raises ValueError.
    """
    y, y_hat = _regression_pair(y, y_hat)
    if np.any(y == 0):
        raise ValueError("mape is undefined where y == 0")
    return float(100.0 * np.mean(np.abs(y - y_hat) / np.abs(y)))


def msle(y, y_hat) -> float:
    """Mean squared logarithmic error (1/n) Σ (ln(1 + y) − ln(1 + ŷ))², for y, ŷ > −1."""
    y, y_hat = _regression_pair(y, y_hat)
    if np.any(y <= -1) or np.any(y_hat <= -1):
        raise ValueError("msle needs y > -1 and y_hat > -1")
    return float(np.mean((np.log1p(y) - np.log1p(y_hat)) ** 2))
