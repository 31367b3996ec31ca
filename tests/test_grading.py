"""`nncourse grade`: sandboxed execution, data-only results, hostile submissions, resume,
the gradebook, the local pool and Dask.

A temporary course holds lesson 00-welcome (copied) and a two-exercise lesson built here,
`98-pair`, whose exercises `heaviside` (2 points) and `ramp` (1 point) are registered by
this module: one hostile submission per kind of the adversarial suite is graded in one
run, and the exercise that the hostility does not touch must still be graded.

The batches are graded once per test session, even under pytest-xdist (`shared_folder`:
the first worker grades them, the other waits for it), and each module then works on its
own copy of the graded course, so that tests that change the gradebook do not meet.
"""

import csv
import fcntl
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from course_copy import copy_course

from autograder import registry
from autograder.course import CourseError, find_root, nbgrader
from autograder.grading import batch, collect, run
from autograder.grading.run import restore
from autograder.grading.sandbox import Limits, stub_reference
from autograder.judge import Outcome, Unserializable
from autograder.registry import Case, Exercise
from autograder.release import build_all

ROOT = find_root(Path(__file__).parent)
PAIR = "98-pair"
# Margins for a busy machine: honest cells finish far inside 10 s even with every core
# loaded, and the memory attack asks for more than 1536 MB in its first allocation, so it
# fails at once instead of racing the clock.
LIMITS = Limits(timeout=10, memory_mb=1536)

HEAVISIDE = "def heaviside(z):\n    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)"
HEAVISIDE_WRONG = "def heaviside(z):\n    return (np.asarray(z, dtype=float) > 0).astype(float)"
RAMP = "def ramp(z):\n    return np.maximum(np.asarray(z, dtype=float), 0.0)"


def _register_pair():
    registry.all_exercises()
    hidden = lambda rng: [Case((rng.normal(scale=3, size=rng.integers(1, 30)),)),
                          Case((np.array([0.0, -1e-300, 1000.0]),)), Case((np.zeros(0),))]
    for name, ref, points, uses in (("heaviside", "step", 2, ()),
                                    ("ramp", "relu", 1, ("heaviside",))):
        if name not in {e.name for e in registry.all_exercises()}:
            registry.register(Exercise(
                name=name, lessons=(PAIR,), signature="(z)", uses=uses,
                reference=f"nnlib.activations.{ref}",
                public=lambda: [Case(([-2.0, 0.0, 3.0],)), Case((np.eye(2) - 0.5,))],
                hidden=hidden, tolerance="exact", points=points))


def _cell(kind, source, **grade):
    cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(
        source)
    if grade:
        cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, "grade": False,
                                     "solution": False, "locked": False, **grade}
    return cell


def _pair_source() -> nbformat.NotebookNode:
    cells = [_cell("markdown", "# 98 · A lesson with two exercises"),
             _cell("code", "import numpy as np\nfrom autograder import check")]
    for name, points, body in (("heaviside", 2, HEAVISIDE), ("ramp", 1, RAMP)):
        head, _, rest = body.partition("\n")
        cells += [
            _cell("markdown", f"### Exercise — `{name}(z)` ({points} points)",
                  grade_id=f"{name}-text", locked=True),
            _cell("code", f"{head}\n    ### BEGIN SOLUTION\n{rest}\n    ### END SOLUTION",
                  grade_id=f"{name}-solution", solution=True),
            _cell("code", f'check("{name}", {name})\n### BEGIN HIDDEN TESTS\n'
                          f'check("{name}", {name}, hidden=True)\n### END HIDDEN TESTS',
                  grade_id=f"{name}-tests", grade=True, locked=True, points=points),
        ]
    cells += [_cell("markdown", "### Question — why does `heaviside(0)` give 1? (2 points)",
                    grade_id="why-text", locked=True),
              _cell("markdown", "### BEGIN SOLUTION\nThe unit fires when z ≥ 0, threshold "
                                "included.\n### END SOLUTION",
                    grade_id="why-answer", solution=True, grade=True, points=2)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def make_course(root: Path) -> Path:
    """A course root with 00-welcome and 98-pair released into its own gradebook."""
    _register_pair()
    copy_course(root)
    (root / "solutions" / PAIR).mkdir(parents=True)
    nbformat.write(_pair_source(), root / "solutions" / PAIR / f"{PAIR}.ipynb")
    for lesson, built in build_all(root, ["00-welcome", PAIR], root / "released").items():
        shutil.copytree(built, root / "lectures" / lesson, dirs_exist_ok=True)
    return root


def shared_folder(tmp_path_factory, worker_id: str, name: str, make) -> Path:
    """A folder that `make(folder)` fills once per test session: under pytest-xdist the
    first worker to ask makes it, under a lock, and the others wait and use it."""
    base = tmp_path_factory.getbasetemp()
    base = base if worker_id == "master" else base.parent
    folder = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".done").touch()
    return folder


