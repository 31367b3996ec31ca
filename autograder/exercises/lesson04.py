"""04-activations: the activation functions and their derivatives.

`sigmoid` itself is registered with lesson 03, which grades it first. Every derivative
takes the convention of nnlib at a kink: the value from the left at z == 0, so
relu_prime(0) == 0, leaky_relu_prime(0) == alpha and elu_prime(0) == alpha.
"""

import numpy as np

from autograder.registry import Case, Exercise, register
from nnlib import activations as act

KINK_VALUES = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])


def _elementwise_hidden(rng, **kwargs):
    """Random vectors and batches, the kink at 0, extremes and an empty batch."""
    return [
        Case((rng.normal(scale=3.0, size=rng.integers(1, 50)),), dict(kwargs), "random inputs"),
        Case((rng.normal(size=(rng.integers(1, 6), rng.integers(1, 6))),), dict(kwargs),
             "a 2-D batch"),
        Case((np.array([0.0, -0.0, 1e-300, -1e-300, 30.0, -30.0]),), dict(kwargs),
             "at and near zero"),
        Case((np.array([-1000.0, -50.0, 50.0, 1000.0]),), dict(kwargs), "extreme inputs"),
        Case((np.zeros(0),), dict(kwargs), "an empty batch"),
    ]


def _public(*extra):
    return [
        Case((KINK_VALUES,), note="negative, zero and positive"),
        Case((np.array([[-1.0, 2.0, -3.0], [0.25, 0.0, -0.25]]),), note="a 2-D array keeps "
             "its shape"),
        *extra,
    ]


def _alpha_hidden(rng):
    return _elementwise_hidden(rng, alpha=float(rng.uniform(0.05, 0.9)))


def _elementwise(name, points=1, hidden=_elementwise_hidden, public_extra=(), **fields):
    register(Exercise(
        name=name,
        lessons=fields.pop("lessons", ("04-activations",)),
        signature=fields.pop("signature", "(z)"),
        reference=f"nnlib.activations.{name}",
        public=lambda: _public(*public_extra),
        hidden=hidden,
        points=points,
        **fields,
    ))


_elementwise(
    "sigmoid_prime",
    uses=("sigmoid",),
    lessons=("04-activations", "06-backprop"),
    mistakes={
        "returns σ(z) where σ′(z) = σ(z)(1 − σ(z)) is expected": act.sigmoid,
        "computes z(1 − z): the formula a(1 − a) needs a = σ(z) first":
            lambda z: np.asarray(z, float) * (1 - np.asarray(z, float)),
    },
)
_elementwise(
    "tanh",
    uses=("sigmoid",),
    mistakes={
        "uses 2σ(z) − 1; the identity is tanh(z) = 2σ(2z) − 1":
            lambda z: 2 * act.sigmoid(z) - 1,
        "returns σ(z) instead of tanh(z)": act.sigmoid,
    },
)
_elementwise(
    "tanh_prime",
    mistakes={
        "computes 1 − z²: square tanh(z), not z": lambda z: 1 - np.asarray(z, float) ** 2,
        "returns tanh(z) instead of its derivative": act.tanh,
    },
)
_elementwise(
    "relu",
    mistakes={
        "takes min(0, z) instead of max(0, z)": lambda z: np.minimum(np.asarray(z, float), 0),
        "returns the step 1[z > 0] instead of max(0, z)": act.relu_prime,
    },
)
_elementwise(
    "relu_prime",
    mistakes={
        "gives 1 at z = 0; the convention here is relu_prime(0) = 0 (use z > 0)":
            lambda z: (np.asarray(z, float) >= 0).astype(float),
        "returns relu(z) instead of its derivative": act.relu,
    },
)
_elementwise(
    "leaky_relu",
    signature="(z, alpha=0.01)",
    hidden=_alpha_hidden,
    public_extra=(Case((KINK_VALUES,), {"alpha": 0.2}, "a different slope alpha"),),
    mistakes={
        "ignores alpha and always uses 0.01": lambda z, alpha=0.01: act.leaky_relu(z),
        "the negative side is 0 (plain ReLU): multiply it by alpha instead":
            lambda z, alpha=0.01: act.relu(z),
    },
)
_elementwise(
    "leaky_relu_prime",
    signature="(z, alpha=0.01)",
    hidden=_alpha_hidden,
    public_extra=(Case((KINK_VALUES,), {"alpha": 0.2}, "a different slope alpha"),),
    mistakes={
        "gives 0 for z <= 0 (the ReLU derivative): the slope there is alpha":
            lambda z, alpha=0.01: act.relu_prime(z),
        "gives 1 at z = 0; the convention here is the left slope alpha (use z > 0)":
            lambda z, alpha=0.01: np.where(np.asarray(z, float) >= 0, 1.0, alpha),
        "ignores alpha and always uses 0.01": lambda z, alpha=0.01: act.leaky_relu_prime(z),
    },
)
_elementwise(
    "elu",
    signature="(z, alpha=1.0)",
    hidden=_alpha_hidden,
    public_extra=(Case((KINK_VALUES,), {"alpha": 0.5}, "a different alpha"),),
    mistakes={
        "computes alpha e^z − 1; the negative branch is alpha (e^z − 1)":
            lambda z, alpha=1.0: np.where(np.asarray(z, float) > 0, z,
                                          alpha * np.exp(np.minimum(z, 0)) - 1),
        "ignores alpha and always uses 1": lambda z, alpha=1.0: act.elu(z),
    },
)
_elementwise(
    "elu_prime",
    signature="(z, alpha=1.0)",
    hidden=_alpha_hidden,
    public_extra=(Case((KINK_VALUES,), {"alpha": 0.5}, "a different alpha"),),
    mistakes={
        "forgets alpha on the negative side: the slope there is alpha e^z":
            lambda z, alpha=1.0: act.elu_prime(z),
        "returns elu(z) instead of its derivative": act.elu,
    },
)


def _softmax_hidden(rng):
    m, n = rng.integers(1, 7), rng.integers(2, 9)
    return [
        Case((rng.normal(scale=3.0, size=(m, n)),), note="a random batch of rows"),
        Case((rng.normal(scale=3.0, size=rng.integers(2, 12)),), note="one vector"),
        Case((rng.normal(size=(n, m)),), {"axis": 0}, "normalise the columns"),
        Case((rng.normal(size=(2, 3, 4)),), {"axis": 1}, "a 3-D array, middle axis"),
        Case((np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -1000.0]]),),
             note="extreme logits"),
    ]


def _softmax_all(z, axis=-1):
    e = np.exp(np.asarray(z, float) - np.max(z))
    return e / e.sum()


register(Exercise(
    name="softmax",
    lessons=("04-activations",),
    signature="(z, axis=-1)",
    reference="nnlib.activations.softmax",
    public=lambda: [
        Case((np.array([1.0, 2.0, 3.0]),), note="one vector"),
        Case((np.array([[0.0, 0.0], [1.0, -1.0], [3.0, 1.0]]),), note="each row separately"),
        Case((np.array([[0.0, 0.0], [1.0, -1.0], [3.0, 1.0]]),), {"axis": 0},
             "along axis 0: each column separately"),
        Case((np.array([1000.0, 1001.0, 999.0]),), note="large logits must not overflow"),
    ],
    hidden=_softmax_hidden,
    points=2,
    mistakes={
        "normalises along the wrong axis: sum with axis=axis and keepdims=True":
            lambda z, axis=-1: act.softmax(z, axis=0 if axis in (-1, np.ndim(z) - 1) else -1),
        "divides by the sum over the whole array, not along the axis": _softmax_all,
    },
))
