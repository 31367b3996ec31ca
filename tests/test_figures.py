"""The figure rules of docs/STYLE.md and how they are enforced, and the sharp-figure setting.

The rules are checked on the real matplotlib objects while nbval executes the solutions
(`make nbval`, `make nbval-sweep`): tests/kernel/nncourse_figure_plugin.py loads the
extension tests/kernel/nncourse_figure_audit.py into nbval's kernels. Here: each rule on
figures made for it, and the plugin failing exactly the cells that break a rule.
"""

import base64
import os
import struct
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from autograder.selftest import run_notebook

ROOT = Path(__file__).resolve().parent.parent
KERNEL_DIR = ROOT / "tests" / "kernel"
sys.path.insert(0, str(KERNEL_DIR))
from nncourse_figure_audit import figure_problems  # noqa: E402

matplotlib.use("agg")


def problems(fig: Figure) -> list[str]:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return figure_problems(fig, canvas.get_renderer())


def labelled(ax, title="a title", xlabel="x", ylabel="y"):
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax


def test_a_titled_and_labelled_figure_passes():
    fig = Figure()
    labelled(fig.add_subplot()).plot([0, 1], [0, 1])
    assert problems(fig) == []


@pytest.mark.parametrize("missing, problem", [
    ("title", "axes 1: no title"), ("xlabel", "axes 1 ('a title'): no x-label"),
    ("ylabel", "axes 1 ('a title'): no y-label")])
def test_each_missing_label_is_named(missing, problem):
    fig = Figure()
    ax = labelled(fig.add_subplot(), **{missing: ""})
    ax.plot([0, 1], [0, 1])
    assert problems(fig) == [problem]


def test_a_suptitle_titles_every_panel_and_a_shared_axis_needs_one_label():
    fig = Figure()
    axes = fig.subplots(1, 2, sharey=True)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    assert problems(fig) == ["axes 1: no title (and no suptitle)",
                             "axes 2: no title (and no suptitle)"]
    fig.suptitle("two panels")
    assert problems(fig) == []


def test_a_3d_axes_needs_a_z_label():
    fig = Figure()
    ax = labelled(fig.add_subplot(projection="3d"))
    ax.plot_surface(*np.meshgrid([0, 1], [0, 1]), np.zeros((2, 2)))
    assert problems(fig) == ["axes 1 ('a title'): no z-label"]
    ax.set_zlabel("L")
    assert problems(fig) == []


def test_a_3d_z_label_must_stay_upright():
    """matplotlib turns a z-label of more than four characters with the axis, which reads
    upside down from some views (lesson 03's error surface did)."""
    fig = Figure()
    ax = labelled(fig.add_subplot(projection="3d"))
    ax.set_zlabel("L(w, b)")
    assert problems(fig) == ["axes 1 ('a title'): the z-label turns with the axis and can "
                             "read upside down; fix it upright with "
                             "ax.zaxis.set_rotate_label(False)"]
    ax.zaxis.set_rotate_label(False)
    assert problems(fig) == []


def test_a_colorbar_needs_a_label():
    fig = Figure()
    ax = labelled(fig.add_subplot())
    colorbar = fig.colorbar(ax.imshow(np.eye(3)), ax=ax)
    assert problems(fig) == ["axes 2: colorbar without a label"]
    colorbar.set_label("value")
    assert problems(fig) == []


def test_images_without_axes_need_only_a_title():
    fig = Figure()
    for ax in fig.subplots(2, 2).flat:
        ax.imshow(np.eye(3))
        ax.axis("off")
    fig.suptitle("four digits")
    assert problems(fig) == []


def test_a_legend_over_a_curve_is_found_and_one_beside_them_is_not():
    x = np.linspace(0, 1, 50)
    fig = Figure()
    ax = labelled(fig.add_subplot())
    ax.plot(x, np.full_like(x, 0.97), label="near the top")
    ax.plot(x, 0.5 * x, label="low")
    ax.axhline(0.0, color="0.8")  # a reference line, not a curve
    ax.set_ylim(-0.05, 1.0)
    ax.legend(loc="upper left")
    assert problems(fig) == ["axes 1 ('a title'): legend covers 'near the top'"]
    ax.legend(loc="lower right")
    assert problems(fig) == []


def test_labelled_curves_need_a_legend_which_may_serve_several_panels():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        labelled(ax).set_ylim(0, 1)
        ax.plot([0, 1], [0.45, 0.55], label="training loss")  # clear of the corners
        ax.plot([0, 1], [0.55, 0.45], label="validation loss")
    left.plot([0, 1], [0.5, 0.5], label="guessing")
    assert problems(fig) == [
        "axes 1 ('a title'): labelled curves in no legend: 'training loss', "
        "'validation loss', 'guessing'",
        "axes 2 ('a title'): labelled curves in no legend: 'training loss', 'validation loss'"]
    right.legend(loc="lower right")
    assert problems(fig) == ["axes 1 ('a title'): labelled curves in no legend: 'guessing'"]
    fig.legend(handles=left.get_lines()[2:], loc="upper left")
    assert problems(fig) == []


