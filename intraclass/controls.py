"""Controls (SPEC §11): what a measure scores where nothing was learned, computed by the same code on the same
training images as the trained models.

- ``untrained``: the network at initialisation (the epoch-0 snapshot of every run);
- ``pixels``: the normalized input images as the only "layer" (one per data set);
- ``shuffled``: the trained network with its subclass labels permuted within each superclass (measures that need
  subclasses only): subclasses it cannot have learned, of the same sizes.

A trained model's measure is said to *beat* a control when, oriented (registry orientation), it exceeds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .registry import measures_for

__all__ = ["CONTROLS", "control_column", "control_verdicts", "pixel_layer", "shuffle_within_superclass"]

CONTROLS = {
    "untrained": "the same network at initialisation (epoch 0)",
    "pixels": "the normalized input pixels as the only layer",
    "shuffled": "subclass labels shuffled within each superclass",
}


def control_column(measure: str, control: str) -> str:
    """The measures.csv column of a measure's control value, e.g. ``c1_untrained``."""
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; expected one of {list(CONTROLS)}")
    return f"{measure}_{control}"


def shuffle_within_superclass(labels: np.ndarray, sublabels: np.ndarray, seed: int) -> np.ndarray:
    """``sublabels`` permuted among the samples of each superclass (``labels``): each superclass keeps its
    subclasses and their sizes, but which sample carries which subclass is random (seeded)."""
    labels, sublabels = np.asarray(labels), np.asarray(sublabels)
    if labels.shape != sublabels.shape:
        raise ValueError(f"labels {labels.shape} and sublabels {sublabels.shape} differ in shape")
    rng = np.random.default_rng(seed)
    shuffled = sublabels.copy()
    for superclass in np.unique(labels):
        where = np.flatnonzero(labels == superclass)
        shuffled[where] = sublabels[rng.permutation(where)]
    return shuffled


def pixel_layer(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Images (N, C, H, W) normalized per channel as the networks see them, flattened to (N, C*H*W) float32."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {x.shape}")
    shape = (1, -1, 1, 1)
    x = (x - np.asarray(mean, np.float32).reshape(shape)) / np.asarray(std, np.float32).reshape(shape)
    return x.reshape(len(x), -1)


def control_verdicts(measures: pd.DataFrame) -> pd.DataFrame:
    """Per preactivation measure and control present in ``measures`` (the kept runs of measures.csv): how many
    runs have both values, the median trained and control values, the fraction of runs whose (oriented) trained
    value beats the control, and the verdict "beats" (every run), "mostly beats" (more than half), or "does not
    beat"."""
    rows = []
    for m in measures_for(measures.columns, stage="preactivations"):
        for control in CONTROLS:
            column = control_column(m.name, control)
            if column not in measures.columns:
                continue
            both = measures[[m.name, column]].apply(pd.to_numeric, errors="coerce").dropna()
            if both.empty:
                continue
            wins = float(((both[m.name] - both[column]) * m.orientation > 0).mean())
            rows.append(
                {
                    "measure": m.name,
                    "control": control,
                    "n_runs": len(both),
                    "trained_median": float(both[m.name].median()),
                    "control_median": float(both[column].median()),
                    "beaten_fraction": wins,
                    "verdict": "beats" if wins == 1.0 else "mostly beats" if wins > 0.5 else "does not beat",
                }
            )
    columns = ["measure", "control", "n_runs", "trained_median", "control_median", "beaten_fraction", "verdict"]
    return pd.DataFrame(rows, columns=columns)
