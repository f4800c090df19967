"""The study-level tables the later stages read: runs.csv and measures.csv."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .controls import control_column
from .grid import HYPERPARAMETERS
from .registry import measures_for

RUN_COLUMNS = (
    "run_id", "dataset", "arch", *HYPERPARAMETERS, "replicate", "seed",
    "epochs_run", "train_acc", "train_loss", "test_acc", "test_loss", "diverged", "wall_s",
)  # fmt: skip


def runs_table(metrics: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run from the runs' metrics.json contents, sorted by run id. ``train_size`` is the number of
    images the run trained on (``n_train``), the whole split's included, so that the axis compares numbers."""
    rows = [{**{c: m[c] for c in RUN_COLUMNS if c != "train_size"}, "train_size": m["n_train"]} for m in metrics]
    frame = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    return frame.sort_values("run_id", ignore_index=True)


def at_bound_column(measure: str) -> str:
    """The measures.csv column flagging a sharpness value that ended at a bound of its search."""
    return f"{measure}_at_bound"


def measures_table(
    runs: pd.DataFrame,
    run_ids: Sequence[str],
    measures: Sequence[Mapping[str, Any]],
    untrained: Sequence[Mapping[str, Any]],
    sharpness: Sequence[Mapping[str, Any]],
    complexity: Sequence[Mapping[str, Any]],
    pixels: Mapping[str, Mapping[str, float]],
) -> pd.DataFrame:
    """runs.csv with one column per registered measure (those needing subclasses only where the dataset has them;
    sharpness empty for a skipped run, ``<measure>_at_bound`` "lower"/"upper" where its search hit a bound), then the
    controls: ``<measure>_untrained`` (the run's epoch-0 network),
    ``<measure>_shuffled`` (subclasses shuffled within superclasses) and ``<measure>_pixels`` (the run's dataset's
    input pixels, ``pixels[dataset]``) for the measures computed from pre-activations. ``measures``, ``untrained``,
    ``sharpness`` and ``complexity`` (the model-stage measures, null where undefined) are the runs' JSON in
    ``run_ids`` order."""
    datasets = runs.set_index("run_id")["dataset"]
    rows = []
    for run_id, m, u, s, c in zip(run_ids, measures, untrained, sharpness, complexity, strict=True):
        row = {"run_id": run_id}
        for measure in measures_for():
            if measure.stage == "model":
                row[measure.name] = c["measures"].get(measure.name)
                continue
            if measure.stage == "sharpness":
                row[measure.name] = s.get(measure.name)
                row[at_bound_column(measure.name)] = s.get(at_bound_column(measure.name))  # "lower", "upper"
                continue
            row[measure.name] = m["measures"].get(measure.name)
            row[control_column(measure.name, "untrained")] = u["measures"].get(measure.name)
            row[control_column(measure.name, "pixels")] = pixels[datasets[run_id]].get(measure.name)
            row[control_column(measure.name, "shuffled")] = m.get("controls", {}).get("shuffled", {}).get(measure.name)
        rows.append(row)
    values = pd.DataFrame(rows)
    # a measure the dataset cannot have (c1 without subclasses) leaves no column; a sharpness measure's at-bound
    # flags stay, empty where no search hit a bound, so that "0 values at a bound" is stated rather than left out
    kept = [c for c in values.columns if values[c].notna().any() or _flags_a_computed_measure(values, c)]
    return runs.merge(values[kept], on="run_id", how="left", validate="one_to_one")


def _flags_a_computed_measure(values: pd.DataFrame, column: str) -> bool:
    measure = column.removesuffix("_at_bound")
    return column != measure and measure in values.columns and values[measure].notna().any()
