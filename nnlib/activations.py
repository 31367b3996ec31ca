"""Activation functions a = f(z) and their derivatives f'(z).

Every function works elementwise on an array `z` of any shape and returns a float64 array of
the same shape, except `softmax` (normalises along one axis), `softmax_prime` (a Jacobian
per row) and `maxout` (shrinks the last axis by the group size k). The derivative of `name`
is `name_prime`, with the same extra parameters. At a kink the derivative takes the value
from the right for `z > 0` and from the left at `z == 0`, so `relu_prime(0) == 0`.

All functions are stable for inputs as large as +-1000: no overflow, no NaN, no warning
(results that are smaller than the smallest float64 underflow quietly to 0).
"""

from __future__ import annotations

import math

import numpy as np

from nnlib._checks import as_array, same_shape

SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717

_SQRT_PI = math.sqrt(math.pi)
_ERF_SPLIT = 2.0
_ERF_TERMS = 32
_ERFC_DEPTH = 64
# Maclaurin coefficients of erf(x) sqrt(pi) / (2 x) in x^2, highest power first for Horner:
# c_k = (-1)^k / (k! (2k+1)).
_ERF_TAYLOR = tuple(
    (-1) ** k / (math.factorial(k) * (2 * k + 1)) for k in range(_ERF_TERMS - 1, -1, -1)
)


def step(z):
    """Heaviside step: f(z) = 1 if z >= 0 else 0. Shape preserved."""
    z = as_array(z, "z")
    return (z >= 0).astype(np.float64)


def step_prime(z):
    """Derivative of the step, taken as 0 everywhere (it is undefined at 0)."""
    return np.zeros_like(as_array(z, "z"))


def linear(z):
    """Identity: f(z) = z (a copy, as float64). Shape preserved."""
    return np.array(z, dtype=np.float64)


def linear_prime(z):
    """f'(z) = 1. Shape preserved."""
    return np.ones_like(as_array(z, "z"))


def sigmoid(z):
    """Logistic sigmoid: sigma(z) = 1 / (1 + e^(-z)). Shape preserved.

    Computed as 1 / (1 + e^(-|z|)) for z >= 0 and e^(-|z|) / (1 + e^(-|z|)) for z < 0, so
    the exponential never overflows.
    """
    z = as_array(z, "z")
    # In place: each temporary array of a large batch costs about as much as the exp itself.
    e = np.abs(z, out=np.empty_like(z))  # out= keeps a 0-d input an array
    np.negative(e, out=e)
    np.exp(e, out=e)
    out = np.where(z < 0, e, 1.0)
    e += 1.0
    out /= e
    return out


def sigmoid_prime(z):
    """sigma'(z) = sigma(z) (1 - sigma(z)). Shape preserved."""
    s = sigmoid(z)
    out = 1.0 - s
    out *= s
    return out


def tanh(z):
    """Hyperbolic tangent: tanh(z) = (e^z - e^(-z)) / (e^z + e^(-z)). Shape preserved."""
    return np.tanh(as_array(z, "z"))


def tanh_prime(z):
    """tanh'(z) = 1 - tanh(z)^2. Shape preserved."""
    t = tanh(z)
    return 1.0 - t * t


def relu(z):
    """Rectified linear unit: f(z) = max(0, z). Shape preserved."""
    return np.maximum(as_array(z, "z"), 0.0)


def relu_prime(z):
    """f'(z) = 1 if z > 0 else 0 (so relu_prime(0) == 0). Shape preserved."""
    return (as_array(z, "z") > 0).astype(np.float64)


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU: f(z) = z if z > 0 else alpha z. Shape preserved."""
    z = as_array(z, "z")
    return np.where(z > 0, z, alpha * z)


def leaky_relu_prime(z, alpha=0.01):
    """f'(z) = 1 if z > 0 else alpha. Shape preserved."""
    z = as_array(z, "z")
    return np.where(z > 0, 1.0, alpha)


def _prelu_alpha(z, alpha):
    """Check that the learnable slopes `alpha` broadcast against `z` without growing it."""
    alpha = as_array(alpha, "alpha")
    try:
        shape = np.broadcast_shapes(z.shape, alpha.shape)
    except ValueError:
        shape = None
    if shape != z.shape:
        raise ValueError(
            f"alpha must broadcast against z (one slope per unit along the last axis), "
            f"got z shape {z.shape} and alpha shape {alpha.shape}"
        )
    return alpha


def prelu(z, alpha):
    """Parametric ReLU: f(z) = z if z > 0 else alpha z, with a learnable slope per unit.

    z: (..., n); alpha: (n,) (one slope per unit, broadcast over the batch) or any shape
    that broadcasts to z's. Returns z's shape.
    """
    z = as_array(z, "z")
    alpha = _prelu_alpha(z, alpha)
    return np.where(z > 0, z, alpha * z)


def prelu_prime(z, alpha):
    """df/dz = 1 if z > 0 else alpha, with z's shape."""
    z = as_array(z, "z")
    alpha = _prelu_alpha(z, alpha)
    return np.where(z > 0, 1.0, alpha)


def prelu_grad_alpha(z, alpha):
    """df/dalpha elementwise = 0 if z > 0 else z, with z's shape.

    The gradient of a loss with respect to alpha of shape (n,) is then
    (dA * prelu_grad_alpha(z, alpha)).sum(axis=0) for a batch z of shape (m, n).
    """
    z = as_array(z, "z")
    _prelu_alpha(z, alpha)
    return np.where(z > 0, 0.0, z)


