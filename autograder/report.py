"""`nncourse report`: one HTML page per lesson, or for the whole course, and its data as CSV.

    nncourse report LESSON [--graded DIR] [--out DIR]
    nncourse report --course [--graded DIR] [--out DIR]

The page is self-contained: its plots are PNG images in the page (matplotlib, Agg), its
style is inline, and its Content-Security-Policy lets it load nothing else and run no
script, so it opens offline and shows the same anywhere. Every text that comes from the
results (student ids, messages, statuses) is HTML-escaped on the page, and every text cell
of the CSV files goes through `csv_cell`, as in grades.csv. The numbers come from
`autograder.report_data`.

Lesson report (in OUT, default `<results>/report`): report.html, scores.csv (one row per
student), statuses.csv, exercises.csv, mistakes.csv (one row per student and recognised
mistake) and unexplained.csv (wrong answers that no likely cause explains). Course report
(default `grading/graded/course-report`): report.html, students.csv (one row per student,
a column per lesson, the total), lessons.csv and exercises.csv (every lesson's).
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path

import numpy as np

from autograder.course import CourseError
from autograder.grading.export import csv_cell
from autograder.grading.feedback import write_atomic
from autograder.report_data import (
    ExerciseStats,
    Lesson,
    Student,
    exercise_stats,
    graded_lessons,
    read_lesson,
    scores_summary,
    status_counts,
)

esc = html.escape
STYLE = """body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .5em;
vertical-align:top;text-align:left}td.n{text-align:right}pre{white-space:pre-wrap;margin:0}
.ids{font-family:monospace;font-size:90%}img{max-width:100%}"""
# nothing loads but the page's own images, no script runs, no form or link goes anywhere
POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
          "form-action 'none'")


def number(x: float | None, fmt: str = ".2f") -> str:
    """A number for the page and the CSV files; n/a when it is undefined."""
    return "n/a" if x is None else format(x, fmt)


def share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


# ---- files ----------------------------------------------------------------------------

def csv_text(header: list[str], rows) -> str:
    """CSV of `rows`; text cells (student ids, messages) escaped as in grades.csv."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([csv_cell(v) if isinstance(v, str) else number(v, "g") for v in row]
                     for row in rows)
    return buf.getvalue()


def png(fig) -> str:
    """An <img> holding the figure as a base64 PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return (f'<img alt="{esc(fig.get_label())}" src="data:image/png;base64,'
            f'{base64.b64encode(buf.getvalue()).decode("ascii")}">')


def page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<title>{esc(title)}</title><style>{STYLE}</style></head><body>
<h1>{esc(title)}</h1>
{body}
</body></html>
"""


