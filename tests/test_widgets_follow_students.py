"""Every lesson's widgets call the student's newest functions, with no widget cell re-run.

A lesson's widgets reach the exercises through `autograder.latest`, which looks the
student's function up at every call. For each lesson whose solution shows a widget with
controls, every cell of the released notebook runs in a kernel (nbclient, no browser), as
Run All does; then, in the same kernel, a new cell defines a new version of every exercise
a `latest` there looks up (a spy: it notes its call and returns nnlib's answer), as a
student would after the widget is on the screen, and kernel code changes every control of
every widget (a slider one step, each option of a dropdown or toggle group in turn, the
race's optimizers all selected, a checkbox or toggle flipped, a button clicked; Play is
left out: in the browser it moves a slider). Each event must change its widget's picture
(image bytes, HTML or Output) without an error, and the spies of the exercises the lesson's
widgets use (WIDGET_EXERCISES) must all be called. No event may change a matplotlib figure
other than its widget's own (matplotlib marks a changed figure stale): a widget whose code
names a global that a later cell rebinds (`ax`, `fig`) writes part of its picture, a title,
into another figure, and its own shows the old one. The lessons run two at a time.
"""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config
from widget_driver import WIDGET_VIEW, widget_lessons

from autograder.course import environment
from autograder.selftest import private_sockets

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180  # seconds per cell, on a busy 2-core machine

# lesson -> the exercises its widgets call (through `latest`) when their controls change
WIDGET_EXERCISES = {
    "00-welcome": {"step"},
    "01-mp-neuron": {"mp_neuron"},
    "02-perceptron": {"perceptron_predict", "perceptron_step"},
    "03-error-surface": {"gradient_descent"},
    "04-activations": {"sigmoid_prime", "relu_prime", "gradient_sizes"},
    "05-forward": {"staircase", "dense_forward"},
    "07-losses": {"huber"},
    "08-optimizers": {"sgd_update", "momentum_update", "adam_update", "rmsprop_update"},
    "09-regularization": {"l2_grad", "dropout_forward", "batchnorm_forward",
                          "early_stopping_epoch", "xavier_init", "he_init"},
    "10-training": {"precision", "recall", "f1"},
}
CONTROL_MODEL = re.compile(r"(Slider|Dropdown|ToggleButtons|ToggleButton|SelectMultiple|Select|"
                           r"RadioButtons|Checkbox|Button)Model$")

# In the kernel: the exercises that `latest` wrappers look up, with their fallbacks.
FIND_LATEST = """
import json as _json, types as _types
from autograder.fallback import latest as _latest

def _follow_find(value, found, depth=0):
    if isinstance(value, _latest):
        found.setdefault(value.name, value.fallback)
    elif depth < 3:
        if isinstance(value, _types.SimpleNamespace):
            value = vars(value)
        children = (value.values() if isinstance(value, dict)
                    else value if isinstance(value, (list, tuple)) else ())
        for child in children:
            _follow_find(child, found, depth + 1)

_follow_fallbacks = {}
for _value in list(get_ipython().user_ns.values()):
    _follow_find(_value, _follow_fallbacks)
_follow_calls = []
print(_json.dumps(sorted(_follow_fallbacks)))
"""

# What a student types in a new cell: a new version of the exercise.
SPY = '''
def {name}(*args, **kwargs):
    """A new version of {name}, defined after the widget: notes its call."""
    _follow_calls.append({name!r})
    return _follow_fallbacks[{name!r}](*args, **kwargs)
'''

