"""IPython extension (test only): check every matplotlib figure a kernel renders against the
figure rules of docs/STYLE.md, and append what breaks them to a file.

Loaded into a kernel by `nncourse_figure_plugin` (`--InteractiveShellApp.extensions`), it
wraps `Figure.draw`, which every rendering goes through: the inline backend's PNG, `savefig`,
and the Agg canvas of widgets and live plots. After each cell it appends one JSON line
{"cell": execution count, "source": first line, "problems": [...]} to the file named by
NNCOURSE_FIGURE_AUDIT, for cells whose figures broke a rule.
"""

from __future__ import annotations

import json
import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

ENV = "NNCOURSE_FIGURE_AUDIT"
EDGE_PX = 2.0  # a line that only grazes a legend's frame does not count as covered


def _has_title(ax) -> bool:
    if any(ax.get_title(loc) for loc in ("center", "left", "right")):
        return True
    fig = ax.get_figure(root=False)
    while fig is not None:  # a (sub)figure's suptitle titles every axes in it
        if fig.get_suptitle():
            return True
        parent = getattr(fig, "_parent", None)
        fig = parent if parent is not fig else None
    return False


def _has_ticklabels(axis) -> bool:
    return any(t.get_visible() and t.get_text() for t in axis.get_ticklabels())


def _shared(ax, which: str):
    return getattr(ax, f"get_shared_{which}_axes")().get_siblings(ax)


def _labelled(ax, which: str) -> bool:
    """An axis is labelled by its own label, by a labelled axes sharing it, or by the
    figure's supxlabel/supylabel."""
    sup = getattr(ax.get_figure(root=False), f"_sup{which}label", None)
    if sup is not None and sup.get_text():
        return True
    if which == "z":
        return bool(ax.get_zlabel())
    return any(getattr(other, f"get_{which}label")() for other in _shared(ax, which))


def _colorbar_problem(ax) -> str | None:
    cb = ax._colorbar
    axis = ax.yaxis if cb.orientation == "vertical" else ax.xaxis
    return None if axis.get_label_text() else "colorbar without a label"


def _reference_line(line: Line2D, ax) -> bool:
    """axhline/axvline: two points in a transform blended with the axes coordinates."""
    return len(line.get_xydata()) == 2 and line.get_transform() != ax.transData


