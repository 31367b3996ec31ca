"""`nncourse report` on a generated class whose mistakes are known.

The class takes lesson 04-activations: each student implements every graded function
rightly, or as one of the registry's named mistakes, or wrongly in a way no mistake names,
or not at all. Their functions are run on the real public and hidden cases and judged by
the grader's own code (`run.judge_execution`, `batch._result`), and their results are
written by batch's writers (`feedback.write_student`, `batch.grades_csv`), so the report
reads exactly what `nncourse grade` writes, without kernels. Two of the students' ids are
hostile: an HTML script and a spreadsheet formula.
"""

import csv
import statistics
from pathlib import Path

import numpy as np
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import sync_playwright

from autograder import judge, registry
from autograder.cases import cases_for
from autograder.cli import main
from autograder.grading import batch, feedback, run
from autograder.grading.export import FORMULA
from autograder.grading.status import Failure, Status
from autograder.registry import Case
from autograder.report import course_report, lesson_report
from autograder.report_data import discrimination, hinted_causes, public_cause

LESSON = "04-activations"
SCRIPT = "<script>alert(1)</script>"
RIGHT, GARBAGE, STUB = "right", "garbage", "stub"
SECTIONS = ("summary", "distribution", "statuses", "exercises", "mistakes", "unexplained")
COURSE_SECTIONS = ("lessons", "heatmap", "students")


def mistake(exercise: str, index: int) -> str:
    return list(registry.get(exercise).mistakes)[index]


def plans() -> dict[str, dict]:
    """{student: {exercise: RIGHT, GARBAGE, STUB, "timeout" or a mistake's description}};
    exercises not listed are right. None: no notebook handed in."""
    return {
        "ada": {},
        "bob": {"sigmoid_prime": mistake("sigmoid_prime", 0),
                "relu_prime": mistake("relu_prime", 0)},
        "cat": {"sigmoid_prime": mistake("sigmoid_prime", 0),
                "dead_units": mistake("dead_units", 0), "softmax": STUB},
        SCRIPT: {"sigmoid_prime": mistake("sigmoid_prime", 1),
                 "relu_prime": mistake("relu_prime", 0),
                 "gradient_sizes": mistake("gradient_sizes", 0)},
        "=cmd": {"gradient_sizes": mistake("gradient_sizes", 0), "dead_units": GARBAGE},
        "dan": {"sigmoid_prime": GARBAGE, "softmax": STUB,
                "gradient_sizes": mistake("gradient_sizes", 1)},
        "eve": None,
        "fay": {"softmax": "timeout", "dead_units": mistake("dead_units", 1)},
        "gus": {"softmax": mistake("softmax", 0), "gradient_sizes": mistake("gradient_sizes", 1),
                "relu_prime": mistake("relu_prime", 0)},
    }


def garbage(z, *args, **kwargs):
    """Wrong in a way no cause names, the judge's own included: an extra axis."""
    return np.asarray(z, dtype=float)[..., None] * [1.0, 2.0]


def stub(*args, **kwargs):
    raise NotImplementedError()


def implementation(exercise, plan: str):
    if plan == RIGHT:
        return exercise.reference_fn
    return {GARBAGE: garbage, STUB: stub}.get(plan) or exercise.mistakes[plan]


