"""CSV that a spreadsheet opens as data: grades.csv of `nncourse grade`, and the exporter
of `nncourse nbgrader export`.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return may be evaluated
as a formula by a spreadsheet (OWASP's CSV injection); `csv_cell` puts a `'` before it.
Student ids and names are the students' own text, so both CSV files escape every cell.

`CsvExport` is the exporter that nbgrader_config.py gives `nbgrader export`
(`ExportApp.plugin_class`): the columns and rows of nbgrader's CsvExportPlugin, with its
settings (`ExportPlugin.to`, `--to`, `--assignment`, `--student`), each cell through
`csv_cell` and written by `csv` (nbgrader joins the values with bare commas, so a comma
or a line break in a name would shift the columns).
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import CsvExportPlugin

from autograder.grading.collect import clean_text

FORMULA = ("=", "+", "-", "@", "\t", "\r")  # OWASP: cells a spreadsheet may evaluate
COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
           "email", "raw_score", "late_submission_penalty", "score", "max_score")


def csv_cell(value) -> str:
    """A CSV cell: a text a spreadsheet would take for a formula gets a ' first."""
    text = clean_text(str(value))
    return "'" + text if text.startswith(FORMULA) else text


def submission_row(gradebook, assignment, student) -> list:
    """One row of COLUMNS, as nbgrader's CsvExportPlugin fills it (0 when not submitted)."""
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        timestamp, raw, penalty, score = "", 0.0, 0.0, 0.0
    else:
        timestamp, raw = submission.timestamp, submission.score
        penalty = submission.late_submission_penalty
        score = max(0.0, raw - penalty)
    return [assignment.name, assignment.duedate, timestamp, student.id, student.last_name,
            student.first_name, student.email, raw, penalty, score, assignment.max_score]


class CsvExport(CsvExportPlugin):
    """nbgrader's CSV export with formula-like cells escaped (see the module docstring)."""

    def export(self, gradebook) -> None:
        dest = self.to or "grades.csv"
        assignments = {str(a) for a in self.assignment}
        students = {str(s) for s in self.student}
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    writer.writerow(["" if v is None else csv_cell(v)
                                     for v in submission_row(gradebook, assignment, student)])
