"""The data of `nncourse report`: what a class got wrong, read from the graded results.

A lesson's results folder (`nncourse grade` writes `grading/graded/LESSON`) holds
`grades.csv`, one row per student, and `students/<id>/results.json`, each exercise's score,
status and message. The report reads both and works out, per exercise, the share of full
marks, the mean points, the discrimination index (the correlation between the exercise's
score and the rest of the lesson), and the mistakes the grader recognised, ranked by how
many students made them. `autograder.report` writes it as one HTML page and CSV files.

A recognised mistake is the "likely cause" of a failed check. `judge.Report.message`
writes it in two ways: a failed public check ends with the line `  likely cause: CAUSE`
under the first failing case, and a failed hidden check is one line,
`✗ NAME: k of n hidden cases failed (hint: KIND[, likely CAUSE or CAUSE ...]; KIND ...).`,
with every cause seen for each kind of failure. Causes may themselves hold " or " and "; ",
so the hint is split with the exercise's registered mistakes and the causes the class's
public checks named. A cause is `registry` when it is one of the exercise's registered
mistakes, `judge` when the judge inferred it from the numbers ("the sign is flipped") or a
verifier named it. The message is text, part of which a student controls (an exception's
message): one who makes it end in a forged "likely cause" line adds themselves to that
mistake's list, no more (every string is escaped on the page and in the CSV files).

Statistics per exercise count the students who handed in a notebook (status not
`missing`); the distribution of scores, the mean and the median are given for everyone.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.course import CourseError
from autograder.grading.batch import STUDENTS
from autograder.grading.export import FORMULA, csv_cell
from autograder.grading.feedback import read_student
from autograder.grading.result import ExerciseResult, StudentResult
from autograder.grading.status import Status
from autograder.judge import HINTS

FIXED = ("student_id", "lesson", "score", "max_score", "by_hand", "status")  # grades.csv
CAUSE = "  likely cause: "
LIKELY = ", likely "
HIDDEN = re.compile(r"[✓✗] [^:]+: (all \d+ hidden cases pass\.|\d+ of \d+ hidden cases failed)")


@dataclass
class Student:
    id: str
    status: str  # the lesson's: "graded", or statuses joined by ';'
    score: float
    max_score: float
    exercises: dict[str, ExerciseResult]

    @property
    def handed_in(self) -> bool:
        return "missing" not in self.status.split(";")


@dataclass
class Lesson:
    name: str
    folder: Path
    exercises: dict[str, float]  # name: points, in the order of grades.csv
    students: list[Student]
    mistakes: dict[str, set[str]] = field(default_factory=dict)  # registered, per exercise

    @property
    def handed_in(self) -> list[Student]:
        return [s for s in self.students if s.handed_in]


@dataclass
class Mistake:
    cause: str
    kind: str  # "registry" or "judge"
    students: list[Student]


@dataclass
class ExerciseStats:
    name: str
    points: float
    scores: list[float]  # of the students who handed in
    discrimination: float | None
    mistakes: list[Mistake]  # most students first
    unexplained: list[Student]  # wrong answers that no likely cause explains
    not_attempted: list[Student]  # "not implemented yet", or no such function
    not_graded: list[Student]  # timeout, memory, crashed, tampered, refused, ...

    @property
    def explained(self) -> int:
        """How many students made at least one recognised mistake."""
        return len({id(s) for m in self.mistakes for s in m.students})

    @property
    def full(self) -> int:
        return sum(s >= self.points for s in self.scores)

    @property
    def share_full(self) -> float | None:
        return self.full / len(self.scores) if self.scores else None

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None


def graded_lessons(graded: Path) -> list[Path]:
    """The results folders under `graded` (one per lesson that was graded), by name."""
    if not graded.is_dir():
        raise CourseError(f"{graded}: no such folder; `nncourse grade LESSON` writes the "
                          "results there")
    found = sorted(p for p in graded.iterdir() if (p / "grades.csv").is_file())
    if not found:
        raise CourseError(f"{graded}: no lesson was graded yet (no LESSON/grades.csv)")
    return found


def lesson_folder(graded: Path, lesson: str) -> Path:
    """`graded/lesson`, with an error naming the graded lessons when it holds no results."""
    folder = graded / lesson
    if not (folder / "grades.csv").is_file():
        known = [p.name for p in graded.iterdir()
                 if (p / "grades.csv").is_file()] if graded.is_dir() else []
        raise CourseError(f"{lesson} was never graded: {folder / 'grades.csv'} does not exist "
                          f"(graded lessons: {', '.join(sorted(known)) or 'none'}); grade it "
                          f"with `nncourse grade {lesson} --submissions DIR`")
    return folder


def _unescaped(cell: str) -> str:
    """A student id as it was before `csv_cell` escaped it."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA) else cell


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CourseError(f"{where}: {text!r} is not a number") from None


