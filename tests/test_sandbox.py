"""The grading sandbox against a hostile submission, whether the grader is root or not.

Every check runs student code the way grading does: a sandbox from `make_sandbox`, a
`Kernel` (or `Sandbox.popen`, or `run.execute` for whole submissions), nnlib stubbed by
`stub_reference`. The course is a temporary one with a solution, a seed, two students'
submissions and an output folder, all of which must be absent from the kernel, as must
this checkout (the course root of the environment, which lives in it).

CI runs this module as root and as an ordinary user (`.ci/as-user`: a throwaway uid in a
cgroup delegated to it, as systemd delegates one to a user's session), and nothing is
skipped: the checks of the memory and pids cgroups need root or such a delegated cgroup and
fail without one. Without a memory cgroup the sandbox says so in `describe()` and limits
each process's address space instead, which the other checks and
`test_without_a_memory_cgroup_the_address_space_is_limited_per_process` cover. Cgroup v2,
which this machine may not have, runs against a fake hierarchy in a folder.
"""

import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

import nnlib
from autograder import registry
from autograder.course import find_root
from autograder.grading import run
from autograder.grading import sandbox as sandbox_module
from autograder.grading.collect import MIME
from autograder.grading.kernel import Kernel
from autograder.grading.sandbox import (
    HOST_UID,
    SANDBOX_UID,
    Confinement,
    Limits,
    cgroup_bases,
    graded_helpers,
    make_sandbox,
    stub_reference,
)

ROOT = find_root(Path(__file__).parent)
NNLIB = Path(nnlib.__file__).parent
LESSON = "06-backprop"
AS_ROOT = os.geteuid() == 0
# Small limits keep the attacks fast; the scratch is larger than the memory so that a
# tmpfs attack meets the memory cgroup, not the tmpfs size. Without a memory cgroup the
# memory limit is each process's address space, and a kernel needs more than 512 MB of it.
LIMITS = Limits(timeout=30, memory_mb=512, scratch_mb=1024)
LIMITS_WITHOUT_CGROUP = Limits(timeout=30, memory_mb=1536, scratch_mb=1024)

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def _references(lesson):
    return [e.reference for e in registry.all_exercises(lesson)]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course root with a solution and a seed, two submissions and an output folder."""
    base = tmp_path_factory.mktemp("sandbox")
    root = base / "course"
    (root / "solutions" / LESSON).mkdir(parents=True)
    (root / "solutions" / LESSON / f"{LESSON}.ipynb").write_text("SECRET SOLUTION")
    (root / "grading").mkdir()
    seed = root / "grading" / "hidden-seed"
    seed.write_text("1234\n")
    seed.chmod(0o600)
    subs, out = base / "submitted", base / "graded"
    for student in ("alice", "bob"):
        (subs / student / LESSON).mkdir(parents=True)
        (subs / student / LESSON / f"{LESSON}.ipynb").write_text(f"{student}'s work")
    (out / "alice").mkdir(parents=True)
    (out / "alice" / "results.json").write_text("{}")
    cases = base / "cases"
    cases.mkdir()
    (cases / "cases.pkl").write_bytes(pickle.dumps({"x": [1, 2, 3]}))
    return {"root": root, "seed": seed, "subs": subs, "out": out, "cases": cases,
            "base": base}


def _sandbox(course, limits, name):
    stub = course["base"] / name
    stub_reference(NNLIB, _references(LESSON), stub)
    withheld = registry.get("train_digits").withheld_paths
    return make_sandbox(course["root"], [course["subs"], course["out"], course["seed"]], stub,
                        NNLIB, limits, withheld=withheld)


@pytest.fixture(scope="module")
def sandbox(course):
    box = _sandbox(course, LIMITS, "stub")
    if "memory" not in box.cgroups:
        box = _sandbox(course, LIMITS_WITHOUT_CGROUP, "stub-without-cgroup")
    yield box
    # every kernel of this module has stopped: none of its cgroups is left
    left = [g for base in set(box.cgroups.values())
            for g in Path(base).glob(f"nncourse-{os.getpid()}-*")]
    assert left == []


@pytest.fixture(scope="module")
def kernel(sandbox, course):
    work = course["base"] / "work"
    work.mkdir()
    (work / f"{LESSON}.ipynb").write_text("{}")
    with Kernel(sandbox, work, [course["cases"]], MIME) as k:
        yield k


def _needs_cgroups(sandbox, *controllers):
    missing = [c for c in controllers if c not in sandbox.cgroups]
    assert not missing, (f"no {' or '.join(missing)} cgroup here: run as root, or as an "
                         "ordinary user in a delegated cgroup (.ci/as-user makes one)")


def _run(kernel, code: str) -> str:
    """Run `code` in `kernel`; its stdout (the cell must succeed)."""
    cell = kernel.run(code, LIMITS.timeout)
    assert cell.status == "ok", (cell.status, cell.ename, cell.evalue)
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def _json(kernel, code: str):
    return json.loads(_run(kernel, code + "\nimport json as _j; print(_j.dumps(result))"))


def _kernel_processes(kernel):
    return [p for p in psutil.Process(kernel.proc.pid).children(recursive=True)
            if p.name().startswith("python")]


def test_the_sandbox_says_what_it_is(sandbox):
    text = sandbox.describe()
    assert sandbox.mode == "bubblewrap" and text.startswith("isolation: bubblewrap")
    assert "no capabilities" in text and "scratch tmpfs" in text
    if AS_ROOT:
        assert sandbox.identity == "userns" and "(host uid 65534)" in text
    else:
        assert sandbox.identity == "unshare" and "the grader's uid on the host" in text
    if "memory" in sandbox.cgroups:
        assert "together (memory cgroup)" in text
    else:
        assert "address space per process only (no memory cgroup)" in text


# ---- no privileges -------------------------------------------------------------------------

PRIVILEGES = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(fn, *args):
    return 0 if fn(*args) == 0 else ctypes.get_errno()
status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines()
              if line.startswith(("Cap", "NoNewPrivs")))
pid = os.fork()
if pid == 0:  # a single-threaded child may try a user namespace of its own
    os._exit(call(libc.unshare, 0x10000000))
nested = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
result = {
    "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "caps": {k: int(v, 16) for k, v in status.items() if k.startswith("Cap")},
    "no_new_privs": int(status["NoNewPrivs"]),
    "umount": call(libc.umount2, b"/grading/lib/nnlib", 2),
    "umount_root": call(libc.umount2, b"/", 2),
    "remount_rw": call(libc.mount, None, b"/", None, 32 | 4096 | 16384, None),
    "mount_tmpfs": call(libc.mount, b"tmpfs", b"/grading", b"tmpfs", 0, None),
    "mount_proc": call(libc.mount, b"proc", b"/scratch", b"proc", 0, None),
    "unshare_mount": call(libc.unshare, 0x00020000),
    "nested_userns": nested,
    "setuid0": call(libc.setuid, 0),
    "setuid1": call(libc.setuid, 1),  # host root, when the grader is root
    "chroot": call(libc.chroot, b"/scratch"),
}
"""