def _grade_batches(home: Path) -> None:
    """The course, the adversarial batch of 98-pair and 00-welcome by the command line."""
    course = make_course(home / "course")
    subs = home / "adversarial"
    for student, (heaviside, extra, edit, _, _) in KINDS.items():
        extra = [(gid, src.replace("@ROOT@", str(course))) for gid, src in extra]
        submit(course, subs, PAIR, student, {"heaviside": heaviside, "ramp": RAMP}, extra,
               edit)
    (subs / "13-not-json" / PAIR).mkdir(parents=True)
    (subs / "13-not-json" / PAIR / f"{PAIR}.ipynb").write_text('{"cells": [')
    (subs / "14-missing").mkdir()
    lines = []
    rows = batch.grade(course, PAIR, subs, home / "adversarial-out", jobs=2, limits=LIMITS,
                       log=lines.append)
    (home / "adversarial.json").write_text(json.dumps({"rows": [r.to_json() for r in rows],
                                                       "lines": lines}))

    subs = home / "welcome"
    submit(course, subs, "00-welcome", "ada", {"step": HEAVISIDE.replace("heaviside", "step")})
    submit(course, subs, "00-welcome", "bob",
           {"step": HEAVISIDE_WRONG.replace("heaviside", "step")})
    (subs / "cy").mkdir()
    proc = nncourse(course, "grade", "00-welcome", "--submissions", str(subs), "--out",
                    str(home / "welcome-out"), "--jobs", "2", "--timeout", "10",
                    "--submission-timeout", "120")
    (home / "welcome.json").write_text(json.dumps(
        {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, worker_id) -> Path:
    """This module's own copy of the graded course, submissions and results."""
    _register_pair()
    template = shared_folder(tmp_path_factory, worker_id, "graded-batches", _grade_batches)
    mine = tmp_path_factory.mktemp("graded")
    shutil.copytree(template, mine, symlinks=True, dirs_exist_ok=True)
    return mine


@pytest.fixture(scope="module")
def course(graded):
    return graded / "course"


def submit(root, subs, lesson, student, solutions, extra=(), edit=None):
    """A student's notebook: the release with `solutions` filled in and `extra` cells
    inserted after the solution cell named by each (grade_id, source) pair."""
    nb = nbformat.read(root / "lectures" / lesson / f"{lesson}.ipynb", as_version=4)
    for cell in list(nb.cells):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid.endswith("-answer"):
            cell.source = f"A written answer by {student}."
        if gid.endswith("-solution"):
            cell.source = solutions[gid.removesuffix("-solution")]
            for after, source in extra:
                if after == gid:
                    nb.cells.insert(nb.cells.index(cell) + 1, nbformat.v4.new_code_cell(source))
    if edit:
        edit(nb)
    folder = subs / student / lesson
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{lesson}.ipynb")


def _drop(gid):
    def edit(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != gid]
    return edit


def _assert_true(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "heaviside-tests":
            cell.source = "assert True"


LEAK = f"""
import json
try:
    src = json.load(open("@ROOT@/solutions/{PAIR}/{PAIR}.ipynb"))
    open("@ROOT@/grading/gradebook.db", "rb").read(10)
    exec("".join(src["cells"][3]["source"]).replace("### BEGIN SOLUTION", ""))
except OSError:
    pass
"""
NET = f"""
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    {HEAVISIDE.replace(chr(10), chr(10) + "    ")}
except OSError:
    pass
"""
# Knowing the grader's layout, overwrite a classmate's notebook and result, the class's
# grades and gradebook, then everything of those kinds the kernel can find, after trying to
# remount the root read-write and to unmount its inputs.
VANDAL = f"""
import os, sys
mark = "VAND" + "ALISED"
targets = ["@ROOT@/../adversarial/01-correct/{PAIR}/{PAIR}.ipynb",
           "@ROOT@/../adversarial-out/students/01-correct/results.json",
           "@ROOT@/../adversarial-out/grades.csv", "@ROOT@/grading/gradebook.db"]
os.system("mount -o remount,rw / 2>/dev/null; umount -l /grading/in 2>/dev/null")
skip = {{"/proc", "/sys", "/dev", "/usr", sys.prefix, sys.base_prefix}}
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
    targets += [os.path.join(top, f) for f in files
                if f.endswith((".ipynb", "results.json", ".csv", ".db"))]
for path in targets:
    try:
        with open(path, "w") as f:
            f.write(mark)
    except OSError:
        pass
"""
MONKEY = """
import builtins, numpy, autograder, autograder.check, autograder.judge
numpy.allclose = numpy.array_equal = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), bool)
check = autograder.check = autograder.check.check = lambda *a, **k: None
autograder.judge.judge = lambda *a, **k: None
builtins.AssertionError = type("Nothing", (Exception,), {})
"""
HARDCODED = """
_seen = {(-2.0, 0.0, 3.0): [0.0, 1.0, 1.0]}
def heaviside(z):
    z = np.asarray(z, dtype=float)
    if z.ndim == 2:
        return np.array([[1.0, 0.0], [0.0, 1.0]])
    return np.array(_seen.get(tuple(z), np.zeros(z.shape)))
"""

H_DOUBLE = "def heaviside(z):\n    return np.where(np.asarray(z, dtype=float) >= 0, 2.0, 0.0)"
RAMP_WITH_HEAVISIDE = "def ramp(z):\n    return np.asarray(z, dtype=float) * heaviside(z)"

# kind: (heaviside source, extra cells, edit, expected score, expected status)
H_RIGHT, H_WRONG = HEAVISIDE, HEAVISIDE_WRONG
S = "heaviside-solution"


FORK_AND_REAP = """import os
born = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        born.append(pid)
except BlockingIOError:
    pass
for pid in born:
    os.waitpid(pid, 0)"""

# leaves more processes than the cap (none refused) and runs past the time limit
FORK_AND_HANG = """import os, signal, time
for _ in range(40):
    if os.fork() == 0:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        time.sleep(3600)
        os._exit(0)
time.sleep(3600)"""


def rebinding(attack: str) -> str:
    """An attack cell that grading must run: it also rebinds the graded function (a cell
    that no graded function depends on is skipped, see autograder/grading/slicing.py)."""
    return f"{attack}\nheaviside = heaviside"


KINDS = {
    "01-correct": (H_RIGHT, [], None, 3, "graded"),
    "02-wrong": (H_WRONG, [], None, 1, "graded"),
    "03-loop": (H_RIGHT, [(S, rebinding("while True:\n    pass"))], None, 3, "timeout"),
    "04-swallow": (H_RIGHT, [(S, rebinding("import time\nwhile True:\n    try:\n"
                                           "        time.sleep(60)\n"
                                           "    except KeyboardInterrupt:\n        pass"))],
                   None, 3, "timeout"),
    "05-kill": (H_RIGHT, [(S, rebinding("import os\nos._exit(1)"))], None, 3, "crashed"),
    "06-memory": (H_RIGHT, [(S, rebinding("hoard = []\nwhile True:\n"
                                          "    hoard.append(np.ones(2**28))"))],
                  None, 3, "memory"),
    "07-fork": (H_RIGHT, [(S, rebinding("import os\nwhile True:\n    os.fork()"))], None, 3,
                "crashed"),
    # hits the process cap, then reaps its children: the cap's refusal counts, not what is
    # left when the cell ends
    "07-fork-and-reap": (H_RIGHT, [(S, rebinding(FORK_AND_REAP))], None, 3, "crashed"),
    # interrupted at the time limit with too many processes: a crash, so the kernel is
    # restarted and they go with it, before the cells after it run
    "07-fork-and-hang": (H_RIGHT, [(S, rebinding(FORK_AND_HANG))], None, 3, "crashed"),
    "08-assert-true": (H_WRONG, [], _assert_true, 1, "tampered"),
    "09-delete-test": (H_WRONG, [], _drop("heaviside-tests"), 1, "tampered"),
    "10-monkeypatch": (H_WRONG, [(S, MONKEY)], None, 1, "graded"),
    "11-reference": ("from nnlib.activations import step\n\ndef heaviside(z):\n"
                     "    return step(z)", [], None, 1, "graded"),
    "12-hardcoded": (HARDCODED, [], None, 1, "graded"),
    "15-read-secrets": ("", [(S, LEAK)], None, 1, "graded"),
    "16-network": ("", [(S, NET)], None, 1, "graded"),
    "17-print": (H_RIGHT, [(S, rebinding("while True:\n    print('spam ' * 1000)"))], None,
                 3, "timeout"),
    "18-sys-exit": (H_RIGHT, [(S, "import sys\nsys.exit()")], None, 3, "graded"),
    "20-garbles-iopub": (H_RIGHT, [(S, "get_ipython().kernel.iopub_socket.send_multipart("
                                       "[b'<IDS|MSG>', b'forged', b'{', b'{', b'{', b'{'])\n"
                                       "import time\ntime.sleep(1)")], None, 3, "crashed"),
    "19-hangs-when-called": ("def heaviside(z):\n    while True:\n        pass", [], None, 1,
                             "timeout"),
    # one bug costs one exercise: ramp, written with the student's wrong heaviside, is
    # judged again with a correct heaviside and earns its point
    "21-one-bug": (H_DOUBLE, [("ramp-solution", RAMP_WITH_HEAVISIDE)], None, 1, "graded"),
    # a cell no graded function depends on is not run: its endless loop costs nothing
    "22-unused-loop": (H_RIGHT, [(S, "while True:\n    pass")], None, 3, "graded"),
    "23-vandal": (H_RIGHT, [(S, rebinding(VANDAL))], None, 3, "graded"),
}


@pytest.fixture(scope="module")
def adversarial(graded):
    found = json.loads((graded / "adversarial.json").read_text())
    return ({r["student_id"]: r for r in found["rows"]}, graded / "adversarial-out",
            found["lines"])


def test_every_hostile_submission_gets_its_score_and_status(adversarial):
    rows, out, lines = adversarial
    assert lines[0].startswith("isolation: bubblewrap")
    expected = {k: (v[3], v[4]) for k, v in KINDS.items()}
    expected |= {"13-not-json": (0, "unreadable"), "14-missing": (0, "missing")}
    if "via a pids cgroup" not in lines[0]:  # RLIMIT_NPROC keeps no count of refused forks
        expected["07-fork-and-reap"] = (3, "graded")
    got = {k: (r["score"], r["status"]) for k, r in rows.items()}
    assert got == expected, json.dumps({k: rows.get(k) for k in expected
                                        if got.get(k) != expected[k]}, indent=1)
    with open(out / "grades.csv") as f:
        assert sorted(row["student_id"] for row in csv.DictReader(f)) == sorted(expected)


def test_a_vandal_reaches_no_classmate_and_no_file_of_the_grader(adversarial, graded):
    """23-vandal wrote its mark into every notebook, result, CSV and database it could
    open: none of the class's files, the grader's results or the gradebook has it."""
    _, out, _ = adversarial
    marked = [path for path in graded.rglob("*") if path.is_file()
              and "23-vandal" not in path.parts and b"VANDALISED" in path.read_bytes()]
    assert marked == []


def test_the_untouched_exercise_is_still_graded(adversarial):
    rows, _, _ = adversarial
    for student in KINDS:
        assert rows[student]["exercises"]["ramp"]["score"] == 1, json.dumps(rows[student],
                                                                            indent=1)


def test_feedback_names_the_cause_and_hides_hidden_cases(adversarial):
    rows, out, _ = adversarial
    assert "calls nnlib's reference" in rows["11-reference"]["exercises"]["heaviside"]["message"]
    swallowed = " ".join(rows["04-swallow"]["notes"])
    assert f"{LIMITS.timeout:g} s and ignored the interrupt" in swallowed
    assert "was edited" in " ".join(rows["08-assert-true"]["notes"])
    assert "was deleted" in " ".join(rows["09-delete-test"]["notes"])
    hardcoded = rows["12-hardcoded"]["exercises"]["heaviside"]["message"]
    assert "all 2 public cases pass" in hardcoded
    assert re.search(r"\d+ of \d+ hidden cases failed", hardcoded), hardcoded
    one_bug = rows["21-one-bug"]["exercises"]["ramp"]["message"]
    assert one_bug == ("✓ ramp: right when given correct versions of `heaviside`, so it earns "
                       "its points; your `heaviside` fails its own check: fix it first.")
    page = (out / "students" / "02-wrong" / "feedback.html").read_text()
    assert "hidden cases failed" in page
    # per-student results live in a folder of their own, never beside grades.csv
    assert {p.name for p in out.iterdir() if p.is_dir()} == {"students"}
    for folder in (out / "students").iterdir():
        if folder.is_dir() and not folder.name.startswith("."):
            text = (folder / "feedback.html").read_text()
            assert "Traceback" not in text and "1000" not in text and "BEGIN HIDDEN" not in text


def test_stock_nbgrader_export_agrees_with_grades_csv(adversarial, course):
    _, out, _ = adversarial
    nbgrader(course, "export", "--to", str(out / "export.csv"))
    with open(out / "export.csv") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)
                    if r["assignment"] == PAIR}
    with open(out / "grades.csv") as f:
        ours = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    # the export also lists the gradebook's students of 00-welcome, with nothing for 98-pair
    assert {k: v for k, v in exported.items() if k in ours} == ours
    assert set(exported) - set(ours) == {"ada", "bob", "cy"}
    assert {exported[k] for k in ("ada", "bob", "cy")} == {0}


def test_written_answers_wait_for_the_instructor(adversarial, course):
    """A hand-graded answer is kept as written, counted in max_score but not in score, and
    left in the gradebook for formgrader; a hand grade then shows in nbgrader's export."""
    rows, out, _ = adversarial
    row = rows["01-correct"]
    assert (row["score"], row["max_score"], row["by_hand"], row["status"]) == (3, 5, 2, "graded")
    assert not any("why-answer" in n for n in row["notes"])
    with open(out / "grades.csv") as f:
        assert {r["by_hand"] for r in csv.DictReader(f)} == {"2"}
    assert "2 of the 5 points are for written answers" in (
        out / "students" / "01-correct" / "feedback.html").read_text()
    db_url, autograded = batch.nbgrader_paths(course)
    graded = nbformat.read(autograded / "01-correct" / PAIR / f"{PAIR}.ipynb", as_version=4)
    assert any(c.source == "A written answer by 01-correct." for c in graded.cells)
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        grade = gb.find_grade("why-answer", PAIR, PAIR, "01-correct")
        assert grade.needs_manual_grade and grade.max_score == 2
        grade.manual_score = 1.5
        gb.db.commit()
    nbgrader(course, "export", "--to", str(out / "after-hand.csv"))
    with open(out / "after-hand.csv") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)
                    if r["assignment"] == PAIR}
    assert exported["01-correct"] == 4.5 and exported["02-wrong"] == 1


