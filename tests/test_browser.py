"""End to end in a real browser: JupyterLab serves the released lessons in headless
Chromium, one server and one browser for the whole module.

- Kernel → Restart Kernel and Run All Cells on every untouched release runs every code
  cell: only the check cells of the (unsolved) exercises fail, each showing its ✗, and
  every figure and widget the solution shows renders here too. Then every widget of the
  lesson is driven, on the release and with every exercise solved in the same kernel
  (tests/widget_driver.py): at least 20 events per lesson, half in each state, each of
  which must change the picture. The time of each Run All, the events, the time from event
  to picture and the frame rate of each Play are printed (no assertion on times).
- On 02-perceptron with its exercises solved, moving the weight slider of the
  decision-boundary widget redraws the plot without any error on the page.
"""

import json
import re
import shutil
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser import (
    IDLE,
    SECOND,
    STARTED,
    PlaywrightTimeout,
    chromium,
    jupyterlab,
    open_notebook,
    run_all_cells,
    solved_release,
)
from playwright.sync_api import sync_playwright
from widget_driver import exercise_widgets, summary, widget_lessons

from autograder.course import find_root, lessons

ROOT = find_root(Path(__file__).parent)
LESSONS = lessons(ROOT)
SOLVED = "02-perceptron"
WIDGET = "application/vnd.jupyter.widget-view+json"
RUN_ALL_TIMEOUT = 300  # seconds for one lesson's Run All on a busy 2-core machine
WIDGET_LESSONS = widget_lessons()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of every released lesson folder and, under solved/, the
    solved 02-perceptron; yields (base URL, token, course folder)."""
    work = tmp_path_factory.mktemp("lab")
    root = work / "course"
    for lesson in LESSONS:
        shutil.copytree(ROOT / "lectures" / lesson, root / lesson)
    (root / "solved").mkdir()
    solved_release(root / "solved", SOLVED)
    # the page may run JupyterLab's own commands (window.jupyterapp), e.g. to save
    with jupyterlab(root, work, "--LabApp.expose_app_in_browser=True") as (base, token):
        yield base, token, root


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium")
    with sync_playwright() as playwright:
        browser = chromium(playwright, profile / "profile")
        try:
            page = browser.new_page()
            page.set_default_timeout(60 * SECOND)
            yield page
        finally:
            browser.close()


def shut_down_kernels(base: str, token: str) -> None:
    """End every session (and its kernel), so that lessons do not pile up kernels."""
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions",
                                                       headers=headers)) as r:
        sessions = json.load(r)
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}",
                                         headers=headers, method="DELETE")
        urllib.request.urlopen(request).close()


KERNEL_BUSY = """() => {
    const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const pending = [...document.querySelectorAll('.jp-InputArea-prompt')]
        .some(p => p.textContent.includes('*'));
    return pending || status === null || status.dataset.status !== 'idle';
}"""


def wait_until_quiet(page, quiet: float, timeout: float = RUN_ALL_TIMEOUT) -> None:
    """Wait until the kernel has been idle, with no cell pending, for `quiet` seconds, or
    `timeout` seconds at most. (After
    an error in a `raises-exception` cell, JupyterLab stops showing the later cells as
    pending while the kernel goes on running them, so no pending prompt alone means
    nothing.)"""
    deadline = time.monotonic() + timeout
    last_busy = time.monotonic()
    while time.monotonic() - last_busy < quiet:
        if time.monotonic() > deadline:
            # the page may still show the kernel busy after every cell has run (a widget's
            # traffic, a stale indicator): the saved notebook decides, cell by cell
            return
        if page.evaluate(KERNEL_BUSY):
            last_busy = time.monotonic()
        page.wait_for_timeout(200)


FIRST_RAN = """() => /\\[[0-9]+\\]/.test(
    document.querySelector('.jp-CodeCell .jp-InputArea-prompt').textContent)"""


def restart_and_run_all(page) -> float:
    """Kernel → Restart Kernel and Run All Cells; the seconds until the kernel is done."""
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name="Restart Kernel and Run All Cells…").click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    start = time.monotonic()
    page.wait_for_function(STARTED)
    # a cell that shows [*] may wait for a kernel that never comes: the first cell must run
    page.wait_for_function(FIRST_RAN, timeout=60 * SECOND)
    quiet = 3.0
    wait_until_quiet(page, quiet)
    return time.monotonic() - start - quiet


def open_and_run_all(page, base: str, token: str, name: str) -> tuple[float, int]:
    """Open the notebook and Restart Kernel and Run All Cells: (its seconds, the attempts
    it took). A restart that reaches the server while the kernel is still starting can
    leave the page's connection to the kernel broken (jupyter_server logs a websocket
    message it cannot decode, and no cell ever runs): then the session is ended and the
    notebook opened again, once."""
    open_notebook(page, base, token, name)
    try:
        return restart_and_run_all(page), 1
    except PlaywrightTimeout:
        shut_down_kernels(base, token)
    open_notebook(page, base, token, name)
    return restart_and_run_all(page), 2


def save(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")


def is_check(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def widget_pictures(state: dict, model_id: str, seen=None) -> int:
    """The pictures a widget shows, from the widget state the solution stored: its Image
    widgets and the PNGs in its Output widgets, through all its children."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return 0
    seen.add(model_id)
    model = state[model_id]
    count = model["model_name"] == "ImageModel"
    count += sum("image/png" in o.get("data", {}) for o in model["state"].get("outputs", []))
    refs = re.findall(r"IPY_MODEL_(\w+)", json.dumps(model["state"]))
    return count + sum(widget_pictures(state, ref, seen) for ref in refs)