def test_the_kernel_has_no_privileges(kernel):
    """`mount`, `umount` (as system calls: the commands are not even there) and every way
    back to a capability fail; the kernel is uid 65534 with no capability at all."""
    got = _json(kernel, PRIVILEGES)
    assert got["uid"] == got["euid"] == got["gid"] == SANDBOX_UID != 0
    assert got["groups"] in ([], [SANDBOX_UID])
    assert got["caps"] == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}
    assert got["no_new_privs"] == 1
    for call in ("umount", "umount_root", "remount_rw", "mount_tmpfs", "mount_proc",
                 "unshare_mount", "chroot"):
        assert got[call] == errno.EPERM, (call, got[call])
    # EINVAL: the uid does not exist in the kernel's user namespace
    assert got["setuid0"] in (errno.EPERM, errno.EINVAL)
    assert got["setuid1"] in (errno.EPERM, errno.EINVAL)
    assert got["nested_userns"] in (errno.ENOSPC, errno.EPERM)


def test_the_kernel_is_not_the_graders_uid_on_the_host_when_the_grader_is_root(kernel):
    processes = _kernel_processes(kernel)
    assert processes
    for p in processes:
        assert p.uids().real == p.uids().effective == (HOST_UID if AS_ROOT else os.getuid())
        assert AS_ROOT is False or p.uids().real != 0
    # what it writes has that owner too, seen from outside (through /proc/PID/root)
    _run(kernel, "open('/scratch/mine', 'w').write('x')")
    owner = os.stat(f"{kernel.cap.root}/scratch/mine").st_uid
    assert owner == (HOST_UID if AS_ROOT else os.getuid())