def write_class(out: Path, lesson: str, class_plans: dict[str, dict]) -> list:
    """Judge every student's functions and write the results as `nncourse grade` does."""
    exercises = registry.all_exercises(lesson)
    cases = {ex.name: {"public": cases_for(ex, False), "hidden": cases_for(ex, True, 17)}
             for ex in exercises}
    max_score = sum(ex.points for ex in exercises)
    results = []
    for student, plan in sorted(class_plans.items()):
        execution = run.Execution(student)
        if plan is None:
            execution.statuses.add(Status.MISSING)
        for ex in ([] if plan is None else exercises):
            wanted = plan.get(ex.name, RIGHT)
            if wanted == "timeout":
                execution.statuses.add(Status.TIMEOUT)
                execution.outcomes[ex.name] = Failure(Status.TIMEOUT)
                continue
            fn = implementation(ex, wanted)
            execution.outcomes[ex.name] = tuple(
                [judge.run_case(fn, case) for case in cases[ex.name][key]]
                for key in ("public", "hidden"))
        result = batch._result(execution, lesson, exercises, cases, max_score, 0, "print")
        feedback.write_student(batch.student_dir(out, student), result)
        results.append(result)
    feedback.write_atomic(out / "grades.csv",
                          batch.grades_csv(results, [ex.name for ex in exercises]))
    return results


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course root whose grading/graded holds the generated 04-activations class and a
    00-welcome class (where one student of 04 is absent and one other is new)."""
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text("")
    (root / "solutions").mkdir()
    write_class(root / "grading" / "graded" / LESSON, LESSON, plans())
    write_class(root / "grading" / "graded" / "00-welcome", "00-welcome",
                {"ada": {}, "bob": {"step": mistake("step", 0)}, "zed": {"step": GARBAGE}})
    return root


@pytest.fixture(scope="module")
def report(course) -> Path:
    out = course / "grading" / "graded" / LESSON / "report"
    files = lesson_report(course / "grading" / "graded" / LESSON)
    assert {f.name for f in files} == {"report.html", "scores.csv", "statuses.csv",
                                       "exercises.csv", "mistakes.csv", "unexplained.csv"}
    assert all(f.parent == out for f in files)
    return out


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def unescaped(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA) else cell


def expected_scores() -> tuple[list[str], np.ndarray]:
    """(the students who handed in, their points per exercise), from the plans alone."""
    names = [ex.name for ex in registry.all_exercises(LESSON)]
    handed_in = sorted(s for s, p in plans().items() if p is not None)
    points = np.array([[registry.get(n).points * (plans()[s].get(n, RIGHT) == RIGHT)
                        for n in names] for s in handed_in], dtype=float)
    return handed_in, points


def test_scores_statuses_and_summary(report):
    rows = {unescaped(r["student_id"]): r for r in read_csv(report / "scores.csv")}
    handed_in, points = expected_scores()
    assert set(rows) == set(plans())
    for student, total in zip(handed_in, points.sum(axis=1)):
        assert float(rows[student]["score"]) == total
    assert (rows["eve"]["score"], rows["eve"]["handed_in"]) == ("0", "no")
    statuses = {r["status"]: int(r["students"]) for r in read_csv(report / "statuses.csv")}
    assert statuses["graded"] == 7 and statuses["missing"] == 1 and statuses["timeout"] == 1
    assert statuses["memory"] == statuses["crashed"] == statuses["tampered"] == 0

    everyone = [*points.sum(axis=1), 0.0]
    page = (report / "report.html").read_text(encoding="utf-8")
    summary = page.split('id="summary"')[1].split("</section>")[0]
    for scores in (everyone, list(points.sum(axis=1))):
        assert (f'<td class="n">{statistics.fmean(scores):.2f}</td>'
                f'<td class="n">{statistics.median(scores):g}</td>') in summary


def test_exercise_figures(report):
    handed_in, points = expected_scores()
    names = [ex.name for ex in registry.all_exercises(LESSON)]
    rows = {r["exercise"]: r for r in read_csv(report / "exercises.csv")}
    assert list(rows) == names
    for j, name in enumerate(names):
        row, full = rows[name], points[:, j] == registry.get(name).points
        assert int(row["students"]) == len(handed_in) == 8
        assert int(row["full_marks"]) == full.sum()
        assert float(row["share_full"]) == pytest.approx(full.mean(), abs=1e-6)
        assert float(row["mean_points"]) == pytest.approx(points[:, j].mean(), abs=1e-6)
        rest = points.sum(axis=1) - points[:, j]
        if full.all():
            assert row["discrimination"] == "n/a"
        else:
            assert float(row["discrimination"]) == pytest.approx(
                np.corrcoef(points[:, j], rest)[0, 1], abs=1e-5)
    assert rows["revive_dead_units"]["discrimination"] == "n/a"  # everyone got it
    assert (rows["softmax"]["not_attempted"], rows["softmax"]["not_graded"]) == ("2", "1")
    assert (rows["dead_units"]["explained"], rows["dead_units"]["unexplained"]) == ("2", "1")


def test_mistakes_ranked_with_their_students(report):
    found: dict[str, dict[str, list[str]]] = {}
    ranks: dict[str, dict[str, int]] = {}
    for r in read_csv(report / "mistakes.csv"):
        found.setdefault(r["exercise"], {}).setdefault(r["likely_cause"], []).append(
            unescaped(r["student_id"]))
        ranks.setdefault(r["exercise"], {})[r["likely_cause"]] = int(r["rank"])
        assert r["named_by"] == "registry"
        assert int(r["students"]) == len([p for p in plans().values()
                                          if p and p.get(r["exercise"]) == r["likely_cause"]])
    expected: dict[str, dict[str, list[str]]] = {}
    for student, plan in sorted(plans().items()):
        for exercise, what in (plan or {}).items():
            if what in registry.get(exercise).mistakes:
                expected.setdefault(exercise, {}).setdefault(what, []).append(student)
    assert found == expected
    # most students first: σ for σ' (bob, cat) before z(1 − z) (the script's)
    assert ranks["sigmoid_prime"] == {mistake("sigmoid_prime", 0): 1,
                                      mistake("sigmoid_prime", 1): 2}
    assert ranks["relu_prime"] == {mistake("relu_prime", 0): 1}
    unexplained = {(r["exercise"], unescaped(r["student_id"]))
                   for r in read_csv(report / "unexplained.csv")}
    assert unexplained == {("dead_units", "=cmd"), ("sigmoid_prime", "dan")}


def test_hostile_ids_are_escaped_in_html_and_csv(report):
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=cmd" in page  # HTML needs no escaping for it
    for path in report.glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if cell.startswith(FORMULA):
                        float(cell)  # only a negative number may start like a formula
    ids = [r["student_id"] for r in read_csv(report / "scores.csv")]
    assert "'=cmd" in ids and SCRIPT in ids
    assert "'=cmd" in {r["student_id"] for r in read_csv(report / "mistakes.csv")}


def test_hint_causes_are_split_as_the_judge_joins_them():
    """Causes holding "; " and " or " come back whole, from the judge's own messages."""
    semi, either = "gives 1 at z = 0; the convention is 0", "uses min or max wrongly"
    verdicts = [judge.Verdict(False, "value", "m", semi), judge.Verdict(False, "value", "m",
                                                                        either),
                judge.Verdict(False, "shape", "m", "it looks transposed"),
                judge.Verdict(False, "exception", "raised ValueError: x"),
                judge.Verdict(False, "value", "m", "unknown cause")]
    cases = [Case((np.zeros(2),))] * len(verdicts)
    hint = judge.Report("f", True, verdicts).message(cases)
    inside = hint[hint.index("(hint: ") + 7:-2]
    assert set(hinted_causes(inside, {semi, either})) == {semi, either, "unknown cause",
                                                          "it looks transposed"}
    public = judge.Report("f", False, verdicts).message(cases)
    assert public_cause(public) == semi
    assert public_cause(public + "\n✓ f: all 5 hidden cases pass.") == semi
    # a "likely cause" line inside a message the student controls is not the last line
    forged = judge.Report("f", False, [judge.Verdict(
        False, "exception", "raised ValueError: x\n  likely cause: forged\n  more")]).message(
        cases[:1])
    assert public_cause(forged) is None


