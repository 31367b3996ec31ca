"""The `nncourse` command: release, self-test and grade the course; nbgrader and JupyterLab.

    nncourse release [LESSON ...] [--check]
    nncourse selftest [LESSON ...]
    nncourse grade LESSON --submissions DIR [--out OUT] [--jobs N] [--timeout SECONDS]
                   [--submission-timeout SECONDS] [--memory-mb MB] [--scheduler ADDRESS]
    nncourse report LESSON [--graded DIR] [--out DIR]
    nncourse report --course [--graded DIR] [--out DIR]
    nncourse export --lms canvas|moodle|csv [--out FILE]
    nncourse nbgrader ARGS ...
    nncourse lab [JUPYTER_ARGS ...]

Every command finds the course root (see `autograder.course.find_root`: NNCOURSE_ROOT, or
the current directory or one above it) and runs nbgrader from there; outside a course it
stops with an error and touches nothing.
"""

from __future__ import annotations

import argparse
import os
import sys

from autograder.course import CourseError, environment, find_root, nbgrader, resolve_lessons


def _release(args) -> int:
    root = find_root()  # first: outside a course, fail before the slow imports
    from autograder.release import release

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
    root = find_root()
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm.auto import tqdm

    from autograder.selftest import STEPS, header, row, selftest_lesson

    lessons = resolve_lessons(root, args.lessons)
    print(header(), flush=True)
    ok = True
    with (tqdm(total=len(lessons) * len(STEPS), unit="step", disable=None,
               bar_format="{desc} {bar} {n_fmt}/{total_fmt} steps [{elapsed}]") as bar,
          ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool):
        def step(lesson, what):
            if what != STEPS[0]:
                bar.update()
            bar.set_description_str(f"{lesson}: {what}")

        # each lesson waits on its kernels and on nbgrader, so threads run them side by side;
        # later lessons train networks and take longest: started first, none of them is left
        # running alone at the end
        futures = [pool.submit(selftest_lesson, root, lesson,
                               lambda what, lesson=lesson: step(lesson, what))
                   for lesson in reversed(lessons)]
        for done, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            bar.update()
            bar.write(row(result, done, len(lessons)))
            sys.stdout.flush()
            ok &= result.ok
    return 0 if ok else 1


def _grade(args) -> int:
    from pathlib import Path

    root = find_root()
    from autograder.grading.batch import grade
    from autograder.grading.sandbox import Limits

    lesson, = resolve_lessons(root, [args.lesson])
    grade(root, lesson, Path(args.submissions), Path(args.out) if args.out else None,
          jobs=args.jobs, limits=Limits(timeout=args.timeout, memory_mb=args.memory_mb),
          scheduler=args.scheduler, submission_timeout=args.submission_timeout,
          unsandboxed=args.unsandboxed)
    return 0


def _report(args) -> int:
    from pathlib import Path

    root = find_root()
    if bool(args.lesson) == args.course:
        raise CourseError("report: give a LESSON or --course (one of them)")
    from autograder.report import course_report, lesson_report
    from autograder.report_data import lesson_folder

    graded = Path(args.graded) if args.graded else None
    out = Path(args.out) if args.out else None
    if args.course:
        files = course_report(graded or root / "grading" / "graded", out)
    else:
        if graded is None:
            graded = lesson_folder(root / "grading" / "graded", args.lesson)
        files = lesson_report(graded, out, args.lesson)
    print(f"nncourse: wrote {files[0]} (and {', '.join(f.name for f in files[1:])})")
    return 0


def _export(args) -> int:
    from pathlib import Path

    root = find_root()
    from autograder.grading.batch import nbgrader_paths
    from autograder.grading.lms import export

    dest = Path(args.out) if args.out else root / "grading" / f"{args.lms}-grades.csv"
    students = export(nbgrader_paths(root)[0], args.lms, dest)
    print(f"nncourse: wrote {dest} ({len(students)} students)")
    awaiting = [f"{s.id} ({', '.join(s.awaiting)})" for s in students if s.awaiting]
    if awaiting:
        print(f"nncourse: {len(awaiting)} students have written answers not yet graded in "
              "formgrader; they count 0 until graded: " + "; ".join(awaiting), file=sys.stderr)
    return 0