# ---- only the scratch folder is writable ---------------------------------------------------

WRITES = """
import os
result = {}
for path in ["/x", "/etc/passwd", "/etc/x", "/usr/lib/x", "/dev/x", "/proc/x", "/grading/x",
             "/grading/lib/nnlib/activations.py", "/grading/lib/autograder/x.py",
             "/grading/env/x", "/grading/in/0/cases.pkl", "/grading/kernel.json",
             "/root/x", "/scratch/ok", "/tmp/ok", "/dev/shm/ok"]:
    try:
        with open(path, "a") as f:
            f.write("x")
        result[path] = 0
    except OSError as exc:
        result[path] = exc.errno
"""
WRITABLE = {"/scratch/ok", "/tmp/ok", "/dev/shm/ok"}


def test_writes_outside_the_scratch_folder_fail(kernel):
    got = _json(kernel, WRITES)
    assert {p for p, e in got.items() if e == 0} == WRITABLE, got
    # and from outside: every writable mount is one of the sandbox's own tmpfs, its
    # /proc, its pseudo-terminals or a device node such as /dev/null
    mounts = Path(f"/proc/{_kernel_processes(kernel)[0].pid}/mounts").read_text()
    writable = {}
    for line in mounts.splitlines():
        _, where, kind, options, *_ = line.split()
        if "rw" in options.split(","):
            writable[where] = kind
        if where == "/":
            assert "ro" in options.split(",")
    devices = {f"/dev/{d}" for d in ("null", "zero", "full", "random", "urandom", "tty")}
    for where, kind in writable.items():
        assert (kind, where) in {("tmpfs", "/scratch"), ("tmpfs", "/dev/shm"),
                                 ("tmpfs", "/grading/kernel"), ("proc", "/proc"),
                                 ("devpts", "/dev/pts")} or (
            kind == "devtmpfs" and where in devices), (where, kind)
    scratch = next(line for line in mounts.splitlines() if line.split()[1] == "/scratch")
    assert f"size={LIMITS.scratch_mb * 1024}k" in scratch


def test_the_scratch_folder_is_size_limited_and_not_on_the_hosts_disk(course):
    small = _sandbox(course, Limits(timeout=30, memory_mb=1024, scratch_mb=64), "stub-small")
    with Kernel(small, course["base"], [], MIME) as k:
        got = _json(k, """
import errno
result = {}
for path in ("/scratch/big", "/tmp/big", "/dev/shm/big"):
    try:
        with open(path, "wb") as f:
            for _ in range(100):
                f.write(b"x" * 2**20)
        result[path] = 0
    except OSError as exc:
        result[path] = exc.errno
    import os
    os.remove(path)
""")
        mounts = Path(f"/proc/{_kernel_processes(k)[0].pid}/mounts").read_text()
    assert got == {"/scratch/big": errno.ENOSPC, "/tmp/big": errno.ENOSPC,
                   "/dev/shm/big": errno.ENOSPC}
    scratch = next(line for line in mounts.splitlines() if line.split()[1] == "/scratch")
    assert scratch.split()[2] == "tmpfs" and "size=65536k" in scratch


# ---- what is absent ------------------------------------------------------------------------

def test_secrets_are_absent_not_hidden(kernel, course, sandbox):
    paths = [course["root"], course["root"] / "solutions", course["seed"], course["subs"],
             course["subs"] / "bob", course["out"], course["out"] / "alice", course["base"],
             ROOT, ROOT / "solutions", ROOT / "autograder", ROOT / "nnlib", ROOT / ".venv",
             Path(os.path.expanduser("~"))]
    # /root and /tmp exist in the sandbox, as the way to Python and as the scratch
    paths = [p for p in paths if str(p) not in ("/", "/root", "/tmp")]
    parents = {q for p in paths for q in p.parents if str(q) not in ("/", "/root", "/tmp")}
    got = _json(kernel, f"import os\nresult = [os.path.lexists(p) for p in "
                        f"{[str(p) for p in [*paths, *sorted(parents)]]!r}]")
    present = [str(p) for p, there in zip([*paths, *sorted(parents)], got, strict=True)
               if there]
    assert present == []


def test_the_graders_processes_are_not_there(kernel):
    got = _json(kernel, """
import os
result = {p: open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")
          for p in os.listdir("/proc") if p.isdigit()}
""")
    assert len(got) <= 3, got  # bwrap's init, the kernel and this cell's nothing else
    assert not any("pytest" in c or "nncourse" in c for c in got.values())
    assert got["1"].split("\0")[:2] == [shutil.which("bwrap"), "--args"]  # no host path


