"""The checks of lesson 10 fail wrong answers and pass right ones however written.

Every graded metric meets at least two wrong variants (the mistakes students make) that
must fail and one correct variant written differently from nnlib (loops, pairwise counts,
scikit-learn) that must pass the public and the hidden checks. `train_digits` is judged by
replaying the recorded steps of its loop and by what the replayed network does on rows it
never saw: right loops pass, every way round the blocks fails, and the loop keeps working
when every reference of the lesson is a stub.
"""

import numpy as np
import pytest
from checking import fails, messages, passes

from autograder import registry
from autograder.cases import SEED_ENV, cases_for
from autograder.judge import judge, run_case
from nnlib import activations as act
from nnlib.network import MLP
from nnlib.optim import Adam
from nnlib.train import fit


@pytest.fixture(autouse=True)
def _hidden_seed(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "20240610")


def _ints(y):
    return np.asarray(y, dtype=float).astype(int)


# ---- right answers, written differently from nnlib ----------------------------------------


def confusion_loops(y, y_pred, n_classes=None):
    y, y_pred = _ints(y), _ints(y_pred)
    K = n_classes if n_classes is not None else int(max([*y, *y_pred], default=-1)) + 1
    return np.bincount(y * K + y_pred, minlength=K * K).reshape(K, K)


def _prf_numpy(kind):
    """precision, recall or f1 from per-class counts, in NumPy (graded functions may not
    call scikit-learn); the conventions are scikit-learn's, with zero_division=0."""

    def score(tp, fp, fn):
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}[kind]

    def counts(t, p):
        return np.array([np.sum(t & p), np.sum(~t & p), np.sum(t & ~p)])

    def fn(y, y_pred, average="binary", pos_label=1):
        y, y_pred = _ints(y), _ints(y_pred)
        if average == "binary":
            return float(score(*counts(y == pos_label, y_pred == pos_label)))
        classes = np.union1d(y, y_pred)
        per = [counts(y == k, y_pred == k) for k in classes]
        if average == "micro":
            return float(score(*np.sum(per, axis=0)))
        scores = np.array([score(*c) for c in per])
        if average == "macro":
            return float(scores.mean())
        weights = np.array([np.sum(y == k) for k in classes])
        return float(scores @ weights / weights.sum()) if weights.sum() else 0.0

    return fn


def top_k_loops(y, P, k=5):
    P = np.asarray(P, dtype=float)
    y = np.asarray(y, dtype=float)
    labels = y.argmax(axis=1) if y.ndim == 2 else y.astype(int)
    hits = 0
    for scores, label in zip(P, labels):
        higher = sum(1 for s in scores if s > scores[label])
        hits += higher < k
    return hits / len(labels)


def _pairwise_auc(positive, s):
    pos, neg = s[positive], s[~positive]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def roc_auc_pairs(y, scores):
    y, scores = _ints(y), np.asarray(scores, dtype=float)
    if scores.ndim == 1 or scores.shape[1] == 1:
        return _pairwise_auc(y == 1, scores.ravel())
    return np.mean([_pairwise_auc(y == k, scores[:, k]) for k in range(scores.shape[1])])


CORRECT = {
    "confusion_matrix": confusion_loops,
    "precision": _prf_numpy("precision"),
    "recall": _prf_numpy("recall"),
    "f1": _prf_numpy("f1"),
    "top_k_accuracy": top_k_loops,
    "roc_auc": roc_auc_pairs,
}


@pytest.mark.parametrize("name", CORRECT)
def test_right_metrics_pass(name):
    passes(name, CORRECT[name])


# ---- wrong answers -------------------------------------------------------------------------


def _macro_all_classes(score):
    def fn(y, y_pred, average="binary", pos_label=1):
        if average != "macro":
            return CORRECT[score](y, y_pred, average, pos_label)
        y, y_pred = _ints(y), _ints(y_pred)
        K = max(y.max(), y_pred.max()) + 1
        return float(np.mean([CORRECT[score](y == k, y_pred == k) for k in range(K)]))
    return fn


def _always(average_used, score):
    return lambda y, y_pred, average="binary", pos_label=1: CORRECT[score](
        y, y_pred, average_used if average != "binary" else "binary", pos_label)


