"""`make lab` opens a student's JupyterLab, without nbgrader's instructor extensions on the
server or in the page; `make instructor` opens the full set.

Each server is started by running its make target itself, in this checkout, with this
environment. Only the address, the token and "no browser" come from a throwaway user config
folder (JUPYTER_CONFIG_DIR), which the targets leave alone. nbgrader's routes are probed
without the token: a route that exists answers 403, a redirect to the login page or (for a
POST-only route) 405 without running its handler, so nothing touches grading/; a route that
does not exist answers 404.
"""

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.course import find_root

ROOT = find_root(Path(__file__).parent)
VENV = Path(sys.prefix)
TOKEN = "nncourse-student-lab-test"

# nbgrader 0.9's JupyterLab plugins and server extensions for instructors
INSTRUCTOR_PLUGINS = {f"@jupyter/nbgrader:{name}" for name in
                      ("menu", "formgrader", "create-assignment", "course-list",
                       "assignment-list")}
VALIDATE_PLUGIN = "@jupyter/nbgrader:validate-assignment"
INSTRUCTOR_ROUTES = {  # a route each instructor server extension adds, and nothing else does
    "/formgrader": "nbgrader.server_extensions.formgrader",
    "/formgraders": "nbgrader.server_extensions.course_list",
    "/assignments": "nbgrader.server_extensions.assignment_list",
}
VALIDATE_ROUTE = "/assignments/validate"  # nbgrader.server_extensions.validate_assignment


class Server:
    """A JupyterLab started by `make TARGET`; its own process group, so stopping it stops
    make and the server under it."""

    def __init__(self, target: str, tmp: Path):
        self.target = target
        config = tmp / "config"
        config.mkdir(parents=True)
        (config / "jupyter_server_config.json").write_text(json.dumps({
            "ServerApp": {"ip": "127.0.0.1", "port": 0, "open_browser": False},
            "IdentityProvider": {"token": TOKEN},
        }))
        self.runtime = tmp / "runtime"
        env = {k: v for k, v in os.environ.items()
               if k not in ("JUPYTER_CONFIG_PATH", "NNCOURSE_ROOT", "MAKEFLAGS", "MFLAGS",
                            "MAKELEVEL")}
        env |= {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(self.runtime)}
        self.log = tmp / "server.log"
        # -o: the environment is this one, already set up; do not reinstall it
        command = ["make", "--no-print-directory", f"VENV={VENV}",
                   "-o", f"{VENV}/.lab", "-o", f"{VENV}/etc/jupyter/nbgrader_config.py",
                   target]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.base = ""

    def wait_ready(self, timeout: float = 180) -> "Server":
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"make {self.target} stopped:\n{self.text()}"
            assert time.monotonic() < deadline, f"make {self.target} not ready:\n{self.text()}"
            for info in self.runtime.glob("jpserver-*.json"):
                try:
                    self.base = json.loads(info.read_text())["url"].rstrip("/")
                    if self.get("/api/status")[0] == 200:
                        return self
                except (OSError, ValueError, KeyError):
                    pass
            time.sleep(0.3)

    def get(self, path: str, token: bool = True) -> tuple[int, str]:
        """(status, body) of GET path; redirects are not followed."""
        headers = {"Authorization": f"token {TOKEN}"} if token else {}
        request = urllib.request.Request(self.base + path, headers=headers)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def post(self, route: str, **form: str) -> tuple[int, str]:
        request = urllib.request.Request(self.base + route,
                                         data=urllib.parse.urlencode(form).encode(),
                                         headers={"Authorization": f"token {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def route_exists(self, path: str) -> bool:
        status, _ = self.get(path, token=False)
        assert status in (302, 403, 404, 405), (path, status)
        return status != 404

    def page_config(self, path: str = "/lab") -> dict:
        status, page = self.get(path)
        assert status == 200, (path, status)
        data = re.search(r'<script id="jupyter-config-data" type="application/json">'
                         r"(.*?)</script>", page, re.S)
        assert data, page[:2000]
        return json.loads(html.unescape(data.group(1)))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def text(self) -> str:
        return self.log.read_text()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The student's and the instructor's JupyterLab, started side by side."""
    started = [Server(target, tmp_path_factory.mktemp(target))
               for target in ("lab", "instructor")]
    try:
        with ThreadPoolExecutor(2) as pool:
            student, instructor = pool.map(Server.wait_ready, started)
        yield student, instructor
    finally:
        for server in started:
            server.stop()


def disabled(page_config: dict) -> set[str]:
    value = page_config["disabledExtensions"]
    return set(value if isinstance(value, list) else (k for k, v in value.items() if v))


def test_make_lab_serves_the_lectures_without_instructor_extensions(servers):
    student, _ = servers
    _, listing = student.get("/api/contents")
    names = {item["name"] for item in json.loads(listing)["content"]}
    assert names == {p.name for p in (ROOT / "lectures").iterdir() if not p.name.startswith(".")}
    for path, module in INSTRUCTOR_ROUTES.items():
        assert not student.route_exists(path), f"{module} is loaded in the student's lab"
    # JupyterLab's own page and the Notebook interface's read the same page config
    for page in ("/lab", "/tree"):
        off = disabled(student.page_config(page))
        assert INSTRUCTOR_PLUGINS <= off, (page, INSTRUCTOR_PLUGINS - off)
        assert VALIDATE_PLUGIN not in off, page


def test_the_students_validate_button_names_each_unsolved_exercise(servers):
    """Validate stays because it tells a student something useful: on the untouched
    release it fails exactly the lesson's test cells, each with check()'s message."""
    student, _ = servers
    lesson = "00-welcome"
    nb = nbformat.read(ROOT / "lectures" / lesson / f"{lesson}.ipynb", as_version=4)
    tests = [cell.source for cell in nb.cells if cell.cell_type == "code"
             and cell.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    status, body = student.post(VALIDATE_ROUTE, path=f"{lesson}/{lesson}.ipynb")
    assert status == 200, body
    result = json.loads(body)
    assert result["success"], result
    failed = result["value"]["failed"]
    assert sorted(f["source"] for f in failed) == sorted(tests)
    for cell in failed:
        name = re.match(r'check\("(\w+)"', cell["source"]).group(1)
        assert name in cell["raw_error"], cell


def test_make_instructor_serves_the_course_with_every_nbgrader_extension(servers):
    _, instructor = servers
    _, listing = instructor.get("/api/contents")
    names = {item["name"] for item in json.loads(listing)["content"]}
    assert {"nbgrader_config.py", "solutions", "lectures"} <= names
    for path in (*INSTRUCTOR_ROUTES, VALIDATE_ROUTE):
        assert instructor.route_exists(path), path
    off = disabled(instructor.page_config())
    assert not off & (INSTRUCTOR_PLUGINS | {VALIDATE_PLUGIN}), off
