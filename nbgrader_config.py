"""nbgrader configuration for nncourse.

Instructors edit `solutions/` (nbgrader's source), students receive `lectures/`
(nbgrader's release). Everything produced by grading lives under `grading/`, which git
ignores. Run nbgrader through `nncourse`, which always starts it from this directory.
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