def test_withheld_data_is_absent_and_its_folder_otherwise_complete(kernel):
    withheld = registry.get("train_digits").withheld_paths[0].resolve()
    prefix = Path(sys.prefix).resolve()
    assert withheld.is_relative_to(prefix)
    inside = Path("/grading/env") / withheld.relative_to(prefix)
    got = _json(kernel, f"import os\nresult = sorted(os.listdir({str(inside.parent)!r}))")
    assert withheld.name not in got
    assert got == sorted(p.name for p in withheld.parent.iterdir() if p != withheld)


def test_only_the_collection_runtime_of_autograder_is_there(kernel):
    got = _json(kernel, """
import importlib, os, sys
result = {}
for name in ("autograder.exercises", "autograder.exercises.lesson06", "autograder.judge",
             "autograder.checker", "autograder.course", "autograder.results",
             "autograder.verifiers"):
    try:
        importlib.import_module(name)
        result[name] = "imported"
    except ImportError as exc:
        result[name] = type(exc).__name__
import autograder.registry, autograder.grading.collect, contextlib, io
from autograder import CheckFailed, check, latest
with contextlib.redirect_stdout(io.StringIO()) as said:
    check("sigmoid", print)
result["check"] = said.getvalue()
result["registry"] = sorted(n for n in vars(autograder.registry) if not n.startswith("__"))
result["modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "autograder")
result["files"] = sorted(os.path.join(d, f)[len("/grading/lib/"):]
                         for d, _, fs in os.walk("/grading/lib/autograder") for f in fs)
""")
    for name in ("autograder.exercises", "autograder.exercises.lesson06", "autograder.judge",
                 "autograder.checker", "autograder.course", "autograder.results",
                 "autograder.verifiers"):
        assert got[name] == "ModuleNotFoundError", name
    assert got["registry"] == ["Case", "annotations", "dataclass", "field"]
    assert got["check"] == "sigmoid: graded by the grader, outside this kernel.\n"
    runtime = {"autograder", "autograder.calls", "autograder.fallback", "autograder.given",
               "autograder.grading", "autograder.grading.collect",
               "autograder.grading.lifeline", "autograder.registry"}
    assert set(got["modules"]) == runtime
    assert sorted(got["files"]) == sorted(
        ["autograder/__init__.py", "autograder/calls.py", "autograder/fallback.py",
         "autograder/given.py", "autograder/registry.py", "autograder/grading/__init__.py",
         "autograder/grading/collect.py", "autograder/grading/lifeline.py"])


def test_the_grader_s_inputs_arrive_read_only(kernel, course):
    got = _json(kernel, f"""
import pickle
with open({kernel.inside(course["cases"] / "cases.pkl")!r}, "rb") as f:
    result = pickle.load(f)
""")
    assert got == {"x": [1, 2, 3]}


def test_graded_functions_and_their_private_helpers_are_absent(kernel):
    removed, kept = graded_helpers(NNLIB, _references(LESSON))
    assert ("nnlib.network", "_dense_backward") in removed
    got = _json(kernel, f"""
import importlib, inspect, nnlib.activations
result = {{"raises": {{}}, "present": [], "public": None}}
for ref in {_references(LESSON)!r}:
    module, _, name = ref.rpartition(".")
    fn = getattr(importlib.import_module(module), name)
    needed = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
    try:
        fn(*[[0.5]] * len(needed))
        result["raises"][ref] = None
    except Exception as exc:
        result["raises"][ref] = type(exc).__name__
for module, name in {sorted(removed)!r}:
    if hasattr(importlib.import_module(module), name):
        result["present"].append(name)
    source = open("/grading/lib/" + module.replace(".", "/") + ".py").read()
    if "def " + name in source or name + " =" in source:
        result["present"].append("source of " + name)
result["public"] = float(nnlib.activations.sigmoid([0.0])[0])  # graded in 04, not here
""")
    assert set(got["raises"].values()) == {"ReferenceUnavailable"}, got["raises"]
    assert got["present"] == []
    assert got["public"] == 0.5


