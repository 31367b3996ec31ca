"""What a student's kernel may see and use.

Two layers, the first one only where it works:

- bubblewrap (`bwrap`): no network, a private /proc and PID namespace (killing the
  sandbox kills every process the submission started), and a file system in which the
  course root, the submissions, the grading output, the seed and the temporary folders
  are empty; only the Python environment, the `autograder` package, a copy of nnlib whose
  graded functions are stubs, the student's working copy and the kernel's sockets are
  mounted back.
- resource limits on the kernel process: address space (`--memory-mb`), CPU seconds, and
  a cap on processes (a pids cgroup when the grader may create one, else RLIMIT_NPROC,
  which the kernel ignores for root).

Without bubblewrap the rlimits stay and nnlib's stubs come first on PYTHONPATH, but the
real files remain readable and the network open; `describe()` says which is active.
"""

from __future__ import annotations

import ast
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

import autograder

PIDS_CGROUPS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
KERNEL_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True)
class Limits:
    """Per-cell wall clock, address space, process cap and a CPU-time backstop."""

    timeout: float = 30.0
    memory_mb: int = 2048
    processes: int = 64
    cpu_seconds: int = 3600


def stub_reference(nnlib_dir: Path, references: list[str], dest: Path) -> Path:
    """A copy of nnlib in which each function named in `references` raises
    ReferenceUnavailable; every other function is unchanged. Returns the new package."""
    target = dest / "nnlib"
    shutil.copytree(nnlib_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    by_module: dict[str, set[str]] = {}
    for ref in references:
        module, _, attr = ref.rpartition(".")
        if module.split(".")[0] == "nnlib":
            by_module.setdefault(module, set()).add(attr)
    for module, names in by_module.items():
        path = target.joinpath(*module.split(".")[1:]).with_suffix(".py")
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in names:
                doc = ast.get_docstring(node)
                node.body = ([ast.Expr(ast.Constant(doc))] if doc else []) + ast.parse(
                    "raise type('ReferenceUnavailable', (Exception,), {})("
                    f"'nnlib.{path.stem}.{node.name} is not available while grading')").body
        path.write_text(ast.unparse(tree))
    return target


def _pids_cgroup_base() -> Path | None:
    if os.geteuid() != 0:
        return None
    for base in PIDS_CGROUPS:
        probe = base / f"nncourse-probe-{uuid.uuid4().hex[:8]}"
        try:
            probe.mkdir()
        except OSError:
            continue
        ok = (probe / "pids.max").exists()
        probe.rmdir()
        if ok:
            return base
    return None


class ProcessCap:
    """One kernel's process cap: a pids cgroup, or RLIMIT_NPROC for a non-root grader."""

    def __init__(self, base: Path | None, limit: int):
        self.limit, self.group = limit, None
        if base is not None:
            self.group = base / f"nncourse-{uuid.uuid4().hex}"
            self.group.mkdir()
            (self.group / "pids.max").write_text(str(limit))

    def enter(self) -> None:
        """In the kernel's process, before exec."""
        if self.group is not None:
            (self.group / "cgroup.procs").write_text(str(os.getpid()))
        elif os.geteuid() != 0:
            mine = sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"]
                       and p.info["uids"].real == os.getuid())
            resource.setrlimit(resource.RLIMIT_NPROC, (mine + self.limit,) * 2)

    def release(self) -> None:
        """Kill whatever is left in the cgroup and remove it."""
        if self.group is None:
            return
        for _ in range(50):
            pids = (self.group / "cgroup.procs").read_text().split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        try:
            self.group.rmdir()
        except OSError:
            pass