def _f1_from_averages(y, y_pred, average="binary", pos_label=1):
    p = CORRECT["precision"](y, y_pred, average, pos_label)
    r = CORRECT["recall"](y, y_pred, average, pos_label)
    return 2 * p * r / (p + r) if p + r else 0.0


def _top_k_ge(y, P, k=5):
    P, labels = np.asarray(P, float), _ints(y)
    return float(np.mean((P >= P[np.arange(len(labels)), labels][:, None]).sum(axis=1) <= k))


def _top_k_argsort(y, P, k=5):
    P, labels = np.asarray(P, float), _ints(y)
    return float(np.mean((np.argsort(-P, axis=1)[:, :k] == labels[:, None]).any(axis=1)))


def _auc_of_predictions(y, scores):
    scores = np.asarray(scores, float)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return roc_auc_pairs(y, np.eye(scores.shape[1])[scores.argmax(axis=1)])
    return roc_auc_pairs(y, (scores.ravel() >= 0.5).astype(float))


def _auc_ties_zero(y, scores):
    y, scores = _ints(y), np.asarray(scores, dtype=float)
    cols = [scores.ravel()] if scores.ndim == 1 or scores.shape[1] == 1 else list(scores.T)
    pos = [y == 1] if len(cols) == 1 else [y == k for k in range(len(cols))]
    return np.mean([(s[p][:, None] > s[~p][None, :]).mean() for s, p in zip(cols, pos)])


WRONG = {
    "confusion_matrix": [
        (lambda y, y_pred, n_classes=None: confusion_loops(y, y_pred, n_classes).T,
         "transposed"),
        (lambda y, y_pred, n_classes=None: confusion_loops(y, y_pred, int(max(_ints(y))) + 1
                                                           if n_classes is None else n_classes),
         ""),
        (lambda y, y_pred, n_classes=None: confusion_loops(y, y_pred, n_classes) / len(y),
         ""),
    ],
    "precision": [
        (CORRECT["recall"], "swapped"),
        (_always("micro", "precision"), "macro and micro"),
        (_macro_all_classes("precision"), "neither y nor y_pred"),
        (lambda y, y_pred, average="binary", pos_label=1: CORRECT["precision"](
            y, y_pred, average), "pos_label"),
    ],
    "recall": [
        (CORRECT["precision"], "swapped"),
        (_always("macro", "recall"), "macro and micro"),
        (_macro_all_classes("recall"), "neither y nor y_pred"),
    ],
    "f1": [
        (_f1_from_averages, "harmonic mean of the averaged"),
        (lambda y, y_pred, average="binary", pos_label=1: (CORRECT["precision"](
            y, y_pred, average, pos_label) + CORRECT["recall"](y, y_pred, average, pos_label))
         / 2, "arithmetic mean"),
        (_macro_all_classes("f1"), "neither y nor y_pred"),
    ],
    "top_k_accuracy": [
        (_top_k_ge, "outside the top k"),
        (_top_k_argsort, "class position"),
        (lambda y, P, k=5: top_k_loops(y, P, k + 1), ""),
    ],
    "roc_auc": [
        (_auc_of_predictions, "hard predictions"),
        (_auc_ties_zero, "counts 0"),
        (lambda y, scores: 1.0 - roc_auc_pairs(y, scores), ""),
    ],
}


@pytest.mark.parametrize("name, fn, cause",
                         [(n, f, c) for n, variants in WRONG.items() for f, c in variants])
def test_wrong_metrics_fail(name, fn, cause):
    message = fails(name, fn)
    assert cause in message


def _as_list(name):
    return lambda *args, **kwargs: [CORRECT[name](*args, **kwargs)]


@pytest.mark.parametrize("name", ["precision", "recall", "f1", "top_k_accuracy", "roc_auc"])
def test_a_number_returned_in_a_list_or_array_fails(name):
    assert "list object; expected a number" in fails(name, _as_list(name))
    as_array = lambda *args, **kwargs: np.array([CORRECT[name](*args, **kwargs)])  # noqa: E731
    assert "ndarray of shape (1,)" in fails(name, as_array)
    passes(name, lambda *args, **kwargs: np.float32(CORRECT[name](*args, **kwargs)).item())


