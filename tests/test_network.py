"""nnlib.network: the slides' worked examples, backpropagation against finite differences,
initialisation, parameter counting and shape validation."""

import math

import numpy as np
import pytest

from nnlib import losses, network
from nnlib.activations import ACTIVATIONS, softmax
from nnlib.gradcheck import numerical_gradient, rel_error

KINKED = {"step", "relu", "leaky_relu", "elu", "selu"}
EVERY_ACTIVATION = [*sorted(ACTIVATIONS), "softmax"]
LAYER_SHAPES = [(3, 2, 4), (5, 7, 1), (1, 3, 6)]  # (n_in, n_out, m)


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def layer_away_from_kinks(rng, n_in, n_out, m):
    """A_prev, W, b with every |Z| >= 0.05, so finite differences never cross a kink."""
    for _ in range(1000):
        A_prev = rng.normal(size=(m, n_in))
        W = rng.normal(size=(n_out, n_in))
        b = rng.normal(size=n_out)
        if np.min(np.abs(A_prev @ W.T + b)) >= 0.05:
            return A_prev, W, b
    raise AssertionError("no draw kept Z away from the kinks")


# --- the handworked 2 -> 2 -> 1 forward pass (DESIGN section 4) -------------------------


def test_handworked_forward_pass():
    params = [
        (np.array([[0.2, 0.4], [0.3, 0.1]]), np.array([0.1, 0.2])),
        (np.array([[0.6, 0.5]]), np.array([0.3])),
    ]
    y_hat, caches = network.forward([0.5, 0.8], params, "sigmoid")
    z1 = caches[0][1]
    a1, z2 = caches[1]
    np.testing.assert_allclose(z1, [0.52, 0.43], rtol=1e-14)
    np.testing.assert_allclose(a1, [0.627, 0.606], atol=5e-4)
    np.testing.assert_allclose(z2, [0.979], atol=5e-4)
    np.testing.assert_allclose(y_hat, [0.727], atol=5e-4)
    # Unrounded, from scalar arithmetic:
    z2_exact = 0.6 * sig(0.52) + 0.5 * sig(0.43) + 0.3
    np.testing.assert_allclose(a1, [sig(0.52), sig(0.43)], rtol=1e-14)
    np.testing.assert_allclose(y_hat, [sig(z2_exact)], rtol=1e-14)


# --- the 3 -> 2 -> 1 update table of seed 002 (Han & Kamber), learning rate 0.9 ----------

# Units 1-3 are the inputs, 4 and 5 the hidden units, 6 the output. Row j of W holds the
# weights into unit j, so W1 = [[w14, w24, w34], [w15, w25, w35]] and W2 = [[w46, w56]].
X_HK = np.array([1.0, 0.0, 1.0])
W1_HK = [[0.2, 0.4, -0.5], [-0.3, 0.1, 0.2]]
B1_HK = [-0.4, 0.2]  # theta_4, theta_5
W2_HK = [[-0.3, -0.2]]
B2_HK = [0.1]  # theta_6
RATE_HK = 0.9

SLIDE_OUTPUTS = {"O4": 0.332, "O5": 0.525, "O6": 0.474}
SLIDE_ERRS = {"Err5": -0.0065, "Err4": -0.0087}
SLIDE_ERR6 = 0.1311
SLIDE_UPDATES = {
    "w46": -0.261, "w56": -0.138, "w14": 0.192, "w15": -0.306, "w24": 0.4, "w25": 0.1,
    "w34": -0.508, "w35": 0.194, "theta6": 0.218, "theta5": 0.194, "theta4": -0.408,
}  # fmt: skip


def han_kamber_step():
    """One forward/backward pass and gradient-descent update through the public API.

    The seed's Err_j is -dE/dI_j for E = 1/2 (T - O)^2, i.e. minus the delta that backward
    puts in db, and its update w += l Err_j O_i is w -= l dE/dw.
    """
    params = [(np.array(W1_HK), np.array(B1_HK)), (np.array(W2_HK), np.array(B2_HK))]
    y_hat, caches = network.forward(X_HK, params, "sigmoid")
    grads = network.backward(losses.half_sse_grad([1.0], y_hat), caches, params, "sigmoid")
    (dW1, db1), (dW2, db2) = grads
    O4, O5 = caches[1][0]
    values = {"O4": O4, "O5": O5, "O6": y_hat[0], "Err6": -db2[0], "Err5": -db1[1],
              "Err4": -db1[0]}  # fmt: skip
    W1, b1 = np.array(W1_HK) - RATE_HK * dW1, np.array(B1_HK) - RATE_HK * db1
    W2, b2 = np.array(W2_HK) - RATE_HK * dW2, np.array(B2_HK) - RATE_HK * db2
    values.update(
        w46=W2[0, 0], w56=W2[0, 1], w14=W1[0, 0], w24=W1[0, 1], w34=W1[0, 2],
        w15=W1[1, 0], w25=W1[1, 1], w35=W1[1, 2], theta6=b2[0], theta5=b1[1], theta4=b1[0],
    )  # fmt: skip
    return values


