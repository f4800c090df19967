"""Which runs count: the one rule every table and figure uses (SPEC §8: "models that diverged or did not fit the
training set are listed and left out, never silently").

- :func:`select_runs` splits a study's runs into those kept and those excluded, each exclusion with its reason;
- :func:`followed_runs` picks the runs Fig. 6 and 7 follow over training (highest, median, lowest test accuracy);
- :func:`rankable` says whether granulated Kendall has any group of kept runs to rank (else Fig. 4 is not drawn);
- :func:`enough_to_draw` says whether a figure over models has its minimum of kept runs.

Pure pandas: the DAG (rules/common.smk) calls these once training is done, so they import neither torch nor
matplotlib.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from .columns import as_bool, require_columns

__all__ = [
    "FOLLOWED_LABELS",
    "MIN_MODELS",
    "Selection",
    "as_bool",
    "enough_to_draw",
    "followed_runs",
    "rankable",
    "select_runs",
]

log = logging.getLogger(__name__)

ACCURACY = "test_acc"
FOLLOWED_LABELS = ("high", "mid", "low")
MIN_MODELS = 2  # no figure or statistic is drawn from fewer kept models


class Selection(NamedTuple):
    """``kept`` rows, and ``excluded`` rows with a ``reason`` column (several reasons joined by "; ")."""

    kept: pd.DataFrame
    excluded: pd.DataFrame


def select_runs(runs: pd.DataFrame, min_train_acc: float = 0.99) -> Selection:
    """Split runs into kept and excluded.

    A run is excluded if it diverged, if ``train_acc < min_train_acc`` (it did not fit the training set;
    accuracies are fractions), or if its train or test accuracy is missing or not finite.
    """
    require_columns(runs, ("diverged", "train_acc", ACCURACY), "select_runs")
    if not (isinstance(min_train_acc, (int, float)) and 0.0 <= float(min_train_acc) <= 1.0):
        raise ValueError(f"min_train_acc must be a fraction in [0, 1], got {min_train_acc!r}")
    diverged = as_bool(runs["diverged"])
    train = pd.to_numeric(runs["train_acc"], errors="coerce")
    test = pd.to_numeric(runs[ACCURACY], errors="coerce")
    reasons = []
    for idx in runs.index:
        why = []
        if diverged[idx]:
            why.append("diverged")
        if not np.isfinite(train[idx]):
            why.append("train_acc missing")
        elif train[idx] < min_train_acc:
            why.append(f"train_acc {train[idx]:.4f} < {min_train_acc:g} (not fitted)")
        if not np.isfinite(test[idx]):
            why.append("test_acc missing")
        reasons.append("; ".join(why))
    reason = pd.Series(reasons, index=runs.index, dtype=object)
    out = reason != ""
    excluded = runs.loc[out].copy()
    excluded["reason"] = reason[out]
    return Selection(runs.loc[~out].copy(), excluded)


def select_experiment(table: pd.DataFrame, run_ids: Iterable[str], min_train_acc: float = 0.99) -> Selection:
    """:func:`select_runs` of the rows of ``table`` (runs.csv or measures.csv) whose run is one of ``run_ids`` (an
    experiment's), each exclusion logged with its reason."""
    require_columns(table, ("run_id",), "select_experiment")
    selection = select_runs(table[table["run_id"].isin(list(run_ids))], min_train_acc)
    for row in selection.excluded.itertuples():
        log.warning("left out %s: %s", row.run_id, row.reason)
    return selection


def followed_runs(runs: pd.DataFrame, min_train_acc: float = 0.99) -> dict[str, str]:
    """The run ids of the kept runs with the highest, median and lowest test accuracy: ``{"high", "mid", "low"}``,
    or ``{}`` when fewer than 3 runs are kept (Fig. 6 and 7 are then not drawn).

    Runs are sorted by (test_acc, run_id): "low" is the first, "high" the last, "mid" the one at (n - 1) // 2, so
    ties are broken by run id and the three are distinct. ``runs`` must hold one experiment (accuracies of different
    data sets are not comparable).
    """
    require_columns(runs, ("run_id",), "followed_runs")
    context = [c for c in ("dataset", "arch") if c in runs.columns]
    experiments = runs[context].drop_duplicates() if context else runs.iloc[:0]
    if len(experiments) > 1:
        raise ValueError(f"followed_runs: several experiments {experiments.values.tolist()}; pass one")
    kept = select_runs(runs, min_train_acc).kept
    if len(kept) < 3:
        return {}
    order = kept.assign(_id=kept["run_id"].astype(str)).sort_values([ACCURACY, "_id"])
    ids = order["_id"].tolist()
    return dict(zip(FOLLOWED_LABELS, (ids[-1], ids[(len(ids) - 1) // 2], ids[0]), strict=True))


def enough_to_draw(kept: pd.DataFrame) -> bool:
    """Whether a figure over models can be drawn from these kept runs (at least :data:`MIN_MODELS`)."""
    return len(kept) >= MIN_MODELS


def rankable(kept: pd.DataFrame) -> bool:
    """Whether any granulated-Kendall axis has a group of kept runs to rank (>= 2 runs, >= 2 values of the axis)."""
    from .kendall import granulated_kendall

    return len(kept) > 1 and granulated_kendall(kept, ACCURACY, orientation=1)["total"] is not None