def test_a_cell_no_graded_function_needs_is_not_run(adversarial, course):
    """Its endless loop never runs (22-unused-loop scores 3, status graded, above); the
    autograded notebook says so in its place, and the attack cells that rebind the graded
    function (03-loop, ...) ran."""
    _, autograded = batch.nbgrader_paths(course)
    for student, ran in (("22-unused-loop", False), ("03-loop", True)):
        nb = nbformat.read(autograded / student / PAIR / f"{PAIR}.ipynb", as_version=4)
        loop = next(c for c in nb.cells if c.source.startswith("while True:"))
        text = "".join(o.get("text", "") for o in loop.outputs)
        assert (run.NOT_RUN in text) is not ran


def nncourse(root, *args):
    env = {**__import__("os").environ, "NNCOURSE_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=root,
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def welcome(graded):
    """00-welcome through the command line: right, wrong and missing, with --jobs 2."""
    proc = SimpleNamespace(**json.loads((graded / "welcome.json").read_text()))
    return graded / "welcome", graded / "welcome-out", proc


def test_the_command_grades_a_real_lesson(welcome):
    _, out, proc = welcome
    assert proc.returncode == 0, proc.stderr
    assert "isolation:" in proc.stdout
    with open(out / "grades.csv") as f:
        # the gradebook's other students (from 98-pair) get a row too, as missing
        rows = [r for r in csv.DictReader(f) if r["status"] != "missing" or r["student_id"] == "cy"]
    assert [(r["student_id"], r["score"], r["max_score"], r["status"], r["step"])
            for r in rows] == [("ada", "2", "2", "graded", "2"), ("bob", "0", "2", "graded", "0"),
                               ("cy", "0", "2", "missing", "0")]
    result = json.loads((out / "students" / "bob" / "results.json").read_text())
    assert "likely cause: z > 0 where z >= 0" in result["exercises"]["step"]["message"]


def test_a_second_run_resumes_and_changes_nothing(welcome, course):
    subs, out, _ = welcome
    before = (out / "grades.csv").read_text()
    (out / "students" / "bob" / "results.json").unlink()
    stamp = (out / "students" / "ada" / "results.json").stat().st_mtime_ns
    proc = nncourse(course, "grade", "00-welcome", "--submissions", str(subs), "--out",
                    str(out), "--timeout", "10", "--submission-timeout", "120")
    assert proc.returncode == 0, proc.stderr
    assert "already graded, 1 to grade\n  bob: 0/2 graded" in proc.stdout
    assert (out / "students" / "ada" / "results.json").stat().st_mtime_ns == stamp
    assert (out / "grades.csv").read_text() == before


def test_a_zip_of_submissions_grades_like_the_folder(welcome, course, tmp_path):
    import zipfile

    subs, out, _ = welcome
    archive = tmp_path / "collected.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(subs.rglob("*")):
            zf.write(path, Path("submitted") / path.relative_to(subs))
    proc = nncourse(course, "grade", "00-welcome", "--submissions", str(archive), "--out",
                    str(tmp_path / "out"), "--jobs", "2", "--timeout", "10")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "grades.csv").read_text() == (out / "grades.csv").read_text()

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped.ipynb", "{}")
    proc = nncourse(course, "grade", "00-welcome", "--submissions", str(evil), "--out",
                    str(tmp_path / "evil-out"))
    assert proc.returncode == 2 and "points outside the archive" in proc.stderr
    assert not (tmp_path / "escaped.ipynb").exists()