def test_update_table_matches_the_slide_to_its_decimals():
    v = han_kamber_step()
    for name, slide in {**SLIDE_OUTPUTS, **SLIDE_UPDATES}.items():
        assert abs(v[name] - slide) <= 5e-4 + 1e-12, name
    for name, slide in SLIDE_ERRS.items():
        assert abs(v[name] - slide) <= 5e-5 + 1e-12, name


def test_err6_slip_on_the_slide_comes_from_the_rounded_output():
    # Exactly, Err6 = 0.131169..., which rounds to 0.1312; the slide multiplies the rounded
    # O6 = 0.474 and gets 0.1311. The later rows use 0.1311 but still round as printed.
    v = han_kamber_step()
    assert round(v["Err6"], 4) == 0.1312 != SLIDE_ERR6
    O6 = SLIDE_OUTPUTS["O6"]
    assert round(O6 * (1 - O6) * (1 - O6), 4) == SLIDE_ERR6


def test_update_table_unrounded_values_follow_the_seeds_algorithm():
    """The same step in scalars, as the seed's pseudo-code writes it (I_j, O_j, Err_j)."""
    (w14, w24, w34), (w15, w25, w35) = W1_HK
    (w46, w56), (t4, t5), (t6,) = W2_HK[0], B1_HK, B2_HK
    x1, x2, x3 = X_HK
    O4 = sig(w14 * x1 + w24 * x2 + w34 * x3 + t4)
    O5 = sig(w15 * x1 + w25 * x2 + w35 * x3 + t5)
    O6 = sig(w46 * O4 + w56 * O5 + t6)
    err6 = O6 * (1 - O6) * (1.0 - O6)
    err5 = O5 * (1 - O5) * err6 * w56
    err4 = O4 * (1 - O4) * err6 * w46
    expected = {
        "O4": O4, "O5": O5, "O6": O6, "Err6": err6, "Err5": err5, "Err4": err4,
        "w46": w46 + RATE_HK * err6 * O4, "w56": w56 + RATE_HK * err6 * O5,
        "w14": w14 + RATE_HK * err4 * x1, "w24": w24 + RATE_HK * err4 * x2,
        "w34": w34 + RATE_HK * err4 * x3, "w15": w15 + RATE_HK * err5 * x1,
        "w25": w25 + RATE_HK * err5 * x2, "w35": w35 + RATE_HK * err5 * x3,
        "theta6": t6 + RATE_HK * err6, "theta5": t5 + RATE_HK * err5,
        "theta4": t4 + RATE_HK * err4,
    }  # fmt: skip
    v = han_kamber_step()
    for name, value in expected.items():
        assert v[name] == pytest.approx(value, rel=1e-13, abs=1e-15), name


# --- backpropagation against finite differences ------------------------------------------


@pytest.mark.parametrize("activation", EVERY_ACTIVATION)
@pytest.mark.parametrize("n_in, n_out, m", LAYER_SHAPES)
def test_dense_backward_matches_finite_differences(activation, n_in, n_out, m):
    rng = np.random.default_rng(n_in * 10 + n_out)
    A_prev, W, b = layer_away_from_kinks(rng, n_in, n_out, m)
    G = rng.normal(size=(m, n_out))  # L = sum(G * A), so dL/dA = G

    def loss(_):
        return float((G * network.dense_forward(A_prev, W, b, activation)[0]).sum())

    _, cache = network.dense_forward(A_prev, W, b, activation)
    dA_prev, dW, db = network.dense_backward(G, cache, W, activation)
    assert (dA_prev.shape, dW.shape, db.shape) == (A_prev.shape, W.shape, b.shape)
    for analytic, x in [(dA_prev, A_prev), (dW, W), (db, b)]:
        assert rel_error(analytic, numerical_gradient(loss, x)) < 1e-7


