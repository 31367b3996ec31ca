"""How long the course takes to execute, lesson by lesson.

Executes every solution notebook from top to bottom in a fresh kernel, one after the
other (as CI's nbval run and `nncourse selftest` do), with hidden tests drawn from a
fresh seed, and prints each lesson's wall time next to its target and the total. With
`--grading`, NBGRADER_EXECUTION is set as nbgrader sets it when it autogrades, so the
cells that skip their expensive part while grading do so.

Targets: each lesson under 30 s, the whole course under 3 minutes, on 2 cores.

Usage: python benchmarks/course.py [--grading] [LESSON ...]
"""

import argparse
import os
import time

LESSON_TARGET, COURSE_TARGET = 30.0, 180.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", metavar="LESSON")
    parser.add_argument("--grading", action="store_true",
                        help="set NBGRADER_EXECUTION=autograde, as nbgrader does")
    args = parser.parse_args()
    if args.grading:
        os.environ["NBGRADER_EXECUTION"] = "autograde"

    from autograder.course import find_root, resolve_lessons, source_notebook
    from autograder.selftest import cell_errors, execute

    root = find_root()
    total, missed = 0.0, []
    print(f"{'lesson':<20} {'seconds':>8}  target < {LESSON_TARGET:g} s")
    for lesson in resolve_lessons(root, args.lessons or None):
        start = time.perf_counter()
        nb = execute(source_notebook(root, lesson))
        seconds = time.perf_counter() - start
        total += seconds
        errors = len(cell_errors(nb))
        late = seconds >= LESSON_TARGET
        if late or errors:
            missed.append(lesson)
        print(f"{lesson:<20} {seconds:8.1f}  {'MISSED' if late else 'ok'}"
              + (f", {errors} cell error(s)" if errors else ""))
    print(f"{'total':<20} {total:8.1f}  target < {COURSE_TARGET:g} s: "
          f"{'MISSED' if total >= COURSE_TARGET else 'ok'}")
    print("targets met" if not missed and total < COURSE_TARGET else
          f"targets MISSED ({', '.join(missed) or 'total'})")


if __name__ == "__main__":
    main()
