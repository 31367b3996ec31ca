"""pytest plugin (test only): nbval's run of the notebooks also checks the figure rules.

With `-p nncourse_figure_plugin` (this folder on PYTHONPATH), the kernels nbval starts load
the `nncourse_figure_audit` extension through a kernelspec of this run (JUPYTER_PATH), so the
notebooks execute once for both checks. A cell whose figures break a rule of docs/STYLE.md
fails, with the lesson, the cell and what is missing; `--figure-violations FILE` also writes
every violation of the run to FILE, one per line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
AUDIT_ENV = "NNCOURSE_FIGURE_AUDIT"
KEY = "figure_problems"


def pytest_addoption(parser):
    parser.addoption("--figure-violations", metavar="FILE", default=None,
                     help="write every figure-rule violation of the nbval run to FILE")


class FigureAudit:
    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="nncourse-figures-"))
        self.records = self.folder / "audit.jsonl"
        self.records.touch()
        self.offset = 0
        spec = self.folder / "kernels" / "python3"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--InteractiveShellApp.extensions=nncourse_figure_audit"],
            "display_name": "Python 3 (figure audit)", "language": "python"}))
        for name, value in (("JUPYTER_PATH", self.folder), ("PYTHONPATH", HERE)):
            os.environ[name] = os.pathsep.join(filter(None, [str(value), os.environ.get(name)]))
        os.environ[AUDIT_ENV] = str(self.records)

    def new_records(self) -> list[dict]:
        """What the kernel wrote since the last call: the cell that just ran."""
        with open(self.records, encoding="utf-8") as f:
            f.seek(self.offset)
            text = f.read()
            self.offset = f.tell()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when != "call" or type(item).__name__ != "IPyNbCell":
            return
        records = self.new_records()
        problems = [p for record in records for p in record["problems"]]
        if not problems:
            return
        report.user_properties.append((KEY, {"source": records[0]["source"],
                                             "problems": problems}))
        lesson = Path(str(item.fspath)).parent.name
        message = "\n".join([f"{lesson}, {item.name} ({records[0]['source'][:60]}): the "
                             "figure rules of docs/STYLE.md are broken:"]
                            + [f"  - {p}" for p in problems])
        if report.passed:
            report.outcome, report.longrepr = "failed", message
        else:
            report.sections.append(("figure rules", message))

    def close(self):
        shutil.rmtree(self.folder, ignore_errors=True)


class ViolationFile:
    """Collects the problems reported by every worker and writes them, sorted by lesson."""

    def __init__(self, path: str):
        self.path, self.lines = Path(path), []

    def pytest_runtest_logreport(self, report):
        for key, found in report.user_properties:
            if key == KEY:
                lesson = Path(report.nodeid.split("::")[0]).parent.name
                cell = f"{report.nodeid.split('::')[-1]} ({found['source'][:50]})"
                self.lines += [f"{lesson}\t{cell}\t{p}" for p in found["problems"]]

    def pytest_sessionfinish(self):
        def order(line):
            lesson, cell, _ = line.split("\t", 2)
            return lesson, int(cell.split()[1])
        self.path.write_text("".join(f"{line}\n" for line in sorted(self.lines, key=order)))


def pytest_configure(config):
    if not (config.getoption("nbval", False) or config.getoption("nbval_lax", False)):
        return
    audit = FigureAudit()
    config.pluginmanager.register(audit, "nncourse-figure-audit")
    config.add_cleanup(audit.close)
    path = config.getoption("figure_violations")
    worker = hasattr(config, "workerinput")
    if path and not worker:
        config.pluginmanager.register(ViolationFile(path), "nncourse-figure-violations")