def test_without_bubblewrap_grading_refuses_unless_told(welcome, course, tmp_path):
    """Without a sandbox students' code would run as the grader (as root, in CI): grading
    stops before any kernel starts, unless the instructor says the submissions are
    trusted."""
    subs, out, _ = welcome
    with pytest.raises(CourseError, match="no sandbox for students' code.*--unsandboxed"):
        batch.grade(course, "00-welcome", subs, tmp_path / "refused", limits=Limits(timeout=10),
                    use_bwrap=False, log=lambda _: None)
    assert not (tmp_path / "refused" / "grades.csv").exists()
    lines = []
    batch.grade(course, "00-welcome", subs, tmp_path / "trusted", limits=Limits(timeout=10),
                use_bwrap=False, unsandboxed=True, log=lines.append)
    assert lines[0].startswith("isolation: resource limits only")
    assert (tmp_path / "trusted" / "grades.csv").read_text() == (out / "grades.csv").read_text()


def test_dask_gives_the_same_grades(welcome, course, tmp_path):
    from dask.distributed import LocalCluster

    subs, out, _ = welcome
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        batch.grade(course, "00-welcome", subs, tmp_path, limits=Limits(timeout=10),
                    scheduler=cluster.scheduler_address, log=lambda _: None)
    assert (tmp_path / "grades.csv").read_text() == (out / "grades.csv").read_text()


