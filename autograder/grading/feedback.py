"""What a student gets back: `results.json` and `feedback.html`, written atomically.

Both hold, per exercise, the score, the status and the message of the public check
followed by the hidden check's summary ("k of n hidden cases failed" and a hint), plus
the notes about cells that timed out, crashed or were restored. Nothing else from the
notebook is included: no inputs, sources or tracebacks of hidden cases. Every string is
passed through `clean` first, so that nothing a student returned, printed or named (a lone
surrogate, say) can make a write fail, and the HTML escapes all of it.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path

from autograder.grading.collect import clean_text
from autograder.grading.result import ResultError, StudentResult


def clean(value):
    """`value` (nested dicts, lists and strings) with every string writable as UTF-8."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def cleaned(result: StudentResult) -> StudentResult:
    """`result` with every string writable as UTF-8 (see `clean`)."""
    return StudentResult.from_json(clean(result.to_json()))


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def html_page(result: StudentResult) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{e.score:g} / {e.max:g}</td>"
        f"<td>{esc(e.status)}</td><td><pre>{esc(e.message)}</pre></td></tr>"
        for name, e in result.exercises.items())
    notes = "".join(f"<li>{esc(n)}</li>" for n in result.notes)
    pending = (f"<p>{result.by_hand:g} of the {result.max_score:g} points are for written "
               "answers that your instructor grades by hand; they are not in this score yet."
               "</p>" if result.by_hand else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(result.lesson)}: feedback for {esc(result.student_id)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.4em;vertical-align:top}}
pre{{white-space:pre-wrap;margin:0}}</style></head><body>
<h1>{esc(result.lesson)}</h1>
<p>Student: {esc(result.student_id)}.
Score: <b>{result.score:g} / {result.max_score:g}</b>. Status: {esc(result.status)}.</p>
{pending}
<table><tr><th>exercise</th><th>score</th><th>status</th><th>message</th></tr>{rows}</table>
{f'<h2>Notes</h2><ul>{notes}</ul>' if notes else ''}
</body></html>
"""


def write_student(folder: Path, result: StudentResult) -> None:
    """feedback.html first, results.json last: a results.json means the student is done."""
    result = cleaned(result)
    write_atomic(folder / "feedback.html", html_page(result))
    write_atomic(folder / "results.json",
                 json.dumps(result.to_json(), indent=1, ensure_ascii=False))


def load_student(folder: Path) -> StudentResult:
    """The student's results.json; OSError when it cannot be read, ValueError (ResultError
    naming the file and the field) when it is not a result."""
    path = folder / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ResultError(f"{path}: not JSON ({exc})") from None
    return StudentResult.from_json(data, str(path))


def read_student(folder: Path) -> StudentResult | None:
    """The student's result, or None when there is none to use: a results.json missing,
    unreadable or not a result (the grader grades that student again)."""
    try:
        return load_student(folder)
    except (OSError, ValueError):
        return None
