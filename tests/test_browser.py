"""End to end in a real browser: JupyterLab serves the released 02-perceptron with its
exercises solved, headless Chromium runs every cell, and moving the weight slider of the
decision-boundary widget redraws the plot without any error on the page."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
LESSON = "02-perceptron"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECOND = 1000  # Playwright counts in milliseconds


def solution_body(source: str) -> str:
    """The source of a solution cell with its BEGIN/END SOLUTION marker lines removed."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def solved_release(folder: Path) -> Path:
    """The released notebook with every exercise stub replaced by the instructor's answer."""
    answers = {cell.metadata["nbgrader"]["grade_id"]: solution_body(cell.source)
               for cell in nbformat.read(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb", 4).cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(ROOT / "lectures" / LESSON / f"{LESSON}.ipynb", 4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[grade_id]
    path = folder / f"{LESSON}.ipynb"
    nbformat.write(nb, path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode}:\n"
                               + log.read_text()[-2000:])
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {timeout} s")


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on a free localhost port serving the solved lesson; yields its
    base URL and token, then shuts down the server and its kernels."""
    root = tmp_path / "course"
    root.mkdir()
    solved_release(root)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
               IPYTHONDIR=str(tmp_path / "ipython"),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    # Render every cell, so that the checks below see the whole notebook, not only the
    # cells in view.
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    log_path = tmp_path / "lab.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.port_retries=0", "--LabApp.news_url=", "--allow-root"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", proc, log_path)
        yield base, token
    finally:
        try:
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=10).close()
            proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        log.close()


STARTED = """() => [...document.querySelectorAll('.jp-InputArea-prompt')]
                   .some(p => /\\[[0-9*]+\\]/.test(p.textContent))"""


def run_all_cells(page, attempts: int = 3) -> None:
    """Run → Run All Cells, again if no cell has started after a while: on a loaded
    machine the first click can land before the notebook panel takes commands."""
    for attempt in range(attempts):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(STARTED, timeout=20 * SECOND)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def test_weight_slider_redraws_the_decision_boundary(lab, tmp_path):
    base, token = lab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            page.set_default_timeout(60 * SECOND)
            page.goto(f"{base}/lab/tree/{LESSON}.ipynb?token={token}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.get_by_text("Kernel status: Idle").first.wait_for(state="attached")

            run_all_cells(page)

            slider = page.locator(".widget-hslider").filter(has_text="w1")
            slider.wait_for(timeout=120 * SECOND)
            page.wait_for_function(
                """() => [...document.querySelectorAll('.jp-InputArea-prompt')]
                        .every(p => !p.textContent.includes('*'))""")
            plot = page.locator(".widget-output img").first
            plot.wait_for()
            before = plot.get_attribute("src")

            slider.locator(".noUi-handle").focus()
            for _ in range(4):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                """before => {
                    const img = document.querySelector('.widget-output img');
                    return img !== null && img.getAttribute('src') !== before;
                }""", arg=before)

            assert "✓ perceptron_fit: all 4 public cases pass." in page.content()
            errors = page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
            assert errors.count() == 0, errors.all_inner_texts()
            assert "Traceback" not in page.inner_text(".jp-Notebook")
        except Exception:
            # what the page and the server looked like, in the test's captured output
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot: {tmp_path / 'failure.png'}")
            print((tmp_path / "lab.log").read_text()[-3000:])
            raise
        finally:
            browser.close()