def test_outcomes_cross_as_data_and_anything_else_is_refused():
    outcomes = [Outcome(value=(np.arange(3.0), {"k": [np.float32(2), 1 + 2j, None]},
                               Unserializable("Foo"))),
                Outcome(error="ValueError", error_message="bad z")]
    text = json.dumps({"nonce": "n", "name": "f", "defined": True,
                       "public": collect.encode(outcomes[:1]), "hidden": collect.encode(
                           outcomes[1:])})
    public, hidden = collect.decode(text, "f", "n", (1, 1))
    value = public[0].value
    assert np.array_equal(value[0], np.arange(3.0)) and isinstance(value[2], Unserializable)
    assert value[1]["k"][0].dtype == np.float32 and value[1]["k"][1] == 1 + 2j
    assert hidden[0].error == "ValueError"
    with pytest.raises(collect.BadPayload):
        collect.decode(text, "f", "other nonce", (1, 1))
    with pytest.raises(collect.BadPayload):
        collect.decode(text, "f", "n", (2, 1))
    pickled = json.loads(text)
    buf = __import__("io").BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    pickled["public"][0]["value"] = {"$nd": __import__("base64").b64encode(
        buf.getvalue()).decode()}
    with pytest.raises(collect.BadPayload):
        collect.decode(json.dumps(pickled), "f", "n", (1, 1))


