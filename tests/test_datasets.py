"""Data sets: the two points, truth tables, toy problems from rng, digits, the split."""

import numpy as np
import pytest

from nnlib import datasets
from nnlib.gates import gate, truth_table


def test_two_points():
    X, Y = datasets.two_points()
    np.testing.assert_array_equal(X, [0.5, 2.5])
    np.testing.assert_array_equal(Y, [0.2, 0.9])
    assert X.dtype == Y.dtype == np.float64


@pytest.mark.parametrize("name, n", [("AND", 2), ("XOR", 3), ("NOT", 1)])
def test_boolean_is_the_gate_truth_table(name, n):
    X, y = datasets.boolean(name, n)
    np.testing.assert_array_equal(X, truth_table(n))
    np.testing.assert_array_equal(y, gate(name, truth_table(n)))
    assert X.dtype == y.dtype == np.float64


@pytest.mark.parametrize(
    "make", [datasets.blobs, datasets.moons, datasets.circles, datasets.spirals]
)
def test_generators_are_reproducible_and_balanced(make):
    X1, y1 = make(n_samples=101, rng=7)
    X2, y2 = make(n_samples=101, rng=np.random.default_rng(7))
    X3, _ = make(n_samples=101, rng=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert X1.shape == (101, 2) and y1.shape == (101,)
    counts = np.bincount(y1.astype(int))
    assert counts.max() - counts.min() <= 1


def test_shapes_of_the_toy_problems():
    X, y = datasets.moons(200, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    X, y = datasets.circles(100, noise=0.0, factor=0.3)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.3)
    X, y = datasets.spirals(300, n_classes=3, noise=0.0)
    assert np.hypot(*X.T).max() == pytest.approx(1.0) and set(y) == {0.0, 1.0, 2.0}
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    X, y = datasets.blobs(400, centers=centers, std=0.5, rng=0)
    for k, c in enumerate(centers):
        np.testing.assert_allclose(X[y == k].mean(axis=0), c, atol=0.1)
        assert X[y == k].std() == pytest.approx(0.5, rel=0.1)
    X, _ = datasets.blobs(30, centers=4, n_features=5, rng=0)
    assert X.shape == (30, 5)
    with pytest.raises(ValueError, match="factor"):
        datasets.circles(factor=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        datasets.spirals(2, n_classes=3)


def test_digits_is_the_bundled_set():
    from sklearn.datasets import load_digits

    X, y = datasets.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == y.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    bundled = load_digits()
    np.testing.assert_array_equal(X, bundled.data / 16.0)
    np.testing.assert_array_equal(y, bundled.target)


def test_a_package_file_is_found_without_importing_the_package():
    import subprocess
    import sys

    code = ("import sys; from nnlib.datasets import DIGITS, package_file; "
            "print(package_file(DIGITS).is_file(), 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "False"]
    with pytest.raises(FileNotFoundError, match="not installed"):
        datasets.package_file("no_such_package_here:data.csv")


def test_one_hot():
    np.testing.assert_array_equal(datasets.one_hot([2, 0, 1]), np.eye(3)[[2, 0, 1]])
    assert datasets.one_hot([0, 1], n_classes=4).shape == (2, 4)
    with pytest.raises(ValueError, match="n_classes"):
        datasets.one_hot([0, 5], n_classes=3)
    with pytest.raises(ValueError, match="class labels"):
        datasets.one_hot([0.5])


def test_stratified_split():
    rng = np.random.default_rng(0)
    y = np.repeat([0.0, 1.0, 2.0], [100, 50, 250])
    X = np.c_[np.arange(400.0), y]
    X_tr, X_val, y_tr, y_val = datasets.train_val_split(X, y, val_fraction=0.2, rng=rng)
    np.testing.assert_array_equal(np.bincount(y_val.astype(int)), [20, 10, 50])
    np.testing.assert_array_equal(np.bincount(y_tr.astype(int)), [80, 40, 200])
    # rows stay with their labels, and every sample lands in exactly one set
    np.testing.assert_array_equal(X_tr[:, 1], y_tr)
    np.testing.assert_array_equal(np.sort(np.r_[X_tr[:, 0], X_val[:, 0]]), np.arange(400.0))
    again = datasets.train_val_split(X, y, val_fraction=0.2, rng=0)
    np.testing.assert_array_equal(again[1], datasets.train_val_split(X, y, 0.2, rng=0)[1])
    plain = datasets.train_val_split(X, y, val_fraction=0.25, stratify=False, rng=1)
    assert len(plain[1]) == 100
    with pytest.raises(ValueError, match="sample counts differ"):
        datasets.train_val_split(X, y[:10])
    with pytest.raises(ValueError, match="val_fraction"):
        datasets.train_val_split(X, y, val_fraction=1.0)
