"""Driving every widget of a lesson in headless Chromium JupyterLab (tests/test_browser.py
uses it after each lesson's Restart and Run All; benchmarks/widgets.py for frame rates).

On the release, then with every exercise solved (the answers run in the same kernel, as a
student's would: widgets must pick them up without re-running their cells), every control
of every widget gets events (slider steps, dropdown and toggle changes, an option of a
multiple selection toggled, button clicks, Play), at least MIN_EVENTS per lesson, half of them
in each state, each of which must change the picture: no stale frame (nothing redrawn, or the
same pixels), no blank frame (the picture area emptied on the way), no error. Once per lesson,
a burst of BURST events on one slider (else button) is fired without waiting for pictures,
as quick clicks and drags do: once the kernel has caught up the picture must have changed,
never gone blank, and for a slider be the one a single event to its final value draws.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import nbformat
from browser import ROOT, SECOND, answers, released
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

MIN_EVENTS = 20          # per lesson: half on the release, half solved
REDRAW_TIMEOUT = 20.0    # seconds an event may take to change the picture
SETTLED = 0.2            # seconds without a new picture after which a redraw is complete
PLAY_SECONDS = 3.0       # how long an animation is watched
BURST = 8                # events in a row without waiting for their pictures
CAUGHT_UP = 0.5          # seconds of an idle kernel and no new picture after a burst
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def widget_lessons() -> list[str]:
    """Lessons whose executed solution shows a widget."""
    found = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, 4)
        if any(WIDGET_VIEW in out.get("data", {}) for cell in nb.cells
               if cell.cell_type == "code" for out in cell.get("outputs", [])):
            found.append(path.parent.name)
    return found


# In the page: watch one cell's picture (its images, else its Output/HTML widgets) and count
# its redraws, with their times, and the redraws that left it empty.
WATCH = """(index) => {
    const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[index];
    const area = cell.querySelector('.jp-Cell-outputWrapper');
    const pictures = () => {
        const imgs = [...area.querySelectorAll('img')];
        return imgs.length ? imgs : [...area.querySelectorAll('.widget-output, .widget-html')];
    };
    const state = {updates: 0, blanks: 0, times: []};
    new MutationObserver(mutations => {
        const inPicture = n => n.nodeType === 1 && (n.tagName === 'IMG' ||
            n.closest?.('.widget-output, .widget-html') || n.querySelector?.('img'));
        const changed = mutations.some(m => m.target.tagName === 'IMG' ||
            inPicture(m.target.nodeType === 1 ? m.target : m.target.parentElement) ||
            [...m.addedNodes, ...m.removedNodes].some(inPicture));
        if (!changed) return;
        state.updates += 1;
        state.times.push(performance.now());
        if (pictures().length === 0 || pictures().every(p => p.getBoundingClientRect().height < 2))
            state.blanks += 1;
    }).observe(area, {subtree: true, childList: true, characterData: true,
                      attributes: true, attributeFilter: ['src']});
    window.__pictures = window.__pictures || {};
    window.__pictures[index] = state;
}"""

WIDGET_CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
    .map((cell, i) => [i, cell.querySelector('.jp-Cell-outputWrapper .jupyter-widgets') !== null])
    .filter(([i, has]) => has).map(([i]) => i)"""

RUN_IN_KERNEL = """async (code) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({code, store_history: false});
    let error = null;
    future.onIOPub = msg => {
        if (msg.header.msg_type === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
    };
    await future.done;
    return error;
}"""

# In a cell: the form elements that no Control (nor Play) of the driver operates.
UNDRIVEN = """cell => [...cell.querySelectorAll(
        '.jp-Cell-outputWrapper :is(select, input, button, textarea)')]
    .filter(e => !e.closest('.widget-slider, .widget-dropdown, .widget-select-multiple, ' +
        '.widget-toggle-buttons, .widget-checkbox, .widget-play, .widget-button, ' +
        '.widget-toggle-button'))
    .map(e => [e.tagName.toLowerCase(), ...e.classList].join('.'))"""

KERNEL_IDLE = """() => window.jupyterapp.shell.currentWidget.sessionContext.session
    ?.kernel?.status === 'idle'"""

ERRORS = ('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
          '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')


@dataclass
class Control:
    kind: str          # slider, dropdown, select-multiple, toggles, toggle, checkbox, button
    locator: object
    name: str
    direction: int = 1
    turn: int = 0      # select-multiple: the option its next event toggles