# In the kernel: change every control of the widgets shown (model ids), one event at a time.
FIRE = """
import gc as _gc, json as _json, math as _math
import ipywidgets as _w
from ipywidgets.widgets.widget import _instances as _widgets
from matplotlib.figure import Figure as _Figure
from nnlib.plot import LiveFigure as _LiveFigure

_SLIDERS = (_w.IntSlider, _w.FloatSlider, _w.FloatLogSlider)
_CHOICES = (_w.Dropdown, _w.ToggleButtons, _w.RadioButtons, _w.Select)
_FLIPS = (_w.Checkbox, _w.ToggleButton)

def _follow_parts(widget, controls, pictures):
    if isinstance(widget, _w.Box):  # interactive too
        for child in widget.children:
            _follow_parts(child, controls, pictures)
    elif isinstance(widget, (*_SLIDERS, *_CHOICES, *_FLIPS, _w.SelectMultiple, _w.Button)):
        controls.append(widget)
    elif isinstance(widget, (_w.Image, _w.HTML, _w.Output)):
        pictures.append(widget)

def _follow_events(control):
    '''(what, event) pairs: a slider's step, each option of a group in turn, ...'''
    name = control.description or type(control).__name__
    if isinstance(control, _w.FloatLogSlider):
        power = _math.log(control.value, control.base)
        up = power + control.step <= control.max
        target = control.base ** (power + (control.step if up else -control.step))
        return [(f"{name} to {target:.4g}", lambda: setattr(control, "value", target))]
    if isinstance(control, _SLIDERS):
        up = control.value + control.step <= control.max
        target = control.value + (control.step if up else -control.step)
        return [(f"{name} to {target:.4g}", lambda: setattr(control, "value", target))]
    if isinstance(control, _CHOICES):
        n = len(control.options)
        return [(f"{name} option {(control.index + k) % n}",
                 lambda k=k: setattr(control, "index", (control.index + 1) % n))
                for k in range(1, n + 1)]
    if isinstance(control, _w.SelectMultiple):
        every = tuple(range(len(control.options)))
        target = every if tuple(control.index) != every else every[:1]
        return [(f"{name}: {len(target)} selected", lambda: setattr(control, "index", target))]
    if isinstance(control, _FLIPS):
        return [(f"{name} flipped", lambda: setattr(control, "value", not control.value))]
    return [(f"button {name}", control.click)]

def _follow_picture(pictures):
    return [p.value if isinstance(p, _w.Image) else
            p.value if isinstance(p, _w.HTML) else _json.dumps(p.outputs, default=str)
            for p in pictures]

def _follow_errors(pictures):
    return [o.get("ename", "") + ": " + o.get("evalue", "") for p in pictures
            if isinstance(p, _w.Output) for o in p.outputs if o.get("output_type") == "error"]

def _follow_named(figure):
    titles = [figure.get_suptitle(), *(ax.get_title() for ax in figure.axes)]
    return "the figure " + repr(next((t for t in titles if t), f"of {len(figure.axes)} axes"))

def _follow_fire(model_ids):
    rows = []
    objects = _gc.get_objects()
    figures = [o for o in objects if issubclass(type(o), _Figure)]  # not isinstance: a
    lives = [o for o in objects if issubclass(type(o), _LiveFigure)]  # dead weakref raises
    names = {id(figure): _follow_named(figure) for figure in figures}  # as after Run All
    for model_id in model_ids:
        controls, pictures = [], []
        _follow_parts(_widgets[model_id], controls, pictures)
        own = [live.figure for live in lives if live.widget in pictures]
        for control in controls:
            for what, event in _follow_events(control):
                before = _follow_picture(pictures)
                for figure in figures:
                    figure.stale = False
                _follow_calls.clear()
                error = None
                try:
                    event()
                except Exception as exc:  # noqa: BLE001 - reported by the test
                    error = f"{type(exc).__name__}: {exc}"
                error = error or "; ".join(_follow_errors(pictures)) or None
                elsewhere = [names[id(f)] for f in figures
                             if f.stale and not any(f is o for o in own)]
                rows.append(dict(widget=model_id, event=what, calls=sorted(set(_follow_calls)),
                                 changed=_follow_picture(pictures) != before, error=error,
                                 elsewhere=elsewhere))
    return rows
"""


