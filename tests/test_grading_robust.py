"""`nncourse grade` against submissions that try to fool, break or cost the grader, or to
reach the instructor's tools (issue 13), each beside honest victims in the same batch.

One batch of 98-pair (the two-exercise lesson of tests/test_grading.py) is graded in a
subprocess, so that the grader's peak memory is its own (`peak_rss`); its workers report
theirs and each submission's wall time. A second run grades late submissions into the
same output folder. The batch is graded once per test session, even under pytest-xdist
(`test_grading.shared_folder`).
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from test_grading import (
    HEAVISIDE,
    HEAVISIDE_WRONG,
    LIMITS,
    PAIR,
    RAMP,
    ROOT,
    _drop,
    _register_pair,
    make_course,
    rebinding,
    shared_folder,
    submit,
)

from autograder.course import nbgrader
from autograder.grading import batch, collect, export, run
from autograder.judge import Outcome

BUDGET = 30.0  # seconds per submission in this batch (honest ones need 2 to 5)
RSS_CAP = 800 * 2**20
SIDE_ENV = "NNCOURSE_TEST_SIDE"
S = "heaviside-solution"

SOLUTIONS_LEAK = """
import json
try:
    src = json.load(open("sol/98-pair.ipynb"))
    exec("".join(src["cells"][3]["source"]).replace("### BEGIN SOLUTION", ""))
except OSError:
    pass
"""
STARTUP = f"import numpy as np\n{HEAVISIDE}\n{RAMP}\n"
TIMEDELTA = ("def heaviside(z):\n"
             "    return (np.asarray(z, dtype=float) >= 0).astype('timedelta64[s]')")
SURROGATE_RETURN = ("def heaviside(z):\n    if np.ndim(z) == 1:\n"
                    "        raise ValueError('bad \\ud800 input')\n    return 'x\\ud800'")
SURROGATE_PRINT = """
import json
from jupyter_client.jsonutil import json_default
from IPython.display import display
# the kernel's own packer refuses lone surrogates; JSON escapes carry them to the grader
get_ipython().kernel.session.pack = lambda o: json.dumps(
    o, default=json_default, ensure_ascii=True).encode()
print("a\\ud800b", flush=True)
display({"text/plain": "c\\udfffd"}, raw=True)
"""
SCRIPT = """
from IPython.display import HTML, Javascript, display
display(HTML("<script>window.nncourse_pwned = 1</script><img src=x onerror='nncourse_pwned=2'>"))
display(Javascript("window.nncourse_pwned = 3"))
display({"text/html": "<script>window.nncourse_pwned = 4</script>",
         "image/png": '"><script>window.nncourse_pwned = 5</script>'}, raw=True)
display({"image/png": "iVBORw0KGgo="},
        metadata={"image/png": {"width": '1" onload="window.nncourse_pwned = 6'}}, raw=True)
"""
SCRIPT_MARKDOWN = ("<script>window.nncourse_pwned = 7</script>\n\n"
                   "[click](javascript:window.nncourse_pwned=8) $\\href{javascript:x}{y}$")
PAYLOAD_FLOOD = """
import autograder.grading.collect as _c
from IPython.display import publish_display_data
_blob = "x" * (8 * 2**20)
for _ in range(40):  # 320 MB of answers the grader never asked for
    publish_display_data({_c.MIME: _blob})
del _blob

def _flood(name, inputs, nonce):
    if name == "heaviside":  # 24 MB of numbers: over the byte cap
        body = "[" + "0.5," * (6 * 2**20) + "0.5]"
    else:  # 12 MB of empty lists, 4 million values: over the value cap
        body = "[" + "[]," * (4 * 2**20) + "[]]"
    one = '{"value": %s, "error": null, "error_message": "", "warnings": []}' % body
    publish_display_data({_c.MIME: '{"nonce": "%s", "name": "%s", "defined": true, '
                          '"public": [%s], "hidden": []}' % (nonce, name, one)})

