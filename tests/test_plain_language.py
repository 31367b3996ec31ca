"""Plain language in what students read: the lessons (released and source) never call the
lecture slides and notes "the seeds"; remarks on slips in the slides sit in one "Notes on
the slides" box at the end of a lesson, one line each; every lesson says at the top how
long it takes.

"Student text" is every markdown cell and, in code cells, every comment and string literal
(printed messages, plot labels); identifiers are code, not text."""

import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

from autograder.course import find_root

ROOT = find_root(Path(__file__).parent)
LESSONS = sorted(p.name for p in (ROOT / "lectures").iterdir() if p.is_dir())
NOTEBOOKS = [ROOT / tree / lesson / f"{lesson}.ipynb"
             for tree in ("lectures", "solutions") for lesson in LESSONS]

# "seed" is fine only as a random seed: named so ("random seed", "secret seed", "an int
# seed", "same seed"), as code (`np.random.seed`, `seed=`) or with a small number ("seed 0").
# "seed 001", "the seeds", "One seed prints", "the seed's example" are the source documents.
SEED = re.compile(r"\bseeds?\b", re.I)
RANDOM_BEFORE = re.compile(r"(?:\b(?:random|secret|int|integer|same)\s+|np\.random\.)$", re.I)
RANDOM_AFTER = re.compile(r"^(?:\s*=|\s+\d{1,2}\b)")

BOX_TITLE = "> **Notes on the slides**"
SLIP = re.compile(r"\b(?:slips?|typos?|misprints?|errat(?:um|a))\b", re.I)
SLIDES = re.compile(r"\b(?:slides?|seeds?|lecture notes|the notes)\b", re.I)
TIME = re.compile(r"^\*About (?:(\d+) hours?)?(?: ?(\d+) minutes)?\.\*$")


def code_text(source: str) -> list[str]:
    """The comments and string literals of a code cell."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        tokens = []
    if not tokens or any(tok.type == tokenize.ERRORTOKEN for tok in tokens):
        return source.splitlines()  # not Python (a shell escape, say): every line is text
    return [tok.string for tok in tokens if tok.type in (tokenize.COMMENT, tokenize.STRING)]


def student_text(nb) -> list[tuple[int, str]]:
    """(cell number, text) for every piece of text a student reads in the notebook."""
    texts = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            texts.append((i, cell.source))
        elif cell.cell_type == "code":
            texts.extend((i, text) for text in code_text(cell.source))
    return texts


def seeds_for_slides(text: str) -> list[str]:
    """Each "seed" in text that is not a random seed, with a little context."""
    found = []
    for m in SEED.finditer(text):
        if RANDOM_BEFORE.search(text[:m.start()]) or RANDOM_AFTER.match(text[m.end():]):
            continue
        found.append(text[max(0, m.start() - 30):m.end() + 30].replace("\n", " "))
    return found


@pytest.mark.parametrize("text", [
    "The seeds list what a good activation should offer",
    "In seed 001 the formulas lost their minus signs",
    "(Seed 002 writes the average as 1/n)",
    "One seed prints the identity as",
    "reproduces the seed's worked example",
    "The seed leaves two details open",
    "a seed slide states the complexity",
])
def test_the_rule_catches_the_source_documents_called_seeds(text):
    assert seeds_for_slides(text)


def test_code_cells_are_read_for_their_comments_and_strings_only():
    source = ('W1_seed = np.ones(2)  # the seed\'s weights\n'
              'plt.plot(x, label="seeds\' range")\n'
              'rng = np.random.default_rng(seed)\n')
    texts = code_text(source)
    assert texts == ["# the seed's weights", '"seeds\' range"']
    assert all(seeds_for_slides(text) for text in texts)
    assert code_text("!echo it's the seeds") == ["!echo it's the seeds"]


@pytest.mark.parametrize("text", [
    "drawn from a secret seed that exists only on the grading machine",
    "`rng` (an int seed, a `np.random.Generator` or None)",
    "no `np.random.seed` and no global `np.random` functions",
    "Some random seeds with 2 hidden units get stuck",
    "The public check uses the split with random seed 0",
    "the split with seed 0; the hidden check",
    "def layer_gradients(f, k, seed=0):",
    "same seed, same epoch:",
])
def test_the_rule_lets_random_seeds_through(text):
    assert seeds_for_slides(text) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_no_student_text_calls_the_slides_seeds(path):
    nb = nbformat.read(path, as_version=4)
    found = [(i, hit) for i, text in student_text(nb) for hit in seeds_for_slides(text)]
    assert found == [], f"say 'the lecture slides' or 'the notes' in {path.name}: {found}"


def seed_names(source: str) -> list[str]:
    """The names in a code cell built on "seed" other than `seed` itself (a random seed's
    parameter or `np.random.seed`): `W1_seed` says the weights come from the source
    documents."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    return [tok.string for tok in tokens if tok.type == tokenize.NAME
            and tok.string != "seed" and "seed" in tok.string.lower()]