def control_widget_cells(lesson: str) -> list[int]:
    """Indexes of the cells whose solution output shows a widget with controls."""
    solution = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", 4)
    state = solution.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})

    def has_controls(model_id, seen):
        if model_id in seen or model_id not in state:
            return False
        seen.add(model_id)
        model = state[model_id]
        refs = re.findall(r"IPY_MODEL_(\w+)", json.dumps(model["state"]))
        return (CONTROL_MODEL.search(model["model_name"]) is not None
                or any(has_controls(ref, seen) for ref in refs))

    return [i for i, cell in enumerate(solution.cells) if cell.cell_type == "code"
            and any(WIDGET_VIEW in out.get("data", {}) and has_controls(
                out["data"][WIDGET_VIEW]["model_id"], set()) for out in cell.outputs)]


def text_of(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream"
                   and out.name == "stdout")


def follow(lesson: str, folder: Path) -> dict:
    """Run the release, define spies, fire every control of its widgets with controls;
    what happened, for the test to judge."""
    shutil.copytree(ROOT / "lectures" / lesson, folder)
    nb = nbformat.read(folder / f"{lesson}.ipynb", 4)
    cells = control_widget_cells(lesson)
    with private_sockets() as traits:
        client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", allow_errors=True,
                                config=Config({"KernelManager": traits}),
                                shutdown_kernel="immediate",
                                resources={"metadata": {"path": str(folder)}})
        with client.setup_kernel(env=environment()):
            for index, cell in enumerate(list(nb.cells)):
                client.execute_cell(cell, index)
            model_ids = [out["data"][WIDGET_VIEW]["model_id"] for index in cells
                         for out in nb.cells[index].outputs if WIDGET_VIEW in out.get("data", {})]

            def run(code: str):
                nb.cells.append(nbformat.v4.new_code_cell(code))
                cell = client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
                errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs
                          if o.output_type == "error"]
                errors += [o.text for o in cell.outputs
                           if o.output_type == "stream" and o.name == "stderr"]
                assert not errors, f"{lesson}: {code.strip().splitlines()[0]}: {errors}"
                return cell

            exercises = json.loads(text_of(run(FIND_LATEST)))
            run("".join(SPY.format(name=name) for name in exercises))
            run(FIRE)
            rows = json.loads(text_of(run(f"print(_json.dumps(_follow_fire({model_ids!r})))")))
    return {"exercises": exercises, "widgets": len(model_ids), "rows": rows}


@pytest.fixture(scope="module")
def followed(request, tmp_path_factory):
    """The lessons the tests of this module ask for, run two at a time."""
    wanted = dict.fromkeys(item.callspec.params["lesson"] for item in request.session.items
                           if item.module is request.module and hasattr(item, "callspec"))
    work = tmp_path_factory.mktemp("follow")
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {lesson: pool.submit(follow, lesson, work / lesson) for lesson in wanted}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def test_every_widget_lesson_has_its_exercises_listed():
    assert set(widget_lessons()) == set(WIDGET_EXERCISES)


@pytest.mark.parametrize("lesson", sorted(WIDGET_EXERCISES))
def test_the_widgets_call_the_newest_definitions(lesson, followed):
    result = followed[lesson].result()
    assert result["widgets"] >= 1
    rows = result["rows"]
    problems = [f"{row['event']}: {row['error']}" for row in rows if row["error"]]
    problems += [f"{row['event']}: the picture did not change" for row in rows
                 if not row["error"] and not row["changed"]]
    called = {name for row in rows for name in row["calls"]}
    missing = WIDGET_EXERCISES[lesson] - called
    if missing:
        problems.append(f"never called after their new definition: {sorted(missing)} "
                        f"(called: {sorted(called)}; looked up by latest: "
                        f"{result['exercises']})")
    assert not problems, f"{lesson}, {len(rows)} events:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("lesson", sorted(WIDGET_EXERCISES))
def test_an_event_changes_no_figure_but_its_widgets(lesson, followed):
    """A widget's drawing code that names a global a later cell rebinds (`ax`, `fig`) draws
    part of its picture (a title) on another figure after Run All: that part goes stale."""
    rows = followed[lesson].result()["rows"]
    elsewhere = sorted({f"{row['event']}: {figure}" for row in rows
                        for figure in row["elsewhere"]})
    assert not elsewhere, f"{lesson}: events changed figures no picture shows:\n  " + (
        "\n  ".join(elsewhere))
