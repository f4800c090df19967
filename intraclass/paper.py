"""The paper's Tables 1-3 as data, and a study's granulated Kendall tables beside them (SPEC §11).

``paper_tables.csv`` (package data) holds the granulated Kendall coefficients printed in Tables 1-3 of
Carbonnelle & De Vleeschouwer (ICLR 2021), exactly as printed (two decimals, "1.0" for 1.00), one row per measure:

- Table 1: ResNet on CIFAR100 superclasses (experiment ``cifar100-coarse_resnet``): c1-c4 and the 4 sharpness
  measures;
- Table 2: ResNet on CIFAR100 (``cifar100_resnet``) and Table 3: VGG on CIFAR10 (``cifar10_vgg``): c3, c4 and the
  4 sharpness measures (c1, c2 need subclasses).

Columns are this package's axis names (:data:`intraclass.kendall.AXES`) and ``total``; the paper prints batch size
before weight decay, the CSV follows the axes' order. Sign convention: the paper's sharpness rows are already
oriented, a positive coefficient meaning "ranks the models the right way", as in SPEC §8 and
:func:`intraclass.kendall.kendall_table` (the complexities 1/sigma', ... negated before ranking): the paper calls
0.94 for 1/alpha' on batch size "remarkably good", and every printed total is positive.

A comparison (:func:`side_by_side`) pairs each cell of our table with the paper's and their difference
``ours - paper``; its renderers write cells as ``0.71 / 0.66 (+0.05)``.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from .kendall import AXES, AXIS_NAMES, TOTAL
from .registry import MEASURES, label
from .tables import MISSING_LATEX, MISSING_MARKDOWN, latex_table, markdown_table, number, write_table

__all__ = [
    "COLUMNS",
    "paper_experiments",
    "paper_table",
    "paper_tables",
    "side_by_side",
    "side_by_side_latex",
    "side_by_side_markdown",
    "write_side_by_side",
]

COLUMNS: tuple[str, ...] = (*AXIS_NAMES, TOTAL)
PAPER_TABLES_FILE = "paper_tables.csv"


def paper_tables() -> pd.DataFrame:
    """The paper's Tables 1-3: columns ``experiment``, ``table`` (1, 2, 3), ``measure`` and :data:`COLUMNS`.

    One row per (table, measure), in the paper's order; values are the printed coefficients, in [-1, 1].
    """
    return _paper_tables().copy()


def paper_experiments() -> set[str]:
    """The experiments (``{dataset}_{arch}``) the paper has a table for."""
    return set(_paper_tables().experiment)


def paper_table(experiment: str) -> pd.DataFrame | None:
    """The paper's table for ``experiment`` (e.g. ``"cifar10_vgg"``), shaped like
    :func:`intraclass.kendall.kendall_table`: rows = measures (index ``measure``), columns = :data:`COLUMNS`.

    ``None`` when the paper has no table for that dataset-architecture pair.
    """
    if not isinstance(experiment, str):
        raise TypeError(f"paper_table needs an experiment name (str), got {type(experiment).__name__}")
    rows = _paper_tables().loc[lambda t: t.experiment == experiment]
    if rows.empty:
        return None
    return rows.set_index("measure")[list(COLUMNS)].astype(float)


def side_by_side(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Each cell of our granulated Kendall table beside the paper's: ``ours``, ``paper`` and
    ``difference = ours - paper``.

    Parameters
    ----------
    ours, paper : DataFrame
        Point-estimate tables, rows = measures, with every column of :data:`COLUMNS` (our
        :func:`intraclass.kendall.kendall_table`; :func:`paper_table`). Other columns (e.g. interval bounds) are
        ignored. Missing cells are NaN.

    Returns
    -------
    DataFrame
        Indexed by (``measure``, ``axis``), axis in :data:`COLUMNS` order, columns ``ours``, ``paper``,
        ``difference``. Measures are those of either table, in registry order (unregistered ones after); a measure
        missing from one table has NaN there, and one with no value on either side is left out. ``difference`` is
        NaN where either side is missing.
    """
    _check_point_table(ours, "ours")
    _check_point_table(paper, "paper")
    measures = [m for m in _measure_order([*ours.index, *paper.index]) if _has_value(ours, m) or _has_value(paper, m)]
    index = pd.MultiIndex.from_product([measures, COLUMNS], names=["measure", "axis"])

    def cells(table: pd.DataFrame) -> np.ndarray:
        return table.reindex(index=measures, columns=list(COLUMNS)).to_numpy(dtype=float).ravel()

    ours_cells, paper_cells = cells(ours), cells(paper)
    return pd.DataFrame({"ours": ours_cells, "paper": paper_cells, "difference": ours_cells - paper_cells}, index=index)


def side_by_side_markdown(comparison: pd.DataFrame, digits: int = 2) -> str:
    """A Markdown table of a :func:`side_by_side` comparison: a row per measure, a column per axis and the total,
    cells ``ours / paper (ours - paper)``; a missing side is "n/a" and drops the difference."""
    cells = _cells(comparison, MISSING_MARKDOWN, digits)
    rows = [[label(m, "markdown"), *row] for m, row in zip(cells.index, cells.to_numpy().tolist(), strict=True)]
    return markdown_table(["measure", *cells.columns], rows)


