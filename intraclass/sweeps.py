"""Granulated Kendall as a function of a measure's free constant (SPEC §13): c1 and c3 over k (paper §4.2, where 30
is one choice), c4 over its activation percentile (footnote 3: 75 was never varied). The values come from each run's
stored pre-activations (:func:`intraclass.measures.measure_sweeps`), never from retraining."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .kendall import AXIS_NAMES, NO_GROUP, TOTAL, granulated_kendall_intervals
from .registry import MEASURES, label
from .tables import MISSING_MARKDOWN, latex_table, latex_text, markdown_table, number, write_table

__all__ = ["SWEPT", "sweep_kendall", "write_sweep_tables"]

SWEPT = {"c1": "k", "c3": "k", "c4": "percentile"}  # the constant each swept measure is recomputed over


def sweep_kendall(
    kept: pd.DataFrame, sweeps: Mapping[str, Mapping[str, Any]], correct: np.ndarray | None = None, **options: Any
) -> pd.DataFrame:
    """The granulated-Kendall total, its interval and axes, for every swept measure and value.

    Parameters
    ----------
    kept : DataFrame
        The kept runs (runs.csv rows: ``run_id``, ``test_acc``, the hyperparameters).
    sweeps : mapping run_id -> sweeps.json content
        ``{measure: {"values": [...], "measure": [...]}}`` per run (the rule ``sweeps``).
    correct : array (len(kept), n_test), optional
        Per-image test correctness, rows aligned with ``kept``.
    **options
        Passed to :func:`intraclass.kendall.granulated_kendall_intervals` (n_resamples, seed, confidence, ties).

    Returns
    -------
    DataFrame with columns measure, constant ("k" or "percentile"), value (of the constant), total, lo, hi,
    n_axes, n_pairs, missing_reason, n_axes_compared (the axes the study varies in some group); one row per measure
    and swept value, in the order swept.
    """
    ids = list(kept["run_id"])
    missing = [i for i in ids if i not in sweeps]
    if missing:
        raise ValueError(f"sweep_kendall: no sweeps for run(s) {missing[:5]}")
    unknown = sorted({m for i in ids for m in sweeps[i]} - set(SWEPT))
    if unknown:  # SWEPT names every swept measure and its constant: a new sweep must be declared there
        raise ValueError(f"sweep_kendall: measure(s) {unknown} swept but not in SWEPT {list(SWEPT)}")
    rows = []
    for measure, constant in SWEPT.items():
        if not all(measure in sweeps[i] for i in ids) or not ids:
            continue
        values = sweeps[ids[0]][measure]["values"]
        if any(sweeps[i][measure]["values"] != values for i in ids):
            raise ValueError(f"sweep_kendall: the runs were swept over different {constant} values for {measure}")
        for position, value in enumerate(values):
            column = np.array([sweeps[i][measure]["measure"][position] for i in ids], dtype=float)
            cells = granulated_kendall_intervals(
                kept.assign(**{measure: column}), measure, MEASURES[measure].orientation, correct, **options
            )
            total = cells.loc[TOTAL]
            compared = int((cells.loc[list(AXIS_NAMES), "missing_reason"] != NO_GROUP).sum())
            rows.append(
                {
                    "measure": measure,
                    "constant": constant,
                    "value": value,
                    "total": total["value"],
                    **{c: total[c] for c in ("lo", "hi", "n_axes", "n_pairs", "missing_reason")},
                    "n_axes_compared": compared,
                }
            )
    columns = [
        "measure",
        "constant",
        "value",
        "total",
        "lo",
        "hi",
        "n_axes",
        "n_pairs",
        "missing_reason",
        "n_axes_compared",
    ]
    return pd.DataFrame(rows, columns=columns)


def write_sweep_tables(table: pd.DataFrame, stem: str | os.PathLike[str], digits: int = 2) -> list[Path]:
    """Write a :func:`sweep_kendall` table as ``<stem>.csv`` (every number), ``<stem>.md`` and ``<stem>.tex`` (a row
    per measure and swept value, the total as ``0.71 [0.52, 0.86]``, then ``(k/n axes)`` when only k of the n axes
    the study compares have a value), each atomically.

    Parameters
    ----------
    table : DataFrame
        :func:`sweep_kendall`'s output.
    stem : path-like
        The files' common path without extension.
    digits : int
        Decimals of the total and its interval.

    Returns
    -------
    list of Path
        The CSV, Markdown and LaTeX paths.
    """
    header = ["measure", "constant", "value", "granulated Kendall total"]
    rows = [[r.measure, r.constant, f"{r.value:g}", _cell(r, digits)] for r in table.itertuples()]
    markdown = markdown_table(header, [[label(m, "markdown"), *rest] for m, *rest in rows])
    latex = latex_table(header, [[label(m, "latex"), c, v, latex_text(cell)] for m, c, v, cell in rows], spec="llrl")
    return write_table(stem, table, markdown, latex)


def _cell(row: Any, digits: int) -> str:
    if row.missing_reason:
        return f"{MISSING_MARKDOWN} ({row.missing_reason})"
    interval = "" if pd.isna(row.lo) else f" [{number(row.lo, digits)}, {number(row.hi, digits)}]"
    axes = f" ({row.n_axes}/{row.n_axes_compared} axes)" if row.n_axes < row.n_axes_compared else ""
    return f"{number(row.total, digits)}{interval}{axes}"
