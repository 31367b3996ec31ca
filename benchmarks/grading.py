"""Grading speed: stock `nbgrader autograde` against `nncourse grade --jobs 2`.

One run builds a throw-away copy of the course with lesson 00-welcome, writes a batch of
submissions (half right, half wrong in three different ways) into nbgrader's submitted
folder, and grades the same batch twice, one after the other, with the same hidden-test
seed: first with stock `nbgrader autograde`, then with `nncourse grade --jobs N`. Both
times include starting the command. It prints both times, the ratio (target: at least
1.8x on 2 cores) and whether every submission got the same score from both.

Usage: python benchmarks/grading.py [--students 40] [--jobs 2] [--strict]
With --strict the exit status is 1 if the target is missed or any score differs.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import environment, find_root
from autograder.release import build

LESSON = "00-welcome"
TARGET = 1.8
SOLUTIONS = {
    "right": "def step(z):\n    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)",
    "strict": "def step(z):\n    return (np.asarray(z, dtype=float) > 0).astype(float)",
    "swapped": "def step(z):\n    return (np.asarray(z, dtype=float) < 0).astype(float)",
    "flat": "def step(z):\n    return np.ravel(np.asarray(z, dtype=float) >= 0).astype(float)",
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--strict", action="store_true")
    return parser.parse_args(argv)


def make_course(tmp: Path) -> Path:
    source = find_root(Path(__file__).parent)
    root = tmp / "course"
    for name in ("solutions", "lectures"):
        shutil.copytree(source / name / LESSON, root / name / LESSON)
    shutil.copy(source / "nbgrader_config.py", root)
    build(root, LESSON, tmp / "released", register=True)  # stock autograde needs it
    return root


def make_submissions(root: Path, n: int) -> dict[str, str]:
    """n submissions in grading/submitted; returns {student: kind}."""
    release = nbformat.read(root / "lectures" / LESSON / f"{LESSON}.ipynb", as_version=4)
    wrong = [k for k in SOLUTIONS if k != "right"]
    kinds = {}
    for i in range(n):
        student = f"s{i:03d}"
        kinds[student] = "right" if i % 2 == 0 else wrong[(i // 2) % len(wrong)]
        nb = nbformat.from_dict(release)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "step-solution":
                cell.source = SOLUTIONS[kinds[student]]
        folder = root / "grading" / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{LESSON}.ipynb")
    return kinds


def timed(cmd, root: Path, env) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd[:4]))} failed:\n{proc.stdout}{proc.stderr}")
    return seconds


def scores(path: Path, column: str = "score") -> dict[str, float]:
    with open(path) as f:
        return {r["student_id"]: float(r[column]) for r in csv.DictReader(f)}


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nncourse-bench-") as tmp:
        root = make_course(Path(tmp))
        kinds = make_submissions(root, args.students)
        env = environment() | {"NNCOURSE_HIDDEN_SEED": "20240917", "NNCOURSE_ROOT": str(root)}
        env.pop("NNCOURSE_SEED_FILE", None)
        python = sys.executable
        stock = timed([python, "-m", "nbgrader", "autograde", LESSON, "--force"], root, env)
        timed([python, "-m", "nbgrader", "export", "--to", str(root / "stock.csv")], root, env)
        stock_scores = scores(root / "stock.csv")
        ours = timed([python, "-m", "autograder.cli", "grade", LESSON, "--submissions",
                      str(root / "grading" / "submitted"), "--out", str(root / "ours"),
                      "--jobs", str(args.jobs)], root, env)
        our_scores = scores(root / "ours" / "grades.csv")
    differ = sorted(s for s in kinds if stock_scores.get(s) != our_scores.get(s))
    ratio = stock / ours
    right = sum(k == "right" for k in kinds.values())
    print(f"{args.students} submissions of {LESSON} ({right} right, "
          f"{args.students - right} wrong), {os.cpu_count()} cores")
    print(f"  nbgrader autograde          {stock:7.1f} s")
    print(f"  nncourse grade --jobs {args.jobs:<5d} {ours:7.1f} s")
    print(f"  ratio {ratio:.2f}x (target >= {TARGET}x): {'met' if ratio >= TARGET else 'MISSED'}")
    same = "yes" if not differ else "NO: " + ", ".join(differ)
    print(f"  same score on every submission: {same}")
    if args.strict and (ratio < TARGET or differ):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
