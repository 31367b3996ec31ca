"""Helpers of the browser tests: a JupyterLab server on a private port serving a course
folder, headless Chromium, Run All, and solved copies of the released notebooks."""

from __future__ import annotations

import contextlib
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
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECOND = 1000  # Playwright counts in milliseconds


def solution_body(source: str) -> str:
    """The source of a solution cell with its BEGIN/END SOLUTION marker lines removed."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def answers(lesson: str) -> dict[str, str]:
    """grade_id -> the instructor's answer, for every solution cell of the lesson."""
    return {cell.metadata["nbgrader"]["grade_id"]: solution_body(cell.source)
            for cell in nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", 4).cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def released(lesson: str):
    return nbformat.read(ROOT / "lectures" / lesson / f"{lesson}.ipynb", 4)


def solved_release(folder: Path, lesson: str) -> Path:
    """The released notebook with every exercise stub replaced by the instructor's answer."""
    solved = answers(lesson)
    nb = released(lesson)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = solved[cell.metadata["nbgrader"]["grade_id"]]
    path = folder / f"{lesson}.ipynb"
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


@contextlib.contextmanager
def jupyterlab(root: Path, work: Path, *extra_args: str):
    """A JupyterLab server on a free localhost port serving `root`, with its config,
    settings and runtime folders under `work`; yields (base URL, token), then shuts down the
    server and its kernels."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
               JUPYTER_CONFIG_DIR=str(work / "config"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
               IPYTHONDIR=str(work / "ipython"),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    # Render every cell, so that the checks see the whole notebook, not only the cells in view.
    settings = work / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    log_path = work / "lab.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.port_retries=0", "--LabApp.news_url=", "--allow-root", *extra_args],
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


def chromium(playwright, profile: Path):
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000})


STARTED = """() => [...document.querySelectorAll('.jp-InputArea-prompt')]
                   .some(p => /\\[[0-9*]+\\]/.test(p.textContent))"""
# After a cell tagged raises-exception has failed, JupyterLab runs the rest one by one and
# shows the running cell as [ ], not [*]: only the kernel's status tells that it still runs.
IDLE = """() => [...document.querySelectorAll('.jp-InputArea-prompt')]
                .every(p => !p.textContent.includes('*'))
                && !document.body.textContent.includes('Kernel status: Busy')"""


def open_notebook(page, base: str, token: str, name: str, timeout: float = 60) -> None:
    """Open the notebook, alone in a workspace of its own (the server would otherwise reopen
    the notebooks of earlier pages), and wait for its kernel. JupyterLab sometimes asks which
    kernel to start (when the list of kernels arrives after the notebook): the default is
    chosen."""
    workspace = "".join(c if c.isalnum() else "-" for c in name)
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{name}?token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    idle = page.get_by_text("Kernel status: Idle").first
    select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
    deadline, ready_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if select.count():
            select.click()
            ready_since = None
        elif idle.count():
            ready_since = ready_since or time.monotonic()
            if time.monotonic() - ready_since > 1.5:
                return
        time.sleep(0.25)
    raise TimeoutError(f"the kernel of {name} was not idle within {timeout:g} s")


LAST_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    return /\\[[0-9]+\\]/.test(prompts[prompts.length - 1].textContent);
}"""


def wait_until_run(page, timeout: float = 240, halted_after: float = 5) -> bool:
    """Wait until Run All has finished: True when the last code cell ran, False when the
    run stopped before it (no cell running or queued for `halted_after` seconds)."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        if page.evaluate(LAST_RAN):
            return True
        if page.evaluate(IDLE):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > halted_after:
                return False
        else:
            quiet_since = None
        time.sleep(0.25)
    raise TimeoutError(f"Run All did not finish within {timeout:g} s")


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
