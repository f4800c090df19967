"""The study-level tables the later stages read: runs.csv (and, later, measures.csv)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .grid import HYPERPARAMETERS

RUN_COLUMNS = (
    "run_id",
    "dataset",
    "arch",
    *HYPERPARAMETERS,
    "replicate",
    "seed",
    "epochs_run",
    "train_acc",
    "train_loss",
    "test_acc",
    "test_loss",
    "diverged",
    "wall_s",
)


def runs_table(metrics: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run from the runs' metrics.json contents, sorted by run id."""
    frame = pd.DataFrame([{column: m[column] for column in RUN_COLUMNS} for m in metrics], columns=list(RUN_COLUMNS))
    return frame.sort_values("run_id", ignore_index=True)


MEASURE_COLUMNS = ("c1", "c2", "c3", "c4")
SHARPNESS_COLUMNS = ("inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp")


def measures_table(
    runs: pd.DataFrame,
    run_ids: Sequence[str],
    measures: Sequence[Mapping[str, Any]],
    sharpness: Sequence[Mapping[str, Any]],
) -> pd.DataFrame:
    """runs.csv with one column per measure (c1, c2 only where the dataset has subclasses) and the four sharpness
    measures (empty for a skipped run); ``measures`` and ``sharpness`` are the runs' JSON in ``run_ids`` order."""
    rows = [
        {"run_id": run_id, **{c: m.get(c) for c in MEASURE_COLUMNS}, **{c: s.get(c) for c in SHARPNESS_COLUMNS}}
        for run_id, m, s in zip(run_ids, measures, sharpness, strict=True)
    ]
    values = pd.DataFrame(rows).dropna(axis=1, how="all")
    return runs.merge(values, on="run_id", how="left", validate="one_to_one")