def test_counts_as_floats_pass_and_a_list_of_lists_fails():
    passes("confusion_matrix",
           lambda y, y_pred, n_classes=None: confusion_loops(y, y_pred, n_classes).astype(float))
    assert "list, not an array" in fails(
        "confusion_matrix", lambda y, y_pred, n_classes=None: confusion_loops(
            y, y_pred, n_classes).tolist())


def test_k_from_the_distinct_labels_fails_on_every_seed(monkeypatch):
    def distinct(y, y_pred, n_classes=None):
        K = n_classes or len(set(_ints(y)) | set(_ints(y_pred)))
        return confusion_loops(y, y_pred, K)

    for seed in range(12):  # the label after a gap used to be drawn from 3..10
        monkeypatch.setenv(SEED_ENV, str(seed))
        fails("confusion_matrix", distinct)


def test_a_one_element_matrix_is_judged_without_comparing_numbers_with_text():
    # the rates mistake gives floats; they must never stand as text for the expected value
    message = fails("confusion_matrix", lambda y, y_pred, n_classes=None: np.ones((1, 1), int))
    assert "shape (1, 1)" in message


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_the_macro_average_over_the_true_classes_only_fails(name):
    def over_true_classes(y, y_pred, average="binary", pos_label=1):
        if average != "macro":
            return CORRECT[name](y, y_pred, average, pos_label)
        return float(np.mean([CORRECT[name](_ints(y) == k, _ints(y_pred) == k)
                              for k in np.unique(_ints(y))]))

    fails(name, over_true_classes)


def test_the_confusion_matrix_message_says_rows_are_true_labels():
    message = fails("confusion_matrix", WRONG["confusion_matrix"][0][0])
    assert "public" in message and "TRUE label" in message


# ---- train_digits ---------------------------------------------------------------------------
# The student's loop gets the grader's recorded blocks; the grader replays the chain of
# steps that ends at the returned parameters. Right loops pass however they hold their
# lists; every way round the blocks fails, whatever it is called.

CHAIN = "not all the result of one step of blocks.sgd_update"
REPLAY = "replaying the recorded steps does not give the parameters you returned"


def train_digits_own_loop(X, Y, blocks, rng=None):
    """64 -> 48 tanh -> 32 relu -> 10 softmax, Xavier, batches of 16, a decaying rate; the
    parameters held as lists of lists and rebuilt as fresh copies at every step, and the
    gradients passed on as copies."""
    rng = np.random.default_rng(rng)
    names = ("tanh", "relu", "softmax")
    params = [list(p) for p in blocks.init_params([64, 48, 32, 10], init="xavier")]
    for epoch in range(25):
        eta = 0.4 / (1 + epoch / 10)
        order = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], 16):
            i = order[start:start + 16]
            Y_hat, caches = blocks.forward(X[i].copy(), params, list(names))
            grads = blocks.backward(blocks.cce_grad(Y[i], Y_hat), caches, params, names)
            params = [[np.array(blocks.sgd_update(W, dW.copy(), eta)),
                       blocks.sgd_update(b, db, eta).copy()]
                      for (W, b), (dW, db) in zip(params, grads)]
    return params, names


def train_digits_with_fit(X, Y, blocks=None, rng=None):
    """What the notebook used to do: nnlib's training stack, not the blocks."""
    model = MLP([64, 64, 10], ["relu", "softmax"], init="he", rng=rng)
    fit(model, X, Y, "cce", Adam(eta=0.01), epochs=25, batch_size=32, rng=rng, progress=False)
    return model.params, model.activations


def _sgd_loop(X, Y, blocks, rng=None, epochs=30, after_step=None):
    """The solution's loop; `after_step(params)` may tamper with the parameters."""
    rng = np.random.default_rng(rng)
    names = ["relu", "softmax"]
    params = blocks.init_params([64, 128, 10], "he")
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 32):
            i = order[start:start + 32]
            Y_hat, caches = blocks.forward(X[i], params, names)
            grads = blocks.backward(blocks.cce_grad(Y[i], Y_hat), caches, params, names)
            params = [(blocks.sgd_update(W, dW, 0.5), blocks.sgd_update(b, db, 0.5))
                      for (W, b), (dW, db) in zip(params, grads)]
            if after_step is not None:
                params = after_step(params)
    return params, names


