"""Every named mistake fails on every hidden seed.

For every exercise of the registry and every wrong implementation it names (`mistakes`),
runs the hidden check of N seeds through the path of `check(name, fn, hidden=True)`
(`cases_for`, `run_case`, `judge`) and counts the seeds on which the mistake passes. A
mistake that passes any seed would let that slip earn the points on that seed. Prints one
line per exercise, then every mistake that passed, and exits with status 1 if one did.
`tests/test_forbidden.py` runs the same for 20 seeds in CI.

Usage: python benchmarks/mistakes.py [--seeds 200] [--exercise NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from autograder import registry
from autograder.cases import cases_for
from autograder.judge import judge, run_case


def passing_seeds(exercise: registry.Exercise, wrong, seeds) -> list[int]:
    """The seeds whose hidden check `wrong` passes."""
    found = []
    for seed in seeds:
        cases = cases_for(exercise, True, seed)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcomes = [run_case(wrong, c) for c in cases]
        if judge(exercise, cases, outcomes, True).passed:
            found.append(seed)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--exercise", nargs="*", default=None)
    args = parser.parse_args(argv)
    slipped = []
    for exercise in registry.all_exercises():
        if not exercise.mistakes or args.exercise and exercise.name not in args.exercise:
            continue
        start = time.perf_counter()
        for description, wrong in exercise.mistakes.items():
            seeds = passing_seeds(exercise, wrong, range(args.seeds))
            if seeds:
                slipped.append((exercise.name, description, seeds))
        print(f"{exercise.name:24s} {len(exercise.mistakes):2d} mistakes x {args.seeds} seeds "
              f"{time.perf_counter() - start:6.1f} s", flush=True)
    for name, description, seeds in slipped:
        print(f"PASSES {len(seeds)}/{args.seeds} seeds: {name}: {description} "
              f"(seeds {seeds[:5]})")
    print(f"mistakes that pass some seed: {len(slipped)}")
    return 1 if slipped else 0


if __name__ == "__main__":
    sys.exit(main())