_c.collect = _flood
"""
SLEEP = "import time\ntime.sleep(4)"
CRASH = "import os\nos._exit(1)"
FLOOD_LINE = "print('x' * 900_000)"
# one message of 350 MB: ZeroMQ drops it unread (kernel.MAX_MESSAGE); read, it took the
# grader's worker to about 1.1 GB, past RSS_CAP
BIG_MESSAGE = ("from IPython.display import publish_display_data\n"
               "publish_display_data({'text/plain': 'x' * (350 * 2**20)})")


def _symlinks_inside(course):
    def make(folder):
        (folder / "sol").symlink_to(course / "solutions" / PAIR)
    return make


def _symlinked_notebook(course):
    def make(folder):
        (folder / f"{PAIR}.ipynb").unlink()
        (folder / f"{PAIR}.ipynb").symlink_to(course / "solutions" / PAIR / f"{PAIR}.ipynb")
    return make


def _hardlinked_notebook(course):
    def make(folder):
        (folder / f"{PAIR}.ipynb").unlink()
        (folder / f"{PAIR}.ipynb").hardlink_to(course / "solutions" / PAIR / f"{PAIR}.ipynb")
    return make


def _startup_files(folder):
    profile = folder / ".ipython" / "profile_default"
    (profile / "startup").mkdir(parents=True)
    (profile / "startup" / "00-answers.py").write_text(STARTUP)
    (profile / "ipython_kernel_config.py").write_text(
        f"c.IPKernelApp.exec_lines = {STARTUP.splitlines()!r}\n")
    (folder / "numpy.py").write_text("raise SystemExit('a module beside the notebook')\n")


def _drop_solutions(nb):
    _drop("heaviside-solution")(nb)
    _drop("ramp-solution")(nb)


def _script_markdown(nb):
    nb.cells.insert(2, nbformat.v4.new_markdown_cell(SCRIPT_MARKDOWN))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "why-answer":
            cell.source = "<img src=x onerror='window.nncourse_pwned = 9'> because z ≥ 0"
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m": {"model_name": "HTMLModel",
                        "state": {"value": "</script><script>window.nncourse_pwned = 10"}}},
        "version_major": 2, "version_minor": 0}}


def kinds(course):
    """student: (heaviside, extra cells, notebook edit, folder edit, score, status)."""
    honest = (HEAVISIDE, [], None, None, 3, "graded")
    return {
        "v1-honest": honest,
        "v2-honest": honest,
        "v3-honest": honest,
        "grades.csv": honest,
        "students": honest,
        "=SUM(1+1)": honest,
        "symlink-inside": ("", [(S, SOLUTIONS_LEAK)], None, _symlinks_inside(course), 1,
                           "tampered"),
        "symlink-notebook": (HEAVISIDE, [], None, _symlinked_notebook(course), 0, "tampered"),
        "hardlink-notebook": (HEAVISIDE, [], None, _hardlinked_notebook(course), 0, "tampered"),
        "startup-files": (HEAVISIDE, [], _drop_solutions, _startup_files, 0, "graded"),
        "timedelta": (TIMEDELTA, [], None, None, 1, "graded"),
        "surrogate-return": (SURROGATE_RETURN, [], None, None, 1, "graded"),
        "surrogate-print": (HEAVISIDE, [(S, SURROGATE_PRINT)], None, None, 3, "graded"),
        "script-output": (HEAVISIDE, [(S, rebinding(SCRIPT))], _script_markdown, None, 3, "graded"),
        "payload-flood": (HEAVISIDE, [(S, rebinding(PAYLOAD_FLOOD))], None, None, 0, "refused"),
        # two slow cells, then six that kill the kernel, each replaying the slow ones
        # (`submit` inserts each extra cell right after the solution: last listed, first run)
        "replay": (HEAVISIDE, [(S, rebinding(CRASH))] * 6 + [(S, rebinding(SLEEP))] * 2, None,
                   None, 0,
                   "timeout;crashed"),
        "output-flood": (HEAVISIDE, [(S, rebinding(FLOOD_LINE))] * 24, None, None, 3, "graded"),
        "one-big-message": (HEAVISIDE, [(S, rebinding(BIG_MESSAGE))], None, None, 3, "timeout"),
    }


NOT_UTF8 = os.fsdecode(b"not-utf8-\xff")  # a folder name no file can spell in UTF-8


def _submissions(course: Path, subs: Path) -> dict:
    expected = {}
    for student, (heaviside, extra, edit, folder_edit, score, status) in kinds(course).items():
        submit(course, subs, PAIR, student, {"heaviside": heaviside, "ramp": RAMP}, extra, edit)
        if folder_edit:
            folder_edit(subs / student / PAIR)
        expected[student] = (score, status)
    shutil.copytree(subs / "v1-honest", subs / NOT_UTF8)
    expected[batch.student_id(NOT_UTF8)] = (3, "graded")
    (subs / "no-lesson").mkdir()
    expected["no-lesson"] = (0, "missing")
    return expected


def peak_rss() -> int:
    """This process's peak resident memory in bytes since its last exec (VmHWM).

    Not `ru_maxrss`: Linux carries that across exec from the process that spawned us, so a
    grader started by a pytest worker would report the worker's peak as its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


