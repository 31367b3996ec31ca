"""Stock nbgrader and `nncourse grade` give each exercise the same score.

One run builds a throw-away copy of the course with one lesson (default 06-backprop),
writes a class of submissions with typical mistakes into nbgrader's submitted folder and
grades it twice with the same hidden-test seed: with stock `nbgrader autograde` (the
notebook's own `check()` calls, in nbgrader's kernel) and with `nncourse grade` (the
grader's sandboxed kernels, judged in its own process). It prints, per exercise, on how
many students the two scores agree, in all and where none of the functions the exercise
calls failed its own check, the students where they differ, and both timings.

The class (`typical_class`): every fourth student hands in the instructor's answers; each
of the others makes one mistake in one exercise, in turn through the typical mistakes of
the lesson (`TYPICAL`: the derivative left out, averaging where the gradient sums,
the gradients in reverse order, x restored by adding h back, ...), the answer left as
released (`raise NotImplementedError()`) and the answer's first `return` negated.

Usage: python benchmarks/stock_agreement.py [--lesson 06-backprop] [--students 40]
                                            [--jobs 2] [--strict]
With --strict the exit status is 1 when any exercise's score differs where no dependency
failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder import given, notebook, registry
from autograder.course import environment, release_notebook
from autograder.grading import batch
from autograder.grading.sandbox import Limits

SEED = "20240917"
# Typical mistakes of a lesson: (exercise, what the student did, the solution's text, the
# text the student wrote instead). A mistake whose text the solution no longer holds is left
# out of the class (the lessons change; the comparison does not depend on these).
TYPICAL = {
    "06-backprop": [
        ("output_delta", "the derivative left out", "* f_prime(Z)", ""),
        ("hidden_delta", "W_next transposed", "@ np.asarray(W_next, dtype=float)",
         "@ np.asarray(W_next, dtype=float).T"),
        ("dense_backward", "db averaged over the batch", "delta.sum(axis=0)",
         "delta.mean(axis=0)"),
        ("dense_backward", "dW averaged over the batch",
         'np.asarray(A_prev, dtype=float))', "np.asarray(A_prev, dtype=float)) / len(delta)"),
        ("backward", "the gradients in reverse order", "grads.insert(0, (dW, db))",
         "grads.append((dW, db))"),
        ("numerical_gradient", "divided by h instead of 2h", "/ (2 * h)", "/ h"),
        ("numerical_gradient", "x restored by adding h back", "x[index] = saved\n",
         "x[index] = x[index] + h\n"),
    ],
}


def _benchmark(name: str):
    """A sibling script of this one, as a module."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


grading = _benchmark("grading")


def exercise_cells(root: Path, lesson: str) -> dict[str, str]:
    """{exercise name: grade_id of its answer cell} and of its test cell, read from the
    release: the answer cell defines the function, the test cell calls check() on it."""
    release = nbformat.read(release_notebook(root, lesson), as_version=4)
    answers = {}
    for cell in release.cells:
        found = re.search(r"^def (\w+)\(", cell.source, re.M)
        if cell.cell_type == "code" and notebook.is_solution(cell) and found:
            answers[found[1]] = notebook.grade_id(cell)
    tests = {name: gid for gid, name in notebook.test_cells(release).items()}
    return {"answers": answers, "tests": tests}