def test_discrimination_index():
    assert discrimination([0, 0, 2, 2], [1, 2, 5, 6]) == pytest.approx(
        np.corrcoef([0, 0, 2, 2], [1, 2, 5, 6])[0, 1])
    assert discrimination([0, 1, 1], [3, 2, 2]) == pytest.approx(-1.0)
    assert discrimination([2, 2, 2, 2], [1, 2, 3, 4]) is None  # everyone alike
    assert discrimination([0, 2, 0, 2], [5, 5, 5, 5]) is None
    assert discrimination([0, 2], [1, 3]) is None  # too few students


def test_a_lesson_graded_for_nobody(tmp_path):
    names = [ex.name for ex in registry.all_exercises("00-welcome")]
    feedback.write_atomic(tmp_path / "grades.csv", batch.grades_csv([], names))
    lesson_report(tmp_path, tmp_path / "report")
    assert read_csv(tmp_path / "report" / "exercises.csv")[0]["share_full"] == "n/a"
    assert read_csv(tmp_path / "report" / "scores.csv") == []


def test_course_report(course):
    graded = course / "grading" / "graded"
    files = course_report(graded)
    out = graded / "course-report"
    assert [f.parent for f in files] == [out] * 4
    rows = {unescaped(r["student_id"]): r for r in read_csv(out / "students.csv")}
    assert set(rows) == set(plans()) | {"zed"}
    welcome = registry.get("step").points
    lesson_max = sum(ex.points for ex in registry.all_exercises(LESSON))
    handed_in, points = expected_scores()
    for student, total in zip(handed_in, points.sum(axis=1)):
        own = welcome if student == "ada" else 0
        assert float(rows[student][LESSON]) == total
        assert rows[student]["00-welcome"] == ("" if student not in ("ada", "bob") else
                                               f"{own:g}")
        assert float(rows[student]["total"]) == total + own
        assert float(rows[student]["max_total"]) == lesson_max + welcome
    assert (rows["zed"][LESSON], rows["zed"]["total"]) == ("", "0")
    exercises = read_csv(out / "exercises.csv")
    assert [r["lesson"] for r in exercises].count(LESSON) == len(registry.all_exercises(LESSON))
    step = next(r for r in exercises if r["exercise"] == "step")
    assert float(step["share_full"]) == pytest.approx(1 / 3)
    assert {r["lesson"]: r["handed_in"] for r in read_csv(out / "lessons.csv")} == {
        "00-welcome": "3", LESSON: "8"}


