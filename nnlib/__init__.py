"""nnlib: the course's reference implementation, vectorized NumPy in the slides' notation.

Submodules load on first use, so `import nnlib` stays cheap and never pulls in matplotlib
or ipywidgets (only `nnlib.plot` and `nnlib.widgets` do, when you use them)::

    import nnlib
    nnlib.activations.sigmoid([0.0, 2.0])
"""

import importlib

__all__ = [
    "activations", "approximation", "autodiff", "batchnorm", "datasets", "diagnostics", "gates",
    "gradcheck", "losses",
    "metrics", "network", "neurons", "optim", "plot", "race", "regularization", "surface",
    "train", "widgets",
]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'nnlib' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
