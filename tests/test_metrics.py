"""Metrics against scikit-learn on random labels and scores."""

import numpy as np
import pytest
from sklearn import metrics as sk

from nnlib import metrics

SEEDS = [0, 1, 2]


def _classification(seed, K=4, m=200):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, m)
    P = rng.dirichlet(np.ones(K), m)
    return rng, y, P


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracies(seed):
    rng, y, P = _classification(seed)
    y_pred = P.argmax(axis=1)
    assert metrics.accuracy(y, y_pred) == pytest.approx(sk.accuracy_score(y, y_pred))
    assert metrics.sparse_categorical_accuracy(y, P) == pytest.approx(sk.accuracy_score(y, y_pred))
    Y = np.eye(4)[y]
    assert metrics.categorical_accuracy(Y, P) == pytest.approx(sk.accuracy_score(y, y_pred))
    yb, p = rng.integers(0, 2, 150), rng.random(150)
    expected = sk.accuracy_score(yb, p >= 0.5)
    assert metrics.binary_accuracy(yb, p) == pytest.approx(expected)
    assert metrics.binary_accuracy(yb[:, None], p[:, None]) == pytest.approx(expected)
    assert metrics.binary_accuracy(yb, p, threshold=0.8) == pytest.approx(
        sk.accuracy_score(yb, p >= 0.8)
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k(seed, k):
    _, y, P = _classification(seed)
    expected = sk.top_k_accuracy_score(y, P, k=k, labels=range(4))
    assert metrics.top_k_accuracy(y, P, k) == pytest.approx(expected)
    assert metrics.top_k_accuracy(np.eye(4)[y], P, k) == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
def test_precision_recall_f1_multiclass(seed, average):
    rng, y, _ = _classification(seed)
    y_pred = rng.integers(0, 4, len(y))
    for ours, theirs in (
        (metrics.precision, sk.precision_score),
        (metrics.recall, sk.recall_score),
        (metrics.f1, sk.f1_score),
    ):
        assert ours(y, y_pred, average=average) == pytest.approx(
            theirs(y, y_pred, average=average, zero_division=0)
        )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pos_label", [0, 1])
def test_precision_recall_f1_binary(seed, pos_label):
    rng = np.random.default_rng(seed)
    y, y_pred = rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    for ours, theirs in (
        (metrics.precision, sk.precision_score),
        (metrics.recall, sk.recall_score),
        (metrics.f1, sk.f1_score),
    ):
        assert ours(y, y_pred, pos_label=pos_label) == pytest.approx(
            theirs(y, y_pred, pos_label=pos_label)
        )


def test_zero_division_and_binary_errors():
    y, y_pred = np.array([1, 1, 0]), np.zeros(3)
    assert metrics.precision(y, y_pred) == 0.0
    assert metrics.f1(y, y_pred) == 0.0
    with pytest.raises(ValueError, match="binary"):
        metrics.precision([0, 1, 2], [0, 1, 2])
    # a class missing from both y and y_pred does not count in the macro average
    y, y_pred = np.array([0, 2, 2, 0]), np.array([0, 2, 0, 0])
    assert metrics.recall(y, y_pred, average="macro") == pytest.approx(
        sk.recall_score(y, y_pred, average="macro")
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_confusion_matrix(seed):
    rng, y, _ = _classification(seed)
    y_pred = rng.integers(0, 4, len(y))
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y, y_pred), sk.confusion_matrix(y, y_pred)
    )
    C = metrics.confusion_matrix(y[:3], y_pred[:3], n_classes=6)
    assert C.shape == (6, 6) and C.sum() == 3
    with pytest.raises(ValueError, match="n_classes"):
        metrics.confusion_matrix([0, 5], [0, 1], n_classes=3)
    with pytest.raises(ValueError, match="class labels"):
        metrics.confusion_matrix([0.5, 1], [0, 1])


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_auc(seed):
    rng, y, P = _classification(seed)
    yb = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + yb
    assert metrics.roc_auc(yb, s) == pytest.approx(sk.roc_auc_score(yb, s))
    # ties count one half
    s_tied = np.round(s)
    assert metrics.roc_auc(yb, s_tied[:, None]) == pytest.approx(sk.roc_auc_score(yb, s_tied))
    assert metrics.roc_auc(y, P) == pytest.approx(
        sk.roc_auc_score(y, P, multi_class="ovr", average="macro")
    )
    with pytest.raises(ValueError, match="both positive and negative"):
        metrics.roc_auc(np.ones(4), np.arange(4.0))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(50,), (40, 3)])
def test_regression_metrics(seed, shape):
    rng = np.random.default_rng(seed)
    y, y_hat = rng.uniform(0.1, 5.0, shape), rng.uniform(0.1, 5.0, shape)
    assert metrics.mse(y, y_hat) == pytest.approx(sk.mean_squared_error(y, y_hat))
    assert metrics.rmse(y, y_hat) == pytest.approx(np.sqrt(sk.mean_squared_error(y, y_hat)))
    assert metrics.mae(y, y_hat) == pytest.approx(sk.mean_absolute_error(y, y_hat))
    # the slides give MAPE in percent; scikit-learn returns the fraction
    assert metrics.mape(y, y_hat) == pytest.approx(
        100 * sk.mean_absolute_percentage_error(y, y_hat)
    )
    assert metrics.msle(y, y_hat) == pytest.approx(sk.mean_squared_log_error(y, y_hat))


def test_regression_bad_input():
    with pytest.raises(ValueError, match=r"y and y_hat.*\(3,\).*\(2,\)"):
        metrics.mse(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="y == 0"):
        metrics.mape([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="-1"):
        metrics.msle([-2.0], [1.0])


def test_top_k_counts_ties_inside_like_in_top_k():
    # TensorFlow's in_top_k (Keras's TopKCategoricalAccuracy): classes tied with the k-th
    # score are all inside the top k. scikit-learn breaks ties by class position instead.
    P = np.array([[0.4, 0.4, 0.2], [0.45, 0.45, 0.1], [0.5, 0.25, 0.25]])
    y = np.array([1, 0, 2])
    assert metrics.top_k_accuracy(y, P, k=1) == pytest.approx(2 / 3)
    assert metrics.top_k_accuracy(y, P, k=2) == pytest.approx(1.0)
    assert sk.top_k_accuracy_score(y, P, k=1, labels=range(3)) != pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="k must be in 1..3"):
        metrics.top_k_accuracy(y, P, k=4)


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_curve(seed):
    rng = np.random.default_rng(seed)
    yb = np.r_[0, 1, rng.integers(0, 2, 100)]
    s = np.round(rng.normal(size=102) + yb, 1)  # ties between scores
    fpr, tpr, thresholds = metrics.roc_curve(yb, s)
    sk_fpr, sk_tpr, sk_thr = sk.roc_curve(yb, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thresholds[1:], sk_thr[1:])
    assert thresholds[0] == np.inf
    assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.roc_auc(yb, s))
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_curve(np.ones(3), np.arange(3.0))
    with pytest.raises(ValueError, match=r"y and scores.*\(3,\).*\(2,\)"):
        metrics.roc_curve([0, 1, 1], [0.5, 0.2])
