"""A sandboxed IPython kernel that runs one cell at a time and survives what a cell does.

Each cell gets a wall-clock limit. When it is reached the kernel is interrupted; a cell
that still runs a moment later (it swallowed KeyboardInterrupt) gets its whole sandbox
killed, and the caller restarts the kernel. A kernel that dies (os._exit, a signal, a
segfault, the CPU limit) is noticed by polling its process; when the memory cgroup's
out-of-memory killer killed it, or killed any process the cell started, the cell's
status is `oom` and the sandbox is stopped. Output beyond `OUTPUT_CAP` bytes in one cell
stops the kernel as soon as it arrives: a cell that prints without end would otherwise
fill the kernel's memory with output buffers before its time is up. One message over
MAX_MESSAGE is never read: ZeroMQ drops the connection, and the cell is stopped as a flood.

The kernel talks to the grader over Unix sockets (ZeroMQ ipc transport), which works
without any network. With bubblewrap they live on a tiny tmpfs inside the sandbox
(/grading/kernel), named so in the kernel's read-only copy of the connection file, and
the grader connects through /proc/PID/root of the sandbox: no host folder is writable
for the kernel. It runs `sandbox.python` (the environment as the sandbox mounts it) in
its scratch folder (see `sandbox`).
"""

from __future__ import annotations

import functools
import json
import os
import queue
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import zmq
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from autograder.grading.sandbox import GRADING, SOCKETS, Sandbox
from autograder.grading.status import CellStatus

OUTPUT_CAP = 2**20
INTERRUPT_GRACE = 1.5
REPLY_TIMEOUT = 5
START_TIMEOUT = 60
KERNEL_OPTIONS = (
    "--HistoryManager.enabled=False",
    "--IPKernelApp.capture_fd_output=False",
    "--IPKernelApp.exec_lines=__import__('autograder.grading.collect', "
    "fromlist=['prepare_kernel']).prepare_kernel()",
    # the kernel ends when the grader does, even one killed outright (see sandbox.LIFELINE)
    "--IPKernelApp.exec_lines=__import__('autograder.grading.lifeline', "
    "fromlist=['watch']).watch()",
)


# While a kernel starts, the grader's sockets try to connect to it this often (ZeroMQ's
# default, 100 ms, is that much latency added to every kernel start).
RECONNECT_MS = 10


class KernelStartError(RuntimeError):
    """The kernel did not come up."""


# The largest message the grader takes from a kernel. ZeroMQ reads a message's size first
# and drops the connection to a sender that exceeds it, so one huge message (a 400 MB
# display, say) never enters the grader's memory; OUTPUT_CAP and collect's MAX_BYTES then
# judge what does arrive. Well above either, since both count characters of JSON.
MAX_MESSAGE = 64 * 2**20


@functools.cache
def _context() -> zmq.Context:
    """This process's ZeroMQ context for kernel clients."""
    context = zmq.Context()
    context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
    return context


@dataclass
class CellRun:
    """What running one cell did (`status`, see CellStatus); `processes` is the most
    processes its sandbox held at once."""

    status: CellStatus
    ename: str = ""
    evalue: str = ""
    outputs: list[dict] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)
    processes: int = 0

    @property
    def ok(self) -> bool:
        return self.status == CellStatus.OK


class _Outputs:
    def __init__(self, mime: str):
        self.mime, self.size, self.run = mime, 0, CellRun(CellStatus.OK)

    def add(self, msg: dict) -> None:
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind in ("display_data", "execute_result") and self.mime in content.get("data", {}):
            # one answer per cell is read: a flood of them keeps only the first in memory
            self.run.payloads.append(None if self.run.payloads else content["data"][self.mime])
            return
        if kind == "error":
            self.run.ename = str(content.get("ename", ""))
            self.run.evalue = str(content.get("evalue", ""))[:2000]
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        self.size += len(json.dumps(content, default=str))
        if self.size > OUTPUT_CAP:
            return
        out = {"output_type": kind, **{k: v for k, v in content.items()
                                         if k in ("name", "text", "data", "metadata", "ename",
                                                  "evalue", "traceback", "execution_count")}}
        if kind == "execute_result":
            out.setdefault("execution_count", None)
        self.run.outputs.append(out)