def test_pages_open_in_headless_chromium(report, course, tmp_path):
    course_page = course_report(course / "grading" / "graded", tmp_path / "course")[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
            for path, sections in ((report / "report.html", SECTIONS),
                                   (course_page, COURSE_SECTIONS)):
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                for key in sections:
                    assert page.locator(f"section#{key} h2").is_visible(), key
                images = page.evaluate("""() => [...document.images].map(
                    i => [i.complete, i.naturalWidth, i.alt])""")
                assert images and all(done and width > 0 for done, width, _ in images), images
                assert page.evaluate("document.scripts.length") == 0
            assert not errors
            assert page.locator("section#students td", has_text=SCRIPT).count() == 1
        finally:
            browser.close()


def test_command_line(course, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNCOURSE_ROOT", str(course))
    assert main(["report", LESSON, "--out", str(tmp_path / "lesson")]) == 0
    assert (tmp_path / "lesson" / "report.html").is_file()
    assert main(["report", "--course", "--out", str(tmp_path / "all")]) == 0
    assert "report.html" in capsys.readouterr().out
    for argv, says in (
            (["report", "05-forward"], "05-forward was never graded"),
            (["report", LESSON, "--graded", str(tmp_path / "nowhere")], "no such folder"),
            (["report", "00-welcome", "--graded", str(course / "grading" / "graded" / LESSON)],
             f"holds the results of {LESSON}, not of 00-welcome"),
            (["report"], "give a LESSON or --course"),
            (["report", LESSON, "--course"], "give a LESSON or --course"),
            (["report", "--course", "--graded", str(tmp_path / "nowhere")], "no such folder"),
            (["report", "--course", "--graded", str(tmp_path)], "no lesson was graded yet")):
        assert main(argv) == 2, argv
        assert says in capsys.readouterr().err, argv