@dataclass
class Sandbox:
    """How kernels are started: `bubblewrap` or `rlimits` alone (see the module docstring)."""

    mode: str
    limits: Limits
    nnlib_dir: Path
    stub_dir: Path
    hide: list[Path] = field(default_factory=list)
    reveal: list[Path] = field(default_factory=list)
    cgroups: Path | None = None
    withheld: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        lim = self.limits
        cap = ("a pids cgroup" if self.cgroups else
               "RLIMIT_NPROC" if os.geteuid() != 0 else "nothing (root without cgroups)")
        what = ("bubblewrap: no network, own PID namespace, course files, submissions, seed "
                "and nnlib's reference source hidden"
                + (f", {len(self.withheld)} data file(s) withheld" if self.withheld else "")
                if self.mode == "bubblewrap" else
                "resource limits only (bubblewrap unavailable): network open and files "
                "readable; nnlib's graded functions stubbed on PYTHONPATH")
        return (f"isolation: {what}; limits: {lim.timeout:g} s per cell, "
                f"{lim.memory_mb} MB address space, {lim.processes} processes via {cap}")

    def command(self, argv: list[str], workdir: Path, readonly: list[Path],
                writable: list[Path]) -> list[str]:
        """`argv` wrapped in bwrap: `workdir` and `writable` read-write, `readonly` not."""
        if self.mode != "bubblewrap":
            return argv
        overlays = [(self.stub_dir / "nnlib", self.nnlib_dir), *((p, p) for p in readonly),
                    *((Path("/dev/null"), p) for p in self.withheld)]
        return _bwrap_args(self.hide, self.reveal, overlays, [workdir, *writable]) + [
            "--chdir", str(workdir), "--", *argv]

    def env(self, workdir: Path) -> dict[str, str]:
        env = {k: os.environ[k] for k in KERNEL_ENV if k in os.environ}
        env.update(HOME=str(workdir), IPYTHONDIR=str(workdir / ".ipython"),
                   MPLCONFIGDIR=str(workdir / ".matplotlib"), MPLBACKEND="Agg",
                   JUPYTER_RUNTIME_DIR=str(workdir / ".jupyter"), PYTHONDONTWRITEBYTECODE="1",
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   NNCOURSE_COLLECT="1",
                   # what nbgrader sets when it autogrades: lessons skip expensive demos
                   NBGRADER_EXECUTION="autograde")
        if self.mode != "bubblewrap":
            env["PYTHONPATH"] = str(self.stub_dir)
        return env

    def popen(self, argv, workdir: Path, readonly: list[Path], writable: list[Path], **kwargs):
        """Start `argv` inside the sandbox, in its own session; return (process, cap)."""
        cap = ProcessCap(self.cgroups, self.limits.processes)
        lim = self.limits

        def limit():
            cap.enter()
            mem = lim.memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        proc = subprocess.Popen(self.command(argv, workdir, readonly, writable), cwd=workdir,
                                env=self.env(workdir), preexec_fn=limit,
                                start_new_session=True, **kwargs)
        return proc, cap


def _bwrap_args(hide, reveal, overlays, writable) -> list[str]:
    args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
            "--new-session"]
    for path in hide:
        args += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
    for path in reveal:
        args += ["--ro-bind", str(path), str(path)]
    for src, dst in overlays:
        args += ["--ro-bind", str(src), str(dst)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    return args


def _bwrap_works(hide, reveal) -> bool:
    if shutil.which("bwrap") is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = subprocess.run(_bwrap_args(hide, reveal, [], [Path(tmp)])
                                  + ["--", sys.executable, "-c", "import numpy"],
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return proc.returncode == 0


def _outermost(paths) -> list[Path]:
    paths = sorted({p.resolve() for p in paths if p.exists()}, key=lambda p: len(p.parts))
    out: list[Path] = []
    for p in paths:
        if not any(p.is_relative_to(q) for q in out):
            out.append(p)
    return out


def make_sandbox(root: Path, secret: list[Path], stub_dir: Path, nnlib_dir: Path,
                 limits: Limits, use_bwrap: bool = True, withheld=()) -> Sandbox:
    """The strongest sandbox that works here. `secret` are extra paths to hide (the
    submissions, the output folder, the seed file); `stub_dir` holds the stubbed nnlib;
    `withheld` are data files that read as empty, even inside the revealed environment
    (the data the grader evaluates a trained model on)."""
    package = Path(autograder.__file__).resolve().parent
    checkout = [package.parent] if (package.parent / "nbgrader_config.py").exists() else []
    hide = _outermost([root, *checkout, *secret, Path(tempfile.gettempdir()), Path.home(),
                       Path("/var/tmp"), Path("/dev/shm")])
    reveal = _outermost([Path(sys.prefix), Path(sys.base_prefix),
                         Path(sys.executable).resolve().parent.parent, package])
    reveal = [p for p in reveal if any(p.is_relative_to(h) for h in hide)]
    hide = [h for h in hide if h not in reveal]
    mode = "bubblewrap" if use_bwrap and _bwrap_works(hide, reveal) else "rlimits"
    return Sandbox(mode, limits, nnlib_dir.resolve(), stub_dir, hide, reveal,
                   _pids_cgroup_base(), [Path(p).resolve() for p in withheld])