@dataclass
class Report:
    lesson: str
    events: dict[str, int] = field(default_factory=dict)       # state -> events done
    problems: list[str] = field(default_factory=list)
    fps: dict[str, float] = field(default_factory=dict)        # "state: cell k play" -> fps
    latency: list[float] = field(default_factory=list)         # seconds event -> picture
    kinds: dict[str, int] = field(default_factory=dict)        # control kind -> events


def controls_of(cell) -> list[Control]:
    found = []
    for i, s in enumerate(cell.locator(".widget-slider").all()):
        label = s.locator(".widget-label").first.inner_text() or f"slider {i + 1}"
        found.append(Control("slider", s, f"slider {label!r}"))
    for i, d in enumerate(cell.locator(".widget-dropdown select").all()):
        found.append(Control("dropdown", d, f"dropdown {i + 1}"))
    for i, m in enumerate(cell.locator(".widget-select-multiple").all()):
        label = m.locator(".widget-label").first.inner_text() or f"selection {i + 1}"
        found.append(Control("select-multiple", m.locator("select"),
                             f"multiple selection {label!r}"))
    for i, t in enumerate(cell.locator(".widget-toggle-buttons").all()):
        found.append(Control("toggles", t, f"toggle buttons {i + 1}"))
    for c in cell.locator(".widget-checkbox").all():
        found.append(Control("checkbox", c.locator("input"), f"checkbox {c.inner_text()!r}"))
    buttons = cell.locator("button.widget-toggle-button:not(.widget-toggle-buttons *), "
                           "button.widget-button:not(.widget-play *)").all()
    for b in buttons:
        kind = "toggle" if "widget-toggle-button" in (b.get_attribute("class") or "") else "button"
        label = b.inner_text().strip() or b.get_attribute("title")
        found.append(Control(kind, b, f"{kind} {label!r}"))
    return found


def fire(page, control: Control) -> None:
    """One event on the control: a step of a slider (back at its ends), the next option of
    a dropdown or toggle group, one option of a multiple selection toggled in turn (never
    leaving none selected: then the next option is added instead), a click."""
    if control.kind == "slider":
        readout = control.locator.locator(".widget-readout")
        before = readout.inner_text() if readout.count() else None
        for _ in range(2):
            control.locator.locator(".noUi-handle").first.focus()
            page.keyboard.press("ArrowRight" if control.direction > 0 else "ArrowLeft")
            if before is None or readout.inner_text() != before:
                return
            control.direction = -control.direction  # at an end: go the other way
    elif control.kind == "dropdown":
        n = control.locator.locator("option").count()
        current = control.locator.evaluate("s => s.selectedIndex")
        control.locator.select_option(index=(current + 1) % n)
    elif control.kind == "select-multiple":
        n = control.locator.locator("option").count()
        chosen = set(control.locator.evaluate("s => [...s.selectedOptions].map(o => o.index)"))
        k = control.turn % n
        control.turn += 1
        chosen ^= {k}
        control.locator.select_option(index=sorted(chosen or {k, (k + 1) % n}))
    elif control.kind == "toggles":
        buttons = control.locator.locator("button").all()
        current = next((i for i, b in enumerate(buttons)
                        if "mod-active" in (b.get_attribute("class") or "")), 0)
        buttons[(current + 1) % len(buttons)].click()
    else:
        control.locator.click()


def updates(page, index: int) -> dict:
    return page.evaluate("i => window.__pictures[i]", index)


def settle(page, index: int) -> int:
    """Wait until the picture has not changed for SETTLED seconds; its update count."""
    last, since = updates(page, index)["updates"], time.monotonic()
    deadline = since + REDRAW_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = updates(page, index)["updates"]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= SETTLED:
            break
    return last


def caught_up(page, index: int, since: int, timeout: float = BURST * REDRAW_TIMEOUT) -> None:
    """After events fired in a row: wait for a new picture (more than `since`), then until
    the kernel has been idle with no new picture for CAUGHT_UP seconds."""
    page.wait_for_function("([i, n]) => window.__pictures[i].updates > n", arg=[index, since],
                           timeout=REDRAW_TIMEOUT * SECOND)
    last, quiet_since = updates(page, index)["updates"], time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = updates(page, index)["updates"]
        if now != last or not page.evaluate(KERNEL_IDLE):
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= CAUGHT_UP:
            return