def test_restore_puts_back_edited_and_deleted_locked_cells():
    release = nbformat.read(ROOT / "lectures" / "00-welcome" / "00-welcome.ipynb", as_version=4)
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    tests = next(i for i, c in enumerate(nb.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "step-tests")
    text = next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == "exercise-step-text")
    nb.cells[text].source = "### Exercise 1 — worth 100 points"
    del nb.cells[tests]
    restored, notes = restore(nb, release)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells]
    assert [i for i in ids if i] == ["exercise-step-text", "step-solution", "step-tests"]
    assert {c.source for c in restored.cells} == {c.source for c in release.cells}
    assert len(notes) == 2
    untouched, notes = restore(nbformat.from_dict(json.loads(json.dumps(release))), release)
    assert notes == []


def test_stubbed_nnlib_refuses_graded_functions_only(tmp_path):
    stub_reference(ROOT / "nnlib", ["nnlib.activations.step"], tmp_path)
    code = ("import numpy as np, nnlib.activations as a\nprint(a.relu(np.array([-1.0, 2.0])))\n"
            "try:\n    a.step(np.zeros(1))\nexcept Exception as e:\n    print(type(e).__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert proc.stdout.split("\n")[:2] == ["[0. 2.]", "ReferenceUnavailable"], proc.stderr
    assert "np.where" not in (tmp_path / "nnlib" / "activations.py").read_text().split(
        "def step(")[1].split("def ")[0]