def test_dense_backward_of_a_single_sample():
    rng = np.random.default_rng(8)
    A_prev, W, b = rng.normal(size=3), rng.normal(size=(2, 3)), rng.normal(size=2)
    dA = rng.normal(size=2)
    _, cache = network.dense_forward(A_prev, W, b, "tanh")
    dA_prev, dW, db = network.dense_backward(dA, cache, W, "tanh")
    _, cache2 = network.dense_forward(A_prev[None], W, b, "tanh")
    expected = network.dense_backward(dA[None], cache2, W, "tanh")
    for got, want in zip((dA_prev[None], dW, db), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15)


NETWORKS = [
    # sizes, activations, loss
    ([4, 5, 3], "sigmoid", "mse"),
    ([3, 6, 4, 2], ["tanh", "gelu", "linear"], "huber"),
    ([5, 4, 4, 3], ["silu", "softplus", "softmax"], "cce"),
    ([2, 3, 5, 4], ["elu", "relu", "linear"], "softmax_cross_entropy"),
    ([3, 4, 2, 1], ["leaky_relu", "selu", "sigmoid"], "bce"),
    ([4, 3, 2], ["step", "linear"], "half_sse"),
]


def targets_for(loss_name, rng, m, n_out):
    if loss_name in ("cce", "softmax_cross_entropy"):
        return np.eye(n_out)[rng.integers(0, n_out, m)]
    if loss_name == "bce":
        return rng.integers(0, 2, (m, n_out)).astype(float)
    return rng.normal(size=(m, n_out))


def network_away_from_kinks(rng, sizes, activations, m):
    """X and params (random biases too) with every kinked layer's |Z| >= 1e-3."""
    names = [activations] * (len(sizes) - 1) if isinstance(activations, str) else activations
    for _ in range(1000):
        X = rng.normal(size=(m, sizes[0]))
        params = [(W, rng.normal(size=b.shape)) for W, b in network.init_params(sizes, rng=rng)]
        _, caches = network.forward(X, params, activations)
        kinked = [Z for (_, Z), name in zip(caches, names, strict=True) if name in KINKED]
        if all(np.min(np.abs(Z)) >= 1e-3 for Z in kinked):
            return X, params
    raise AssertionError("no draw kept Z away from the kinks")


@pytest.mark.parametrize("sizes, activations, loss_name", NETWORKS)
def test_backward_matches_finite_differences(sizes, activations, loss_name):
    rng = np.random.default_rng(len(sizes) + sizes[1])
    m = 5
    X, params = network_away_from_kinks(rng, sizes, activations, m)
    Y = targets_for(loss_name, rng, m, sizes[-1])
    loss, loss_grad = losses.LOSSES[loss_name]

    def loss_of_params(_):
        return loss(Y, network.forward(X, params, activations)[0])

    Y_hat, caches = network.forward(X, params, activations)
    grads = network.backward(loss_grad(Y, Y_hat), caches, params, activations)
    for (W, b), (dW, db) in zip(params, grads, strict=True):
        for analytic, x in [(dW, W), (db, b)]:
            assert analytic.shape == x.shape
            assert rel_error(analytic, numerical_gradient(loss_of_params, x)) < 1e-7


def test_softmax_output_with_cce_gives_the_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    params = network.init_params([4, 5, 3], rng=rng)
    P, caches_p = network.forward(X, params, ["tanh", "softmax"])
    Z, caches_z = network.forward(X, params, ["tanh", "linear"])
    np.testing.assert_allclose(P, softmax(Z), rtol=1e-15)
    via_softmax = network.backward(losses.cce_grad(Y, P), caches_p, params, ["tanh", "softmax"])
    via_logits = network.backward(
        losses.softmax_cross_entropy_grad(Y, Z), caches_z, params, ["tanh", "linear"]
    )
    for got, want in zip(via_softmax, via_logits, strict=True):
        for g, w in zip(got, want, strict=True):
            assert rel_error(g, w) < 1e-13


# --- parameters ------------------------------------------------------------------------


def test_parameter_count_of_the_mnist_network():
    sizes = [784, 128, 64, 10]
    assert network.count_params(sizes) == 109386
    params = network.init_params(sizes, rng=0)
    assert sum(W.size + b.size for W, b in params) == 109386


@pytest.mark.parametrize(
    "init, std",
    [("xavier", math.sqrt(2 / (400 + 300))), ("he", math.sqrt(2 / 400)), ("normal", 1.0)],
)
def test_init_params_draws_the_documented_spread(init, std):
    (W, b), (W2, _) = network.init_params([400, 300, 2], init, rng=0)
    assert W.shape == (300, 400) and b.shape == (300,) and W2.shape == (2, 300)
    assert not b.any()
    assert W.std() == pytest.approx(std, rel=0.02)
    assert abs(W.mean()) < 0.01 * std


