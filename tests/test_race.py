"""The optimizer race of lesson 08: its problems, the paths run side by side, the search
for each optimizer's rate, and the widget that shows them."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnlib import gradcheck, optim, race, surface, widgets  # noqa: E402


@pytest.mark.parametrize("problem", race.PROBLEMS)
def test_each_gradient_is_the_gradient_of_its_loss(problem):
    prob = race.race_problem(problem)
    for theta in ([0.3, -1.2], [-4.0, 2.5], list(prob.start)):
        theta = np.array(theta)
        numeric = gradcheck.numerical_gradient(lambda t: float(prob.loss(t[0], t[1])), theta)
        np.testing.assert_allclose(prob.grad(theta), numeric, rtol=1e-6, atol=1e-9)
    # and it broadcasts over a stack of points, as the side-by-side paths need
    stack = np.array([[0.3, -1.2], [-4.0, 2.5]])
    np.testing.assert_allclose(prob.grad(stack), [prob.grad(p) for p in stack])


def test_the_rotated_ravine_is_the_ravine_turned_45_degrees():
    straight, turned = race.race_problem("quadratic"), race.race_problem("rotated")
    c = np.sqrt(0.5)
    turn = np.array([[c, -c], [c, c]])  # along θ1 -> along (1, 1)/√2
    rng = np.random.default_rng(0)
    for point in rng.normal(size=(5, 2)) * 3:
        assert turned.loss(*(turn @ point)) == pytest.approx(straight.loss(*point))
    np.testing.assert_allclose(turned.start, turn @ np.array(straight.start))
    assert turned.loss(*turned.start) == pytest.approx(straight.loss(*straight.start))
    # its curvatures are 1 along the diagonal and κ across: the same ravine
    hessian = np.array([turned.grad(e) for e in np.eye(2)])
    np.testing.assert_allclose(np.linalg.eigvalsh(hessian), [1.0, race.KAPPA])
    assert hessian[0, 0] == pytest.approx(hessian[1, 1])  # no weight has its own curvature


def test_the_surface_problem_is_lesson_03s_error():
    prob = race.race_problem("surface")
    path = race.optimizer_path("sgd", optim.sgd_update, prob.start, prob.grad, prob.loss, 50, 1.0)
    from nnlib import datasets

    reference = surface.gradient_descent(*datasets.two_points(), eta=1.0, epochs=50)
    np.testing.assert_allclose(path, reference, rtol=1e-12)


@pytest.mark.parametrize("name", list(race.UPDATES))
def test_rates_side_by_side_give_each_rate_its_own_path(name):
    prob = race.race_problem("surface")
    etas = np.array([0.01, 0.3, 2.0])
    together = race.optimizer_path(name, race.UPDATES[name], prob.start, prob.grad, prob.loss,
                                   30, etas)
    assert together.shape == (31, 3, 3)
    for k, eta in enumerate(etas):
        alone = race.optimizer_path(name, race.UPDATES[name], prob.start, prob.grad,
                                    prob.loss, 30, float(eta))
        np.testing.assert_allclose(together[:, k], alone, rtol=1e-13, atol=1e-300)


def test_a_diverging_rate_is_nan_from_there_on_and_spares_the_others():
    prob = race.race_problem("quadratic")
    paths = race.optimizer_path("sgd", optim.sgd_update, prob.start, prob.grad, prob.loss, 2000,
                                [0.01, 0.5])
    finite = np.all(np.isfinite(paths), axis=-1)
    assert finite[:, 0].all()
    first_bad = finite[:, 1].argmin()
    assert 0 < first_bad and not finite[first_bad:, 1].any()


def test_tune_eta_keeps_the_rate_with_the_lowest_final_loss():
    best, losses = race.tune_eta(["sgd", "momentum"], "quadratic", steps=100)
    for name in best:
        assert losses[name].shape == race.ETA_GRID.shape
        assert best[name] == race.ETA_GRID[np.argmin(losses[name])]
    # gradient descent's best rate is the largest of the grid below the limit 2/κ
    below = race.ETA_GRID[race.ETA_GRID < 2 / race.KAPPA]
    assert best["sgd"] == below.max()
    start = race.race_problem("quadratic").start
    too_high = losses["sgd"][race.ETA_GRID > 2.5 / race.KAPPA]
    assert (too_high > race.elongated_quadratic(*start)).all() and np.isinf(too_high[-1])


def test_tune_eta_uses_the_update_functions_it_is_given():
    def too_timid(theta, grad, eta):  # steps a tenth of the way: needs a rate ten times larger
        return theta - 0.1 * eta * grad

    best, _ = race.tune_eta(["sgd"], "quadratic", steps=100)
    timid, _ = race.tune_eta(["sgd"], "quadratic", steps=100, updates={"sgd": too_timid})
    assert timid["sgd"] == pytest.approx(10 * best["sgd"], rel=0.3)


def test_methods_that_treat_all_weights_alike_do_not_see_the_turn():
    for name in ("sgd", "momentum", "nesterov"):
        along = race.race([name], *race.race_problem("quadratic").start, 200,
                          problem="quadratic")[name]
        turned = race.race([name], *race.race_problem("rotated").start, 200,
                           problem="rotated")[name]
        np.testing.assert_allclose(turned[:, 2], along[:, 2], rtol=1e-6)


def test_per_weight_rates_are_flattered_by_the_ravine_along_an_axis():
    """The finding the lesson reads from the race: AdaGrad and Adam do better on the ravine
    along θ1 than on the same ravine turned, each with its own best rate."""
    _, along = race.tune_eta(["adagrad", "adam"], "quadratic")
    _, turned = race.tune_eta(["adagrad", "adam"], "rotated")
    for name in ("adagrad", "adam"):
        assert along[name].min() < turned[name].min() / 5


def test_race_defaults_to_the_tuned_rates_times_the_scale():
    calls = []

    def sgd(theta, grad, eta):
        calls.append(float(np.max(eta)))
        return optim.sgd_update(theta, grad, eta)

    best, _ = race.tune_eta(["sgd"], "rotated", updates={"sgd": sgd})
    calls.clear()
    race.race(["sgd"], 1.0, 1.0, 3, eta_scale=0.5, problem="rotated", updates={"sgd": sgd})
    assert calls[-1] == pytest.approx(0.5 * best["sgd"])
    with pytest.raises(ValueError, match="problem"):
        race.race_problem("bowl")


def _race_widget(**kwargs):
    ex = widgets.OptimizerRace(**kwargs)
    ex.optimizers.value = ("sgd", "adagrad", "adam")
    ex.steps.value = 60
    return ex


def test_the_widget_races_with_the_rates_the_search_finds():
    ex = _race_widget(problem="rotated")
    best, _ = race.tune_eta(["sgd", "adagrad", "adam"], "rotated")
    assert ex.etas == best
    start = race.race_problem("rotated").start
    np.testing.assert_allclose((ex.w0.value, ex.b0.value), start, atol=0.05)  # slider steps
    labels = [text.get_text() for text in ex.figure.legends[0].get_texts()]
    assert labels == [f"{n}, η = {best[n]:.3g}" for n in ("sgd", "adagrad", "adam")]


def test_a_frame_moves_the_paths_and_redraws_the_picture():
    ex = _race_widget()
    image = ex.live.widget
    end = image.value
    ex.frame.value = 10
    assert image.value != end
    lines = ex.lines
    np.testing.assert_array_equal(lines["adam"].get_xydata(), ex.trajectories["adam"][:11, :2])
    assert ex.ax.get_title() == "after 10 steps"
    assert ex._cursor.get_xdata()[0] == 10
    # a frame blits only the moving artists over the cached background: a full draw gives
    # the same picture
    blitted = image.value
    ex.live.draw()
    from io import BytesIO

    from PIL import Image

    def pixels(png):
        return np.asarray(Image.open(BytesIO(png)).convert("RGB"))

    np.testing.assert_array_equal(pixels(blitted), pixels(image.value))


def test_switching_problem_redraws_the_contours_and_keeps_one_colour_bar():
    ex = _race_widget()
    n_axes = len(ex.figure.axes)
    for problem in ("quadratic", "rotated", "surface"):
        ex.problem.value = problem
        prob = race.race_problem(problem)
        assert ex.figure.get_suptitle().endswith(prob.title)
        assert (ex.ax.get_xlabel(), ex.ax.get_ylabel()) == prob.names
        assert ex.ax.get_xlim() == prob.extent[:2]
        assert len(ex.figure.axes) == n_axes  # the old colour bar went with the old contours
        assert ex.frame.value == ex.frame.max == ex.steps.value


def test_the_widget_calls_the_functions_it_is_given_at_each_race():
    used = []

    def my_adam(*args, **kwargs):
        used.append(True)
        return optim.adam_update(*args, **kwargs)

    ex = _race_widget(updates={"adam": my_adam})
    used.clear()
    ex.w0.value = 0.5
    assert used


def test_the_lessons_reading_of_the_race_holds():
    """Section 7 of lesson 08 reads the tuned race in words; these are its claims."""
    final = {p: race.tune_eta(list(race.UPDATES), p)[1] for p in race.PROBLEMS}
    low = {p: {name: L.min() for name, L in losses.items()} for p, losses in final.items()}
    surface_, along, turned = low["surface"], low["quadratic"], low["rotated"]
    # error surface: plain gradient descent first, momentum last
    assert min(surface_, key=surface_.get) == "sgd"
    assert max(surface_, key=surface_.get) == "momentum"
    # ravine along θ1: AdaGrad reaches the minimum itself, Adam about as low as momentum
    assert along["adagrad"] == 0.0
    assert along["adam"] == pytest.approx(along["momentum"], rel=0.1)
    # RMSProp hovers on both ravines: far above the momentum methods
    for ravine in (along, turned):
        assert ravine["rmsprop"] > 1e4 * max(ravine["momentum"], ravine["adam"])
    # turned: AdaGrad first to last, Adam ends higher with a smaller rate
    assert max(turned, key=turned.get) == "adagrad"
    best_along = race.tune_eta(["adam"], "quadratic")[0]["adam"]
    best_turned = race.tune_eta(["adam"], "rotated")[0]["adam"]
    assert turned["adam"] > along["adam"] and best_turned < best_along
    # gradient descent's best rate on the surface is beyond the slides' "good range" (0.1)
    assert race.tune_eta(["sgd"], "surface")[0]["sgd"] > 1.0


def test_an_update_that_takes_one_rate_at_a_time_is_searched_rate_by_rate():
    def scalar_only(theta, grad, eta):
        return np.asarray(theta) - float(eta) * np.asarray(grad)

    best, losses = race.tune_eta(["sgd"], "surface", steps=50)
    own_best, own_losses = race.tune_eta(["sgd"], "surface", steps=50,
                                         updates={"sgd": scalar_only})
    assert own_best == best
    np.testing.assert_allclose(own_losses["sgd"], losses["sgd"], rtol=1e-12)


def test_every_setting_runs_the_race_again_and_a_new_problem_runs_it_once():
    ex = _race_widget()
    draws = []
    full_draw = ex.live.draw
    ex.live.draw = lambda: (draws.append(True), full_draw())[1]
    ex.w0.value = 1.0
    assert ex.trajectories["sgd"][0, 0] == 1.0 and len(draws) == 1
    ex.steps.value = 30
    assert ex.trajectories["adam"].shape == (31, 3) and ex.frame.max == 30
    ex.eta_scale.value = 0.5
    assert ex.figure.legends[0].get_texts()[0].get_text() == f"sgd, η = {0.5 * ex.etas['sgd']:.3g}"
    ex.optimizers.value = ("nesterov",)
    assert list(ex.trajectories) == ["nesterov"]
    draws.clear()
    ex.problem.value = "quadratic"  # moves both start sliders, yet races once
    assert len(draws) == 1
    assert tuple(ex.trajectories["nesterov"][0, :2]) == race.race_problem("quadratic").start


def test_every_eta_scale_redraws_even_when_runs_overflow():
    ex = _race_widget(problem="quadratic")
    for exponent in np.arange(-2.0, 1.01, 0.3):
        before = ex.live.widget.value
        ex.eta_scale.value = 10**exponent
        assert ex.live.widget.value != before
    assert ex.trajectories["sgd"][-1, 2] > 1e100  # sgd on its way to overflow at the top
