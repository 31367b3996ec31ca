"""00-welcome: the step function, the course's first graded exercise."""

import numpy as np

from autograder.registry import Case, Exercise, register


def _hidden(rng):
    return [
        Case((rng.normal(scale=3.0, size=rng.integers(1, 50)),), note="random inputs"),
        Case((rng.normal(size=(rng.integers(1, 6), rng.integers(1, 6))),), note="a 2-D batch"),
        Case((np.array([0.0, -0.0, 1e-300, -1e-300, 1000.0, -1000.0]),), note="edge values"),
        Case((np.zeros(0),), note="an empty batch"),
    ]


register(Exercise(
    name="step",
    lessons=("00-welcome",),
    signature="(z)",
    reference="nnlib.activations.step",
    public=lambda: [
        Case((np.array([-2.0, -0.5, 0.5, 2.0]),), note="clearly negative and positive"),
        Case((np.array([0.0]),), note="exactly at the threshold"),
        Case((np.array([[-1.0, 3.0, 0.0], [0.2, -7.5, 4.0]]),), note="a 2-D array keeps its shape"),
    ],
    hidden=_hidden,
    tolerance="exact",
    points=2,
    vectorized=lambda rows: Case((np.linspace(-2.0, 2.0, rows),), note=f"{rows} values"),
    mistakes={
        "z > 0 where z >= 0 is wanted: the unit fires at the threshold itself":
            lambda z: (np.asarray(z, dtype=float) > 0).astype(float),
        "the outputs are swapped: 1 below the threshold, 0 above":
            lambda z: (np.asarray(z, dtype=float) < 0).astype(float),
    },
))