def test_init_params_zeros_and_reproducibility():
    assert all(not W.any() and not b.any() for W, b in network.init_params([3, 4, 2], "zeros"))
    a = network.init_params([3, 4, 2], rng=42)
    c = network.init_params([3, 4, 2], rng=np.random.default_rng(42))
    for (W1, _), (W2, _) in zip(a, c, strict=True):
        np.testing.assert_array_equal(W1, W2)


def test_init_params_rejects_bad_arguments():
    with pytest.raises(ValueError, match="init"):
        network.init_params([3, 2], "uniform")
    with pytest.raises(ValueError, match="sizes"):
        network.init_params([3])


# --- validation ------------------------------------------------------------------------


def test_transposed_weights_are_named_with_a_hint():
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(3, 2\).*transposed"):
        network.dense_forward(np.ones((5, 3)), np.ones((3, 2)), np.ones(2))


def test_forward_names_the_layer_whose_shapes_disagree():
    params = network.init_params([3, 4, 2], rng=0)
    params[1] = (np.ones((2, 5)), np.zeros(2))
    with pytest.raises(ValueError, match=r"W2.*A1 shape \(6, 4\).*\(2, 5\)"):
        network.forward(np.ones((6, 3)), params, "relu")


def test_bias_of_the_wrong_length_is_named():
    with pytest.raises(ValueError, match=r"b shape \(3,\)"):
        network.dense_forward(np.ones((5, 3)), np.ones((2, 3)), np.ones(3))


def test_dense_backward_checks_dA_and_W_against_the_cache():
    _, cache = network.dense_forward(np.ones((5, 3)), np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(5, 2\)"):
        network.dense_backward(np.ones((5, 3)), cache, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        network.dense_backward(np.ones((5, 2)), cache, np.ones((3, 2)))


def test_unknown_activation_and_wrong_number_of_names():
    with pytest.raises(ValueError, match="swish"):
        network.dense_forward(np.ones((1, 2)), np.ones((1, 2)), np.ones(1), "swish")
    with pytest.raises(ValueError, match="one activation per layer"):
        network.forward(np.ones((1, 3)), network.init_params([3, 2, 1]), ["relu"])


# --- MLP -----------------------------------------------------------------------------------


def test_mlp_is_the_functional_api_with_state():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(7, 4))
    model = network.MLP([4, 6, 3], ["relu", "softmax"], init="he", rng=1)
    assert [W.shape for W, _ in model.params] == [(6, 4), (3, 6)]
    with pytest.raises(RuntimeError, match="forward"):
        model.backward(np.ones((7, 3)))
    P = model(X)
    expected, caches = network.forward(X, model.params, ["relu", "softmax"])
    np.testing.assert_array_equal(P, expected)
    dP = rng.normal(size=P.shape)
    for got, want in zip(
        model.backward(dP),
        network.backward(dP, caches, model.params, model.activations),
        strict=True,
    ):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))


def test_mlp_predict_thresholds_a_single_output():
    model = network.MLP([2, 1], "sigmoid", rng=0)
    X = np.array([[0.0, 0.0], [1.0, 2.0], [-3.0, 1.0]])
    np.testing.assert_array_equal(model.predict(X), (model.forward(X)[:, 0] >= 0.5).astype(int))


@pytest.mark.parametrize("name, variance", [
    ("xavier_init", lambda n_in, n_out: 2 / (n_in + n_out)),
    ("he_init", lambda n_in, n_out: 2 / n_in),
])
def test_xavier_and_he_init(name, variance):
    init = getattr(network, name)
    W = init(800, 200, rng=0)
    assert W.shape == (200, 800)
    assert W.var() == pytest.approx(variance(800, 200), rel=0.02)
    np.testing.assert_array_equal(W, init(800, 200, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="n_in and n_out"):
        init(0, 3)


def test_init_params_draws_through_the_init_functions():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    for init, fn in (("xavier", network.xavier_init), ("he", network.he_init)):
        params = network.init_params([5, 4, 3], init, rng=rng_a)
        expected = [fn(5, 4, rng_b), fn(4, 3, rng_b)]
        for (W, b), W_expected in zip(params, expected, strict=True):
            np.testing.assert_array_equal(W, W_expected)
            assert not b.any()