def elu(z, alpha=1.0):
    """Exponential linear unit: f(z) = z if z > 0 else alpha (e^z - 1). Shape preserved."""
    z = as_array(z, "z")
    # The minimum keeps expm1 away from overflow on the branch np.where discards.
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_prime(z, alpha=1.0):
    """f'(z) = 1 if z > 0 else alpha e^z. Shape preserved."""
    z = as_array(z, "z")
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def selu(z):
    """Scaled ELU: f(z) = lambda * elu(z, alpha) with the self-normalising constants
    lambda = 1.0507... and alpha = 1.6733... (Klambauer et al., 2017). Shape preserved."""
    return SELU_LAMBDA * elu(z, SELU_ALPHA)


def selu_prime(z):
    """f'(z) = lambda if z > 0 else lambda alpha e^z. Shape preserved."""
    return SELU_LAMBDA * elu_prime(z, SELU_ALPHA)


def softplus(z):
    """Softplus: f(z) = ln(1 + e^z), computed as logaddexp(0, z). Shape preserved."""
    return np.logaddexp(0.0, as_array(z, "z"))


def softplus_prime(z):
    """f'(z) = sigma(z). Shape preserved."""
    return sigmoid(z)


def _erfc(x):
    """Complementary error function erfc(x) = 1 - erf(x), vectorised, relative error < 1e-12.

    |x| <= 2: erfc = 1 - erf with the Maclaurin series of erf (32 terms).
    |x| > 2: the continued fraction (64 levels deep)
    erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
    which keeps full relative accuracy in the tail, and erfc(-x) = 2 - erfc(x).
    """
    out = np.empty_like(x)
    a = np.abs(x)
    small = a <= _ERF_SPLIT
    xs = x[small]
    x2 = xs * xs
    series = np.full_like(xs, _ERF_TAYLOR[0])
    for c in _ERF_TAYLOR[1:]:
        series *= x2
        series += c
    out[small] = 1.0 - (2.0 / _SQRT_PI) * xs * series
    big = ~small
    xb = a[big]
    denom = xb.copy()
    for k in range(_ERFC_DEPTH, 0, -1):
        denom = xb + (k / 2.0) / denom
    tail = np.exp(-xb * xb) / (_SQRT_PI * denom)
    out[big] = np.where(x[big] > 0, tail, 2.0 - tail)
    return out


def _normal_cdf(z):
    """Phi(z) = P(N(0, 1) <= z) = erfc(-z / sqrt(2)) / 2."""
    return 0.5 * _erfc(-z / math.sqrt(2.0))


def gelu(z):
    """Gaussian error linear unit, exact form: f(z) = z Phi(z) = z (1 + erf(z / sqrt 2)) / 2.

    Phi is the standard normal CDF (no tanh approximation). Shape preserved.
    """
    z = as_array(z, "z")
    return z * _normal_cdf(z)


def gelu_prime(z):
    """f'(z) = Phi(z) + z phi(z), phi(z) = e^(-z^2/2) / sqrt(2 pi). Shape preserved."""
    z = as_array(z, "z")
    return _normal_cdf(z) + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def silu(z):
    """Sigmoid linear unit (swish): f(z) = z sigma(z). Shape preserved."""
    z = as_array(z, "z")
    return z * sigmoid(z)


def silu_prime(z):
    """f'(z) = sigma(z) (1 + z (1 - sigma(z))). Shape preserved."""
    z = as_array(z, "z")
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def softmax(z, axis=-1):
    """Softmax along `axis`: a_i = e^(z_i) / sum_j e^(z_j). Shape preserved.

    The largest z along the axis is subtracted first (softmax is unchanged by a shift), so
    every exponent is <= 0 and nothing overflows.
    """
    z = as_array(z, "z")
    e = z - z.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_prime(z):
    """Jacobian of the softmax over the last axis: J_ij = da_i/dz_j = a_i (delta_ij - a_j).

    z: (..., n) -> J: (..., n, n).
    """
    a = softmax(z)
    J = -a[..., :, None] * a[..., None, :]
    diagonal = np.einsum("...ii->...i", J)
    diagonal += a
    return J


def softmax_backward(dA, z):
    """dL/dz through the softmax over the last axis, without forming the Jacobian.

    dz_j = sum_i dA_i J_ij = a_j (dA_j - sum_i dA_i a_i). dA, z: (..., n) -> (..., n).
    """
    a = softmax(z)
    dA = as_array(dA, "dA")
    same_shape(dA, a, "dA", "z")
    dz = dA - (dA * a).sum(axis=-1, keepdims=True)
    dz *= a
    return dz


def _maxout_groups(Z, k):
    Z = as_array(Z, "Z")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if Z.ndim == 0 or Z.shape[-1] % k:
        raise ValueError(f"the last axis of Z must be a multiple of k={k}, got Z shape {Z.shape}")
    return Z.reshape(*Z.shape[:-1], Z.shape[-1] // k, k)


def maxout(Z, k):
    """Maxout: the maximum over consecutive groups of k units along the last axis.

    a_g = max(z_(g k), ..., z_(g k + k - 1)). Z: (..., n k) -> (..., n).
    """
    return _maxout_groups(Z, k).max(axis=-1)


def maxout_prime(Z, k):
    """da_g/dz: 1 at the first maximum of each group, 0 elsewhere. Z: (..., n k) -> Z's shape.

    dL/dZ is then maxout_prime(Z, k) * np.repeat(dA, k, axis=-1).
    """
    G = _maxout_groups(Z, k)
    winner = G.argmax(axis=-1)[..., None]
    mask = np.zeros_like(G)
    np.put_along_axis(mask, winner, 1.0, axis=-1)
    return mask.reshape(np.shape(Z))


ACTIVATIONS = {
    "step": (step, step_prime),
    "linear": (linear, linear_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "elu": (elu, elu_prime),
    "selu": (selu, selu_prime),
    "softplus": (softplus, softplus_prime),
    "gelu": (gelu, gelu_prime),
    "silu": (silu, silu_prime),
}
