"""The check of 00-welcome's `step` passes right answers however written and fails the
mistakes students make. `z` is "a NumPy array of any shape", so the most natural answer,
`np.where(z >= 0, 1.0, 0.0)`, must pass: it is the TYPED answer (see
test_case_contracts.py)."""

import numpy as np
import pytest
from checking import fails, passes

from autograder.cases import SEED_ENV


@pytest.fixture(autouse=True)
def _hidden_seed(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "20240600")


TYPED = {"step": lambda z: np.where(z >= 0, 1.0, 0.0)}


@pytest.mark.parametrize("right", [
    lambda z: (z >= 0).astype(float),
    lambda z: np.heaviside(z, 1.0),
    lambda z: 1.0 - np.signbit(np.where(z == 0, 0.0, z)),
    lambda z: (z >= 0) * 1.0,
], ids=["astype", "heaviside", "signbit", "multiply"])
def test_a_right_step_passes(right):
    passes("step", right)


@pytest.mark.parametrize(("wrong", "cause"), [
    (lambda z: np.where(z > 0, 1.0, 0.0), "z > 0 where z >= 0"),
    (lambda z: np.where(z >= 0, 0.0, 1.0), "the outputs are swapped"),
    (lambda z: np.where(z.ravel() >= 0, 1.0, 0.0), "shape"),
])
def test_a_wrong_step_fails(wrong, cause):
    assert cause in fails("step", wrong)