def _nbgrader(args) -> int:
    """nbgrader ARGS from the course root, its output passed through, its exit code returned."""
    root = find_root()
    try:
        return nbgrader(root, *args.args, check=False, capture=False).returncode
    except KeyboardInterrupt:
        return 130


def _lab(args) -> int:
    """Replace this process by JupyterLab serving the course root, with nbgrader's instructor
    tools (Formgrader, Create Assignment) and --allow-root when run as root."""
    root = find_root()
    (root / "grading" / "exchange").mkdir(parents=True, exist_ok=True)
    as_root = ["--allow-root"] if getattr(os, "geteuid", lambda: -1)() == 0 else []
    print(f"nncourse: JupyterLab in {root}; Formgrader is under the Nbgrader menu", flush=True)
    os.chdir(root)
    os.execve(sys.executable, [sys.executable, "-m", "jupyterlab", *as_root, *args.args],
              environment())
    return 1  # not reached


# Commands whose arguments are another program's: passed on verbatim, flags included.
PASSTHROUGH = {"nbgrader": _nbgrader, "lab": _lab}


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
    st.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="lessons tested side by side (default 1)")
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
    gr.add_argument("--submission-timeout", type=float, default=None, metavar="SECONDS",
                    help="wall-clock limit per submission, replays after a restart included "
                         "(default: 4 cell limits per graded exercise, at least 10)")
    gr.add_argument("--memory-mb", type=int, default=2048, metavar="MB",
                    help="address-space limit of a kernel")
    gr.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler to send work to")
    gr.add_argument("--unsandboxed", action="store_true",
                    help="grade even without bubblewrap, where students' code runs as you "
                         "and can read the course (only for submissions you trust)")
    gr.set_defaults(run=_grade)
    rp = sub.add_parser("report", help="a lesson's class report (scores, exercises, the "
                        "mistakes the class made) or the course's, as HTML and CSV")
    rp.add_argument("lesson", nargs="?", metavar="LESSON")
    rp.add_argument("--course", action="store_true",
                    help="one row per student over every graded lesson, and a heat map")
    rp.add_argument("--graded", metavar="DIR",
                    help="the results `nncourse grade` wrote (default: grading/graded/LESSON; "
                         "with --course, grading/graded)")
    rp.add_argument("--out", metavar="DIR",
                    help="where the report goes (default: report/ in the lesson's results "
                         "folder; with --course, grading/graded/course-report)")
    rp.set_defaults(run=_report)
    ex = sub.add_parser("export", help="the course gradebook (hand-graded points included) "
                        "in the import format of Canvas or Moodle, or as one CSV row per student")
    ex.add_argument("--lms", required=True, choices=("canvas", "moodle", "csv"))
    ex.add_argument("--out", metavar="FILE",
                    help="where it goes (default: grading/<LMS>-grades.csv)")
    ex.set_defaults(run=_export)
    nb = sub.add_parser("nbgrader", add_help=False,
                        help="run nbgrader ARGS from the course root (e.g. `nncourse nbgrader "
                             "export` writes grading/grades.csv); relative paths in ARGS are "
                             "taken from the course root")
    nb.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    lab = sub.add_parser("lab", add_help=False,
                         help="open JupyterLab on the whole course with nbgrader's instructor "
                              "tools (adds --allow-root as root); ARGS go to jupyter lab")
    lab.add_argument("args", nargs=argparse.REMAINDER, metavar="JUPYTER_ARGS")
    for name, run in PASSTHROUGH.items():
        sub.choices[name].set_defaults(run=run)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in PASSTHROUGH:
        # argparse would take `--help`, `-h` or `--version` after the command as its own
        args = argparse.Namespace(command=argv[0], args=argv[1:], run=PASSTHROUGH[argv[0]])
    else:
        args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as exc:
        print(f"nncourse: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