def measured_execute(task):
    """`run.execute`, noting the worker's peak memory and the submission's wall time."""
    start = time.monotonic()
    execution = run.execute(task)
    seconds = time.monotonic() - start
    peak = peak_rss()
    side = Path(os.environ[SIDE_ENV])
    (side / f"{os.getpid()}-{time.monotonic_ns()}.json").write_text(json.dumps(
        {"student": task.student, "seconds": seconds, "worker_peak": peak}))
    return execution


def main(course: str, subs: str, out: str, side: str) -> None:
    """Subprocess: grade `subs` into `out`; print the rows and the measurements as JSON."""
    _register_pair()
    os.environ[SIDE_ENV] = side
    batch.execute = measured_execute
    lines, start = [], time.monotonic()
    rows = batch.grade(Path(course), PAIR, Path(subs), Path(out), jobs=2, limits=LIMITS,
                       submission_timeout=BUDGET, log=lines.append)
    measures = [json.loads(p.read_text()) for p in Path(side).glob("*.json")]
    print(json.dumps({"rows": [r.to_json() for r in rows], "lines": lines,
                      "seconds": time.monotonic() - start,
                      "grader_peak": peak_rss(),
                      "measures": measures}))


def _grade_in_subprocess(course: Path, subs: Path, out: Path, side: Path) -> dict:
    side.mkdir(parents=True)
    code = "import sys, test_grading_robust as t; t.main(*sys.argv[1:])"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, str(course), str(subs), str(out),
                           str(side)], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _grade_everything(home: Path) -> dict:
    course = make_course(home / "course")
    subs = home / "submitted"
    subs.mkdir()
    expected = _submissions(course, subs)
    db_url, _ = batch.nbgrader_paths(course)
    out = home / "out"
    first = _grade_in_subprocess(course, subs, out, home / "side-1")
    # a student in the gradebook with nothing handed in, in either run, whose names a
    # spreadsheet would take for formulas
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_student("ghost", first_name="@SUM(1,2)", last_name="-2+3",
                                    email="+cmd")
    nbgrader(course, "export", "--to", str(home / "export-1.csv"))
    late = home / "late"
    late.mkdir()
    submit(course, late, PAIR, "late-honest", {"heaviside": HEAVISIDE, "ramp": RAMP})
    submit(course, late, PAIR, "v3-honest", {"heaviside": HEAVISIDE_WRONG, "ramp": RAMP})
    second = _grade_in_subprocess(course, late, out, home / "side-2")
    nbgrader(course, "export", "--to", str(home / "export-2.csv"))
    (home / "found.json").write_text(json.dumps({
        "course": str(course), "out": str(out), "home": str(home), "expected": expected,
        "first": first, "second": second}))


@pytest.fixture(scope="module")
def robust(tmp_path_factory, worker_id):
    home = shared_folder(tmp_path_factory, worker_id, "robust-batch", _grade_everything)
    found = json.loads((home / "found.json").read_text())
    found["rows"] = {r["student_id"]: r for r in found["first"]["rows"]}
    return found