def _inside(P: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return (P[:, 0] > x0) & (P[:, 0] < x1) & (P[:, 1] > y0) & (P[:, 1] < y1)


def _crosses(P: np.ndarray, box) -> bool:
    """Whether the polyline P (k, 2) in display pixels passes through the rectangle box
    (x0, y0, x1, y1): Liang-Barsky clipping, vectorized over the segments."""
    x0, y0, x1, y1 = box
    if _inside(P, box).any():
        return True
    a, d = P[:-1], np.diff(P, axis=0)
    keep = np.isfinite(a).all(axis=1) & np.isfinite(d).all(axis=1)  # NaN breaks a line
    a, d = a[keep], d[keep]
    lo, hi = np.zeros(len(a)), np.ones(len(a))
    for p, q in ((-d[:, 0], a[:, 0] - x0), (d[:, 0], x1 - a[:, 0]),
                 (-d[:, 1], a[:, 1] - y0), (d[:, 1], y1 - a[:, 1])):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = q / p
        hi = np.where(p > 0, np.minimum(hi, r), hi)
        lo = np.where(p < 0, np.maximum(lo, r), lo)
        lo = np.where((p == 0) & (q < 0), np.inf, lo)  # parallel to this edge, outside it
    return bool((lo < hi).any())


def _legend_problem(ax, renderer) -> str | None:
    legend = ax.get_legend()
    if legend is None or not legend.get_visible() or renderer is None:
        return None
    box = Bbox.intersection(legend.get_window_extent(renderer), ax.get_window_extent(renderer))
    if box is None:
        return None  # the legend lies outside the axes, where no data is drawn
    box = (box.x0 + EDGE_PX, box.y0 + EDGE_PX, box.x1 - EDGE_PX, box.y1 - EDGE_PX)
    covered = []
    for line in ax.get_lines():
        if not line.get_visible() or _reference_line(line, ax):
            continue
        P = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        joined = line.get_linestyle() not in ("None", "", " ", "none")
        if _crosses(P, box) if joined else _inside(P, box).any():
            label = line.get_label()
            covered.append("an unlabelled line" if label.startswith("_") else repr(label))
    return f"legend covers {', '.join(dict.fromkeys(covered))}" if covered else None


def _legend_missing(ax) -> str | None:
    """Curves given labels (two or more on the axes) that no legend of the figure shows;
    one legend may serve several panels."""
    labelled = [a.get_label() for a in [*ax.get_lines(), *ax.collections, *ax.containers]
                if not a.get_label().startswith("_")]
    if len(labelled) < 2 or ax.get_legend() is not None:
        return None
    fig = ax.get_figure(root=True)
    legends = [*fig.legends, *(other.get_legend() for other in fig.get_axes())]
    shown = {t.get_text() for legend in legends if legend is not None
             for t in legend.get_texts()}
    missing = [label for label in labelled if label not in shown]
    if not missing:
        return None
    return f"labelled curves in no legend: {', '.join(map(repr, missing[:4]))}" + (
        f" and {len(missing) - 4} more" if len(missing) > 4 else "")


def figure_problems(fig: Figure, renderer=None) -> list[str]:
    """What in `fig` breaks the figure rules: a title (suptitle or every axes'), x and y
    (and z in 3-D, upright) labels on every axis that shows tick labels, a label on every colorbar,
    a legend where two or more curves have labels, and (given the renderer of a drawing)
    no legend over a plotted line."""
    problems = []
    plots = [ax for ax in fig.get_axes() if ax.get_visible() and not hasattr(ax, "_colorbar")]
    many = len(plots) > 1
    for i, ax in enumerate(fig.get_axes(), start=1):
        if not ax.get_visible():
            continue
        name = f"axes {i}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        if hasattr(ax, "_colorbar"):
            problem = _colorbar_problem(ax)
            problems += [f"{name}: {problem}"] if problem else []
            continue
        if not _has_title(ax):
            problems.append(f"{name}: no title" + (" (and no suptitle)" if many else ""))
        axes3d = ax.name == "3d"
        if not (ax._axis3don if axes3d else ax.axison):  # Axes3D draws its own axes
            continue
        for which in ("x", "y", "z") if axes3d else ("x", "y"):
            axis = getattr(ax, f"{which}axis")
            shown = axis.get_visible() and (axes3d or _has_ticklabels(axis))
            if shown and not _labelled(ax, which):
                problems.append(f"{name}: no {which}-label")
        if axes3d and ax.get_zlabel() and ax.zaxis.get_rotate_label(ax.get_zlabel()):
            problems.append(f"{name}: the z-label turns with the axis and can read upside "
                            "down; fix it upright with ax.zaxis.set_rotate_label(False)")
        for problem in (_legend_missing(ax), _legend_problem(ax, renderer)):
            problems += [f"{name}: {problem}"] if problem else []
    return problems


class Audit:
    """Collects the problems of the figures drawn during a cell; writes them after it.

    A figure drawn several times in a cell is judged by its last drawing, the one left on
    the page (a widget's figure is often drawn once before its labels are set)."""

    def __init__(self, path: str):
        self.path = path
        self.problems: dict[int, list[str]] = {}  # figure id -> problems of its last drawing
        self.figures: dict[int, str] = {}  # id -> how the report names it
        self.source = ""
        self._draw = Figure.draw

    def name(self, fig: Figure) -> str:
        """'figure k' (k-th figure drawn in the cell), with its suptitle if it has one."""
        if id(fig) not in self.figures:
            title = fig.get_suptitle()
            self.figures[id(fig)] = f"figure {len(self.figures) + 1}" + (
                f" ({title!r})" if title else "")
        return self.figures[id(fig)]

    def wrap(self):
        audit, draw = self, self._draw

        def audited_draw(fig, renderer):
            draw(fig, renderer)
            name = audit.name(fig)
            try:
                found = figure_problems(fig, renderer)
            except Exception as error:  # a rule that cannot be read is a problem too
                found = [f"the figure audit failed: {error!r}"]
            audit.problems[id(fig)] = [f"{name}: {problem}" for problem in found]

        Figure.draw = audited_draw

    def unwrap(self):
        Figure.draw = self._draw

    def pre_run_cell(self, info):
        self.problems.clear()
        self.figures.clear()
        self.source = next((line for line in (info.raw_cell or "").splitlines()
                            if line.strip()), "")

    def post_run_cell(self, result):
        problems = [p for found in self.problems.values() for p in found]
        if not problems:
            return
        record = {"cell": result.execution_count, "source": self.source, "problems": problems}
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        self.problems.clear()


_audit: Audit | None = None


def load_ipython_extension(ip):
    global _audit
    path = os.environ.get(ENV)
    if not path or _audit is not None:
        return
    _audit = Audit(path)
    _audit.wrap()
    ip.events.register("pre_run_cell", _audit.pre_run_cell)
    ip.events.register("post_run_cell", _audit.post_run_cell)


def unload_ipython_extension(ip):
    global _audit
    if _audit is not None:
        ip.events.unregister("pre_run_cell", _audit.pre_run_cell)
        ip.events.unregister("post_run_cell", _audit.post_run_cell)
        _audit.unwrap()
        _audit = None