def test_the_name_rule_catches_names_built_on_seed():
    assert seed_names("W1_seed = np.ones(2)\nx = f(seed=1)\nnp.random.seed(0)") == ["W1_seed"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_no_name_in_the_code_calls_the_slides_seeds(path):
    nb = nbformat.read(path, as_version=4)
    found = [(i, name) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             for name in seed_names(cell.source)]
    assert found == [], f"name them after the slides (W1_slides) in {path.name}: {found}"


def notes_box(nb) -> int | None:
    """Index of the lesson's "Notes on the slides" cell, checked to be its only one, its
    last markdown cell and one short line per note; None when it has none."""
    boxes = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "markdown" and c.source.startswith(BOX_TITLE)]
    if not boxes:
        return None
    assert len(boxes) == 1, f"more than one Notes on the slides box: cells {boxes}"
    markdown = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    assert boxes == markdown[-1:], "the Notes on the slides box must be the last markdown cell"
    lines = nb.cells[boxes[0]].source.splitlines()
    assert lines[:2] == [BOX_TITLE, ">"] and len(lines) > 2, lines[:3]
    for line in lines[2:]:
        assert line.startswith("> * "), f"one line per note, as '> * ...': {line!r}"
        shown = re.sub(r"\\[A-Za-z]+|[{}$^_\\]", "", line[4:])  # roughly as rendered
        assert len(shown) <= 150, f"a note of {len(shown)} characters: {line}"
    return boxes[0]


@pytest.mark.parametrize("lesson", LESSONS)
def test_slips_in_the_slides_are_noted_only_in_the_box_at_the_end(lesson):
    nb = nbformat.read(ROOT / "lectures" / lesson / f"{lesson}.ipynb", as_version=4)
    box = notes_box(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or i == box:
            continue
        for paragraph in re.split(r"\n\s*\n", cell.source):
            assert not (SLIP.search(paragraph) and SLIDES.search(paragraph)), (
                f"cell {i} remarks on a slip of the slides outside the Notes on the slides "
                f"box:\n{paragraph}")
            if "Notes on the slides" in paragraph:
                assert box is not None, f"cell {i} points to a Notes on the slides box: none"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_states_its_time_at_the_top(lesson):
    nb = nbformat.read(ROOT / "lectures" / lesson / f"{lesson}.ipynb", as_version=4)
    title, blank, time, *_ = nb.cells[0].source.splitlines() + ["", ""]
    assert title.startswith(f"# {lesson[:2]} · ") and blank == "", nb.cells[0].source[:200]
    m = TIME.match(time)
    assert m and any(m.groups()), f"line 3 of cell 1 should be '*About N minutes.*': {time!r}"
    minutes = 60 * int(m.group(1) or 0) + int(m.group(2) or 0)
    assert 10 <= minutes <= 180, minutes