def test_every_lessons_stubbed_nnlib_keeps_its_public_non_graded_functions(tmp_path):
    """For every lesson: every module still imports, graded functions raise, the private
    helpers only they use are gone, and every other public name is still defined."""
    import importlib

    # the helpers that compute a graded function's answer are among those removed
    for lesson, helper in (("03-error-surface", ("nnlib.surface", "_over_grid")),
                           ("03-error-surface", ("nnlib.surface", "_half_sse")),
                           ("05-forward", ("nnlib.network", "_dense_forward")),
                           ("06-backprop", ("nnlib.network", "_dense_backward")),
                           ("10-training", ("nnlib.metrics", "_binary_auc"))):
        assert helper in graded_helpers(NNLIB, _references(lesson))[0], (lesson, helper)
    modules = sorted(p.stem for p in NNLIB.glob("*.py") if not p.stem.startswith("_"))
    public = {m: sorted(n for n in vars(importlib.import_module(f"nnlib.{m}"))
                        if not n.startswith("_")) for m in modules}
    lessons = sorted({lesson for e in registry.all_exercises() for lesson in e.lessons})
    for lesson in lessons:
        refs = _references(lesson)
        removed, _ = graded_helpers(NNLIB, refs)
        stub = tmp_path / lesson
        stub_reference(NNLIB, refs, stub)
        code = f"""
import importlib, inspect, json
out = {{"public": {{}}, "removed": [], "graded": []}}
for m in {modules!r}:
    mod = importlib.import_module("nnlib." + m)
    out["public"][m] = sorted(n for n in vars(mod) if not n.startswith("_"))
for module, name in {sorted(removed)!r}:
    if hasattr(importlib.import_module(module), name):
        out["removed"].append(name)
for ref in {refs!r}:
    module, _, name = ref.rpartition(".")
    fn = getattr(importlib.import_module(module), name)
    needed = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
    try:
        fn(*[[0.5]] * len(needed))
        out["graded"].append(ref)
    except Exception as exc:
        if type(exc).__name__ != "ReferenceUnavailable":
            out["graded"].append(ref)
print(json.dumps(out))
"""
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(stub), "MPLBACKEND": "Agg"},
                              cwd=tmp_path, timeout=120)
        assert proc.returncode == 0, (lesson, proc.stderr[-2000:])
        got = json.loads(proc.stdout)
        assert got["public"] == public, lesson
        assert got["removed"] == [] and got["graded"] == [], (lesson, got)


# ---- limits that hold ----------------------------------------------------------------------

