"""Collecting a student's outputs as data, and reading them back without trusting them.

Kernel side: after the submission's own cells, the grader runs one cell per exercise that
calls `collect(name, inputs, nonce)`. It looks the function up by name in the user
namespace, runs `autograder.judge.run_case` on every case the grader supplied (a pickle
written by the grader, read-only in the sandbox) and publishes the outcomes as one
display message of type MIME, in JSON: arrays travel as `np.save` bytes without pickle.

Once every exercise has been collected as written, the exercises that call earlier graded
functions (`Exercise.uses`) are collected once more with correct versions of those bound in
their namespace (`autograder.given`): the grader sends nnlib's sources only then, so nothing
the student's code ran before could use them, and for each exercise a copy of its own in
which that exercise's reference is a stub (`autograder.given.sources`).

Grader side: `decode` rebuilds the outcomes from that JSON and rejects anything that is
not exactly what `encode` writes. Judging happens afterwards, in the grader's process.
What it accepts is bounded, so that no answer can make the grader's memory grow without
end: at most MAX_BYTES of JSON and MAX_ITEMS values per exercise (`TooLarge` beyond,
checked before parsing), arrays whose header matches their data exactly, of numeric
dtypes only (any other dtype, a timedelta64 say, arrives as `Unserializable`, which the
judge reports as a wrong type), and strings without lone surrogates (replaced by U+FFFD),
each text field cut to a length that a message can show.
"""

from __future__ import annotations

import base64
import io
import json
import math
import pickle
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from autograder.given import bound, load
from autograder.judge import Outcome, Unserializable, run_case

MIME = "application/x-nncourse-outcomes+json"
# The largest answer of a correct solution is 8.5 MB (09-regularization's dropout_forward,
# whose statistical cases are large); everything else is under 1.5 MB.
MAX_BYTES = 16 * 2**20
# JSON values per exercise: parsed JSON costs 30 to 60 bytes of memory per value, so this,
# not the byte count, bounds what a flood of tiny values costs. Arrays count as one value.
MAX_ITEMS = 2**20
NUMERIC_KINDS = "biufc"
TEXT_CAP = 500
NAME_CAP = 100
WARNINGS_CAP = 20
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadPayload(ValueError):
    """The kernel sent something that is not a well-formed set of outcomes."""


class TooLarge(BadPayload):
    """A well-behaved kernel would never send this much: the grader refuses to read it."""


def clean_text(text: str, cap: int | None = None) -> str:
    """`text` with lone surrogates (which no file can hold) replaced by U+FFFD, cut to `cap`."""
    if cap is not None and len(text) > cap:
        text = text[:cap] + "…"
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _array_bytes(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _encode(x):
    if isinstance(x, Unserializable):
        return {"$unser": str(x)}
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, complex):
        return {"$complex": [x.real, x.imag]}
    if isinstance(x, np.generic):
        return {"$scalar": _array_bytes(np.asarray(x))}
    if isinstance(x, np.ndarray):
        return {"$nd": _array_bytes(x)}
    if isinstance(x, tuple):
        return {"$tuple": [_encode(v) for v in x]}
    if isinstance(x, list):
        return [_encode(v) for v in x]
    if isinstance(x, dict):
        return {"$dict": [[str(k), _encode(v)] for k, v in x.items()]}
    return {"$unser": type(x).__name__}


def encode(outcomes: list[Outcome]) -> list[dict]:
    return [{"value": _encode(o.value), "error": o.error, "error_message": o.error_message,
             "warnings": list(o.warnings), "seeded": list(o.seeded), "lines": o.lines}
            for o in outcomes]