def test_right_loops_pass():
    passes("train_digits", train_digits_own_loop)
    passes("train_digits", _sgd_loop)


def test_an_earlier_step_of_the_chain_is_a_network_too():
    # early stopping: the parameters of any step are the result of a replayable chain
    def keeps_the_best_epoch(X, Y, blocks, rng=None):
        params, names = _sgd_loop(X, Y, blocks, rng, epochs=25)
        return params, names
    passes("train_digits", keeps_the_best_epoch)


def _untrained(X, Y, blocks, rng=None):
    return blocks.init_params([64, 32, 10], "he"), ["relu", "softmax"]


def _transposed(X, Y, blocks, rng=None):
    params, names = _sgd_loop(X, Y, blocks, rng, epochs=1)
    return [(W.T, b) for W, b in params], names


def _too_big(X, Y, blocks, rng=None):
    return blocks.init_params([64, 1000, 10]), ["relu", "softmax"]


def _nine_classes(X, Y, blocks, rng=None):
    (W1, b1), (W2, b2) = _sgd_loop(X, Y, blocks, rng, epochs=1)[0]
    return [(W1, b1), (W2[:9], b2[:9])], ["relu", "softmax"]


def _bad_name(X, Y, blocks, rng=None):
    return _sgd_loop(X, Y, blocks, rng, epochs=1)[0], ["ReLU", "softmax"]


def _overflow(X, Y, blocks, rng=None):
    params, names = _sgd_loop(X, Y, blocks, rng, epochs=1)
    W = params[0][0].copy()  # the blocks' arrays are read-only
    W[0, 0] = np.inf
    return [(W, params[0][1]), *params[1:]], names


def _params_only(X, Y, blocks, rng=None):
    return _sgd_loop(X, Y, blocks, rng, epochs=1)[0]


def _trained_other_names(X, Y, blocks, rng=None):
    params, _ = _sgd_loop(X, Y, blocks, rng)
    return params, ["tanh", "softmax"]  # the replay runs what is returned


@pytest.mark.parametrize("fn, message", [
    (_untrained, "after 0 steps is below 0.95"),
    (_transposed, "W transposed"),
    (_too_big, "parameters"),
    (_nine_classes, "must have 10"),
    (_bad_name, "unknown activation 'ReLU'"),
    (_overflow, "inf or nan"),
    (_params_only, "pair (params, activations)"),
    (_trained_other_names, REPLAY),
])
def test_wrong_models_fail(fn, message):
    assert message in fails("train_digits", fn)


# ---- attacks: none of them scores ---------------------------------------------------------


def _sklearn(X, Y, blocks, rng=None):
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier((64,), max_iter=200, random_state=0).fit(X, Y.argmax(axis=1))
    return [(clf.coefs_[0].T, clf.intercepts_[0]), (clf.coefs_[1].T, clf.intercepts_[1])], \
        ["relu", "softmax"]


def _torch(X, Y, blocks, rng=None):
    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(Y.argmax(axis=1))
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(Xt), yt).backward()
        opt.step()
    return [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
            for m in (net[0], net[2])], ["relu", "softmax"]


def _fit_then_one_step(X, Y, blocks, rng=None):
    """nnlib's fit, then one honest-looking step from the fitted parameters."""
    params, names = train_digits_with_fit(X, Y, rng=rng)
    Y_hat, caches = blocks.forward(X[:32], params, names)
    grads = blocks.backward(blocks.cce_grad(Y[:32], Y_hat), caches, params, names)
    return [(blocks.sgd_update(W, dW, 0.01), blocks.sgd_update(b, db, 0.01))
            for (W, b), (dW, db) in zip(params, grads)], names


def _fabricated_gradient(X, Y, blocks, rng=None):
    """Steps along a gradient of its own making (towards a model trained with fit)."""
    target, names = train_digits_with_fit(X, Y, rng=rng)
    params = blocks.init_params([64, 64, 10], "he")
    return [(blocks.sgd_update(W, W - T, 1.0), blocks.sgd_update(b, b - c, 1.0))
            for (W, b), (T, c) in zip(params, target)], names


def _own_dY(X, Y, blocks, rng=None):
    """backward on a dY_hat of its own making."""
    params, names = blocks.init_params([64, 32, 10], "he"), ["relu", "softmax"]
    Y_hat, caches = blocks.forward(X[:32], params, names)
    blocks.backward(Y_hat - Y[:32], caches, params, names)
    return params, names


