"""Grading speed: stock `nbgrader autograde` against `nncourse grade --jobs 2`, on any lesson.

One run builds a throw-away copy of the course with one lesson, writes a class of
submissions into nbgrader's submitted folder and grades the same class twice, one after
the other, with the same hidden-test seed: first with stock `nbgrader autograde`, then
with `nncourse grade --jobs N`. Both times include starting the command. It prints both
times, the ratio, and whether every submission got the same score from both.

The class: every third student hands in the instructor's answers; each of the others
gets one exercise wrong, in turn (left as released, `raise NotImplementedError()`, or
with the result of its first `return` negated, a slip that breaks a correct answer).
The notebook's `check()` judges a dependent with correct versions of what it calls, as
grading does, so the two graders agree on every student.

Usage: python benchmarks/grading.py [--lesson 06-backprop ... | --lesson all] [--students 40]
                                    [--jobs 2] [--target 8] [--strict]
With several lessons (or all), a table of every lesson's times and ratio ends the output.
With --strict the exit status is 1 if the target is missed or any score differs.
"""

from __future__ import annotations

import argparse
import ast
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder import notebook
from autograder.course import (
    environment,
    find_root,
    lessons,
    release_notebook,
    source_notebook,
)
from autograder.release import build


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lesson", nargs="+", default=["00-welcome"],
                        help="one or more lessons, or 'all' (default 00-welcome)")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--target", type=float, default=8.0,
                        help="the ratio stock/ours to reach (default 8)")
    parser.add_argument("--strict", action="store_true")
    return parser.parse_args(argv)


def make_course(tmp: Path, lesson: str) -> Path:
    source = find_root(Path(__file__).parent)
    root = tmp / "course"
    for name in ("solutions", "lectures"):
        shutil.copytree(source / name / lesson, root / name / lesson)
    shutil.copy(source / "nbgrader_config.py", root)
    build(root, lesson, tmp / "released", register=True)  # stock autograde needs it
    return root


def _answers(root: Path, lesson: str) -> dict[str, str]:
    """{grade_id: source} of the instructor's answer cells, solution markers removed."""
    solution = nbformat.read(source_notebook(root, lesson), as_version=4)
    return {notebook.grade_id(c): "\n".join(
                line for line in c.source.splitlines() if "### BEGIN SOLUTION" not in line
                and "### END SOLUTION" not in line)
            for c in solution.cells if notebook.is_solution(c) and c.cell_type == "code"}


def stubs(release) -> dict[str, str]:
    """{grade_id: source} of the released answer cells (the stubs students start from)."""
    return {notebook.grade_id(c): c.source for c in release.cells
            if notebook.is_solution(c) and c.cell_type == "code"}


def negated(source: str) -> str:
    """`source` with its first `return EXPR` turned into `return -(EXPR)`."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            node.value = ast.UnaryOp(ast.USub(), node.value)
            return ast.unparse(tree)
    return source + "\nraise NotImplementedError()"


def make_submissions(root: Path, lesson: str, n: int) -> dict[str, str]:
    """n submissions in grading/submitted; returns {student: what is wrong}."""
    release = nbformat.read(release_notebook(root, lesson), as_version=4)
    released = stubs(release)
    answers = _answers(root, lesson)
    slips = [(gid, kind) for gid in answers for kind in ("stub", "negated")]
    kinds = {}
    for i in range(n):
        student = f"s{i:03d}"
        sources = dict(answers)
        if i % 3 == 0:
            kinds[student] = "right"
        else:
            gid, kind = slips[(i - 1 - i // 3) % len(slips)]
            sources[gid] = released[gid] if kind == "stub" else negated(answers[gid])
            kinds[student] = f"{gid}: {kind}"
        write_submission(root, lesson, release, student, sources)
    return kinds


def write_submission(root: Path, lesson: str, release, student: str,
                     sources: dict[str, str]) -> None:
    """The release with the cells named in `sources` (grade_id: source) filled in, as
    `student`'s submission in grading/submitted."""
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        gid = notebook.grade_id(cell)
        if gid in sources:
            cell.source = sources[gid]
    folder = root / "grading" / "submitted" / student / lesson
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{lesson}.ipynb")


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


def bench(lesson: str, students: int, jobs: int):
    """Grade one class of `lesson` both ways: (stock s, ours s, kinds, students whose
    scores differ)."""
    with tempfile.TemporaryDirectory(prefix="nncourse-bench-") as tmp:
        root = make_course(Path(tmp), lesson)
        kinds = make_submissions(root, lesson, students)
        env = environment() | {"NNCOURSE_HIDDEN_SEED": "20240917", "NNCOURSE_ROOT": str(root)}
        env.pop("NNCOURSE_SEED_FILE", None)
        python = sys.executable
        stock = timed([python, "-m", "nbgrader", "autograde", lesson, "--force"], root, env)
        timed([python, "-m", "nbgrader", "export", "--to", str(root / "stock.csv")], root, env)
        stock_scores = scores(root / "stock.csv")
        ours = timed([python, "-m", "autograder.cli", "grade", lesson, "--submissions",
                      str(root / "grading" / "submitted"), "--out", str(root / "ours"),
                      "--jobs", str(jobs)], root, env)
        our_scores = scores(root / "ours" / "grades.csv")
    differ = {s: (kinds[s], stock_scores.get(s), our_scores.get(s)) for s in kinds
              if stock_scores.get(s) != our_scores.get(s)}
    return stock, ours, kinds, differ


def main(argv=None) -> int:
    args = parse_args(argv)
    chosen = (lessons(find_root(Path(__file__).parent)) if args.lesson == ["all"]
              else args.lesson)
    rows, failed = [], False
    for lesson in chosen:
        stock, ours, kinds, differ = bench(lesson, args.students, args.jobs)
        ratio = stock / ours
        right = sum(k == "right" for k in kinds.values())
        print(f"{args.students} submissions of {lesson} ({right} right, "
              f"{args.students - right} wrong), {os.cpu_count()} cores")
        print(f"  nbgrader autograde          {stock:7.1f} s")
        print(f"  nncourse grade --jobs {args.jobs:<5d} {ours:7.1f} s")
        met = ratio >= args.target
        print(f"  ratio {ratio:.2f}x (target >= {args.target:g}x): {'met' if met else 'MISSED'}")
        same = "yes" if not differ else "NO: " + "; ".join(
            f"{s} ({kind}: stock {a}, ours {b})" for s, (kind, a, b) in sorted(differ.items()))
        print(f"  same score on every submission: {same}", flush=True)
        rows.append((lesson, stock, ours, ratio, not differ))
        failed |= not met or bool(differ)
    if len(rows) > 1:
        print(f"\n{'lesson':20s} {'stock s':>8s} {'ours s':>8s} {'ratio':>7s}  same scores")
        for lesson, stock, ours, ratio, same in rows:
            print(f"{lesson:20s} {stock:8.1f} {ours:8.1f} {ratio:6.2f}x  {'yes' if same else 'NO'}")
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