def typical_class(root: Path, lesson: str, n: int, only: list | None = None) -> dict[str, list]:
    """n submissions in grading/submitted; returns {student: [(exercise, mistake), ...]}.

    `only`: the list of slips to hand in, one student each (a slip is a list of
    (exercise, mistake) pairs; [] is a right submission); by default every fourth student
    is right and the others take the lesson's slips in turn."""
    release = nbformat.read(release_notebook(root, lesson), as_version=4)
    cells = exercise_cells(root, lesson)["answers"]
    answers = grading._answers(root, lesson)
    stubs = grading.stubs(release)
    slips = available_slips(root, lesson)
    plan = only if only is not None else [
        [] if i % 4 == 0 else [slips[(i - 1 - i // 4) % len(slips)]] for i in range(n)]
    kinds = {}
    for i, slip in enumerate(plan):
        student = f"s{i:03d}"
        sources = dict(answers)
        for name, what in slip:
            gid = cells[name]
            sources[gid] = _slipped(answers[gid], stubs[gid], name, what, lesson)
        kinds[student] = slip
        grading.write_submission(root, lesson, release, student, sources)
    return kinds


def available_slips(root: Path, lesson: str) -> list[tuple[str, str]]:
    """(exercise, mistake) of every typical mistake the solution's text allows, then the
    stub and the negated return of every exercise."""
    cells = exercise_cells(root, lesson)["answers"]
    answers = grading._answers(root, lesson)
    typical = [(name, what) for name, what, old, _ in TYPICAL.get(lesson, [])
               if name in cells and old in answers[cells[name]]]
    return typical + [(name, kind) for name in cells for kind in ("stub", "negated")]


def _slipped(answer: str, stub: str, name: str, what: str, lesson: str) -> str:
    if what == "stub":
        return stub
    if what == "negated":
        return grading.negated(answer)
    _, _, old, new = next(t for t in TYPICAL[lesson] if t[:2] == (name, what))
    return answer.replace(old, new, 1)


def stock_scores(root: Path, lesson: str, tests: dict[str, str]) -> dict[str, dict]:
    """{student: {exercise: score}} that stock autograde recorded in the gradebook."""
    from nbgrader.api import Gradebook

    db_url, _ = batch.nbgrader_paths(root)
    exercise_of = {gid: name for name, gid in tests.items()}
    found = {}
    with Gradebook(db_url) as gb:
        for sub in gb.find_assignment(lesson).submissions:
            notebook = gb.find_submission_notebook(lesson, lesson, sub.student.id)
            found[sub.student.id] = {exercise_of[g.name]: float(g.score)
                                     for g in notebook.grades if g.name in exercise_of}
    return found


def compare(graded: list[str], stock: dict, ours: dict) -> list[dict]:
    """One row per (student, exercise of `graded`, the exercises the notebook's test cells
    check): both scores, and the functions it calls that failed their own check (`ours`)."""
    rows = []
    for student, scores in sorted(ours.items()):
        for name, score in scores.items():
            if name not in graded:
                continue
            uses = given.uses(registry.get(name))
            failed = [u for u in uses if u in scores and scores[u] < registry.get(u).points]
            rows.append({"student": student, "exercise": name, "ours": score,
                         "stock": stock.get(student, {}).get(name), "dependency_failed": failed})
    return rows


def grade_both(root: Path, lesson: str, jobs: int) -> tuple[dict, dict, float, float]:
    """(stock scores, our scores, stock seconds, our seconds) of the class in root."""
    env = environment() | {"NNCOURSE_HIDDEN_SEED": SEED, "NNCOURSE_ROOT": str(root)}
    env.pop("NNCOURSE_SEED_FILE", None)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", lesson, "--force"],
                          cwd=root, env=env, capture_output=True, text=True)
    stock_seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader autograde failed:\n{proc.stdout}{proc.stderr}")
    stock = stock_scores(root, lesson, exercise_cells(root, lesson)["tests"])
    saved = {k: os.environ.get(k) for k in ("NNCOURSE_HIDDEN_SEED", "NNCOURSE_SEED_FILE")}
    os.environ["NNCOURSE_HIDDEN_SEED"] = SEED
    os.environ.pop("NNCOURSE_SEED_FILE", None)
    start = time.perf_counter()
    try:
        results = batch.grade(root, lesson, root / "grading" / "submitted", root / "ours",
                              jobs=jobs, limits=Limits(timeout=60), log=lambda line: None)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    ours_seconds = time.perf_counter() - start
    ours = {r.student_id: {n: float(e.score) for n, e in r.exercises.items()} for r in results}
    return stock, ours, stock_seconds, ours_seconds


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lesson", default="06-backprop")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--strict", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nncourse-agree-") as tmp:
        root = grading.make_course(Path(tmp), args.lesson)
        kinds = typical_class(root, args.lesson, args.students)
        graded = exercise_cells(root, args.lesson)["tests"]
        stock, ours, stock_s, ours_s = grade_both(root, args.lesson, args.jobs)
    rows = compare(list(graded), stock, ours)
    clean = [r for r in rows if not r["dependency_failed"]]
    print(f"{args.students} submissions of {args.lesson} with typical mistakes, "
          f"{os.cpu_count()} cores")
    print(f"  nbgrader autograde        {stock_s:7.1f} s ({stock_s / args.students:.1f} s each)")
    print(f"  nncourse grade --jobs {args.jobs:<3d} {ours_s:7.1f} s")
    print(f"  {'exercise':20s} {'agree':>9s} {'agree, no dependency failed':>28s}")
    for name in dict.fromkeys(r["exercise"] for r in rows):
        mine = [r for r in rows if r["exercise"] == name]
        ok = [r for r in mine if r["ours"] == r["stock"]]
        free = [r for r in mine if not r["dependency_failed"]]
        free_ok = [r for r in free if r["ours"] == r["stock"]]
        print(f"  {name:20s} {len(ok):4d}/{len(mine):<4d} {len(free_ok):23d}/{len(free):<4d}")
    differ = [r for r in clean if r["ours"] != r["stock"]]
    print(f"  agree where no dependency failed: {len(clean) - len(differ)}/{len(clean)}; "
          f"everywhere: {sum(r['ours'] == r['stock'] for r in rows)}/{len(rows)}")
    for r in [r for r in rows if r["ours"] != r["stock"]]:
        print(f"  differs: {r['student']} {r['exercise']} ({kinds[r['student']]}): stock "
              f"{r['stock']}, ours {r['ours']}"
              + (f", dependency failed: {r['dependency_failed']}" if r["dependency_failed"]
                 else ""))
    return 1 if args.strict and differ else 0


if __name__ == "__main__":
    sys.exit(main())