def test_every_submission_ends_with_its_row_its_score_and_a_reason(robust):
    rows, expected = robust["rows"], {k: tuple(v) for k, v in robust["expected"].items()}
    assert robust["first"]["lines"][0].startswith("isolation: bubblewrap")
    assert {k: (r["score"], r["status"]) for k, r in rows.items()} == expected
    for student, (_, status) in expected.items():
        if status != "graded":
            assert rows[student]["notes"], student
    with open(Path(robust["out"]) / "grades.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(expected) + 2  # + ghost, late-honest


def test_honest_victims_keep_full_marks(robust):
    rows = robust["rows"]
    for student in ("v1-honest", "v2-honest", "grades.csv", "students", "=SUM(1+1)",
                    batch.student_id(NOT_UTF8)):
        assert rows[student]["score"] == 3 and rows[student]["status"] == "graded", student


def test_the_submission_is_the_notebook_and_nothing_else(robust):
    rows = robust["rows"]
    inside = rows["symlink-inside"]
    assert inside["exercises"]["ramp"]["score"] == 1
    assert "symbolic links (sol)" in " ".join(inside["notes"])
    linked = rows["symlink-notebook"]
    assert {e["status"] for e in linked["exercises"].values()} == {"tampered"}
    assert "98-pair.ipynb is a symbolic link" in " ".join(linked["notes"])
    hard = rows["hardlink-notebook"]
    assert {e["status"] for e in hard["exercises"].values()} == {"tampered"}
    assert "98-pair.ipynb is a hard link; it was not read" in " ".join(hard["notes"])
    startup = rows["startup-files"]["exercises"]
    assert startup["heaviside"]["message"].startswith("✗ heaviside: no function")
    assert startup["ramp"]["score"] == 0


def test_values_that_broke_the_run_are_judged_or_cleaned(robust):
    rows = robust["rows"]
    assert "timedelta64[s] array" in rows["timedelta"]["exercises"]["heaviside"]["message"]
    assert "raised ValueError: bad \ufffd input" in (
        rows["surrogate-return"]["exercises"]["heaviside"]["message"])
    _, autograded = batch.nbgrader_paths(Path(robust["course"]))
    text = (autograded / "surrogate-print" / PAIR / f"{PAIR}.ipynb").read_text()
    assert "a\\ufffdb" in text or "a\ufffdb" in text
    out = Path(robust["out"])
    assert (out / "grades.csv").is_file()
    assert (out / "students" / "grades.csv" / "results.json").is_file()


def test_grades_csv_and_nbgrader_export_escape_formulas(robust):
    with open(Path(robust["out"]) / "grades.csv", newline="") as f:
        ids = [row["student_id"] for row in csv.DictReader(f)]
    assert "'=SUM(1+1)" in ids and "=SUM(1+1)" not in ids
    assert not any(i.startswith(export.FORMULA) for i in ids)
    # `nncourse nbgrader export`, with the exporter nbgrader_config.py sets
    with open(Path(robust["home"]) / "export-1.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert "'=SUM(1+1)" in rows and "=SUM(1+1)" not in rows
    assert float(rows["'=SUM(1+1)"]["score"]) == 3 and rows["v1-honest"]["score"] == "3.0"
    ghost = rows["ghost"]  # the comma in a name does not shift the columns
    assert (ghost["first_name"], ghost["last_name"], ghost["email"]) == (
        "'@SUM(1,2)", "'-2+3", "'+cmd")
    assert not any(v.startswith(export.FORMULA) for r in rows.values() for v in r.values())


class _Active(HTMLParser):
    """What a browser would run in a page: scripts, event handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found, self.script = [], False

    def handle_starttag(self, tag, attrs):
        self.script = tag == "script"
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or value.startswith(("javascript:", "data:text/html")):
                self.found.append(f"<{tag} {name}={value[:60]}>")

    def handle_endtag(self, tag):
        self.script = False

    def handle_data(self, data):
        if self.script and "nncourse_pwned" in data:
            self.found.append(f"<script>{data[:60]}")


def test_formgrader_shows_no_active_content(robust):
    from nbconvert import HTMLExporter

    _, autograded = batch.nbgrader_paths(Path(robust["course"]))
    nb = nbformat.read(autograded / "script-output" / PAIR / f"{PAIR}.ipynb", as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert set(out.get("data", {})) <= {"text/plain", "image/png"}
            assert not out.get("metadata")
    assert set(nb.metadata) <= {"kernelspec", "language_info"}
    # formgrader renders with nbconvert's classic template (its own extends it), unsanitized
    page, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    assert "nncourse_pwned = 7" in page and "nncourse_pwned = 9" in page  # shown, as text
    parser = _Active()
    parser.feed(page)
    assert parser.found == []
    # markdown that could be active is shown as its text, in a code block (MathJax skips it)
    fenced = [c.source for c in nb.cells if c.cell_type == "markdown" and "pwned" in c.source]
    assert len(fenced) == 2 and all(f.startswith("```text\n") for f in fenced)


def test_peak_rss_is_the_process_own_not_its_parent():
    """A process spawned by a parent that once held 512 MB reports its own few MB."""
    held = bytearray(512 * 2**20)
    held[:: 4096] = b"x" * len(held[:: 4096])  # touch every page, so that it is resident
    code = ("import resource, sys, test_grading_robust as t; "
            "print(t.peak_rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    del held
    own, inherited = map(int, out)
    assert inherited >= 512 * 2**20  # the trap: ru_maxrss reports the parent's peak
    assert own < 200 * 2**20


def test_costs_are_capped(robust):
    first = robust["first"]
    rows = robust["rows"]
    # payloads beyond the caps are refused, with the reason
    flood = rows["payload-flood"]["exercises"]
    assert "too large for the grader" in flood["heaviside"]["message"]
    assert "too large for the grader" in flood["ramp"]["message"]
    # the grader and its workers stay small
    assert first["grader_peak"] < RSS_CAP, first["grader_peak"]
    assert max(m["worker_peak"] for m in first["measures"]) < RSS_CAP
    # a replay attack stops at the submission's budget
    replay = next(m for m in first["measures"] if m["student"] == "replay")
    assert replay["seconds"] < BUDGET + 20, replay
    assert f"time budget of {BUDGET:g} s" in " ".join(rows["replay"]["notes"])
    # an output flood keeps a few MB of output, with a note
    _, autograded = batch.nbgrader_paths(Path(robust["course"]))
    notebook = autograded / "output-flood" / PAIR / f"{PAIR}.ipynb"
    assert notebook.stat().st_size < run.NOTEBOOK_OUTPUT_CAP + 2**20
    assert "output were not kept" in notebook.read_text()
    # one huge message is dropped unread: the cell that sent it is stopped as a flood
    assert "printed without end" in " ".join(rows["one-big-message"]["notes"])


def test_late_submissions_lose_nothing(robust):
    second = {r["student_id"]: r for r in robust["second"]["rows"]}
    first = robust["rows"]
    assert set(second) == set(first) | {"ghost", "late-honest"}
    for student, row in first.items():
        if student != "v3-honest":
            assert second[student]["score"] == row["score"], student
            assert second[student]["status"] == row["status"], student
    assert (second["late-honest"]["score"], second["v3-honest"]["score"]) == (3, 1)
    assert second["ghost"]["status"] == "missing"
    assert "(19 with nothing handed in this time keep an earlier result)" in (
        robust["second"]["lines"][1])
    home = Path(robust["home"])
    for name in ("export-1.csv", "export-2.csv"):
        with open(home / name, newline="") as f:
            scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)
                      if r["assignment"] == PAIR}
        assert scores["v1-honest"] == scores["v2-honest"] == 3, name
    with open(Path(robust["out"]) / "grades.csv", newline="") as f:
        now = {r["student_id"]: r["score"] for r in csv.DictReader(f)}
    assert now["v2-honest"] == "3" and now["late-honest"] == "3" and now["v3-honest"] == "1"


# --- units: no kernel ---------------------------------------------------------------

def _payload(value, nonce="n", name="f") -> str:
    return json.dumps({"nonce": nonce, "name": name, "defined": True,
                       "public": collect.encode([Outcome(value=value)]), "hidden": []})


def test_decode_refuses_floods_and_odd_arrays():
    import base64
    import io

    import numpy as np

    with pytest.raises(collect.TooLarge):
        collect.decode(_payload([0.5] * (collect.MAX_BYTES // 4)), "f", "n", (1, 0))
    with pytest.raises(collect.TooLarge):
        collect.decode(_payload([[]] * (collect.MAX_ITEMS + 1)), "f", "n", (1, 0))
    public, _ = collect.decode(_payload(np.zeros(3, "m8[s]")), "f", "n", (1, 0))
    assert public[0].value == "timedelta64[s] array"
    deep = '{"nonce": "n", "name": "f", "defined": true, "public": [' + "[" * 5000
    with pytest.raises(collect.BadPayload):
        collect.decode(deep, "f", "n", (1, 0))
    buf = io.BytesIO()  # a header promising 8 TB, followed by 16 bytes
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (10**12,)})
    forged = json.loads(_payload(np.arange(2.0)))
    forged["public"][0]["value"] = {"$nd": base64.b64encode(buf.getvalue() + bytes(16)).decode()}
    with pytest.raises(collect.BadPayload):
        collect.decode(json.dumps(forged), "f", "n", (1, 0))
    public, _ = collect.decode(_payload("x\ud800"), "f", "n", (1, 0))
    assert public[0].value == "x\ufffd"


def test_a_judge_that_fails_costs_one_exercise(monkeypatch):
    from autograder import registry
    from autograder.cases import cases_for

    def fails(*args, **kwargs):
        raise TypeError("ufunc 'isfinite' not supported for the input types")

    monkeypatch.setenv("NNCOURSE_HIDDEN_SEED", "5")
    monkeypatch.setattr(run, "judge", fails)
    ex = registry.get("step")
    cases = {"step": {"public": cases_for(ex, False), "hidden": cases_for(ex, True)}}
    execution = run.Execution("eve", outcomes={"step": ([Outcome(value=1.0)], [])})
    entry = run.judge_execution(execution, [ex], cases)["step"]
    assert (entry.score, entry.status) == (0, "refused")
    assert "could not judge" in entry.message and "refused" in execution.statuses


def test_default_budget_and_student_folders():
    assert run.default_budget(30, 2) == 300 and run.default_budget(30, 12) == 1440
    assert batch.folder_name("ada") == "ada" and batch.folder_name("grades.csv") == "grades.csv"
    assert batch.folder_name("..") == "%2E." and batch.folder_name("a/b") == "a%2Fb"
    assert batch.folder_name("50%") == "50%25"
    assert export.csv_cell("=1+1") == "'=1+1" and export.csv_cell("@x") == "'@x"
    assert export.csv_cell("\tx") == "'\tx" and export.csv_cell("3") == "3"
    assert batch.printable("a\x1b]0;x\x07") == "a\\x1b]0;x\\x07"


def _no_gradebook() -> str:
    return "sqlite://"


def test_inspect_follows_no_symbolic_link(tmp_path):
    subs, lesson = tmp_path / "subs", "01-x"
    for student in ("ada", "bob", "cy", "dee"):
        (subs / student / lesson).mkdir(parents=True)
        (subs / student / lesson / f"{lesson}.ipynb").write_text("{}")
    (subs / "bob" / lesson / "data").symlink_to(tmp_path)
    (subs / "cy" / lesson / f"{lesson}.ipynb").unlink()
    (subs / "cy" / lesson / f"{lesson}.ipynb").symlink_to(subs / "ada" / lesson / f"{lesson}.ipynb")
    (subs / "eve").symlink_to(subs / "ada")  # a classmate's folder under another name
    (subs / "dee" / lesson / "nested").mkdir()
    (subs / "dee" / lesson / "nested" / "up").symlink_to("../..")
    assert batch.inspect(subs, "ada", lesson) == (subs / "ada" / lesson / f"{lesson}.ipynb",
                                                  [], False)
    notebook, notes, refused = batch.inspect(subs, "bob", lesson)
    assert notebook is not None and not refused and "symbolic links (data)" in notes[0]
    assert batch.inspect(subs, "cy", lesson)[::2] == (None, True)
    assert batch.inspect(subs, "eve", lesson)[::2] == (None, True)
    assert "nested/up" in batch.inspect(subs, "dee", lesson)[1][0]
    assert set(batch._students(subs, tmp_path / "out", _no_gradebook())) == {
        "ada", "bob", "cy", "dee", "eve"}


def test_inspect_reads_no_hard_link(tmp_path):
    """A file with another name (the solution, say) is treated as a symbolic link is."""
    subs, lesson = tmp_path / "subs", "01-x"
    solution = tmp_path / "solution.ipynb"
    solution.write_text("{}")
    for student in ("ada", "bob", "cy"):
        (subs / student / lesson).mkdir(parents=True)
        (subs / student / lesson / f"{lesson}.ipynb").write_text("{}")
    (subs / "bob" / lesson / f"{lesson}.ipynb").unlink()
    (subs / "bob" / lesson / f"{lesson}.ipynb").hardlink_to(solution)
    (subs / "cy" / lesson / "data.csv").hardlink_to(solution)
    assert batch.inspect(subs, "ada", lesson) == (subs / "ada" / lesson / f"{lesson}.ipynb",
                                                  [], False)
    assert batch.inspect(subs, "bob", lesson) == (None, [
        f"the submitted notebook {lesson}.ipynb is a hard link; it was not read and nothing "
        "was graded"], True)
    notebook, notes, refused = batch.inspect(subs, "cy", lesson)
    assert notebook == subs / "cy" / lesson / f"{lesson}.ipynb" and not refused
    assert notes == ["the submission folder holds hard links (data.csv); they were not read, "
                     "and only the notebook was graded"]
    # one notebook under two students' names: neither can void the other's work with it
    (subs / "eve" / lesson).mkdir(parents=True)
    (subs / "eve" / lesson / f"{lesson}.ipynb").hardlink_to(subs / "ada" / lesson /
                                                            f"{lesson}.ipynb")
    for student, other in (("ada", "eve"), ("eve", "ada")):
        assert batch.inspect(subs, student, lesson) == (
            subs / student / lesson / f"{lesson}.ipynb",
            [f"the submitted notebook is the same file (a hard link) as the notebook of {other}"],
            False)
    # ... unless the file has a name outside the submissions too
    (tmp_path / "elsewhere.ipynb").hardlink_to(subs / "ada" / lesson / f"{lesson}.ipynb")
    assert batch.inspect(subs, "ada", lesson)[::2] == (None, True)


def test_only_the_notebook_reaches_the_kernels_folder(tmp_path, monkeypatch):
    """Whatever the sandbox copies in, the folder the grader prepares holds the notebook
    (and matplotlib's font cache) only: no startup files, no modules, no links."""
    folder = tmp_path / "eve" / PAIR
    folder.mkdir(parents=True)
    release = ROOT / "lectures" / "00-welcome" / "00-welcome.ipynb"
    shutil.copy(release, folder / f"{PAIR}.ipynb")
    _startup_files(folder)
    (folder / "sol").symlink_to(ROOT / "solutions")
    seen = {}

    def fake(task, nb, tests, workdir, execution, deadline):
        seen["files"] = sorted(p.name for p in workdir.iterdir())
        seen["ipython"] = (workdir / ".ipython").exists()
        return nb

    monkeypatch.setattr(run, "_execute", fake)
    sandbox = SimpleNamespace(limits=LIMITS)
    task = run.Task("eve", PAIR, str(folder / f"{PAIR}.ipynb"), str(release), "", {}, sandbox)
    execution = run.execute(task)
    assert seen == {"files": [".matplotlib", f"{PAIR}.ipynb"], "ipython": False}, execution