def test_a_line_crossing_a_legend_without_a_vertex_inside_it_counts():
    fig = Figure()
    ax = labelled(fig.add_subplot())
    ax.plot([0, 1], [1, 0], label="diagonal")  # two vertices, both far from the legend
    ax.plot([0.2], [0.2], "o", label="a point")  # markers only: its point is not covered
    ax.legend(loc="center")
    assert problems(fig) == ["axes 1 ('a title'): legend covers 'diagonal'"]


def nbval_with_plugin(tmp_path, cells: list[str]) -> tuple[subprocess.CompletedProcess, Path]:
    """Run nbval with the figure plugin on a lesson folder holding one notebook of `cells`
    (executed first, so the stored outputs match)."""
    lesson = tmp_path / "99-figures"
    lesson.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    run_notebook(nb, lesson)
    nbformat.write(nb, lesson / "99-figures.ipynb")
    violations = tmp_path / "violations.txt"
    env = dict(os.environ, PYTHONPATH=str(KERNEL_DIR))
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, as in a lesson
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "nncourse_figure_plugin",
         "--nbval", str(lesson), "--figure-violations", str(violations), "-q",
         "-p", "no:cacheprovider", f"--rootdir={tmp_path}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return proc, violations


GOOD = """import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
ax.set(title="good", xlabel="x", ylabel="y")
plt.show()"""
NO_YLABEL = """fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
ax.set(title="bad", xlabel="x")
plt.show()"""
WIDGET_UNTITLED = """from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
widget_figure = Figure()
canvas = FigureCanvasAgg(widget_figure)
widget_figure.add_subplot().plot([0, 1])
canvas.draw()  # as a widget renders its picture"""
LABELLED_BEFORE_SHOWN = """late = Figure()
late_canvas = FigureCanvasAgg(late)
ax = late.add_subplot()
ax.plot([0, 1])
late_canvas.draw()  # a widget's first drawing, before its labels are set: never shown
ax.set(title="late", xlabel="x", ylabel="y")
late_canvas.draw()"""


def test_nbval_fails_exactly_the_cells_whose_figures_break_a_rule(tmp_path):
    proc, violations = nbval_with_plugin(
        tmp_path, [GOOD, NO_YLABEL, "1 + 1", WIDGET_UNTITLED, LABELLED_BEFORE_SHOWN])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 failed, 3 passed" in out, out
    assert "99-figures, Cell 1 (fig, ax = plt.subplots())" in out
    assert "figure 1: axes 1 ('bad'): no y-label" in out
    assert "figure 1: axes 1: no title" in out and "no x-label" in out
    lines = violations.read_text().splitlines()
    assert lines[0] == ("99-figures\tCell 1 (fig, ax = plt.subplots())\t"
                        "figure 1: axes 1 ('bad'): no y-label")
    assert [line.split("\t")[1] for line in lines[1:]] == [
        "Cell 3 (from matplotlib.figure import Figure)"] * 3


def test_the_nbval_targets_check_the_figure_rules():
    makefile = (ROOT / "Makefile").read_text()
    rules = next(line for line in makefile.splitlines() if line.startswith("FIGURE_RULES :="))
    assert "tests/kernel" in rules
    assert "-p nncourse_figure_plugin" in makefile
    for target in ("nbval:", "nbval-sweep:"):
        recipe = makefile.split(f"\n{target}\n", 1)[1].split("\n\n", 1)[0]
        assert recipe.lstrip().startswith("$(FIGURE_RULES)"), (target, recipe)


def png_size(data: str) -> tuple[int, int]:
    return struct.unpack(">II", base64.b64decode(data)[16:24])


def test_kernels_of_the_environment_draw_figures_at_twice_the_density(tmp_path):
    """`make` copies jupyter/ipython_kernel_config.py where every kernel of the environment
    reads it; a figure is then a PNG of twice the pixels of its displayed size, and its
    text form (what nbval compares) is unchanged."""
    installed = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    assert installed.read_text() == (ROOT / "jupyter" / "ipython_kernel_config.py").read_text(), \
        "run `make` (lab, instructor or test install the kernel config)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 3), dpi=100)\n"
        "ax.plot([0, 1])\nfig")])
    run_notebook(nb, tmp_path)
    (out,) = [out for out in nb.cells[0].outputs if out.output_type == "execute_result"]
    width, height = png_size(out.data["image/png"])
    assert out.metadata["image/png"] == {"width": width // 2, "height": height // 2}
    assert width > 2 * 300  # tight bounding box around a 400-pixel-wide figure, doubled
    assert out.data["text/plain"] == "<Figure size 400x300 with 1 Axes>"


def test_live_figures_follow_the_kernel_density(tmp_path):
    """nnlib.plot.LiveFigure draws at the density of the kernel's inline figures and shows
    the picture at the figure's size."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from matplotlib.figure import Figure\nfrom nnlib.plot import LiveFigure\n"
        "live = LiveFigure(Figure(figsize=(4, 3), dpi=100))\n"
        "from PIL import Image\nimport io\n"
        "print(Image.open(io.BytesIO(live.widget.value)).size, live.widget.width)")])
    run_notebook(nb, tmp_path)
    (out,) = [out for out in nb.cells[0].outputs if out.get("name") == "stdout"]
    assert out.text.strip() == "(800, 600) 400"
