"""Test order: the longest modules first.

`make test` runs pytest-xdist with `--dist worksteal`: each worker starts with half of the
tests, in collection order, and a worker with nothing left takes half of what the other has
not started. A long test started last would leave one worker busy alone at the end (the
default `load` scheduling did so for about 3 minutes); starting the longest first (the
browser's Run All of every lesson, the graded classes of hostile submissions) lets the many
short tests fill in around them. Expensive fixtures that several workers may need are made
once per session (`test_grading.shared_folder`).
"""

LONGEST_FIRST = (
    "test_browser.py",
    "test_verdicts_agree.py",
    "test_grading.py",
    "test_grading_robust.py",
    "test_pipeline.py",
    "test_fair_grades.py",
    "test_integrity.py",
    "test_stock_agreement.py",
    "test_instructor.py",
    "test_grading_lessons.py",
    "test_case_contracts.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