def _nudged_after_the_last_step(X, Y, blocks, rng=None):
    params, names = _sgd_loop(X, Y, blocks, rng)
    return [(W * (1 + 1e-4), b) for W, b in params], names


def _changed_between_steps(X, Y, blocks, rng=None):
    # an L2 shrink by hand between steps: parameters changed outside sgd_update
    return _sgd_loop(X, Y, blocks, rng, epochs=3,
                     after_step=lambda params: [(0.999 * W, b) for W, b in params])


def _forged_record(X, Y, blocks, rng=None):
    """Trains honestly, then returns fit's model after writing into the blocks' record
    that the last step produced it."""
    from nnlib.blocks import _flat, digest
    _sgd_loop(X, Y, blocks, rng, epochs=1)
    forged, names = train_digits_with_fit(X, Y, rng=rng)
    blocks._updates += [(digest(a), len(blocks._grads) - 1, 0.5) for a in _flat(forged)]
    return forged, names


def _forged_rows(X, Y, blocks, rng=None):
    """Trains honestly, then writes into the blocks' record that its last step learnt from
    rows the training set does not have."""
    params, names = _sgd_loop(X, Y, blocks, rng, epochs=1)
    P_digests, rows = blocks._grads[-1]
    blocks._grads[-1] = (P_digests, rows + len(X))
    return params, names


