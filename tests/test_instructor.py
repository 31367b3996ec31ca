"""The instructor's path of the README with no manual step: the environment and its make
targets, `nncourse nbgrader`, `nncourse lab` (as root too), commands outside a course,
formgrader's view of autograded work, and grading straight after a fresh clone."""

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from course_copy import copy_course
from traitlets.config.loader import PyFileConfigLoader

from autograder import cli, outside_course
from autograder.course import environment, find_root
from autograder.grading import gradebook
from autograder.grading.export import CsvExport

ROOT = find_root(Path(__file__).parent)
LESSON = "00-welcome"
RIGHT = "def step(z):\n    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)"
WRONG = "def step(z):\n    return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)"
VENV_BIN = Path(sys.executable).parent


def clean_env(**extra) -> dict[str, str]:
    """This environment without the variables that would point nncourse at a course."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NNCOURSE_ROOT", "NNCOURSE_HIDDEN_SEED", "NNCOURSE_SEED_FILE")}
    return env | extra


def nncourse(*args, cwd, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd,
                          env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def course(tmp_path):
    """A copy of the course root holding only lesson 00-welcome."""
    return copy_course(tmp_path / "course", LESSON)


def submission(release: Path, dest: Path, source: str) -> None:
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "step-solution":
            cell.source = source
    dest.parent.mkdir(parents=True)
    nbformat.write(nb, dest)


# --- outside a course: nothing runs, nothing is created -------------------------------------

def test_every_command_refuses_to_run_outside_a_course(tmp_path):
    """The package is installed editable from this checkout; run elsewhere, nncourse must not
    fall back to it (nor create anything where it stands)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for args in (["release", "--check"], ["selftest", LESSON],
                 ["grade", LESSON, "--submissions", "."], ["nbgrader", "export"],
                 ["lab", "--no-browser"]):
        proc = nncourse(*args, cwd=outside)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert f"{outside} is not inside a course" in proc.stderr, args
        assert "set NNCOURSE_ROOT" in proc.stderr
    proc = nncourse("release", "--check", cwd=outside, env=clean_env(NNCOURSE_ROOT=str(outside)))
    assert proc.returncode == 2 and "is not a course folder" in proc.stderr
    assert list(outside.iterdir()) == []