def write(out: Path, files: dict[str, str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_atomic(out / name, text)
    return [out / name for name in files]


def table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """An HTML table of cells that are already HTML; columns in `numeric` align right."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def ids(students: list[Student]) -> str:
    return '<span class="ids">' + ", ".join(esc(s.id) for s in students) + "</span>"


def section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{esc(title)}</h2>\n{body}\n</section>\n'


# ---- lesson ---------------------------------------------------------------------------

def histogram(students: list[Student], max_score: float):
    from matplotlib.figure import Figure

    scores = [s.score for s in students]
    fig = Figure(figsize=(7, 3.2), dpi=100, layout="constrained", label="distribution of scores")
    ax = fig.add_subplot()
    edges = (np.arange(-0.5, max_score + 1.5) if max_score <= 60
             else np.linspace(0, max(max_score, 1), 21))
    ax.hist(scores, bins=edges, color="#4c78a8", edgecolor="white")
    mean, median = scores_summary(students)
    if mean is not None:
        ax.axvline(mean, color="#e45756", label=f"mean {mean:.2f}")
        ax.axvline(median, color="#333333", linestyle="--", label=f"median {median:g}")
        ax.legend(loc="upper left")
    ax.set_xlabel(f"score (of {max_score:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def _summary(lesson: Lesson, max_score: float) -> str:
    rows = []
    for who, students in (("everyone", lesson.students), ("handed in a notebook",
                                                          lesson.handed_in)):
        mean, median = scores_summary(students)
        rows.append([esc(who), str(len(students)), number(mean), number(median, "g")])
    return (f"<p>Maximum score {max_score:g} (automatically graded points only; written "
            "answers are graded by hand in formgrader).</p>"
            + table(["students", "number", "mean", "median"], rows, {1, 2, 3}))


def _mistakes(stats: list[ExerciseStats]) -> str:
    parts = []
    for st in stats:
        if not st.mistakes:
            parts.append(f"<h3>{esc(st.name)}</h3><p>No recognised mistake.</p>")
            continue
        rows = []
        for rank, m in enumerate(st.mistakes, start=1):
            first = m.students[0]
            example = (f"<details><summary>message of {esc(first.id)}</summary><pre>"
                       f"{esc(first.exercises[st.name].message)}</pre></details>")
            rows.append([str(rank), esc(m.cause) + example, esc(m.kind), str(len(m.students)),
                         ids(m.students)])
        parts.append(f"<h3>{esc(st.name)}</h3>"
                     + table(["rank", "likely cause", "named by", "students", "student ids"],
                             rows, {0, 3}))
    return ("<p>Per exercise, the likely causes the grader named for wrong answers, most "
            "students first. <i>registry</i>: one of the exercise's registered mistakes; "
            "<i>judge</i>: inferred from the numbers or named by the exercise's verifier.</p>"
            + "".join(parts))


def _unexplained(stats: list[ExerciseStats]) -> str:
    rows = []
    for st in stats:
        messages = "".join(f"<details><summary>{esc(s.id)}</summary><pre>"
                           f"{esc(s.exercises[st.name].message)}</pre></details>"
                           for s in st.unexplained)
        rows.append([esc(st.name), str(len(st.unexplained)), messages,
                     str(len(st.not_attempted)), str(len(st.not_graded))])
    return ("<p>Wrong answers that no likely cause explains: candidates for new mistakes in "
            "the registry. Not counted there: exercises not attempted (not implemented, or no "
            "such function) and exercises not graded (timeout, memory, crash, tampering).</p>"
            + table(["exercise", "unexplained", "messages", "not attempted", "not graded"],
                    rows, {1, 3, 4}))


def lesson_report(folder: Path, out: Path | None = None, name: str | None = None) -> list[Path]:
    """Write the report of the lesson graded into `folder` (lesson `name`, when given);
    return the files written."""
    lesson = read_lesson(folder)
    if name is not None and lesson.students and lesson.name != name:
        raise CourseError(f"{folder} holds the results of {lesson.name}, not of {name}")
    out = out or folder / "report"
    stats = exercise_stats(lesson)
    max_score = max((s.max_score for s in lesson.students), default=0.0)
    statuses = status_counts(lesson.students)
    ex_rows = [[st.name, st.points, len(st.scores), st.full, st.share_full, st.mean,
                st.discrimination, st.explained, len(st.unexplained), len(st.not_attempted),
                len(st.not_graded)] for st in stats]
    body = "".join([
        section("summary", "Summary", _summary(lesson, max_score)),
        section("distribution", "Distribution of scores",
                png(histogram(lesson.students, max_score))),
        section("statuses", "Students per status", table(
            ["status", "students", "student ids"],
            [[esc(k), str(len(v)), ids(v) if k != "graded" else ""]
             for k, v in statuses.items()], {1})),
        section("exercises", "Exercises", (
            "<p>Over the students who handed in a notebook. Discrimination: the correlation "
            "between the exercise's score and the rest of the lesson's (n/a when either is the "
            "same for everyone, or for fewer than three students).</p>" + table(
                ["exercise", "points", "students", "full marks", "share of full marks",
                 "mean points", "discrimination", "explained", "unexplained",
                 "not attempted", "not graded"],
                [[esc(r[0]), f"{r[1]:g}", str(r[2]), str(r[3]), share(r[4]), number(r[5]),
                  number(r[6]), *map(str, r[7:])] for r in ex_rows], set(range(1, 11))))),
        section("mistakes", "Recognised mistakes", _mistakes(stats)),
        section("unexplained", "Failures no named mistake explains", _unexplained(stats)),
    ])
    return write(out, {
        "report.html": page(f"{lesson.name}: class report", body),
        "scores.csv": csv_text(["student_id", "status", "handed_in", "score", "max_score"],
                               [[s.id, s.status, "yes" if s.handed_in else "no", s.score,
                                 s.max_score] for s in lesson.students]),
        "statuses.csv": csv_text(["status", "students"],
                                 [[k, len(v)] for k, v in statuses.items()]),
        "exercises.csv": csv_text(["exercise", "points", "students", "full_marks", "share_full",
                                   "mean_points", "discrimination", "explained", "unexplained",
                                   "not_attempted", "not_graded"], ex_rows),
        "mistakes.csv": csv_text(
            ["exercise", "rank", "likely_cause", "named_by", "students", "student_id", "message"],
            [[st.name, rank, m.cause, m.kind, len(m.students), s.id,
              s.exercises[st.name].message]
             for st in stats for rank, m in enumerate(st.mistakes, start=1) for s in m.students]),
        "unexplained.csv": csv_text(
            ["exercise", "student_id", "message"],
            [[st.name, s.id, s.exercises[st.name].message]
             for st in stats for s in st.unexplained]),
    })


# ---- course ---------------------------------------------------------------------------

def heat_map(lessons: list[tuple[Lesson, list[ExerciseStats]]]):
    """Lessons (rows) × their exercises in order (columns), coloured by the share of full
    marks, each cell labelled with the exercise's name."""
    from matplotlib.figure import Figure

    width = max((len(stats) for _, stats in lessons), default=1) or 1
    grid = np.full((len(lessons), width), np.nan)
    fig = Figure(figsize=(2 + 1.25 * width, 1.2 + 0.55 * len(lessons)), dpi=100,
                 layout="constrained", label="share of full marks per exercise")
    ax = fig.add_subplot()
    for i, (_, stats) in enumerate(lessons):
        for j, st in enumerate(stats):
            value = st.share_full
            grid[i, j] = np.nan if value is None else value
            ax.text(j, i, f"{st.name}\n{share(value)}", ha="center", va="center", fontsize=8,
                    parse_math=False)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(lessons)), [lesson.name for lesson, _ in lessons])
    ax.set_xticks(range(width), [str(j + 1) for j in range(width)])
    ax.set_xlabel("exercise (in the lesson's order)")
    fig.colorbar(image, ax=ax, label="share of full marks", format="{x:.0%}")
    return fig


