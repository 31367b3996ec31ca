"""Every lesson reads in one sitting: at most MAX_WORDS words of running text.

The running text is the prose of a lesson's markdown cells in solutions/. Code (fenced
blocks and `spans`), LaTeX ($...$ and $$...$$) and HTML tags are not words, and neither is
what a collapsible "going further" block holds (a `<details>` whose summary starts with
"Going further"), which a student opens only if they want more, nor the model answer of a
written question (between `### BEGIN SOLUTION` and `### END SOLUTION`), which the release
replaces with "YOUR ANSWER HERE".

`python tests/test_lesson_length.py` prints each lesson's count.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
MAX_WORDS = 3500

GOING_FURTHER = re.compile(
    r"<details>\s*<summary>(?:\s*<[^>]+>)*\s*Going further.*?</details>", re.S | re.I)
NOT_PROSE = [
    re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION", re.S),  # the model answer
    re.compile(r"```.*?```", re.S),           # fenced code
    re.compile(r"\$\$.*?\$\$", re.S),         # display math
    re.compile(r"(?<!\\)\$.+?(?<!\\)\$", re.S),  # inline math
    re.compile(r"`[^`]*`"),                   # code spans
    re.compile(r"<[^>]+>"),                   # HTML tags (their text stays)
]
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def prose_words(markdown: str) -> int:
    """The number of words of running text in one markdown cell."""
    text = GOING_FURTHER.sub(" ", markdown)
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return len(WORD.findall(text))


def lesson_words(lesson: str) -> int:
    nb = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    return sum(prose_words(c.source) for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("text, words", [
    ("The **delta** is $\\delta = \\partial L/\\partial z$, one per unit.", 6),
    ("Call `sigmoid(z)` and compare:\n\n```python\nprint(1 + 1)\n```\n", 3),
    ("$$\nE = \\tfrac12 (T - O)^2\n$$\nthe error", 2),
    ("Two <b>bold</b> words.\n\n<details>\n<summary><b>Going further:</b> more</summary>\n\n"
     "Many words a student may skip here.\n</details>\n", 3),
    ("<details><summary>Going further: why</summary>\nskipped\n</details>\nkept", 1),
    ("<details>\n<summary><b>The derivation</b></summary>\nread this\n</details>", 4),
    ("### BEGIN SOLUTION\nThe model answer.\n### END SOLUTION", 0),
    ("Don't count x-ray as two; 3 → 2 → 1 is three.", 10),
])
def test_prose_words_counts_running_text_only(text, words):
    assert prose_words(text) == words


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_reads_in_one_sitting(lesson):
    words = lesson_words(lesson)
    assert words <= MAX_WORDS, (f"{lesson} has {words} words of running text, more than "
                                f"{MAX_WORDS}: move digressions into 'Going further' blocks "
                                "or tighten the prose")


if __name__ == "__main__":
    for name in sys.argv[1:] or LESSONS:
        print(f"{name:<20} {lesson_words(name):>5}")
