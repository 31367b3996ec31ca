"""The two vocabularies of grading, kept apart.

`CellStatus` is what running one cell did, as the kernel saw it (`kernel.CellRun`).
`Status` is what the grader reports, per submission (grades.csv's `status`) and per
exercise; `Failure` is an exercise that has no outcomes to judge, with its status and,
when the usual sentence would not say why, the message a student reads.

Both are strings (`StrEnum`), so they print, compare and serialise as their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, auto


class CellStatus(StrEnum):
    """ok; error (the cell raised); timeout (interrupted in time); hung (ignored the
    interrupt); flood (printed more than kernel.OUTPUT_CAP); garbled (sent a message that
    is not Jupyter protocol); oom (the memory cgroup's killer struck); dead (the kernel
    died otherwise). After hung, flood, garbled and oom the kernel has been killed."""

    OK = auto()
    ERROR = auto()
    TIMEOUT = auto()
    HUNG = auto()
    FLOOD = auto()
    GARBLED = auto()
    OOM = auto()
    DEAD = auto()

    __hash__ = str.__hash__  # "ok" in {CellStatus.OK}, as for the plain strings


class Status(StrEnum):
    """What went wrong with a submission or an exercise, in the order grades.csv lists
    them; a submission with none of them is `graded`."""

    TIMEOUT = auto()
    MEMORY = auto()
    CRASHED = auto()
    MISSING = auto()
    UNREADABLE = auto()
    TAMPERED = auto()
    REFUSED = auto()

    __hash__ = str.__hash__


USUAL = {
    Status.MISSING: "no function `{name}` was defined (or the cell defining it failed)",
    Status.TIMEOUT: "calling it did not finish in time",
    Status.MEMORY: "calling it ran out of memory",
    Status.CRASHED: "calling it crashed the kernel or returned something that could not "
                    "be read",
    Status.TAMPERED: "not graded: the submission was refused (see the notes)",
    Status.REFUSED: "not graded: the grader would not take what it returned",
}


@dataclass(frozen=True)
class Failure:
    """An exercise with no outcomes: why (`status`) and, if not the usual, what to say."""

    status: Status
    note: str = ""

    def message(self, name: str) -> str:
        return f"✗ {name}: {self.note or USUAL[self.status].format(name=name)}."


def status_text(statuses) -> str:
    """grades.csv's status: the statuses in Status order, or `graded`."""
    return ";".join(s for s in Status if s in statuses) or "graded"
