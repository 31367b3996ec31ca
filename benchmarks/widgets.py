"""Frame rates of every lesson's widgets, in headless Chromium JupyterLab (target: 10 frames/s).

For each lesson with widgets: Run All on the release, then
- every Play widget plays for a few seconds: frames/s of its picture;
- every slider is dragged: STEPS key presses as fast as the browser sends them, and the
  picture's redraws per second from the first press to the last redraw, once the kernel
  has caught up (what a student dragging the handle sees).
tests/test_browser.py prints the time from one event to its picture. The load average is
printed with the rates: on a busy machine they are lower.

    python benchmarks/widgets.py [lesson ...]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import (  # noqa: E402
    SECOND,
    chromium,
    jupyterlab,
    open_notebook,
    run_all_cells,
    wait_until_run,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from widget_driver import (  # noqa: E402
    Report,
    caught_up,
    play,
    settle,
    updates,
    widget_cells,
    widget_lessons,
)

TARGET = 10.0  # frames/s
STEPS = 20


def drag_rate(page, index: int, slider) -> float:
    """Redraws per second while a slider's handle takes STEPS steps in a row."""
    settle(page, index)
    before = updates(page, index)
    slider.locator.locator(".noUi-handle").first.focus()
    start = page.evaluate("performance.now()")
    for step in range(STEPS):
        page.keyboard.press("ArrowRight" if step < STEPS // 2 else "ArrowLeft")
    try:  # an event that computes (a race, a training run) takes longer than settle waits
        caught_up(page, index, before["updates"])
    except PlaywrightTimeout:
        return 0.0
    times = updates(page, index)["times"][len(before["times"]):]
    return len(times) / ((times[-1] - start) / 1000) if times else 0.0


def measure(page, base: str, token: str, lesson: str) -> list[str]:
    open_notebook(page, base, token, f"{lesson}/{lesson}.ipynb")
    run_all_cells(page)
    ran_all = wait_until_run(page)
    cells = widget_cells(page)
    rows = [] if ran_all else [f"{lesson:18} Run All stopped before the last cell"]
    report = Report(lesson)
    play(page, cells, "release", report)
    for name, fps in report.fps.items():
        rows.append(f"{lesson:18} {name.split(': ', 1)[1]:32} play {fps:6.1f} frames/s"
                    + ("" if fps >= TARGET else "  below target"))
    for index, (_, controls) in cells.items():
        for control in (c for c in controls if c.kind == "slider"):
            rate = drag_rate(page, index, control)
            rows.append(f"{lesson:18} cell {index + 1}, {control.name[:24]:24} drag {rate:6.1f}"
                        " frames/s" + ("" if rate >= TARGET else "  below target"))
    return rows


def main(lessons: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="nncourse-widgets-") as tmp:
        work = Path(tmp)
        for lesson in lessons:
            shutil.copytree(ROOT / "lectures" / lesson, work / "course" / lesson)
        with jupyterlab(work / "course", work, "--LabApp.expose_app_in_browser=True") as (
                base, token), sync_playwright() as playwright:
            browser = chromium(playwright, work / "profile")
            print(f"widget frame rates, target {TARGET:g} frames/s (load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
            for lesson in lessons:
                page = browser.new_page()
                page.set_default_timeout(60 * SECOND)
                start = time.monotonic()
                try:
                    rows = measure(page, base, token, lesson)
                except Exception as error:  # one lesson's failure leaves the others' figures
                    rows = [f"{lesson:18} failed: {type(error).__name__}: {error}"[:200]]
                finally:
                    page.evaluate("() => window.jupyterapp?.shell.currentWidget?.sessionContext"
                                  "?.shutdown()")
                    page.close()
                print("\n".join(rows) or f"{lesson:18} no widget after Run All",
                      f"\n{lesson:18} ({time.monotonic() - start:.0f} s, load average "
                      f"{os.getloadavg()[0]:.1f})", flush=True)
            browser.close()


if __name__ == "__main__":
    main(sys.argv[1:] or widget_lessons())