def picture(cell) -> list[bytes]:
    """Screenshots of the cell's picture: its images, else its Output and HTML widgets
    (each scrolled into view by Playwright)."""
    parts = cell.locator(".jp-Cell-outputWrapper img")
    if parts.count() == 0:
        parts = cell.locator(".jp-Cell-outputWrapper").locator(".widget-output, .widget-html")
    return [part.screenshot() for part in parts.all() if part.is_visible()]


def blank(shots: list[bytes]) -> bool:
    """No picture, or every part of it one flat colour."""
    def flat(png):
        lo, hi = Image.open(io.BytesIO(png)).convert("L").getextrema()
        return hi - lo < 16
    return not shots or all(flat(png) for png in shots)


def drive(page, cells: dict[int, tuple], state: str, report: Report) -> None:
    """Round-robin events over every control of every widget cell until each control had
    one and the state half the lesson's MIN_EVENTS; every event must change its cell's
    picture."""
    schedule = [(index, control) for index, (cell, controls) in cells.items()
                for control in controls]
    if not schedule:
        return
    rounds = -(-(MIN_EVENTS // 2) // len(schedule))
    shots = {index: picture(cell) for index, (cell, _) in cells.items()}
    done = 0
    for _ in range(rounds):
        for index, control in schedule:
            cell = cells[index][0]
            where = f"{state}, cell {index + 1}, {control.name}, event {done + 1}"
            before = updates(page, index)
            start = time.monotonic()
            try:
                fire(page, control)
            except PlaywrightTimeout as error:
                report.problems.append(f"{where}: could not operate it ({error.message[:80]})")
                continue
            done += 1
            report.kinds[control.kind] = report.kinds.get(control.kind, 0) + 1
            try:
                page.wait_for_function("([i, n]) => window.__pictures[i].updates > n",
                                       arg=[index, before["updates"]],
                                       timeout=REDRAW_TIMEOUT * SECOND)
            except PlaywrightTimeout:
                report.problems.append(f"{where}: stale, nothing redrawn in {REDRAW_TIMEOUT:g} s")
                continue
            report.latency.append(time.monotonic() - start)
            settle(page, index)
            after = updates(page, index)
            if after["blanks"] > before["blanks"]:
                report.problems.append(f"{where}: the picture went blank while redrawing")
            shot = picture(cell)
            if blank(shot):
                report.problems.append(f"{where}: blank picture after the event")
            elif shot == shots[index]:
                report.problems.append(f"{where}: stale, the picture did not change")
            shots[index] = shot
    report.events[state] = done


def play(page, cells: dict[int, tuple], state: str, report: Report) -> None:
    """Start every Play widget, watch its picture for PLAY_SECONDS and record frames/s."""
    for index, (cell, _) in cells.items():
        for k, player in enumerate(cell.locator(".widget-play").all()):
            name = f"{state}: cell {index + 1}, play {k + 1}"
            settle(page, index)
            before = updates(page, index)
            player.locator("button").first.click()
            time.sleep(PLAY_SECONDS)
            player.locator("button").nth(1).click()  # pause
            after = updates(page, index)
            times = after["times"][len(before["times"]):]
            frames = len(times)
            fps = (frames - 1) / ((times[-1] - times[0]) / 1000) if frames > 2 else 0.0
            report.fps[name] = fps
            report.events[state] = report.events.get(state, 0) + frames
            if after["blanks"] > before["blanks"]:
                report.problems.append(f"{name}: blank frames while playing")
            if frames < 2:  # the frame rate itself is a benchmark: benchmarks/widgets.py
                report.problems.append(f"{name}: Play drew {frames} frames in "
                                       f"{PLAY_SECONDS:g} s")


def burst(page, cells: dict[int, tuple], state: str, report: Report) -> None:
    """BURST events in a row on the lesson's first slider (else button), without waiting for
    pictures, as quick clicks and drags do. Once the kernel has caught up the picture must
    have changed and never gone blank, and a slider's must be the one that one event to
    its final value draws (the slider stepped back and forward again)."""
    choice = next(((i, c) for kind in ("slider", "button") for i, (_, controls) in cells.items()
                   for c in controls if c.kind == kind), None)
    if choice is None:
        return
    index, control = choice
    cell = cells[index][0]
    where = f"{state}, cell {index + 1}, a burst of {BURST} events on {control.name}"
    settle(page, index)
    before, shot = updates(page, index), picture(cell)
    try:
        if control.kind == "slider":
            handle = control.locator.locator(".noUi-handle").first
            low, high, now = (float(handle.get_attribute(f"aria-value{a}") or 0)
                              for a in ("min", "max", "now"))
            keys = ("ArrowRight", "ArrowLeft") if high - now >= now - low else (
                "ArrowLeft", "ArrowRight")
            handle.focus()
            for _ in range(BURST):
                page.keyboard.press(keys[0])
        else:
            for _ in range(BURST):
                control.locator.click()
        caught_up(page, index, before["updates"])
    except PlaywrightTimeout as error:
        report.problems.append(f"{where}: nothing redrawn ({error.message[:80]})")
        return
    report.events["burst"] = report.events.get("burst", 0) + BURST
    after, final = updates(page, index), picture(cell)
    if after["blanks"] > before["blanks"]:
        report.problems.append(f"{where}: the picture went blank while redrawing")
    if blank(final):
        report.problems.append(f"{where}: blank picture after the burst")
        return
    if final == shot:
        report.problems.append(f"{where}: stale, the picture did not change")
        return
    if control.kind != "slider":
        return
    readout = control.locator.locator(".widget-readout")
    value = readout.inner_text() if readout.count() else None
    for key in (keys[1], keys[0]):  # one step back, then one event to the burst's value
        count = updates(page, index)["updates"]
        control.locator.locator(".noUi-handle").first.focus()
        page.keyboard.press(key)
        try:
            caught_up(page, index, count, timeout=REDRAW_TIMEOUT)
        except PlaywrightTimeout:
            report.problems.append(f"{where}: stale, a step after it redrew nothing")
            return
    again = readout.inner_text() if readout.count() else None
    if again != value:
        report.problems.append(f"{where}: a step back and forth left the slider at {again}, "
                               f"not at the burst's {value}")
    elif picture(cell) != final:
        report.problems.append(f"{where}: stale, its last picture ({value}) is not the one a "
                               "single event to that value draws")


def widget_cells(page) -> dict[int, tuple]:
    cells = {}
    all_cells = page.locator(".jp-Notebook .jp-CodeCell")
    for index in page.evaluate(WIDGET_CELLS):
        cell = all_cells.nth(index)
        page.evaluate(WATCH, index)
        cells[index] = (cell, controls_of(cell))
    return cells


def exercise_widgets(page, lesson: str) -> Report:
    """Drive the widgets of the open notebook after its Run All, then solve every exercise
    in the kernel and drive them again."""
    report = Report(lesson)
    cells = widget_cells(page)
    if not cells:
        report.problems.append("Run All shows no widget")
        return report
    for index, (cell, _) in cells.items():
        for element in cell.evaluate(UNDRIVEN):
            report.problems.append(f"cell {index + 1}: the driver cannot operate {element}")
    for state in ("release", "solved"):
        if state == "solved":
            solved = answers(lesson)
            for cell in released(lesson).cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if cell.cell_type == "code" and grade_id in solved:
                    error = page.evaluate(RUN_IN_KERNEL, solved[grade_id])
                    if error:
                        report.problems.append(f"solving {grade_id}: {error}")
        drive(page, cells, state, report)
        play(page, cells, state, report)
        if state == "release":
            burst(page, cells, state, report)
        if report.events.get(state, 0) < MIN_EVENTS // 2:
            report.problems.append(f"{state}: only {report.events.get(state, 0)} events")
    errors = page.locator(ERRORS)
    unexpected = [text[:200] for text in errors.all_inner_texts()
                  if "NotImplementedError" not in text and "not implemented" not in text]
    report.problems += [f"error output: {text}" for text in unexpected[:3]]
    return report


def summary(report: Report) -> str:
    lines = [f"{report.lesson}: events {report.events}",
             "  by control: " + ", ".join(f"{kind} {n}" for kind, n in report.kinds.items())]
    if report.latency:
        lat = sorted(report.latency)
        lines.append(f"  event -> picture: median {lat[len(lat) // 2]:.2f} s, "
                     f"max {lat[-1]:.2f} s")
    lines += [f"  {name}: {fps:.1f} frames/s" for name, fps in report.fps.items()]
    return "\n".join(lines)