def course_report(graded: Path, out: Path | None = None) -> list[Path]:
    """Write the report over every lesson graded into `graded`; return the files written."""
    lessons = [read_lesson(folder) for folder in graded_lessons(graded)]
    out = out or graded / "course-report"
    stats = [(lesson, exercise_stats(lesson)) for lesson in lessons]
    maxima = {lesson.name: max((s.max_score for s in lesson.students), default=0.0)
              for lesson in lessons}
    scores: dict[str, dict[str, float]] = {}
    for lesson in lessons:
        for s in lesson.students:
            scores.setdefault(s.id, {})[lesson.name] = s.score
    total_max = sum(maxima.values())
    student_rows = [[sid, *(by_lesson.get(lesson.name) for lesson in lessons),
                     sum(by_lesson.values()), total_max]
                    for sid, by_lesson in sorted(scores.items())]
    lesson_rows = [[lesson.name, len(lesson.students), len(lesson.handed_in),
                    *scores_summary(lesson.students), maxima[lesson.name]] for lesson in lessons]
    names = [lesson.name for lesson in lessons]
    body = "".join([
        section("lessons", "Lessons", table(
            ["lesson", "students", "handed in", "mean", "median", "max score"],
            [[esc(r[0]), str(r[1]), str(r[2]), number(r[3]), number(r[4], "g"), f"{r[5]:g}"]
             for r in lesson_rows], {1, 2, 3, 4, 5})),
        section("heatmap", "Share of full marks, lessons × exercises",
                "<p>Over the students who handed in each lesson.</p>" + png(heat_map(stats))),
        section("students", "Students", (
            f"<p>The total counts a lesson a student is not listed in as 0 of its points; "
            f"the maximum is {total_max:g} (automatically graded points only).</p>" + table(
                ["student", *map(esc, names), "total", "max"],
                [[esc(r[0]), *(number(x, "g") if x is not None else "" for x in r[1:])]
                 for r in student_rows], set(range(1, len(names) + 3))))),
    ])
    return write(out, {
        "report.html": page("Course report", body),
        "students.csv": csv_text(["student_id", *names, "total", "max_total"],
                                 [[r[0], *("" if x is None else x for x in r[1:])]
                                  for r in student_rows]),
        "lessons.csv": csv_text(["lesson", "students", "handed_in", "mean", "median",
                                 "max_score"], lesson_rows),
        "exercises.csv": csv_text(["lesson", "exercise", "points", "students", "share_full",
                                   "mean_points", "discrimination"],
                                  [[lesson.name, st.name, st.points, len(st.scores),
                                    st.share_full, st.mean, st.discrimination]
                                   for lesson, sts in stats for st in sts]),
    })