def read_lesson(folder: Path) -> Lesson:
    """The rows of `folder/grades.csv`, each with its student's results.json.

    A row whose results.json is missing or unusable (its write failed, or it was damaged)
    keeps the scores of grades.csv, with no messages."""
    if not folder.is_dir():
        raise CourseError(f"{folder}: no such folder")
    path = folder / "grades.csv"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            header, *rows = list(csv.reader(fh))
    except (OSError, ValueError) as exc:
        raise CourseError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None
    if tuple(header[:len(FIXED)]) != FIXED:
        raise CourseError(f"{path}: not a grades.csv of `nncourse grade` (its columns are "
                          f"{', '.join(FIXED)}, then one per exercise)")
    names = header[len(FIXED):]
    by_cell: dict[str, list[StudentResult]] = {}
    students_dir = folder / STUDENTS
    for sub in sorted(students_dir.iterdir()) if students_dir.is_dir() else []:
        result = read_student(sub)
        if result is not None:
            by_cell.setdefault(csv_cell(result.student_id), []).append(result)
    points = {n: max((float(r.exercises[n].max) for rs in by_cell.values() for r in rs
                      if n in r.exercises), default=None)
              for n in names}
    unknown = [n for n, p in points.items() if p is None]
    if unknown and rows:
        raise CourseError(f"{folder / STUDENTS}: no results.json gives the points of "
                          f"{', '.join(unknown)}")
    points = {n: p or 0.0 for n, p in points.items()}  # 0 only when no student was graded
    students = []
    for i, row in enumerate(rows, start=2):
        where = f"{path}, line {i}"
        if len(row) != len(header):
            raise CourseError(f"{where}: {len(row)} cells where the header has {len(header)}")
        cells = dict(zip(header, row))
        found = by_cell.get(cells["student_id"])
        result = found.pop(0) if found else None
        exercises = {}
        for n in names:
            entry = result.exercises.get(n) if result else None
            exercises[n] = entry or ExerciseResult(_number(cells[n], where), points[n],
                                                   cells["status"], "")
        students.append(Student(result.student_id if result else _unescaped(cells["student_id"]),
                                cells["status"], _number(cells["score"], where),
                                _number(cells["max_score"], where), exercises))
    name = rows[0][FIXED.index("lesson")] if rows else folder.name
    return Lesson(name, folder, points, students, _registered(name, names))


def _registered(lesson: str, names: list[str]) -> dict[str, set[str]]:
    """{exercise: its registered mistakes}; empty when the registry cannot say (a lesson
    it does not know, or a registry that fails to load: the labels are lost, not the report)."""
    from autograder import registry

    try:
        exercises = registry.all_exercises(lesson)
    except Exception:  # noqa: BLE001 - see the docstring
        return {}
    return {ex.name: set(ex.mistakes) for ex in exercises if ex.name in names}


def _longest_first(texts: Iterable[str]) -> list[str]:
    return sorted(set(texts), key=lambda t: (-len(t), t))


def _ends(tail: str) -> bool:
    return tail == "" or tail.startswith((" or ", "; "))


