"""Collecting a student's outputs as data, and reading them back without trusting them.

Kernel side: after the submission's own cells, the grader runs one cell per exercise that
calls `collect(name, inputs, nonce)`. It looks the function up by name in the user
namespace, runs `autograder.judge.run_case` on every case the grader supplied (a pickle
written by the grader, read-only in the sandbox) and publishes the outcomes as one
display message of type MIME, in JSON: arrays travel as `np.save` bytes without pickle.

Grader side: `decode` rebuilds the outcomes from that JSON and rejects anything that is
not exactly what `encode` writes. Judging happens afterwards, in the grader's process.
"""

from __future__ import annotations

import base64
import io
import json
import pickle

import numpy as np

from autograder.judge import Outcome, Unserializable, run_case

MIME = "application/x-nncourse-outcomes+json"
MAX_BYTES = 64 * 2**20


class BadPayload(ValueError):
    """The kernel sent something that is not a well-formed set of outcomes."""


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
             "warnings": list(o.warnings)} for o in outcomes]


def _load_array(text) -> np.ndarray:
    if not isinstance(text, str):
        raise BadPayload("array data is not a string")
    try:
        return np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadPayload(f"bad array data: {exc}") from None


def _decode(x, depth=0):
    if depth > 40:
        raise BadPayload("nested too deeply")
    if x is None or isinstance(x, (bool, int, float, str)):
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
        if arr.ndim != 0:
            raise BadPayload("a scalar with a shape")
        return arr[()]
    if tag == "$unser" and isinstance(body, str):
        return Unserializable(body)
    if tag == "$complex" and isinstance(body, list) and len(body) == 2:
        return complex(*(float(v) for v in body))
    if tag == "$tuple" and isinstance(body, list):
        return tuple(_decode(v, depth + 1) for v in body)
    if tag == "$dict" and isinstance(body, list):
        if not all(isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], str)
                   for kv in body):
            raise BadPayload("malformed dict")
        return {k: _decode(v, depth + 1) for k, v in body}
    raise BadPayload(f"unknown tag {tag!r}")


def _decode_outcome(item) -> Outcome:
    if not isinstance(item, dict) or set(item) != {"value", "error", "error_message",
                                                    "warnings"}:
        raise BadPayload("an outcome must have exactly value, error, error_message, warnings")
    error, message, warns = item["error"], item["error_message"], item["warnings"]
    if not (error is None or isinstance(error, str)) or not isinstance(message, str):
        raise BadPayload("malformed error")
    if not isinstance(warns, list) or not all(isinstance(w, str) for w in warns):
        raise BadPayload("malformed warnings")
    return Outcome(value=_decode(item["value"]), error=error, error_message=message[:500],
                   warnings=warns[:20])


def decode(text: str, name: str, nonce: str, counts: tuple[int, int]):
    """(public outcomes, hidden outcomes) of exercise `name`, or None when it was not defined.

    `counts` is how many public and hidden cases the grader sent; anything else is rejected.
    """
    if not isinstance(text, str) or len(text) > MAX_BYTES:
        raise BadPayload("missing or too large")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadPayload(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("nonce") != nonce or data.get("name") != name:
        raise BadPayload("not the answer to this request")
    if data.get("defined") is False:
        return None
    parts = []
    for key, n in zip(("public", "hidden"), counts, strict=True):
        items = data.get(key)
        if not isinstance(items, list) or len(items) != n:
            raise BadPayload(f"expected {n} {key} outcomes")
        parts.append([_decode_outcome(i) for i in items])
    return tuple(parts)


def collect(name: str, inputs: str, nonce: str) -> None:
    """Kernel side: run the user's `name` on the grader's cases and publish the outcomes."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    with open(inputs, "rb") as f:
        cases = pickle.load(f)[name]
    fn = get_ipython().user_ns.get(name)
    message = {"nonce": nonce, "name": name, "defined": callable(fn)}
    if callable(fn):
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