def expected_pictures(solution) -> list[int]:
    """Per cell, how many pictures the browser must show: the solution's stored PNGs and
    the pictures of the widgets it displays."""
    state = solution.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return [sum("image/png" in o.get("data", {}) for o in c.get("outputs", []))
            + sum(widget_pictures(state, o["data"][WIDGET]["model_id"])
                  for o in c.get("outputs", []) if WIDGET in o.get("data", {}))
            for c in solution.cells]


PICTURES = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
    .map(c => [...c.querySelectorAll('.jp-OutputArea-output img')]
              .filter(img => img.complete && img.naturalWidth > 0).length)"""
OUTPUT_TEXT = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
    .map(c => [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n'))"""


def run_all_problems(page, lesson: str, ran) -> list[str]:
    """What is wrong with the saved notebook `ran` after Run All, cell by cell (numbered
    from 1, as in the notebook)."""
    solution = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", 4)
    if len(solution.cells) != len(ran.cells):
        return [f"the release has {len(ran.cells)} cells, the solution {len(solution.cells)}"]
    want = expected_pictures(solution)
    try:  # widgets and images render after the kernel is idle
        page.wait_for_function(f"() => ({PICTURES})().every((n, i) => n >= {want}[i])",
                               timeout=30 * SECOND)
    except Exception:  # noqa: BLE001 - reported cell by cell below
        pass
    shown, texts = page.evaluate(PICTURES), page.evaluate(OUTPUT_TEXT)
    if len(shown) != len(ran.cells):
        return [f"the page shows {len(shown)} cells, the notebook has {len(ran.cells)}"]
    problems = []
    for i, cell in enumerate(ran.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {i + 1} ({cell.source.strip().splitlines()[0][:50] if cell.source else ''})"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if cell.execution_count is None:
            problems.append(f"{where} never ran: the run halted")
        elif is_check(cell):
            if not errors or "✗" not in errors[0].get("evalue", ""):
                problems.append(f"{where}: an unsolved exercise's check shows no ✗ error")
            elif "✗" not in texts[i]:
                problems.append(f"{where}: its ✗ is not on the page")
        elif errors:
            problems.append(f"{where} raised {errors[0].ename}: {errors[0].evalue[:160]}")
        if shown[i] < want[i]:
            problems.append(f"{where} shows {shown[i]} of {want[i]} figures/widget pictures")
    return problems


@pytest.mark.parametrize("lesson", LESSONS)
def test_restart_and_run_all_runs_the_release_and_every_widget_redraws(lab, page, lesson,
                                                                        capsys):
    base, token, root = lab
    name = f"{lesson}/{lesson}.ipynb"
    report = None
    try:
        seconds, attempts = open_and_run_all(page, base, token, name)
        save(page)
        problems = run_all_problems(page, lesson, nbformat.read(root / name, 4))
        if lesson in WIDGET_LESSONS:
            report = exercise_widgets(page, lesson)
    finally:
        shut_down_kernels(base, token)
    with capsys.disabled():
        print(f"\n  Restart Kernel and Run All Cells, {lesson}: {seconds:.1f} s"
              + (f" (at attempt {attempts})" if attempts > 1 else ""))
        if report is not None:
            print("  " + summary(report).replace("\n", "\n  "), end=" ")
    if report is not None:
        problems += report.problems
    assert not problems, f"{lesson}:\n  " + "\n  ".join(problems)


def test_weight_slider_redraws_the_decision_boundary(lab, page):
    base, token, _ = lab
    open_notebook(page, base, token, f"solved/{SOLVED}.ipynb")
    try:
        run_all_cells(page)
        slider = page.locator(".widget-hslider").filter(has_text="w1")
        slider.wait_for(timeout=120 * SECOND)
        page.wait_for_function(IDLE)
        plot = page.locator(".jupyter-widgets img").first
        plot.wait_for()
        before = plot.get_attribute("src")

        slider.locator(".noUi-handle").focus()
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            """before => {
                const img = document.querySelector('.jupyter-widgets img');
                return img !== null && img.getAttribute('src') !== before;
            }""", arg=before)

        assert re.search(r"✓ perceptron_fit: all \d+ public cases pass", page.content())
        errors = page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        assert errors.count() == 0, errors.all_inner_texts()
    finally:
        shut_down_kernels(base, token)