TMPFS_ATTACK = """
with open("/scratch/hoard", "wb") as f:
    for _ in range(768):
        f.write(b"x" * 2**20)
"""
PROCESS_ATTACK = """
import os, time
import numpy as np
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        hoard = np.ones(200 * 2**20 // 8)  # 200 MB resident in each of 4 processes
        time.sleep(60)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""


def _submission(tmp_path, cells) -> run.Task:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    folder = tmp_path / "alice" / LESSON
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{LESSON}.ipynb")
    release = tmp_path / "release.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), release)
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "cases.pkl").write_bytes(pickle.dumps({}))
    return folder / f"{LESSON}.ipynb", release, tmp_path / "cases" / "cases.pkl"


@pytest.mark.parametrize("attack", [TMPFS_ATTACK, PROCESS_ATTACK], ids=["tmpfs", "processes"])
def test_memory_attacks_are_stopped_with_status_memory(sandbox, tmp_path, attack):
    """768 MB written to a tmpfs, and 800 MB resident across four processes, under a
    512 MB limit (the issue's 2,560 MB and 3,600 MB under 2,048 MB, scaled): both are
    stopped by the memory cgroup and reported as memory, and the next cell runs."""
    _needs_cgroups(sandbox, "memory")
    notebook, release, cases = _submission(tmp_path, [attack, "after = 1\nprint(after)"])
    task = run.Task("alice", LESSON, str(notebook), str(release), str(cases), {}, sandbox)
    started = time.monotonic()
    execution = run.execute(task)
    assert "memory" in execution.statuses, execution.notes
    assert any("ran out of memory" in n for n in execution.notes), execution.notes
    assert not execution.statuses & {"crashed", "timeout"}, execution.notes
    cells = [c for c in execution.notebook.cells if c.cell_type == "code"]
    assert cells[-1].outputs and cells[-1].outputs[0]["text"] == "1\n"
    assert time.monotonic() - started < 60


ZOMBIES_AND_THREADS = """
import os, threading, time
ready = threading.Event()
threads = [threading.Thread(target=ready.wait) for _ in range(8)]
for t in threads:
    t.start()
zombies = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    zombies.append(pid)
sleeper = os.fork()
if sleeper == 0:
    time.sleep(60)
    os._exit(0)
time.sleep(0.5)
"""


def test_the_kernel_counts_its_processes_as_a_scan_of_its_tree_would(kernel, sandbox):
    """From its pids cgroup: zombies not yet reaped count, threads do not."""
    _needs_cgroups(sandbox, "pids")

    def tree():
        return 1 + len(psutil.Process(kernel.proc.pid).children(recursive=True))

    idle = kernel.processes()
    assert idle == tree()
    _run(kernel, ZOMBIES_AND_THREADS)
    assert kernel.processes() == tree() == idle + 5
    _run(kernel, "os.kill(sleeper, 9)\nfor pid in [*zombies, sleeper]:\n    os.waitpid(pid, 0)\n"
                 "ready.set()\nfor t in threads:\n    t.join()")
    assert kernel.processes() == tree() == idle


def _dead_graders_group(base) -> Path:
    """A cgroup in `base` named as a grader that has ended names its own."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    group = Path(base) / f"nncourse-{gone.pid}-0123456789ab"
    group.mkdir()
    return group


def test_cgroups_are_removed_when_kernels_stop_and_after_a_killed_grader(sandbox, course):
    _needs_cgroups(sandbox, "memory", "pids")
    with Kernel(sandbox, course["base"], [], MIME) as k:
        groups = set(k.cap.dirs.values())
        assert set(k.cap.dirs) == {"memory", "pids"} and all(g.is_dir() for g in groups)
    assert not any(g.exists() for g in groups)
    stale = [_dead_graders_group(base) for base in set(sandbox.cgroups.values())]
    cgroup_bases()
    assert not any(g.exists() for g in stale)


KILLED_GRADER = r"""
import sys, tempfile, time
from pathlib import Path
import nnlib
from autograder.grading.collect import MIME
from autograder.grading.kernel import Kernel
from autograder.grading.sandbox import Limits, make_sandbox, stub_reference
tmp = Path(tempfile.mkdtemp())
stub_reference(Path(nnlib.__file__).parent, [], tmp / "stub")
box = make_sandbox(tmp, [], tmp / "stub", Path(nnlib.__file__).parent, Limits(memory_mb=1536))
kernel = Kernel(box, tmp, [], MIME)
kernel.start()
kernel.run("import os\nif os.fork() == 0:\n    import time; time.sleep(600)", 30)
family = [p.pid for p in __import__("psutil").Process(kernel.proc.pid).children(recursive=True)]
print(" ".join(map(str, family)), "|", " ".join(map(str, kernel.cap.dirs.values())), flush=True)
time.sleep(600)
"""


def test_a_killed_grader_leaves_no_kernel_and_no_cgroup_behind(tmp_path):
    """A grader killed outright (SIGKILL) cannot stop its kernels: they end by themselves
    (the lifeline), and the next grader removes the cgroups the dead one left."""
    grader = subprocess.Popen([sys.executable, "-c", KILLED_GRADER], stdout=subprocess.PIPE,
                              text=True, cwd=tmp_path)
    try:
        pids, _, groups = grader.stdout.readline().partition("|")
        pids, groups = [int(p) for p in pids.split()], [Path(g) for g in groups.split()]
        assert len(pids) >= 3  # bwrap's init, the kernel and the process it forked
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    assert alive == []
    cgroup_bases()
    assert not any(g.exists() for g in groups)


def test_without_a_memory_cgroup_the_address_space_is_limited_per_process(course):
    """The degraded mode of an ordinary user: RLIMIT_AS, and the sandbox says so."""
    small = _sandbox(course, Limits(timeout=30, memory_mb=1024), "stub-rlimit")
    small.cgroups = {k: v for k, v in small.cgroups.items() if k != "memory"}
    assert "address space per process only (no memory cgroup)" in small.describe()
    with Kernel(small, course["base"], [], MIME) as k:
        cell = k.run("import numpy as np\nhoard = np.ones(2**28)", LIMITS.timeout)
    assert cell.ename == "MemoryError"


def test_the_kernel_is_reached_without_a_writable_host_folder(kernel):
    """Its sockets are on a tmpfs in the sandbox, reached through /proc/PID/root."""
    assert kernel.cap.root.startswith("/proc/") and kernel.cap.root.endswith("/root")
    sockets = Path(kernel.cap.root) / "grading" / "kernel"
    assert sorted(p.name for p in sockets.iterdir()) == [f"s-{i}" for i in range(1, 6)]
    assert _run(kernel, "print(6 * 7)") == "42\n"


def _fake_cgroup2(top: Path, monkeypatch) -> None:
    """Make `top` a cgroup v2 hierarchy as the kernel keeps one: `mkdir` below it makes a
    group's interface files, a controller's only when the parent hands it down (in its
    cgroup.subtree_control); `rmdir` refuses a group with processes or children."""
    mkdir, rmdir = Path.mkdir, Path.rmdir

    def make(path, *args, **kwargs):
        mkdir(path, *args, **kwargs)
        if path.parent.is_relative_to(top):
            handed = (path.parent / "cgroup.subtree_control").read_text().split()
            files = {"cgroup.procs": "", "cgroup.controllers": " ".join(handed),
                     "cgroup.subtree_control": ""}
            if "memory" in handed:
                files.update({"memory.max": "max", "memory.swap.max": "max",
                              "memory.oom.group": "0", "memory.events":
                              "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"})
            if "pids" in handed:
                files["pids.max"] = "max"
            for name, text in files.items():
                (path / name).write_text(text)

    def remove(path):
        if path.is_relative_to(top):
            if (path / "cgroup.procs").read_text().split() or any(
                    p.is_dir() for p in path.iterdir()):
                raise OSError(errno.EBUSY, "Device or resource busy", str(path))
            for p in path.iterdir():
                p.unlink()
        rmdir(path)

    monkeypatch.setattr(Path, "mkdir", make)
    monkeypatch.setattr(Path, "rmdir", remove)


def test_cgroup_v2_in_a_delegated_subtree(tmp_path, monkeypatch):
    """Against a fake cgroup v2 hierarchy: an ordinary user's session is a leaf (a group
    with processes hands no controller down) of the cgroup delegated to it, so the kernels'
    groups go in the delegated one, the nearest above that hands memory and pids down; there
    a kernel gets memory.max, no swap, one OOM kill for the whole group and pids.max; its
    out-of-memory kills are read from memory.events; its group and a dead grader's go."""
    top = tmp_path / "cgroup"
    top.mkdir()
    for name, text in (("cgroup.controllers", "memory pids"), ("cgroup.procs", ""),
                       ("cgroup.subtree_control", "memory pids")):
        (top / name).write_text(text)
    _fake_cgroup2(top, monkeypatch)
    delegated = top / "user.slice" / "user@64000.service"
    for group in (top / "user.slice", delegated, delegated / "session.scope"):
        group.mkdir()
    for group in (top / "user.slice", delegated):
        (group / "cgroup.subtree_control").write_text("memory pids")
    monkeypatch.setattr(sandbox_module, "CGROUP", top)
    monkeypatch.setattr(sandbox_module, "_own_cgroups", lambda: {
        "": "/user.slice/user@64000.service/session.scope"})

    bases = cgroup_bases()
    assert bases == {"memory": str(delegated), "pids": str(delegated)}
    assert sorted(p.name for p in delegated.iterdir() if p.is_dir()) == ["session.scope"]

    cap = Confinement(bases, Limits(memory_mb=512, processes=16), os.getuid())
    group = cap.dirs["memory"]
    assert cap.dirs == {"memory": group, "pids": group} and group.parent == delegated
    assert {name: (group / name).read_text() for name in (
        "memory.max", "memory.swap.max", "memory.oom.group", "pids.max")} == {
        "memory.max": str(512 * 2**20), "memory.swap.max": "0", "memory.oom.group": "1",
        "pids.max": "16"}
    cap.enter()  # as the kernel's first process does, before exec
    assert (group / "cgroup.procs").read_text() == str(os.getpid())
    (group / "cgroup.procs").write_text("")  # ... and when the kernel has ended
    assert cap.oom_kills() == 0
    (group / "memory.events").write_text(
        "low 0\nhigh 0\nmax 41\noom 3\noom_kill 3\noom_group_kill 1\n")
    assert cap.oom_kills() == 3
    cap.release()
    assert not group.exists()

    stale = _dead_graders_group(delegated)
    cgroup_bases()
    assert not stale.exists()
    assert sorted(p.name for p in delegated.iterdir() if p.is_dir()) == ["session.scope"]
