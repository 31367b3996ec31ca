"""Frames per second of a LiveFigure in the kernel: lesson 03's descent explorer (filled
contours, a path, a point and a title) at the course's pixel ratio of 2.

Compares one frame drawn the old way (savefig of the whole figure, PIL's PNG encoder) with
`LiveFigure.draw()` (whole figure, fast_png) and `LiveFigure.draw_animated()` (blitting
the animated artists over the cached contours). Target: at least 10 frames/s for
animation frames, leaving the browser time to show them. Kernel side only; the browser's
rate is measured by benchmarks/widgets.py.

    python benchmarks/live_figure.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import time

from matplotlib.figure import Figure

from nnlib import datasets, surface
from nnlib.plot import LiveFigure, figure_png

TARGET = 10.0  # frames/s
RATIO = 2  # the course's kernels draw retina figures (jupyter/ipython_kernel_config.py)


def explorer():
    """The figure of 03's descent explorer and a function that moves it to epoch k."""
    X, Y = datasets.two_points()
    W, B, E = surface.error_surface(X, Y)
    run = surface.gradient_descent(X, Y, epochs=400)
    fig = Figure(figsize=(5.5, 4.6), layout="constrained", dpi=100 * RATIO)
    ax = fig.add_subplot()
    ax.contourf(W, B, E, levels=30, cmap="viridis")
    (trail,) = ax.plot([], [], ".-", color="white", ms=3, lw=1, animated=True)
    (head,) = ax.plot([], [], "o", color="tab:red", ms=8, animated=True)
    ax.title.set_animated(True)
    ax.set(xlim=(-6, 6), ylim=(-6, 6), xlabel="w", ylabel="b")

    def move(k):
        trail.set_data(run[: k + 1, 0], run[: k + 1, 1])
        head.set_data(run[k : k + 1, 0], run[k : k + 1, 1])
        ax.set_title(f"epoch {k}")

    move(0)
    return fig, move


def rate(frame, frames: int) -> float:
    start = time.perf_counter()
    for k in range(frames):
        frame(2 * k)
    return frames / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    frames = parser.parse_args().frames
    fig, move = explorer()
    live = LiveFigure(fig)

    def savefig_frame(k):  # savefig draws animated artists too
        move(k)
        live.widget.value = figure_png(fig)

    rates = {
        "savefig + PIL PNG (before)": rate(savefig_frame, frames),
        "LiveFigure.draw()": rate(lambda k: (move(k), live.draw()), frames),
        "LiveFigure.draw_animated()": rate(lambda k: (move(k), live.draw_animated()), frames),
    }
    load = os.getloadavg()[0]
    print(f"LiveFigure frames/s in the kernel, {frames} frames of 03's descent explorer "
          f"(load average {load:.1f} on {os.cpu_count()} CPUs)")
    base = rates["savefig + PIL PNG (before)"]
    for name, r in rates.items():
        verdict = "" if name.endswith("(before)") else (
            "  meets target" if r >= TARGET else "  below target")
        print(f"  {name:<28} {r:6.1f} frames/s  {r / base:5.1f}x{verdict}")


if __name__ == "__main__":
    main()
