"""Data sets of the course: the two-point fit, truth tables, 2-D toy problems and digits.

Every generator draws from an `rng` argument only, returns float64 inputs `X` of shape
`(m, n_in)` (samples in rows) and labels `y` of shape `(m,)`.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from nnlib._checks import as_array, as_rng
from nnlib.gates import gate, truth_table


def two_points() -> tuple[np.ndarray, np.ndarray]:
    """The two points the sigmoid neuron is fitted to: (0.5, 0.2) and (2.5, 0.9).

    Returns `(X, Y)`, two float arrays of shape `(2,)`.
    """
    return np.array([0.5, 2.5]), np.array([0.2, 0.9])


def boolean(name: str, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The truth table of the gate `name` with n inputs as a data set.

    Returns X, the 2^n input patterns as floats (2^n, n), and y, the gate's output (2^n,).
    """
    X = truth_table(n)
    return X.astype(np.float64), gate(name, X).astype(np.float64)


def one_hot(y, n_classes: int | None = None) -> np.ndarray:
    """Integer labels y (m,) -> one-hot targets Y (m, K), Y_ik = 1 iff y_i = k.

    K = n_classes, or 1 + the largest label.
    """
    y = as_array(y, "y", 1)
    labels = y.astype(np.int64)
    if np.any(labels != y) or np.any(labels < 0):
        raise ValueError(f"y must hold class labels 0, 1, 2, ..., got values like {y[:5]}")
    K = int(labels.max(initial=-1)) + 1 if n_classes is None else int(n_classes)
    if labels.size and labels.max() >= K:
        raise ValueError(f"labels go up to {labels.max()} but n_classes is {K}")
    return np.eye(K)[labels]


def _per_class(n_samples: int, n_classes: int) -> np.ndarray:
    """Split n_samples into n_classes counts that differ by at most one."""
    if n_samples < n_classes or n_classes < 1:
        raise ValueError(f"need n_samples >= n_classes >= 1, got {n_samples} and {n_classes}")
    counts = np.full(n_classes, n_samples // n_classes)
    counts[: n_samples % n_classes] += 1
    return counts


def _labelled(parts, rng, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Stack one (k, 2) point cloud per class, add N(0, noise²) jitter, label by class."""
    X = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), k, dtype=np.float64) for k, p in enumerate(parts)])
    return X + noise * rng.standard_normal(X.shape), y


def blobs(
    n_samples: int = 200,
    centers=3,
    std: float = 1.0,
    n_features: int = 2,
    box=(-10.0, 10.0),
    rng=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: class k is N(c_k, std² I) around its centre c_k.

    centers: an int K (centres drawn uniformly from `box` in each of n_features
    dimensions) or an array (K, n_features) of centres. Returns X (n_samples, n_features)
    and labels y (n_samples,) as floats 0..K−1, grouped by class.
    """
    rng = as_rng(rng)
    if np.ndim(centers) == 0:
        centers = rng.uniform(box[0], box[1], size=(int(centers), n_features))
    centers = as_array(centers, "centers", 2)
    counts = _per_class(n_samples, len(centers))
    parts = [np.broadcast_to(c, (k, centers.shape[1])) for c, k in zip(centers, counts)]
    return _labelled(parts, rng, std)


def moons(n_samples: int = 200, noise: float = 0.1, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: class 0 is (cos t, sin t), class 1 is
    (1 − cos t, 0.5 − sin t), t evenly spaced in [0, π], plus N(0, noise²) jitter."""
    n0, n1 = _per_class(n_samples, 2)
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    parts = [np.c_[np.cos(t0), np.sin(t0)], np.c_[1.0 - np.cos(t1), 0.5 - np.sin(t1)]]
    return _labelled(parts, as_rng(rng), noise)


def circles(
    n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, rng=None
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius `factor` < 1."""
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    n0, n1 = _per_class(n_samples, 2)
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    parts = [np.c_[np.cos(t0), np.sin(t0)], factor * np.c_[np.cos(t1), np.sin(t1)]]
    return _labelled(parts, as_rng(rng), noise)


def spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, rng=None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: arm k at radius r ∈ [0, 1] has angle
    4r + 2πk/K + N(0, noise²), a problem no linear classifier can solve."""
    rng = as_rng(rng)
    parts = []
    for k, m in enumerate(_per_class(n_samples, n_classes)):
        r = np.linspace(0.0, 1.0, m)
        angle = 4.0 * r + 2.0 * np.pi * k / n_classes + noise * rng.standard_normal(m)
        parts.append(np.c_[r * np.sin(angle), r * np.cos(angle)])
    return _labelled(parts, rng, 0.0)


DIGITS = "sklearn.datasets:data/digits.csv.gz"


def package_file(entry: str) -> Path:
    """The file "package.sub:relative/path" inside an installed package, found without
    importing the package (importing scikit-learn takes more than a second)."""
    package, _, relative = entry.partition(":")
    top, *sub = package.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{entry}: the package {top!r} is not installed")
    return Path(spec.submodule_search_locations[0], *sub, relative)


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images, no download).

    Returns X (1797, 64), pixel intensities scaled from 0..16 to [0, 1], and labels
    y (1797,) as floats 0..9. The rows of the bundled file are 64 pixels and the label,
    the very values `sklearn.datasets.load_digits` reads from it.
    """
    with gzip.open(package_file(DIGITS), "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1] / 16.0, data[:, -1]


def train_val_split(X, y, val_fraction: float = 0.2, stratify: bool = True, rng=None):
    """Shuffle and split into training and validation sets.

    With `stratify`, each class contributes round(val_fraction × its count) samples to
    the validation set, so both sets keep the class proportions. X (m, ...) and y (m,).
    Returns `(X_train, X_val, y_train, y_val)`.
    """
    X, y = as_array(X, "X"), as_array(y, "y", 1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has shape {X.shape} but y has shape {y.shape}: sample counts differ")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = as_rng(rng)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    val = []
    for idx in groups:
        idx = rng.permutation(idx)
        val.append(idx[: int(round(val_fraction * len(idx)))])
    val = rng.permutation(np.concatenate(val))
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    return X[train], X[val], y[train], y[val]