def test_the_environment_refuses_bare_nbgrader_outside_a_course(tmp_path):
    """`make` installs autograder/outside_course.py as the environment's Jupyter config;
    with it, `nbgrader export` in a folder without nbgrader_config.py stops and creates no
    gradebook.db; commands that need no course are left alone."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".lab").touch()  # an environment `make` already set up
    guard = venv / "etc" / "jupyter" / "nbgrader_config.py"
    make = ["make", "--no-print-directory", f"VENV={venv}"]  # also when run under make -w
    proc = subprocess.run([*make, "-s", str(guard)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert guard.read_text() == (ROOT / "autograder" / "outside_course.py").read_text()
    # `make instructor` opens the course through nncourse, which handles root itself
    # (after copying the course's IPython kernel config into the environment)
    dry = subprocess.run([*make, "-n", "instructor"], cwd=ROOT, capture_output=True, text=True)
    assert dry.stdout.strip().splitlines()[-1] == f"{venv}/bin/nncourse lab", dry.stdout
    assert [line for line in dry.stdout.splitlines()
            if "jupyter lab" in line or "pip" in line] == [], dry.stdout

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export"], cwd=outside,
                          env=clean_env(JUPYTER_CONFIG_PATH=str(guard.parent)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "has no nbgrader_config.py" in proc.stderr and "nncourse nbgrader export" in proc.stderr
    assert list(outside.iterdir()) == []

    nbgrader = str(VENV_BIN / "nbgrader")
    assert outside_course.refusal([nbgrader, "db", "student", "list"], str(outside))
    assert outside_course.refusal([nbgrader, "validate", "x.ipynb"], str(outside)) is None
    assert outside_course.refusal([nbgrader, "export"], str(ROOT)) is None
    assert outside_course.refusal([nbgrader, "export", f"--CourseDirectory.root={ROOT}"],
                                  str(outside)) is None
    assert outside_course.refusal(["jupyter-lab"], str(outside)) is None


# --- nbgrader through nncourse ----------------------------------------------------------------

def test_nncourse_nbgrader_passes_flags_output_and_exit_code_through(course):
    below = course / "lectures" / LESSON
    proc = nncourse("nbgrader", "--version", cwd=below)
    assert proc.returncode == 0, proc.stderr
    assert "nbgrader version" in proc.stdout
    proc = nncourse("nbgrader", "autograde", "99-nothing", cwd=below)
    assert proc.returncode == 1
    assert "[AutogradeApp | ERROR] No notebooks were matched" in proc.stderr
    assert not list(below.glob("gradebook.db")) and not (course / "gradebook.db").exists()
    assert (course / "grading").is_dir()


def test_config_keeps_exports_and_the_exchange_in_grading(course):
    from nbgrader.apps.exportapp import ExportApp

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert config.ExportPlugin.to == str(course / "grading" / "grades.csv")
    app = ExportApp(config=config)  # `nbgrader export`: formulas escaped, written there
    assert app.plugin_class is CsvExport
    assert app.plugin_class(parent=app).to == str(course / "grading" / "grades.csv")
    exchange = Path(config.Exchange.root)
    assert exchange == course / "grading" / "exchange"
    assert exchange.is_dir() and os.access(exchange, os.W_OK | os.X_OK)
    ignored = subprocess.run(["git", "check-ignore", "-q", "grading/grades.csv"], cwd=ROOT)
    assert ignored.returncode == 0


# --- formgrader ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory) -> Path:
    """An empty nbgrader gradebook, made once: making one runs alembic (seconds)."""
    from nbgrader.api import Gradebook

    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    saved = os.environ["PATH"]
    os.environ["PATH"] = environment()["PATH"]
    try:
        Gradebook(f"sqlite:///{path}").close()
    finally:
        os.environ["PATH"] = saved
    return path


def _gradebook(empty: Path, tmp_path: Path, written_answer: bool) -> str:
    """Lesson L: a test cell f-tests (2 points) and maybe a written answer (3 points)."""
    from nbgrader.api import Gradebook

    shutil.copy(empty, tmp_path / "gradebook.db")
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.add_assignment("L")
        gb.add_notebook("L", "L")
        gb.add_grade_cell("f-tests", "L", "L", max_score=2, cell_type="code")
        if written_answer:
            gb.add_grade_cell("why-answer", "L", "L", max_score=3, cell_type="markdown")
            gb.add_solution_cell("why-answer", "L", "L")
    return db_url


@pytest.mark.parametrize("written_answer", [False, True])
def test_only_written_answers_wait_for_a_manual_grade(empty_gradebook, tmp_path,
                                                      written_answer):
    """What nbgrader's autograde sets: a scored test cell needs no manual grade."""
    from nbgrader.api import Gradebook

    db_url = _gradebook(empty_gradebook, tmp_path, written_answer)
    from autograder.grading.result import ExerciseResult, StudentResult

    results = [StudentResult(s, "L", p, 2, 0, "graded", {"f": ExerciseResult(p, 2, "graded", "")})
               for s, p in (("a", 2), ("b", 0))]
    gradebook.record(db_url, "L", results, {"f-tests": "f"})
    with Gradebook(db_url) as gb:
        for student, points in (("a", 2), ("b", 0)):
            tests = gb.find_grade("f-tests", "L", "L", student)
            assert (tests.score, tests.needs_manual_grade) == (points, False)
            submission = gb.find_submission("L", student)
            assert bool(submission.needs_manual_grade) is written_answer
            if written_answer:
                assert gb.find_grade("why-answer", "L", "L", student).needs_manual_grade
        assert gb.find_assignment("L").num_submissions == 2


