"""The `nncourse` command: release, self-test and grade the course.

    nncourse release [LESSON ...] [--check]
    nncourse selftest [LESSON ...]
    nncourse grade LESSON --submissions DIR [--out OUT] [--jobs N] [--timeout SECONDS]
                   [--memory-mb MB] [--scheduler ADDRESS]

Every command finds the course root (see `autograder.course.find_root`) and runs
nbgrader from there, whatever directory it is called from.
"""

from __future__ import annotations

import argparse
import sys

from autograder.course import CourseError, find_root, resolve_lessons


def _release(args) -> int:
    from autograder.release import release

    root = find_root()
    changes = release(root, resolve_lessons(root, args.lessons), check_only=args.check)
    if args.check:
        if changes:
            print("lectures/ is out of date; run `nncourse release`:\n  " + "\n  ".join(changes))
            return 1
        print("lectures/ is up to date.")
    else:
        print("\n".join(f"updated: {c}" for c in changes) or "lectures/ was already up to date.")
    return 0


def _selftest(args) -> int:
    from tqdm.auto import tqdm

    from autograder.selftest import selftest_lesson, table

    root = find_root()
    lessons = resolve_lessons(root, args.lessons)
    results = []
    for lesson in tqdm(lessons, desc="selftest", unit="lesson", disable=None):
        results.append(selftest_lesson(root, lesson))
    print(table(results))
    return 0 if all(r.ok for r in results) else 1


def _grade(args) -> int:
    from pathlib import Path

    from autograder.grading.batch import grade
    from autograder.grading.sandbox import Limits

    root = find_root()
    lesson, = resolve_lessons(root, [args.lesson])
    grade(root, lesson, Path(args.submissions), Path(args.out) if args.out else None,
          jobs=args.jobs, limits=Limits(timeout=args.timeout, memory_mb=args.memory_mb),
          scheduler=args.scheduler)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nncourse", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="regenerate lectures/ from solutions/")
    rel.add_argument("lessons", nargs="*", metavar="LESSON")
    rel.add_argument("--check", action="store_true",
                     help="change nothing; exit 1 if lectures/ is out of date")
    rel.set_defaults(run=_release)
    st = sub.add_parser("selftest", help="check that every lesson grades as intended")
    st.add_argument("lessons", nargs="*", metavar="LESSON")
    st.set_defaults(run=_selftest)
    gr = sub.add_parser("grade", help="grade every submission of a lesson")
    gr.add_argument("lesson", metavar="LESSON")
    gr.add_argument("--submissions", required=True, metavar="DIR",
                    help="folder (or zip) of <student_id>/<LESSON>/*.ipynb")
    gr.add_argument("--out", metavar="OUT",
                    help="results folder (default: grading/graded/<LESSON>)")
    gr.add_argument("--jobs", type=int, default=1, metavar="N", help="parallel kernels")
    gr.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                    help="wall-clock limit per cell")
    gr.add_argument("--memory-mb", type=int, default=2048, metavar="MB",
                    help="address-space limit of a kernel")
    gr.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler to send work to")
    gr.set_defaults(run=_grade)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as exc:
        print(f"nncourse: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
