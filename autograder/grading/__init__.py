"""Official grading: `nncourse grade`.

    batch     the whole lesson: cases from the secret seed, students, resume, grades.csv
    run       one submission: restore locked cells, execute, collect outcomes as data
    kernel    a sandboxed kernel that survives timeouts, crashes and floods of output
    sandbox   bubblewrap and resource limits; nnlib with its graded functions stubbed
    collect   the kernel-side collection and the strict decoding of what it sends
    result    StudentResult and ExerciseResult: what results.json holds
    feedback  results.json and feedback.html per student
    gradebook scores into nbgrader's gradebook, from the grader's process only
    parallel  one at a time, a local process pool (--jobs) or Dask (--scheduler)
"""

import sys

# jsonschema, under nbformat, imports rfc3987_syntax where it is installed (Jupyter's
# format extras install it) to check the "iri" format of newer JSON Schema drafts, which
# the notebook schema (draft 4) does not use; building that module's grammar costs each
# grading process, the workers included, over a second of CPU at start.
sys.modules.setdefault("rfc3987_syntax", None)