def hinted_causes(hint: str, known: Iterable[str]) -> list[str]:
    """The causes in the hint of a failed hidden check: `KIND[, likely C1 or C2 ...]` per
    kind of failure, joined by '; '. A cause in `known` is taken whole even when it holds
    " or " or "; "; another one ends at the next " or " or "; KIND"."""
    kinds, known = _longest_first(HINTS.values()), _longest_first(known)
    causes, rest = [], hint
    while rest:
        kind = next((k for k in kinds if rest.startswith(k)), None)
        if kind is None:  # a kind this code does not know by its hint text
            kind = re.match(r"[^,;]*", rest)[0]
        rest = rest[len(kind):]
        if rest.startswith(LIKELY):
            rest = rest[len(LIKELY):]
            while rest:
                cause = next((k for k in known if rest.startswith(k)
                              and _ends(rest[len(k):])), None)
                if cause is None:
                    stops = [i for i in (rest.find(" or "), *(rest.find("; " + k) for k in kinds))
                             if i > 0]
                    cause = rest[:min(stops, default=len(rest))]
                causes.append(cause)
                rest = rest[len(cause):]
                if not rest.startswith(" or "):
                    break
                rest = rest[len(" or "):]
        if not rest.startswith("; ") or not kind:
            break
        rest = rest[2:]
    return causes


def public_cause(message: str) -> str | None:
    """The likely cause of a failed public check: the last line of its report (the hidden
    check's report, one line, follows it)."""
    lines = message.split("\n")
    public = lines[:-1] if len(lines) > 1 and HIDDEN.match(lines[-1]) else lines
    if len(public) >= 4 and public[-1].startswith(CAUSE):
        return public[-1][len(CAUSE):]
    return None


def hidden_hint(name: str, message: str) -> str | None:
    last = message.rsplit("\n", 1)[-1]
    found = re.fullmatch(rf"✗ {re.escape(name)}: \d+ of \d+ hidden cases failed \(hint: (.*)\)\.",
                         last)
    return found[1] if found else None


def discrimination(item: list[float], rest: list[float]) -> float | None:
    """The correlation between an exercise's scores and the rest of the lesson's, or None
    when it is undefined: fewer than three students, or either side the same for all."""
    x, y = np.asarray(item, float), np.asarray(rest, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def exercise_stats(lesson: Lesson) -> list[ExerciseStats]:
    students = lesson.handed_in
    public = {n: {c for s in students
                  if (c := public_cause(s.exercises[n].message)) is not None}
              for n in lesson.exercises}
    out = []
    for name, points in lesson.exercises.items():
        known = lesson.mistakes.get(name, set())
        scores = [float(s.exercises[name].score) for s in students]
        rest = [s.score - x for s, x in zip(students, scores)]
        stats = ExerciseStats(name, points, scores, discrimination(scores, rest), [], [], [], [])
        found: dict[str, list[Student]] = {}
        for s, score in zip(students, scores):
            entry = s.exercises[name]
            if score >= points:
                continue
            message = entry.message
            if entry.status != "graded":
                (stats.not_attempted if entry.status == "missing"
                 else stats.not_graded).append(s)
                continue
            if message.startswith(f"✗ {name}: not implemented yet"):
                stats.not_attempted.append(s)
                continue
            causes = [public_cause(message)]
            hint = hidden_hint(name, message)
            causes += hinted_causes(hint, known | public[name]) if hint else []
            causes = [c for c in dict.fromkeys(causes) if c]
            for cause in causes:
                found.setdefault(cause, []).append(s)
            if not causes:
                stats.unexplained.append(s)
        stats.mistakes = [Mistake(c, "registry" if c in known else "judge", who)
                          for c, who in sorted(found.items(), key=lambda f: (-len(f[1]), f[0]))]
        out.append(stats)
    return out


def scores_summary(students: list[Student]) -> tuple[float | None, float | None]:
    """(mean, median) of the scores, None for no students."""
    scores = [s.score for s in students]
    return ((statistics.fmean(scores), statistics.median(scores)) if scores else (None, None))


def status_counts(students: list[Student]) -> dict[str, list[Student]]:
    """{status: the students with it}: every status `nncourse grade` writes, then others."""
    counts: dict[str, list[Student]] = {s: [] for s in ("graded", *Status)}
    for student in students:
        for status in student.status.split(";"):
            counts.setdefault(status, []).append(student)
    return counts