def _load_array(text):
    """The array in `text` (base64 of `np.save` bytes), or `Unserializable` naming its dtype
    when it is not numeric. The header must describe exactly the bytes that follow it."""
    if not isinstance(text, str):
        raise BadPayload("array data is not a string")
    try:
        raw = base64.b64decode(text, validate=True)
        buf = io.BytesIO(raw)
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buf)
        else:
            raise BadPayload(f"unexpected .npy version {version}")
    except BadPayload:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a malformed header raises
        raise BadPayload(f"bad array header: {type(exc).__name__}") from None
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise BadPayload("bad array shape")
    count = math.prod(shape)
    if dtype.hasobject:  # `encode` never sends one: only pickle could load it
        raise BadPayload("an array of Python objects")
    if dtype.kind not in NUMERIC_KINDS or dtype.shape or dtype.names:
        return Unserializable(f"{dtype.name[:NAME_CAP]} array")
    if dtype.itemsize * count != len(raw) - buf.tell():
        raise BadPayload("array data does not match its header")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=buf.tell())
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def _decode(x, depth=0):
    if depth > 40:
        raise BadPayload("nested too deeply")
    if isinstance(x, str):
        return clean_text(x)
    if x is None or isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, list):
        return [_decode(v, depth + 1) for v in x]
    if not isinstance(x, dict) or len(x) != 1:
        raise BadPayload(f"unexpected value {type(x).__name__}")
    (tag, body), = x.items()
    if tag == "$nd":
        return _load_array(body)
    if tag == "$scalar":
        arr = _load_array(body)
        if isinstance(arr, Unserializable):
            return Unserializable(arr.removesuffix(" array"))
        if arr.ndim != 0:
            raise BadPayload("a scalar with a shape")
        return arr[()]
    if tag == "$unser" and isinstance(body, str):
        return Unserializable(clean_text(body, NAME_CAP))
    if tag == "$complex" and isinstance(body, list) and len(body) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in body):
        return complex(*(float(v) for v in body))
    if tag == "$tuple" and isinstance(body, list):
        return tuple(_decode(v, depth + 1) for v in body)
    if tag == "$dict" and isinstance(body, list):
        if not all(isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], str)
                   for kv in body):
            raise BadPayload("malformed dict")
        return {clean_text(k): _decode(v, depth + 1) for k, v in body}
    raise BadPayload(f"unknown tag {tag!r}")


def _decode_outcome(item) -> Outcome:
    if not isinstance(item, dict) or set(item) != {"value", "error", "error_message",
                                                    "warnings", "seeded", "lines"}:
        raise BadPayload("an outcome must have exactly value, error, error_message, warnings, "
                         "seeded, lines")
    error, message, warns = item["error"], item["error_message"], item["warnings"]
    seeded, lines = item["seeded"], item["lines"]
    if not isinstance(seeded, list) or len(seeded) > 3 or not all(
            isinstance(d, str) for d in seeded):
        raise BadPayload("malformed seeded")
    if not (lines is None or type(lines) is int and lines >= 0):
        raise BadPayload("malformed lines")
    if not (error is None or isinstance(error, str)) or not isinstance(message, str):
        raise BadPayload("malformed error")
    if not isinstance(warns, list) or not all(isinstance(w, str) for w in warns):
        raise BadPayload("malformed warnings")
    return Outcome(value=_decode(item["value"]),
                   error=None if error is None else clean_text(error, NAME_CAP),
                   error_message=clean_text(message, TEXT_CAP),
                   warnings=[clean_text(w, TEXT_CAP) for w in warns[:WARNINGS_CAP]],
                   seeded=[clean_text(d, NAME_CAP) for d in seeded], lines=lines)


def size_of(text: str) -> tuple[int, int]:
    """(characters, an upper bound on the JSON values) of a payload, without parsing it:
    every value but the first follows a `[`, `,` or `:`, and base64 holds none of them."""
    return len(text), text.count(",") + text.count("[") + text.count(":") + 1


def decode(text: str, name: str, nonce: str, counts: tuple[int, int]):
    """(public outcomes, hidden outcomes) of exercise `name`, or None when it was not defined.

    `counts` is how many public and hidden cases the grader sent; anything else is rejected
    (`BadPayload`), and so is anything larger than MAX_BYTES or MAX_ITEMS (`TooLarge`).
    """
    if not isinstance(text, str):
        raise BadPayload("missing")
    chars, items = size_of(text)
    if chars > MAX_BYTES or items > MAX_ITEMS:
        raise TooLarge(f"{chars / 2**20:.1f} MB in about {items:,} values")
    try:
        return _decode_message(text, name, nonce, counts)
    except BadPayload:
        raise
    except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError, ...: refused
        raise BadPayload(f"could not be read: {type(exc).__name__}") from None


