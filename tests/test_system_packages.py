""".ci/system-packages: waits for a held dpkg lock, and retries a failed apt-get once.

The script installs chromium, chromium-driver and bubblewrap when their commands are missing.
Each test runs it with a PATH that hides those three commands, so it always goes to apt-get,
and with an `apt-get` of the test's own in front: a stand-in that fails on demand, or a
wrapper around the real apt-get (its `update` skipped, to need no network).
"""

import fcntl
import os
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "system-packages"
HIDDEN = {"chromium", "chromedriver", "bwrap", "apt-get", "sleep"}
FRONTEND_LOCK = Path("/var/lib/dpkg/lock-frontend")


def _path_without_packages(bin_dir: Path) -> str:
    """A PATH of `bin_dir` holding links to every command of the system PATH but HIDDEN."""
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            link = bin_dir / name
            if name not in HIDDEN and not link.exists():
                link.symlink_to(Path(directory, name))
    return str(bin_dir)


def _script(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(bin_dir: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": _path_without_packages(bin_dir)}
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def bin_dir(tmp_path):
    directory = tmp_path / "bin"
    directory.mkdir()
    _script(directory, "sleep", f'echo "$@" >> {tmp_path}/slept\n')
    return directory


def _fake_apt(bin_dir: Path, failures: int) -> Path:
    """An apt-get that logs its arguments and fails its first `failures` install calls."""
    log = bin_dir.parent / "apt.log"
    _script(bin_dir, "apt-get", f"""
echo "$@" >> {log}
if [[ " $* " == *" install "* ]]; then
    n=$(grep -c ' install ' {log})
    [ "$n" -le {failures} ] && exit 100
fi
exit 0
""")
    return log


def test_every_apt_call_waits_for_the_dpkg_lock(bin_dir):
    log = _fake_apt(bin_dir, failures=0)
    done = _run(bin_dir)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 2 and "update" in calls[0] and "install" in calls[1]
    for call in calls:
        assert "-o DPkg::Lock::Timeout=600" in call
    assert calls[1].split()[-3:] == ["chromium", "chromium-driver", "bubblewrap"]
    assert not (bin_dir.parent / "slept").exists()


def test_a_failed_apt_get_is_retried_once_after_a_pause(bin_dir):
    log = _fake_apt(bin_dir, failures=1)
    done = _run(bin_dir)
    assert done.returncode == 0, done.stderr
    assert "retrying once" in done.stderr
    assert (bin_dir.parent / "slept").read_text().split() == ["30"]
    assert sum(" install " in line for line in log.read_text().splitlines()) == 2


def test_apt_get_failing_twice_fails_the_script(bin_dir):
    log = _fake_apt(bin_dir, failures=2)
    done = _run(bin_dir)
    assert done.returncode != 0
    assert sum(" install " in line for line in log.read_text().splitlines()) == 2


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("apt-get") is None,
                    reason="holds the system's dpkg lock: needs root and apt (CI has both)")
def test_the_real_apt_get_waits_while_another_process_holds_the_lock(bin_dir):
    """Another process holds dpkg's frontend lock for `hold` s; the script must wait and pass
    at its first attempt (apt-get without the lock timeout fails at once, and the retry
    message would show it)."""
    real = shutil.which("apt-get")
    _script(bin_dir, "apt-get", f'[[ " $* " == *" update "* ]] && exit 0\nexec {real} "$@"\n')
    hold = 6.0
    fd = os.open(FRONTEND_LOCK, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        release = threading.Timer(hold, fcntl.lockf, (fd, fcntl.LOCK_UN))
        release.start()
        start = time.monotonic()
        done = _run(bin_dir)
        waited = time.monotonic() - start
        release.join()
    finally:
        os.close(fd)
    assert done.returncode == 0, done.stderr
    assert "retrying" not in done.stderr
    assert waited >= hold - 0.5
