"""The study-level tables the later stages read: runs.csv (and, later, measures.csv)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .grid import HYPERPARAMETERS

RUN_COLUMNS = (
    "run_id", "dataset", "arch", *HYPERPARAMETERS, "replicate", "seed",
    "epochs_run", "train_acc", "train_loss", "test_acc", "test_loss", "diverged", "wall_s",
)


def runs_table(metrics: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run from the runs' metrics.json contents, sorted by run id."""
    frame = pd.DataFrame([{column: m[column] for column in RUN_COLUMNS} for m in metrics], columns=list(RUN_COLUMNS))
    return frame.sort_values("run_id", ignore_index=True)