def _decode_message(text, name, nonce, counts):
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadPayload(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("nonce") != nonce or data.get("name") != name:
        raise BadPayload("not the answer to this request")
    if data.get("too_large") is True:
        raise TooLarge(f"over {MAX_BYTES // 2**20} MB (measured in the kernel)")
    if data.get("defined") is False:
        return None
    parts = []
    for key, n in zip(("public", "hidden"), counts, strict=True):
        items = data.get(key)
        if not isinstance(items, list) or len(items) != n:
            raise BadPayload(f"expected {n} {key} outcomes")
        parts.append([_decode_outcome(i) for i in items])
    return tuple(parts)


def _given_folder(nonce: str, name: str) -> Path:
    return Path(tempfile.gettempdir(), f"nncourse-given-{nonce}", name, "nnlib")


def unpack(nonce: str, name: str, sources: dict[str, str]) -> Path:
    """Kernel side: write the copy of nnlib's sources ({file name: text}) made for exercise
    `name` where `collect(name, ..., uses=...)` loads its correct versions from."""
    folder = _given_folder(nonce, name)
    folder.mkdir(parents=True, exist_ok=True)
    for file, text in sources.items():
        (folder / Path(file).name).write_text(text)
    return folder


def collect(name: str, inputs: str, nonce: str, uses: dict[str, str] | None = None,
            sources: dict[str, str] | None = None) -> None:
    """Kernel side: run the user's `name` on the grader's cases and publish the outcomes;
    with `uses` ({name: dotted path in nnlib}), with those names bound to the correct
    versions loaded from `sources`, the copy of nnlib made for this exercise
    (`autograder.given.sources`), whose files are gone again before the function runs."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    with open(inputs, "rb") as f:
        cases = pickle.load(f)[name]
    namespace = get_ipython().user_ns
    fn = namespace.get(name)
    message = {"nonce": nonce, "name": name, "defined": callable(fn)}
    if callable(fn):
        functions = {}
        if uses:
            folder = unpack(nonce, name, sources or {})
            try:
                functions = load(folder, uses)
            finally:
                shutil.rmtree(folder.parent, ignore_errors=True)
        with bound(getattr(fn, "__globals__", namespace), functions):
            for key in ("public", "hidden"):
                message[key] = encode([run_case(fn, c) for c in cases[key]])
    text = json.dumps(message)
    if len(text) > MAX_BYTES:
        text = json.dumps({"nonce": nonce, "name": name, "too_large": True})
    publish_display_data({MIME: text})


class _NoOutputs(dict):
    """A history of cell outputs that keeps nothing."""

    def __contains__(self, key):
        return False

    def __getitem__(self, key):
        return []


def prepare_kernel(limit: int = 2**16) -> None:
    """Kernel side, at start: keep a flood of output from exhausting the kernel's memory.

    Two things hold on to output that the grader has not seen yet. IPython keeps every
    string a cell prints, for its history; that store is replaced by one that keeps
    nothing. And ipykernel buffers output and sends it from a background thread, which a
    cell printing in a tight loop starves; so each stream now flushes every `limit`
    characters, and the grader sees the flood, and stops it, as it happens.
    """
    import sys

    from IPython import get_ipython

    get_ipython().history_manager.outputs = _NoOutputs()
    for stream in (sys.stdout, sys.stderr):
        _flush_every(stream, limit)


def _flush_every(stream, limit: int) -> None:
    write, pending = stream.write, [0]

    def bounded_write(text):
        n = write(text)
        pending[0] += len(text)
        if pending[0] > limit:
            pending[0] = 0
            stream.flush()
        return n

    stream.write = bounded_write