class Kernel:
    """One kernel in `sandbox`, started in `workdir`; `readonly` folders are mounted too;
    display data of type `mime` is kept apart as payloads for the grader."""

    def __init__(self, sandbox: Sandbox, workdir: Path, readonly: list[Path], mime: str):
        self.sandbox, self.workdir, self.readonly, self.mime = sandbox, workdir, readonly, mime
        self.proc = self.cap = self.client = self.sockets = None
        self.ooms = self.refused = 0
        self.monitors = []

    def inside(self, path) -> str:
        """Where the kernel sees `path`, a file in one of the `readonly` folders."""
        return self.sandbox.inside(path, self.readonly)

    def start(self) -> None:
        self.sockets = Path(tempfile.mkdtemp(prefix="nnk-"))
        conn, _ = write_connection_file(str(self.sockets / "kernel.json"), transport="ipc",
                                        ip=str(self.sockets / "s"))
        info, data, kernel_conn = json.loads(Path(conn).read_text()), None, conn
        if self.sandbox.mode == "bubblewrap":
            # the kernel's sockets live in the sandbox: no host folder is writable for it
            info["ip"] = str(SOCKETS / "s")
            kernel_conn = str(GRADING / "kernel.json")
            data = {kernel_conn: json.dumps(info).encode()}
        argv = [self.sandbox.python, "-m", "ipykernel_launcher", "-f", kernel_conn,
                *KERNEL_OPTIONS]
        with open(os.devnull, "wb") as null:
            self.proc, self.cap = self.sandbox.popen(argv, self.workdir, self.readonly,
                                                     data=data, stdout=null, stderr=null)
        self.ooms, self.refused = self.cap.oom_kills(), self.cap.refused_forks()
        if self.sandbox.mode == "bubblewrap":
            if self.cap.root is None:
                self.stop()
                raise KernelStartError("the grading sandbox did not start")
            info["ip"] = self.cap.root + info["ip"]
        self.client = BlockingKernelClient(context=_context())
        self.client.load_connection_info(info)
        self.client.start_channels()
        # ZeroMQ says so when it drops a kernel's connection for a message over MAX_MESSAGE
        self.monitors = [channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                         for channel in (self.client.iopub_channel, self.client.shell_channel)]
        self._wait_ready(time.monotonic() + START_TIMEOUT)

    def _dropped(self) -> bool:
        """Has ZeroMQ dropped a connection to the kernel since the last call? (The events
        are read, so each drop is reported once.)"""
        dropped = False
        for monitor in self.monitors:
            while monitor.poll(0):
                monitor.recv_multipart()
                dropped = True
        return dropped

    def _wait_ready(self, deadline: float) -> None:
        """Return once the kernel has answered a kernel_info request on the shell channel
        and a message has come on iopub, so that both are connected. (jupyter_client's
        wait_for_ready also polls the heartbeat every 0.2 s, then waits 0.2 s for iopub to
        be quiet.) Messages read here are the kernel's own: it has run no cell yet."""
        shell, iopub = self.client.shell_channel, self.client.iopub_channel
        while True:
            msg_id, replied, published = self.client.kernel_info(), False, False
            retry = time.monotonic() + 1
            while not (replied and published) and time.monotonic() < retry:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise KernelStartError("the grading kernel did not start")
                try:
                    reply = shell.get_msg(timeout=0.01)
                    replied |= reply.get("parent_header", {}).get("msg_id") == msg_id
                except queue.Empty:
                    pass
                try:
                    iopub.get_msg(timeout=0.01)
                    published = True
                except queue.Empty:
                    pass
            if replied and published:
                return

    def stop(self) -> None:
        if self.client is not None:
            for channel, monitor in zip((self.client.iopub_channel, self.client.shell_channel),
                                        self.monitors):
                channel.socket.disable_monitor()
                monitor.close(linger=0)
            self.monitors = []
            self.client.stop_channels()
            self.client = None
        if self.proc is not None:
            _kill_tree(self.proc)
            self.proc = None
        if self.cap is not None:
            self.cap.release()
            self.cap = None
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)
            self.sockets = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Kernel:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _oom(self) -> bool:
        """Has the out-of-memory killer killed a process of this kernel's sandbox?"""
        return self.cap is not None and self.cap.oom_kills() > self.ooms

    def hit_process_cap(self) -> bool:
        """Has this kernel's sandbox refused one of its forks for having too many processes?"""
        return self.cap is not None and self.cap.refused_forks() > self.refused

    def _interrupt(self) -> None:
        msg = self.client.session.msg("interrupt_request", content={})
        self.client.control_channel.send(msg)

    def run(self, code: str, timeout: float) -> CellRun:
        """Execute `code`; never raises for anything the code does."""
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False,
                                     stop_on_error=False)
        outputs = _Outputs(self.mime)
        deadline, interrupted, counted = time.monotonic() + timeout, None, 0.0
        while True:
            if self.proc.poll() is not None:
                outputs.run.status = CellStatus.OOM if self._oom() else CellStatus.DEAD
                if outputs.run.status == CellStatus.OOM:
                    self.stop()
                break
            if self._dropped():
                time.sleep(0.1)  # a kernel that dies drops its connections too
                if self.proc.poll() is None:  # else the next round says how it died
                    outputs.run.status = CellStatus.FLOOD
                    self.stop()
                    break
            now = time.monotonic()
            if now > counted + 0.25:
                outputs.run.processes = max(outputs.run.processes, self.processes())
                counted = now
                if self._oom():
                    outputs.run.status = CellStatus.OOM
                    self.stop()
                    break
            if outputs.size > OUTPUT_CAP:
                outputs.run.status = CellStatus.FLOOD
                self.stop()
                break
            if interrupted is None and now > deadline:
                self._interrupt()
                interrupted = now
            elif interrupted is not None and now > interrupted + INTERRUPT_GRACE:
                outputs.run.status = CellStatus.HUNG
                self.stop()
                break
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            except Exception:  # noqa: BLE001 - whatever the kernel sent, the grader goes on
                outputs.run.status = CellStatus.GARBLED
                self.stop()
                break
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg["content"]
            if msg["header"]["msg_type"] == "status" and content["execution_state"] == "idle":
                break
            outputs.add(msg)
        run = outputs.run
        if run.status == CellStatus.OK:
            self._read_reply(msg_id, run)
        if run.status == CellStatus.OK and self._oom():
            run.status = CellStatus.OOM
            self.stop()
        if run.status == CellStatus.OK and interrupted is not None:
            run.status = CellStatus.TIMEOUT
        elif run.status == CellStatus.OK and run.ename:
            run.status = CellStatus.ERROR
        return run

    def _read_reply(self, msg_id: str, run: CellRun) -> None:
        """Take the error, if any, from the execute reply: it names the exception even when
        the kernel could not display it (as after a MemoryError)."""
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                reply = self.client.get_shell_msg(timeout=0.05)
            except queue.Empty:
                continue
            except Exception:  # noqa: BLE001 - a garbled reply is the kernel's failure
                run.status = CellStatus.GARBLED
                self.stop()
                return
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = reply.get("content", {})
            if content.get("status") == "error" and not run.ename:
                run.ename = str(content.get("ename", ""))
                run.evalue = str(content.get("evalue", ""))[:2000]
            return

    def processes(self) -> int:
        """How many processes the kernel's sandbox holds now: as its pids cgroup counts
        them (`Confinement.processes`), else its process tree (a slower scan of /proc)."""
        if self.proc is None:
            return 0
        counted = self.cap.processes() if self.cap is not None else None
        if counted is not None:
            return counted
        try:
            return 1 + len(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return 0


def _kill_tree(proc) -> None:
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for p in family:
        try:
            p.kill()
        except psutil.Error:
            pass
    proc.kill()
    proc.wait()
