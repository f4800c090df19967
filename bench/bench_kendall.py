"""Time the granulated-Kendall interval tables of the paper's study (goal: all three under 60 s on 2 cores).

Fabricates the paper's 528 runs (:func:`intraclass.grid.paper_grid` for ResNet on cifar100-coarse and cifar100, VGG
on cifar10), each with the 8 registered measures, a test accuracy and a 10,000-image correctness matrix drawn at
that accuracy (``--replicates R`` makes R seeds of every configuration), then times
:func:`intraclass.kendall.kendall_interval_table` with 1,000 resamples (test images and, with replicates, seeds)
per experiment, as the ``kendall`` rule would, and prints seconds per experiment and in all against the goal.

    python bench/bench_kendall.py [--resamples 1000] [--test-images 10000] [--replicates 1] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from intraclass.grid import paper_grid
from intraclass.kendall import interval_markdown, kendall_interval_table
from intraclass.registry import MEASURES

GOAL_S = 60.0
PAPER_PAIRS = (("cifar100-coarse", "resnet"), ("cifar100", "resnet"), ("cifar10", "vgg"))


def fabricate(
    dataset: str, arch: str, n_test: int, replicates: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """One experiment's runs (measures follow accuracy with noise) and their per-image correctness."""
    runs = [replace(run, replicate=r) for run in paper_grid(dataset, arch) for r in range(replicates)]
    df = pd.DataFrame([run.as_dict() for run in runs])
    target = 0.6 + 0.1 * df["augment"] - 0.5 * df["lr"] + 0.03 * rng.standard_normal(len(df))
    correct = rng.random((len(df), n_test)) < target.to_numpy()[:, None]
    df["test_acc"] = correct.mean(axis=1)
    for m in MEASURES.values():
        df[m.name] = m.orientation * (df["test_acc"] + 0.05 * rng.standard_normal(len(df)))
    return df, correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--test-images", type=int, default=10_000)
    parser.add_argument("--replicates", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    studies = [(f"{d}_{a}", *fabricate(d, a, args.test_images, args.replicates, rng)) for d, a in PAPER_PAIRS]
    print(
        f"{sum(len(df) for _, df, _ in studies)} runs, {len(MEASURES)} measures, {args.test_images:,} test images, "
        f"{args.resamples:,} resamples, {args.replicates} replicate(s) per configuration, "
        f"{os.cpu_count()} CPUs visible"
    )
    total = 0.0
    for name, df, correct in studies:
        start = time.perf_counter()
        table = kendall_interval_table(df, list(MEASURES), correct=correct, n_resamples=args.resamples, seed=0)
        seconds = time.perf_counter() - start
        total += seconds
        c3 = table.loc[("c3", "total")]
        print(
            f"{name:24s} {len(df):4d} runs  {seconds:6.2f} s   c3 total {c3.value:.3f} [{c3.lo:.3f}, {c3.hi:.3f}] "
            f"over {c3.n_pairs} pairs"
        )
    print(f"all three tables: {total:.2f} s (goal < {GOAL_S:g} s: {'met' if total < GOAL_S else 'NOT met'})")
    print()
    print(interval_markdown(table))


if __name__ == "__main__":
    main()
