"""Plots and widgets, on the Agg backend; widgets driven through their controls."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnlib import datasets, optim, plot, surface, widgets  # noqa: E402
from nnlib.activations import relu, relu_prime  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_importing_nnlib_keeps_plotting_out():
    code = (
        "import sys, nnlib, nnlib.train, nnlib.optim, nnlib.metrics, nnlib.datasets, "
        "nnlib.regularization, nnlib.batchnorm\n"
        "print([m for m in ('matplotlib', 'ipywidgets', 'tqdm') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plot_activation():
    z = np.linspace(-2, 2, 9)
    ax = plot.plot_activation(["relu", "tanh"], z)
    assert len(ax.lines) == 4 + 2  # f and f' per activation, plus the two axis lines
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), relu(z))
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), relu_prime(z))
    _, ax2 = plt.subplots()
    assert plot.plot_activation("sigmoid", derivative=False, ax=ax2) is ax2
    assert len(ax2.lines) == 1 + 2
    with pytest.raises(ValueError, match="unknown activations"):
        plot.plot_activation("sigmoidal")


def test_plot_decision_boundary():
    X, y = datasets.blobs(60, centers=np.array([[-3.0, 0.0], [3.0, 0.0]]), std=0.5, rng=0)
    ax = plot.plot_decision_boundary(lambda P: (P[:, 0] > 0).astype(int), X, y, resolution=50)
    # the class-0 region ends and the class-1 region starts at x1 = 0 (within a grid cell)
    cell = (np.ptp(X[:, 0]) + 1.0) / 49
    region0, region1 = ax.collections[0].get_paths()
    assert abs(region0.vertices[:, 0].max()) < cell
    assert abs(region1.vertices[:, 0].min()) < cell
    assert len(ax.collections[1].get_offsets()) == 60
    # scores (argmax) and a probability column work too
    plot.plot_decision_boundary(lambda P: np.c_[-P[:, 0], P[:, 0]], X, y, ax=ax)
    plot.plot_decision_boundary(lambda P: (P[:, :1] > 0) * 1.0, X, y, ax=ax)
    with pytest.raises(ValueError, match=r"\(m, 2\)"):
        plot.plot_decision_boundary(lambda P: P, X[:, :1], y)


def test_plot_error_surface_with_trajectories():
    X, Y = datasets.two_points()
    path = surface.gradient_descent(X, Y, epochs=50)
    ax = plot.plot_error_surface(X, Y, {"GD": path}, num=31)
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), path[:, 0])
    np.testing.assert_array_equal(line.get_ydata(), path[:, 1])
    assert ax.get_legend() is not None


def test_learning_curves_and_fit_regimes():
    h = {"loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 2.0], "accuracy": [0.5, 0.7, 0.9]}
    ax = plot.plot_learning_curves(h)
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), h["val_loss"])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    assert len(plot.plot_learning_curves(h, "accuracy").lines) == 1
    axes = plot.plot_fit_regimes({"underfit": h, "good fit": h, "overfit": h})
    assert [a.get_title() for a in axes] == ["underfit", "good fit", "overfit"]
    with pytest.raises(ValueError, match="no 'auc'"):
        plot.plot_learning_curves(h, "auc")


def test_live_learning_curves_redraw():
    live = plot.LiveLearningCurves()
    live.update({"loss": [1.0, 0.5], "val_loss": [1.2, 0.8]})
    np.testing.assert_array_equal(live.ax.lines[1].get_ydata(), [1.2, 0.8])
    live.update({"loss": [1.0, 0.5, 0.2], "val_loss": [1.2, 0.8, 0.7]})
    assert len(live.ax.lines) == 2 and len(live.ax.lines[0].get_ydata()) == 3


def test_activation_explorer_follows_its_controls():
    ex = widgets.ActivationExplorer()
    first = ex.ax.lines[0].get_ydata().copy()
    png = ex.image.value
    ex.name.value = "relu"
    z = ex.ax.lines[0].get_xdata()
    np.testing.assert_array_equal(ex.ax.lines[0].get_ydata(), relu(z))
    assert not np.array_equal(first, ex.ax.lines[0].get_ydata()) and ex.image.value != png
    ex.z_max.value = 10.0
    assert ex.ax.lines[0].get_xdata().max() == 10.0
    n_lines = len(ex.ax.lines)
    ex.derivative.value = False
    assert len(ex.ax.lines) == n_lines - 1
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


def test_optimizer_race_runs_again_on_every_setting():
    race = widgets.OptimizerRace()
    before = {k: v.copy() for k, v in race.trajectories.items()}
    race.optimizers.value = ("sgd", "adam", "nesterov")
    race.steps.value = 30
    race.w0.value = 1.0
    assert set(race.trajectories) == {"sgd", "adam", "nesterov"}
    assert race.trajectories["sgd"].shape == (31, 3)
    assert race.trajectories["sgd"][0, 0] == 1.0
    assert not np.array_equal(race.trajectories["adam"], before["adam"])
    plotted = {name: line.get_xydata() for name, line in race.lines.items()}
    np.testing.assert_array_equal(plotted["nesterov"], race.trajectories["nesterov"][:, :2])
    # every optimizer goes downhill on the two-point surface
    for path in race.trajectories.values():
        assert path[-1, 2] < path[0, 2]


def test_decision_boundary_trainer_trains_on_click():
    ex = widgets.DecisionBoundaryTrainer(rng=0)

    def boundary():
        return np.concatenate([p.vertices for p in ex.ax.collections[0].get_paths()])

    start = boundary()
    ex.epochs.value = 30
    ex.train.click()
    assert len(ex.history["loss"]) == 30
    assert ex.history["accuracy"][-1] > 0.85
    assert not np.array_equal(start, boundary())
    assert ex.ax.get_title().startswith("epoch 30")
    ex.problem.value = "spirals"
    ex.reset.click()
    assert ex.history["loss"] == [] and ex.model.sizes == [2, 16, 3]


def test_race_on_the_elongated_quadratic_with_own_update_functions():
    calls = []

    def my_sgd(theta, grad, eta):
        calls.append(eta)
        return theta - eta * grad

    paths = widgets.race(["sgd", "adam"], -4.5, 1.5, 40, problem="quadratic",
                         updates={"sgd": my_sgd}, etas={"sgd": 0.019, "adam": 0.1})
    assert len(calls) == 40 and calls[0] == pytest.approx(0.019)
    np.testing.assert_allclose(paths["sgd"][0], [-4.5, 1.5, 0.5 * (4.5**2 + 100 * 1.5**2)])
    # gradient descent on L = (θ1² + 100 θ2²)/2 multiplies θ1 by 1 − η and θ2 by 1 − 100 η
    np.testing.assert_allclose(paths["sgd"][40, :2], [-4.5 * 0.981**40, 1.5 * (-0.9) ** 40])
    theta, m, v = np.array([-4.5, 1.5]), np.zeros(2), np.zeros(2)
    for t in range(1, 41):
        theta, m, v = optim.adam_update(theta, theta * [1.0, 100.0], m, v, t, eta=0.1)
    np.testing.assert_allclose(paths["adam"][40, :2], theta)
    with pytest.raises(ValueError, match="problem"):
        widgets.race(["sgd"], 0.0, 0.0, 1, problem="bowl")


def test_race_marks_a_divergence_with_nan():
    paths = widgets.race(["sgd"], -4.5, 1.5, 2000, eta_scale=10.0, problem="quadratic")
    path = paths["sgd"]
    assert path.shape == (2001, 3)
    finite = np.all(np.isfinite(path), axis=1)
    assert finite[0] and not finite[-1]
    assert np.all(finite[: finite.argmin()]) and not np.any(finite[finite.argmin():])


def test_optimizer_race_switches_problem_and_plays_frames():
    used = []

    def my_momentum(theta, grad, v, eta=0.01, beta=0.9):
        used.append(True)
        return optim.momentum_update(theta, grad, v, eta, beta)

    race = widgets.OptimizerRace(updates={"momentum": my_momentum})
    assert used
    race.problem.value = "quadratic"
    assert (race.w0.value, race.b0.value) == (-4.5, 1.5)
    assert race.w0.description.startswith("θ1")
    assert race.trajectories["sgd"][0, 2] == pytest.approx(0.5 * (4.5**2 + 100 * 1.5**2))
    assert race.frame.max == race.steps.value == race.frame.value
    race.frame.value = 10
    plotted = {name: line.get_xydata() for name, line in race.lines.items()}
    np.testing.assert_array_equal(plotted["adam"], race.trajectories["adam"][:11, :2])
    assert race.ax.get_title() == "after 10 steps"
    race.steps.value = 20
    assert race.frame.max == 20 and race.frame.value == 20
    assert race.trajectories["sgd"].shape == (21, 3)


def _pixels(png: bytes) -> np.ndarray:
    from io import BytesIO

    from PIL import Image

    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


def test_live_figure_redraws_the_same_figure_in_place():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=50)
    ax = fig.add_subplot()
    ax.set(xlim=(0, 1), ylim=(0, 1))
    (line,) = ax.plot([0, 1], [0.1, 0.1], color="red", lw=4)
    live = plot.LiveFigure(fig)
    image = live.widget
    assert image.format == "png" and plt.get_fignums() == []  # pyplot shows nothing

    def red_rows():
        px = _pixels(image.value).astype(int)
        assert px.shape == (100, 150, 3)
        return np.nonzero(((px[..., 0] > 200) & (px[..., 1] < 60)).any(axis=1))[0]

    low = red_rows()
    line.set_ydata([0.9, 0.9])
    live.draw()
    assert live.widget is image  # the same widget, a new picture
    assert red_rows().mean() < low.mean() - 40  # the line moved up the picture
    assert "application/vnd.jupyter.widget-view+json" in live._repr_mimebundle_()


def test_live_figure_blits_animated_artists_like_a_full_draw():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=50)
    ax = fig.add_subplot()
    ax.imshow(np.arange(12.0).reshape(3, 4))
    (point,) = ax.plot([0], [0], "wo", animated=True)
    live = plot.LiveFigure(fig)
    start = live.widget.value
    point.set_data([3], [2])
    live.draw_animated()
    blitted = live.widget.value
    assert blitted != start
    live.draw()
    np.testing.assert_array_equal(_pixels(blitted), _pixels(live.widget.value))


def test_fast_png_decodes_to_the_same_pixels():
    from io import BytesIO

    from PIL import Image

    rng = np.random.default_rng(0)
    opaque = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    opaque[..., 3] = 255
    see_through = opaque.copy()
    see_through[0, 0, 3] = 10
    for rgba, mode in ((opaque, "RGB"), (see_through, "RGBA")):
        image = Image.open(BytesIO(plot.fast_png(rgba)))
        assert image.mode == mode and image.size == (5, 7)
        np.testing.assert_array_equal(np.asarray(image), rgba[..., : len(mode)])


def _set(name, value):
    def event(widget):
        getattr(widget, name).value = value
    return event


def _click(name):
    def event(widget):
        getattr(widget, name).click()
    return event


# Every event of every control of the explorers in nnlib.widgets, in order on one explorer.
# The race's Play widget is left out: in the browser it moves the step slider (jslink), so
# its events are the step slider's. DecisionBoundaryTrainer's settings are read at the next
# Train or Reset, so only its buttons draw.
EXPLORER_EVENTS = {
    "ActivationExplorer": (widgets.ActivationExplorer, [
        ("f", _set("name", "tanh")),
        ("|z| ≤", _set("z_max", 8.0)),
        ("show f'(z)", _set("derivative", False)),
    ]),
    "OptimizerRace": (widgets.OptimizerRace, [
        ("problem", _set("problem", "quadratic")),
        ("optimizers, one more", _set("optimizers", ("sgd", "momentum", "rmsprop", "adam"))),
        ("optimizers, one fewer", _set("optimizers", ("sgd", "adam"))),
        ("w0 start", _set("w0", -3.0)),
        ("b0 start", _set("b0", 1.0)),
        ("steps, lowered below the step shown", _set("steps", 120)),
        ("steps, raised", _set("steps", 300)),
        ("η scale", _set("eta_scale", 0.5)),
        ("step", _set("frame", 40)),
        ("steps, lowered below a step moved to", _set("steps", 25)),
        ("problem, back", _set("problem", "surface")),
    ]),
    "DecisionBoundaryTrainer": (lambda: widgets.DecisionBoundaryTrainer(rng=0), [
        ("Train", _click("train")),
        ("Reset", _click("reset")),
    ]),
}


@pytest.mark.parametrize("explorer", list(EXPLORER_EVENTS))
def test_every_control_change_sends_exactly_one_picture(explorer):
    """One picture per event: a second one (the race used to blit the new paths over the old
    background first when fewer steps clamped the step slider) flickers a wrong frame."""
    make, events = EXPLORER_EVENTS[explorer]
    ex = make()
    image = ex.live.widget if hasattr(ex, "live") else ex.image
    sent = []
    image.observe(lambda change: sent.append(change["new"]), names="value")
    counts, wrong = {}, []
    for name, event in events:
        sent.clear()
        event(ex)
        counts[name] = len(sent)
        if hasattr(ex, "live") and sent:  # the picture is the whole figure as it now is
            ex.live.draw()
            if not np.array_equal(_pixels(sent[-1]), _pixels(image.value)):
                wrong.append(name)
    assert counts == {name: 1 for name, _ in events}
    assert wrong == []