def side_by_side_latex(comparison: pd.DataFrame, digits: int = 2) -> str:
    """A booktabs tabular of a :func:`side_by_side` comparison (cells as in :func:`side_by_side_markdown`, missing
    "--"), with a rule between the intraclass and the sharpness measures."""
    cells = _cells(comparison, MISSING_LATEX, digits)
    rows = [[label(m, "latex"), *row] for m, row in zip(cells.index, cells.to_numpy().tolist(), strict=True)]
    stages = [MEASURES[m].stage if m in MEASURES else None for m in cells.index]
    return latex_table(["Measure", *cells.columns], rows, stages)


def write_side_by_side(
    comparison: pd.DataFrame, stem: str | os.PathLike[str], experiment: str, digits: int = 2
) -> list[Path]:
    """Write ``<stem>.csv`` (long: measure, axis, ours, paper, difference at full precision, missing empty),
    ``<stem>.md`` and ``<stem>.tex`` (wide, see :func:`side_by_side_markdown`), each atomically, each saying which
    of the paper's tables ``experiment`` is compared with. Returns the three paths."""
    if not isinstance(comparison, pd.DataFrame) or list(comparison.columns) != ["ours", "paper", "difference"]:
        raise ValueError("write_side_by_side needs the DataFrame that side_by_side returns")
    if comparison.empty:
        raise ValueError(f"write_side_by_side: nothing to compare for {experiment!r} (no measure on either side)")
    table = _table_number(experiment)
    legend = (
        f"{experiment}: granulated Kendall coefficients, ours / the paper's Table {table} (ours - paper); "
        "positive = ranks the models the right way"
    )
    markdown = f"{legend}.\n\n{side_by_side_markdown(comparison, digits)}"
    return write_table(stem, comparison, markdown, f"% {legend}.\n{side_by_side_latex(comparison, digits)}")


# --------------------------------------------------------------------------------------------------------------
# private helpers


@cache
def _paper_tables() -> pd.DataFrame:
    """Read and check the packaged tables once."""
    source = files(__package__).joinpath(PAPER_TABLES_FILE)
    with source.open() as handle:
        tables = pd.read_csv(handle)
    expected = ["experiment", "table", "measure", *COLUMNS]
    if list(tables.columns) != expected:
        raise ValueError(f"{PAPER_TABLES_FILE}: columns {list(tables.columns)}, expected {expected}")
    values = tables[list(COLUMNS)].to_numpy(dtype=float)
    if not (np.isfinite(values).all() and (np.abs(values) <= 1).all()):
        raise ValueError(f"{PAPER_TABLES_FILE}: every coefficient must be a number in [-1, 1]")
    unknown = sorted(set(tables.measure) - set(MEASURES))
    if unknown:
        raise ValueError(f"{PAPER_TABLES_FILE}: unregistered measure(s) {unknown}")
    return tables


def _table_number(experiment: str) -> int:
    numbers = _paper_tables().loc[lambda t: t.experiment == experiment, "table"].unique()
    if len(numbers) != 1:
        raise ValueError(f"the paper has no table for experiment {experiment!r}; it has {sorted(paper_experiments())}")
    return int(numbers[0])


def _check_point_table(table: pd.DataFrame, name: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"side_by_side: {name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"side_by_side: {name} lacks column(s) {missing}; have {list(table.columns)}")
    if not table.index.is_unique:
        duplicated = sorted(set(table.index[table.index.duplicated()]))
        raise ValueError(f"side_by_side: {name} lists measure(s) {duplicated} more than once")
    for column in COLUMNS:
        not_numeric = pd.to_numeric(table[column], errors="coerce").isna() & table[column].notna()
        if not_numeric.any():
            measure = table.index[not_numeric][0]
            raise ValueError(
                f"side_by_side: {name}[{measure!r}, {column!r}] = {table.loc[measure, column]!r} is not a number"
            )


def _has_value(table: pd.DataFrame, measure: str) -> bool:
    if measure not in table.index:
        return False
    return bool(table.loc[measure, list(COLUMNS)].notna().any())


def _measure_order(measures: list[str]) -> list[str]:
    """Registered measures in declaration order, then the others in order of appearance."""
    present = list(dict.fromkeys(measures))
    return [m for m in MEASURES if m in present] + [m for m in present if m not in MEASURES]


def _cells(comparison: pd.DataFrame, missing: str, digits: int) -> pd.DataFrame:
    """The wide table of formatted cells: rows = measures, columns = axis labels."""
    if not isinstance(comparison, pd.DataFrame) or list(comparison.columns) != ["ours", "paper", "difference"]:
        raise ValueError("expected the DataFrame that side_by_side returns (columns ours, paper, difference)")
    if not (isinstance(digits, int) and 0 <= digits <= 6):
        raise ValueError(f"digits must be an integer in [0, 6], got {digits!r}")

    def cell(row: pd.Series) -> str:
        ours, paper = number(row.ours, digits, missing), number(row.paper, digits, missing)
        if pd.isna(row.ours) and pd.isna(row.paper):
            return missing
        if pd.isna(row.difference):
            return f"{ours} / {paper}"
        return f"{ours} / {paper} ({number(row.difference, digits, sign=True)})"

    wide = comparison.apply(cell, axis=1).unstack("axis")
    wide = wide.reindex(index=list(dict.fromkeys(comparison.index.get_level_values("measure"))), columns=COLUMNS)
    axis_labels = {axis.name: axis.label for axis in AXES}
    wide.columns = [axis_labels.get(c, c) for c in wide.columns]
    return wide
