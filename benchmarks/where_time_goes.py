"""Where the time of grading a submission goes, per lesson, before and after slicing.

Stock `nbgrader autograde` runs every cell of a submission. This script executes each
lesson's solution as autograde does (a fresh kernel, `NBGRADER_EXECUTION=autograde`, a
hidden-test seed, so that the hidden checks run too), times every cell from the kernel's
own timestamps, and splits the time by what `nncourse grade` does with the cell:

* **needed**: a cell a graded function can depend on, which grading runs too
  (`autograder/grading/slicing.py`);
* **left out**: demonstrations, plots, widgets and training runs that no graded function
  needs, which grading does not run;
* **checks**: the test cells, which grading replaces by collecting each function's
  outputs in the kernel and judging them in its own process.

It also prints the kernel's start. The "left out" column is the time slicing saves on
every submission; with the checks, it is most of what stock grading spends. "needed" times
the cells as written: grading also leaves out their plotting and widget imports.

Usage: python benchmarks/where_time_goes.py [--lesson 06-backprop ... | --lesson all]
"""

from __future__ import annotations

import argparse
import datetime
import secrets
import sys
import time
from pathlib import Path

from tqdm import tqdm

from autograder import notebook, registry
from autograder.cases import SEED_ENV
from autograder.course import environment, find_root, lessons, read_notebook, source_notebook
from autograder.given import uses
from autograder.grading import slicing
from autograder.selftest import run_notebook


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lesson", nargs="+", default=["all"],
                        help="one or more lessons, or 'all' (the default)")
    return parser.parse_args(argv)


def _seconds(cell) -> float:
    """The cell's run time by the kernel's timestamps (execute_input to execute_reply)."""
    stamps = cell.metadata.get("execution", {})
    start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def graded_names(lesson: str) -> set[str]:
    """What grading calls in the lesson: its exercises and the earlier ones they use, as
    `grading.run._graded_names` takes them from the task."""
    exercises = registry.all_exercises(lesson)
    return {ex.name for ex in exercises}.union(*(uses(ex) for ex in exercises))


def measure(root: Path, lesson: str) -> dict[str, float]:
    path = source_notebook(root, lesson)
    nb = read_notebook(path)
    env = environment()
    env["NBGRADER_EXECUTION"] = "autograde"
    env[SEED_ENV] = str(secrets.randbits(63))
    start = time.perf_counter()
    run_notebook(nb, path.parent, timeout=600, allow_errors=True, env=env)
    wall = time.perf_counter() - start
    tests = notebook.test_cells(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    others = [c for c in code if notebook.grade_id(c) not in tests]
    plan = slicing.plan([c.source for c in others], graded_names(lesson))
    needed = sum(_seconds(c) for c, p in zip(others, plan or [True] * len(others))
                 if p is not None)
    left_out = sum(_seconds(c) for c in others) - needed
    checks = sum(_seconds(c) for c in code if notebook.grade_id(c) in tests)
    return {"cells": len(code), "run": sum(p is not None for p in plan or others),
            "needed": needed, "left out": left_out, "checks": checks,
            "kernel and overhead": wall - needed - left_out - checks, "wall": wall}


def main(argv=None) -> int:
    args = parse_args(argv)
    root = find_root(Path(__file__).parent)
    chosen = lessons(root) if args.lesson == ["all"] else args.lesson
    rows = {lesson: measure(root, lesson) for lesson in tqdm(chosen, desc="lessons")}
    print(f"\n{'lesson':<20}{'code cells':>11}{'kept':>6}{'needed s':>10}"
          f"{'left out s':>11}{'checks s':>10}{'kernel+ s':>11}{'wall s':>8}{'saved':>7}")
    for lesson, r in rows.items():
        saved = (r["left out"] + r["checks"]) / r["wall"]
        print(f"{lesson:<20}{r['cells']:>11}{r['run']:>6}{r['needed']:>10.2f}"
              f"{r['left out']:>11.2f}{r['checks']:>10.2f}{r['kernel and overhead']:>11.2f}"
              f"{r['wall']:>8.2f}{saved:>7.0%}")
    print("\nkept: code cells grading runs; needed: their time; left out: cells slicing "
          "skips; checks: test cells, which grading replaces by collecting outputs; kernel+: "
          "kernel start and the client's overhead; saved: (left out + checks) / wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
