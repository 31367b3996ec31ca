"""What grading found for one student: `StudentResult`, and per exercise `ExerciseResult`.

`nncourse grade` writes one as OUT/students/<id>/results.json (`to_json`); grades.csv,
feedback.html, the gradebook, the autograded notebook and `nncourse report` read it
(`from_json`). The JSON object keeps the order of the fields below; `from_json` checks
every field and raises ResultError naming the file and the field that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from numbers import Real


class ResultError(ValueError):
    """A results.json that is not what `StudentResult.to_json` writes."""


_NAMES = {Real: "a number", str: "a string", dict: "an object", list: "a list",
          (str, type(None)): "a string or null"}


def _field(data, key: str, kind, where: str, default=...):
    """`data[key]`, which must be a `kind` (a bool is no number); `default` when given and
    the key is missing."""
    if not isinstance(data, dict):
        raise ResultError(f"{where}: not a JSON object")
    if key not in data:
        if default is not ...:
            return default
        raise ResultError(f"{where}: no field {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is Real and isinstance(value, bool)):
        raise ResultError(f"{where}: {key!r} is {value!r}, not {_NAMES.get(kind, kind)}")
    return value


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise: its points (`score` of `max`), `status` (`graded` or a `Status`) and
    the message the student reads."""

    score: float
    max: float
    status: str
    message: str

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data, where: str = "exercise") -> ExerciseResult:
        return cls(_field(data, "score", Real, where), _field(data, "max", Real, where),
                   _field(data, "status", str, where), _field(data, "message", str, where))


@dataclass(frozen=True)
class StudentResult:
    """One student's lesson: the autograded `score` of `max_score` (which includes the
    `by_hand` points of written answers), the submission's `status` (`graded`, or
    statuses joined by ';'), each exercise, the notes on what went wrong and the
    `fingerprint` of what was graded (`batch.fingerprint`)."""

    student_id: str
    lesson: str
    score: float
    max_score: float
    by_hand: float
    status: str
    exercises: dict[str, ExerciseResult]
    notes: tuple[str, ...] = ()
    fingerprint: str | None = None

    def exercise_score(self, name: str) -> float:
        """The points of exercise `name`, 0 when it has no result."""
        found = self.exercises.get(name)
        return found.score if found else 0

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["exercises"] = {name: e.to_json() for name, e in self.exercises.items()}
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data, where: str = "results.json") -> StudentResult:
        """The result `data` (parsed JSON) holds; ResultError names `where` and the field.
        `by_hand`, `notes` and `fingerprint` may be missing (results written before them)."""
        exercises = _field(data, "exercises", dict, where)
        notes = _field(data, "notes", list, where, [])
        for i, note in enumerate(notes):
            if not isinstance(note, str):
                raise ResultError(f"{where}: note {i} is {note!r}, not a string")
        return cls(_field(data, "student_id", str, where), _field(data, "lesson", str, where),
                   _field(data, "score", Real, where), _field(data, "max_score", Real, where),
                   _field(data, "by_hand", Real, where, 0), _field(data, "status", str, where),
                   {name: ExerciseResult.from_json(e, f"{where}, exercise {name!r}")
                    for name, e in exercises.items()},
                   tuple(notes), _field(data, "fingerprint", (str, type(None)), where, None))