def test_registered_compares_the_graded_cells_without_creating_a_gradebook(empty_gradebook,
                                                                          tmp_path):
    missing = tmp_path / "none" / "gradebook.db"
    assert not gradebook.registered(f"sqlite:///{missing}", "L", {})
    assert not missing.parent.exists()
    db_url = _gradebook(empty_gradebook, tmp_path, written_answer=True)
    cells = {"f-tests": (2.0, "code"), "why-answer": (3.0, "markdown")}
    assert gradebook.registered(db_url, "L", cells)
    assert not gradebook.registered(db_url, "L", cells | {"f-tests": (4.0, "code")})
    assert not gradebook.registered(db_url, "M", cells)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def test_nncourse_lab_serves_the_course_with_formgrader(course, tmp_path):
    """`nncourse lab` from a lesson folder serves the course root (so Formgrader finds the
    course), starts as root, and Formgrader's pages log no unwritable exchange."""
    port, token = _free_port(), "nncourse-test"
    log = tmp_path / "lab.log"
    env = clean_env(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.cli", "lab", "--no-browser", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
            cwd=course / "lectures" / LESSON, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                _get(f"{base}/api/status", token)
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        _, listing = _get(f"{base}/api/contents", token)
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert {"nbgrader_config.py", "solutions", "lectures"} <= names
        status, page = _get(f"{base}/formgrader", token)
        assert status == 200 and "Manage Assignments" in page
        status, body = _get(f"{base}/formgrader/api/assignments", token)
        assert status == 200 and isinstance(json.loads(body), list)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert f"JupyterLab in {course}" in text
    assert "Unwritable directory" not in text and "not a subdirectory" not in text, text


# --- the README ---------------------------------------------------------------------------

def test_readme_names_only_commands_and_targets_that_exist():
    readme = (ROOT / "README.md").read_text()
    assert "source .venv/bin/activate" in readme
    commands = set(re.findall(r"(?:`|^)(?:\.venv/bin/)?nncourse ([a-z][\w-]*)", readme, re.M))
    known = set(cli.parser()._subparsers._group_actions[0].choices)
    assert {"release", "grade", "nbgrader", "lab"} <= commands <= known, commands - known
    targets = set(re.findall(r"(?:`|^)make ([a-z][\w-]*)", readme, re.M))
    makefile = (ROOT / "Makefile").read_text()
    assert {"lab", "test", "instructor"} <= targets
    assert all(re.search(rf"^{t}:", makefile, re.M) for t in targets), targets
    assert "Start `jupyter lab`" not in readme  # fails as root without --allow-root


# --- a fresh clone ------------------------------------------------------------------------

def fresh_clone(dest: Path) -> Path:
    """`git clone` of this checkout with its uncommitted changes and new (not ignored) files
    laid on top: what a fresh clone holds once the work in progress is committed."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=dest, capture_output=True,
                          text=True, check=True).stdout.strip()
    git = ["git", "--no-optional-locks"]
    diff = subprocess.run([*git, "diff", "--binary", head], cwd=ROOT, capture_output=True,
                          check=True).stdout
    if diff:
        subprocess.run(["git", "apply", "--whitespace=nowarn"], cwd=dest, input=diff,
                       check=True)
    new = subprocess.run([*git, "ls-files", "-z", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, new):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_a_fresh_clone_releases_grades_and_exports_with_no_manual_step(tmp_path):
    """In a fresh clone, with NNCOURSE_ROOT unset and the environment's bin/ not on PATH:
    release two lessons, grade two submissions of 00-welcome, export with nbgrader."""
    clone = fresh_clone(tmp_path / "clone")
    assert not (clone / "grading").exists()
    guard = tmp_path / "jupyter"
    guard.mkdir()
    shutil.copy(clone / "autograder" / "outside_course.py", guard / "nbgrader_config.py")
    env = clean_env(PATH="/usr/bin:/bin", JUPYTER_CONFIG_PATH=str(guard))
    env.pop("VIRTUAL_ENV", None)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                            text=True).stdout

    proc = nncourse("release", LESSON, "01-mp-neuron", cwd=clone, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "lectures/ was already up to date." in proc.stdout
    assert not (clone / "grading" / "gradebook.db").exists()  # releasing registers nothing

    subs = tmp_path / "submitted"
    release = clone / "lectures" / LESSON / f"{LESSON}.ipynb"
    submission(release, subs / "ada" / LESSON / f"{LESSON}.ipynb", RIGHT)
    submission(release, subs / "bob" / LESSON / f"{LESSON}.ipynb", WRONG)
    proc = nncourse("grade", LESSON, "--submissions", str(subs), "--timeout", "10", cwd=clone,
                    env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(clone / "grading" / "graded" / LESSON / "grades.csv") as f:
        rows = [(r["student_id"], r["score"], r["max_score"], r["status"])
                for r in csv.DictReader(f)]
    assert rows == [("ada", "2", "2", "graded"), ("bob", "0", "2", "graded")]
    assert (clone / "grading" / "hidden-seed").stat().st_mode & 0o777 == 0o600

    # the environment's own nncourse (installed editable from another checkout) must work
    # on the course it is started in
    proc = subprocess.run([str(VENV_BIN / "nncourse"), "nbgrader", "export"],
                          cwd=clone / "lectures", env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(clone / "grading" / "grades.csv") as f:
        exported = [(r["assignment"], r["student_id"], float(r["score"]))
                    for r in csv.DictReader(f)]
    assert sorted(exported) == [(LESSON, "ada", 2.0), (LESSON, "bob", 0.0)]
    assert not (clone / "grades.csv").exists() and not (clone / "lectures" / "grades.csv").exists()

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{clone / 'grading' / 'gradebook.db'}") as gb:
        assert [a.name for a in gb.assignments] == [LESSON]
        for student in ("ada", "bob"):
            assert not gb.find_submission(LESSON, student).needs_manual_grade
    after = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                           text=True).stdout
    assert after == status  # everything written is git-ignored
