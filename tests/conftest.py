"""Test order: the longest modules first.

pytest-xdist hands tests to its workers in collection order, so a long module collected late
(the browser's Run All of every lesson, a graded class of hostile submissions) would leave one
worker busy while the other has nothing left to do. Starting them first lets the many short
tests fill in around them.
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