ATTACKS = {
    "nnlib's MLP and fit": (train_digits_with_fit, CHAIN),
    "scikit-learn's MLPClassifier": (_sklearn, "scikit-learn"),
    "PyTorch": (_torch, "PyTorch"),
    "fit, then one step": (_fit_then_one_step, "1 step(s) before the end"),
    "a gradient of its own": (_fabricated_gradient, "grad must be one of the arrays"),
    "a dY_hat of its own": (_own_dY, "dY_hat must be what cce_grad returned"),
    "nudged after the last step": (_nudged_after_the_last_step, CHAIN),
    "changed between steps": (_changed_between_steps, CHAIN),
    "a forged record": (_forged_record, REPLAY),
    "rows forged in the record": (_forged_rows, "a step's rows are not rows of the training"),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_attacks_fail(name):
    fn, message = ATTACKS[name]
    public, hidden = messages("train_digits", fn)
    assert public and hidden and message in public, public


def test_an_array_a_block_returned_cannot_be_changed_in_place():
    # gradient clipping as the notebook describes it, but in place: the blocks' arrays are
    # read-only, so the loop stops at that line instead of stepping along gradients that
    # its replay would not use
    def clips_in_place(X, Y, blocks, rng=None):
        names = ["relu", "softmax"]
        params = blocks.init_params([64, 32, 10], "he")
        Y_hat, caches = blocks.forward(X[:32], params, names)
        grads = blocks.backward(blocks.cce_grad(Y[:32], Y_hat), caches, params, names)
        for dW, _ in grads:
            dW *= min(1.0, 1.0 / np.linalg.norm(dW))
        return [(blocks.sgd_update(W, dW, 0.5), blocks.sgd_update(b, db, 0.5))
                for (W, b), (dW, db) in zip(params, grads)], names

    assert "read-only" in fails("train_digits", clips_in_place)


def test_a_model_from_another_cell_fails_under_any_name():
    trained = _sgd_loop(*_task_rows(0), _plain_blocks())

    def anything(X, Y, blocks, rng=None):
        return trained

    assert CHAIN in fails("train_digits", anything)


def test_the_embedded_digits_cannot_be_trained_on():
    """The public data set, embedded in the notebook, undoes the disguise (pixel order
    from the rows, names by majority); the held-out rows are then in reach, but forward
    refuses any row that is not one of the rows given."""
    from nnlib.datasets import digits
    X_all, y_all = digits()

    def peeks(X, Y, blocks, rng=None):
        order = [int(np.argmax([np.array_equal(X[:, j], X_all[:len(X), k]) or 0
                                for k in range(64)])) for j in range(64)]
        names = ["relu", "softmax"]
        params = blocks.init_params([64, 64, 10], "he")
        blocks.forward(X_all[:, order], params, names)  # every digit, held-out ones too
        return params, names

    public, hidden = messages("train_digits", peeks)
    assert public and hidden and "is not a row of the training set" in public


def _task_rows(seed):
    from autograder.exercises.lesson10 import _task
    X_train, _, Y_train, _ = _task(seed)
    return X_train, Y_train


def _plain_blocks():
    from types import SimpleNamespace

    from nnlib import losses, network, optim
    return SimpleNamespace(init_params=lambda sizes, init="xavier": network.init_params(
        sizes, init, rng=0), forward=network.forward, cce_grad=losses.cce_grad,
        backward=network.backward, sgd_update=optim.sgd_update)


def test_a_pretrained_model_that_learns_the_renaming_from_its_rows_fails(monkeypatch):
    """Trained before the call on every digit (the held-out rows too), it labels the rows
    it is given, maps its usual digit names to the names this call uses by majority vote
    and permutes its output layer."""
    from nnlib.datasets import digits
    from nnlib.network import forward

    X_all, y_all = digits()
    params, names = train_digits_with_fit(X_all, y_all, rng=0)

    def renaming(X, Y, blocks, rng=None):
        predicted = forward(np.asarray(X), params, names)[0].argmax(axis=1)
        y = Y.argmax(axis=1)
        given = [np.bincount(y[predicted == d], minlength=10).argmax() for d in range(10)]
        W, b = params[-1]
        order = np.argsort(given)
        return [*params[:-1], (W[order], b[order])], names

    for seed in ("0", "20240610"):
        monkeypatch.setenv(SEED_ENV, seed)
        public, hidden = messages("train_digits", renaming)
        assert public and hidden and CHAIN in public


def test_each_case_shuffles_the_pixels_and_renames_the_classes_by_a_derangement():
    from autograder.exercises.lesson10 import _disguise, _split, _task

    pixels = set()
    for seed in range(50):
        order, perm = _disguise(seed)
        assert sorted(perm) == list(range(10)) and np.all(perm != np.arange(10))
        assert sorted(order) == list(range(64))
        pixels.add(tuple(order))
    assert len(pixels) == 50
    X_train, X_val, Y_train, y_val = _task(3)
    X_tr, X_v, y_tr, y_v = _split(3)
    order, perm = _disguise(3)
    assert np.array_equal(X_train, X_tr[:, order]) and np.array_equal(X_val, X_v[:, order])
    assert np.array_equal(Y_train.argmax(axis=1), perm[y_tr.astype(int)])
    assert np.array_equal(y_val, perm[y_v.astype(int)])


def deep_chain(X, Y, blocks, rng=None):
    """64 -> 1 -> 1 ... (24,000 layers) -> 10: within the parameter budget, and useless."""
    params = [(np.full((1, 64), 0.1), np.zeros(1))]
    params += [(np.ones((1, 1)), np.zeros(1))] * 24_000 + [(np.ones((10, 1)), np.zeros(10))]
    return params, "relu"


def test_a_deep_chain_is_judged_and_failed():
    # how long judging it takes is measured by benchmarks/digits.py
    assert CHAIN in fails("train_digits", deep_chain)


def test_the_held_out_rows_are_the_complement_of_the_training_rows():
    from autograder.exercises.lesson10 import _disguise, _split
    ex = registry.get("train_digits")
    for hidden in (False, True):
        case = cases_for(ex, hidden)[0]
        X_train, Y_train, blocks = case.args
        X_tr, X_val, _, y_val = _split(case.kwargs["rng"])
        np.testing.assert_array_equal(X_tr[:, _disguise(case.kwargs["rng"])[0]], X_train)
        np.testing.assert_array_equal(blocks.X, X_train)
        np.testing.assert_array_equal(blocks.Y, Y_train)
        assert len(X_train) + len(X_val) == 1797 and len(y_val) == 359


@pytest.mark.parametrize("seed", range(8))
def test_the_reference_model_clears_the_bar_on_many_splits(seed):
    ex = registry.get("train_digits")
    cases = cases_for(ex, True, seed)
    report = judge(ex, cases, [run_case(ex.reference_fn, c) for c in cases], True)
    assert report.passed, report.message(cases)


# ---- the training stack does not depend on this lesson's graded references ------------------


def _stub_references(monkeypatch):
    exercises = registry.all_exercises("10-training")
    assert {e.name for e in exercises} == {
        "confusion_matrix", "precision", "recall", "f1", "top_k_accuracy", "roc_auc",
        "train_digits"}
    for ex in exercises:
        module, _, attr = ex.reference.rpartition(".")

        def stub(*args, _name=ex.reference, **kwargs):
            raise RuntimeError(f"{_name} is not available while grading")

        monkeypatch.setattr(f"{module}.{attr}", stub)


def test_fit_runs_with_the_lessons_references_stubbed(monkeypatch):
    _stub_references(monkeypatch)
    import nnlib.metrics
    import nnlib.train
    with pytest.raises(RuntimeError):
        nnlib.metrics.confusion_matrix([0], [0])
    with pytest.raises(RuntimeError):
        nnlib.train.train_digits(None, None)
    passes("train_digits", _sgd_loop)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    for metrics in ((), ["accuracy"]):
        history = fit(MLP([4, 5, 3], ["relu", "softmax"], rng=0), X, y, "cce",
                      epochs=2, metrics=metrics, validation_data=(X, y), progress=False)
        assert len(history["loss"]) == 2


def test_softmax_is_an_accepted_output():
    # the verify accepts the names forward accepts: ACTIVATIONS and "softmax"
    from autograder.verifiers import KNOWN
    assert set(KNOWN) == {*act.ACTIVATIONS, "softmax"}


def test_a_train_digits_that_changes_X_in_place_fails():
    def rescales(X, Y, blocks, rng=None):
        params, names = _sgd_loop(X, Y, blocks, rng, epochs=1)
        X *= 2.0  # the exercise asks for X to be left as it is
        return params, names

    assert "changes an input in place" in fails("train_digits", rescales)


# ---- right answers that rely on what the text promises -----------------------------------
# Label arrays, so `y.astype(int)`, `y.max()` and `y == k` work without np.asarray;
# test_case_contracts.py runs them on the public and hidden cases.


def typed_confusion(y, y_pred, n_classes=None):
    K = n_classes if n_classes is not None else int(max(y.max(initial=-1),
                                                        y_pred.max(initial=-1))) + 1
    C = np.zeros((K, K), dtype=int)
    np.add.at(C, (y.astype(int), y_pred.astype(int)), 1)
    return C


def _ratio(a, b):
    return np.divide(a, b, out=np.zeros(np.shape(a)), where=np.asarray(b) > 0)


def _typed_score(kind):
    def score(y, y_pred, average="binary", pos_label=1):
        if average == "binary":
            t, q = y == pos_label, y_pred == pos_label
            tp, fp, fn = (t & q).sum(), (~t & q).sum(), (t & ~q).sum()
        else:
            C = typed_confusion(y, y_pred)
            seen = (C.sum(axis=0) + C.sum(axis=1)) > 0
            tp = C.diagonal()[seen]
            fp, fn = C.sum(axis=0)[seen] - tp, C.sum(axis=1)[seen] - tp
            support = C.sum(axis=1)[seen]
            if average == "micro":
                tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        per_class = {"precision": p, "recall": r, "f1": _ratio(2 * p * r, p + r)}[kind]
        if average == "macro":
            return float(per_class.mean())
        if average == "weighted":
            return float((per_class * support).sum() / support.sum())
        return float(per_class)
    return score


def typed_top_k(y, P, k=5):
    labels = y.argmax(axis=1) if y.ndim == 2 else y.astype(int)
    true = P[np.arange(P.shape[0]), labels]
    return float(((P > true[:, None]).sum(axis=1) < k).mean())


def _typed_auc(positive, s):
    pos, neg = s[positive][:, None], s[~positive][None, :]
    return ((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size)


def typed_roc_auc(y, scores):
    if scores.ndim == 1 or scores.shape[1] == 1:
        return float(_typed_auc(y == 1, scores.ravel()))
    return float(np.mean([_typed_auc(y == k, scores[:, k]) for k in range(scores.shape[1])]))


TYPED = {
    "confusion_matrix": typed_confusion,
    "precision": _typed_score("precision"),
    "recall": _typed_score("recall"),
    "f1": _typed_score("f1"),
    "top_k_accuracy": typed_top_k,
    "roc_auc": typed_roc_auc,
}
