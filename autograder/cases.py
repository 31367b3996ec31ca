"""The cases of an exercise: the public ones, and the hidden ones drawn from the secret seed.

The seed exists only at grading time: the environment variable NNCOURSE_HIDDEN_SEED, else
the file named by NNCOURSE_SEED_FILE, else (for `nncourse grade`, which passes the course
root) ROOT/grading/hidden-seed, created with a fresh seed the first time. Without any of
them (an instructor running a solution notebook) every run draws fresh cases.

Both `check()` in a notebook and the grader draw their cases here, so the grader never
imports the notebook-facing `autograder.checker`.
"""

from __future__ import annotations

import copy
import os
import secrets
import tempfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from autograder import registry
from autograder.judge import LOOP_FACTOR, LOOP_ROWS, parameter_names

SEED_ENV = "NNCOURSE_HIDDEN_SEED"
SEED_FILE_ENV = "NNCOURSE_SEED_FILE"


def seed_file(root: Path) -> Path:
    """The grader's seed file: NNCOURSE_SEED_FILE, else ROOT/grading/hidden-seed."""
    return Path(os.environ.get(SEED_FILE_ENV) or root / "grading" / "hidden-seed")


def hidden_seed(root: Path | None = None) -> int:
    """The secret seed of hidden cases (see the module docstring): with `root`, the seed
    file is created, readable by its owner only, when it does not exist yet."""
    if os.environ.get(SEED_ENV):
        return int(os.environ[SEED_ENV])
    if root is None and not os.environ.get(SEED_FILE_ENV):
        return int(np.random.SeedSequence().entropy % 2**63)
    path = seed_file(root)
    if root is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        with os.fdopen(fd, "w") as f:
            f.write(f"{secrets.randbits(63)}\n")
        os.replace(tmp, path)
    return int(path.read_text().strip())


def cases_for(exercise: registry.Exercise, hidden: bool, seed: int | None = None):
    """The public cases, or the hidden ones drawn from `seed` (default: `hidden_seed()`).

    The hidden cases end with the public ones (but for an exercise with `verify`, whose
    cases are large or slow), so whatever the public cases catch, the hidden ones catch on
    every seed. Every case of a pure exercise is read-only; a case that passes an `rng` is
    also run with another seed (`reseeded`); an exercise that must be `vectorized` ends with
    its two `count_lines` cases."""
    if not hidden:
        cases = exercise.public()
    else:
        seed = hidden_seed() if seed is None else seed
        # One stream per exercise, so its cases do not depend on which others ran first.
        rng = np.random.default_rng([seed, zlib.crc32(exercise.name.encode())])
        cases = exercise.hidden(rng)
        if exercise.verify is None:
            cases = cases + exercise.public()
    if exercise.vectorized is not None:
        cases = cases + [replace(exercise.vectorized(rows), count_lines=True)
                         for rows in (LOOP_ROWS, LOOP_ROWS * LOOP_FACTOR)]
    position = _rng_position(exercise) if exercise.reseed else None
    if position is not None:
        cases = [_reseeded(c, *position) for c in cases]
    return [replace(c, read_only=True) for c in cases] if exercise.pure else cases


def _rng_position(exercise: registry.Exercise) -> tuple[int, str] | None:
    """(index, name) of the parameter `rng` of the exercise's signature, if it has one."""
    names = parameter_names(exercise.signature)
    return (names.index("rng"), "rng") if "rng" in names else None


def _reseeded(case: registry.Case, index: int, name: str) -> registry.Case:
    """`case` with `reseeded` set when it passes a seed or a Generator as `rng`."""
    if name in case.kwargs:
        value = case.kwargs[name]
    elif index < len(case.args):
        value = case.args[index]
    else:
        return case
    if isinstance(value, np.random.Generator):
        other = np.random.default_rng(copy.deepcopy(value).integers(2**63))
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        other = int(np.random.SeedSequence([int(value), 1]).generate_state(1)[0])
    else:
        return case
    if name in case.kwargs:
        return replace(case, reseeded=(case.args, {**case.kwargs, name: other}))
    args = list(case.args)
    args[index] = other
    return replace(case, reseeded=(tuple(args), case.kwargs))
