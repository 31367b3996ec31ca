"""nbgrader configuration for nncourse.

Instructors edit `solutions/` (nbgrader's source), students receive `lectures/`
(nbgrader's release). Everything produced by grading lives under `grading/`, which git
ignores. nbgrader reads this file only when started in this folder: run it as
`nncourse nbgrader ...`, which always starts it here. (Started elsewhere, nbgrader would
make an empty course there; the environment that `make` sets up refuses that, see
autograder/outside_course.py.)
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets)

here = os.path.dirname(os.path.abspath(__file__))
grading = os.path.join(here, "grading")

c.CourseDirectory.course_id = "nncourse"
c.CourseDirectory.root = here
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lectures"
c.CourseDirectory.submitted_directory = os.path.join(grading, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(grading, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(grading, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(grading, "gradebook.db")
# `nbgrader export` writes here unless given --to, not into the current folder, nbgrader's
# columns with every cell a spreadsheet would run as a formula escaped (a ' first).
c.ExportPlugin.to = os.path.join(grading, "grades.csv")
c.ExportApp.plugin_class = "autograder.grading.export.CsvExport"
# nbgrader's exchange (release_assignment, fetch, submit, collect between accounts of one
# machine) lives in grading/ too. It must exist: formgrader lists it on every page and
# logs "Unwritable directory" for a missing one (the default, /usr/local/share/nbgrader).
c.Exchange.root = os.path.join(grading, "exchange")
try:
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:  # a read-only checkout: nbgrader reports the exchange as unwritable
    pass

# A student who deletes a test cell gets it back, with its points.
c.OverwriteCells.add_missing_cells = True
# Hidden tests never reach a student: their source is removed from feedback.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]
c.ClearHiddenTests.enforce_metadata = False
c.Execute.timeout = 60
