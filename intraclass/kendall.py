"""Kendall coefficients between a measure and test accuracy, plain and granulated (SPEC §8, paper §3.2).

Definitions
-----------
Kendall's tau-a over n models with measure values x and test accuracies y::

    tau_a(x, y) = 1 / (n (n - 1)) * sum_{i != j} sign(x_i - x_j) * sign(y_i - y_j)

a mean over the n (n - 1) ordered pairs, where a tie in x or in y contributes 0 (sign(0) = 0). It lies in [-1, 1].
(The authors' ``kendal_coefficient.py`` uses ``math.copysign(1, 0) = +1``, so a tie counts as concordant there, and
it skips pairs identical in both values; SPEC §8 follows the paper's text: ties count 0, all ordered pairs.)

Granulated Kendall (Jiang et al. 2020): for a hyperparameter axis h, keep the models satisfying h's filter (the
coupled axis held at the value where h is varied, e.g. weight decay 0 for the learning rate), group them by
every *other* hyperparameter column (and by dataset and architecture when present), and average tau-a over the
groups::

    psi_h = 1 / |G_h| * sum_{g in G_h} tau_a(orientation * measure[g], test_acc[g])

where G_h are the groups of >= 2 models taking >= 2 distinct values of h (on the paper's grid, without replicates,
every group of >= 2 models does; the extra condition only keeps groups of pure replicates, which say nothing
about h, out of star designs). An axis with no such group is *missing* (``None``), never 0. The total is::

    total = mean of psi_h over the axes that are present

(the paper always has all 8 present; averaging over the present ones is this module's choice, so that one empty
axis does not hide the others; the table shows which axes were missing). Replicates of one configuration
(different seeds) fall in the same group and their pairs count like any other pair, as in the authors' code.

Orientation: intraclass measures (c1-c4) are expected to grow with test accuracy (+1); sharpness measures are
complexities, negated before ranking (-1). A positive coefficient therefore always means "ranks the models the
right way" (Tables 1-3).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .grid import HYPERPARAMETERS
from .storage import write_text

__all__ = [
    "AXES",
    "Axis",
    "INTRACLASS_MEASURES",
    "LABELS_LATEX",
    "LABELS_MARKDOWN",
    "ORIENTATION",
    "SHARPNESS_MEASURES",
    "TOTAL",
    "granulated_kendall",
    "kendall_table",
    "kendall_tau_a",
    "select_models",
    "write_kendall_tables",
]

ACCURACY = "test_acc"
TOTAL = "total"
INTRACLASS_MEASURES = ("c1", "c2", "c3", "c4")
SHARPNESS_MEASURES = ("inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp")

# +1: larger predicts higher test accuracy; -1: a complexity, negated before ranking.
ORIENTATION: Mapping[str, int] = {
    **{m: +1 for m in INTRACLASS_MEASURES},
    **{m: -1 for m in SHARPNESS_MEASURES},
}

LABELS_LATEX: Mapping[str, str] = {
    "c1": "$c_1$",
    "c2": "$c_2$",
    "c3": "$c_3$",
    "c4": "$c_4$",
    "inv_sigma_p": "$1/\\sigma'$",
    "inv_sigma_pp": "$1/\\sigma''$",
    "inv_alpha_p": "$1/\\alpha'$",
    "inv_alpha_pp": "$1/\\alpha''$",
}
LABELS_MARKDOWN: Mapping[str, str] = {
    "c1": "c1",
    "c2": "c2",
    "c3": "c3",
    "c4": "c4",
    "inv_sigma_p": "1/σ'",
    "inv_sigma_pp": "1/σ''",
    "inv_alpha_p": "1/α'",
    "inv_alpha_pp": "1/α''",
}
MISSING_MARKDOWN = "n/a"
MISSING_LATEX = "--"


@dataclass(frozen=True)
class Axis:
    """One granulated axis: the hyperparameter column that varies, and the filter ``filter_column == filter_value``
    restricting the coupled axis (``None``: no filter)."""

    name: str
    column: str
    label: str
    filter_column: str | None = None
    filter_value: Any = None

    def mask(self, df: pd.DataFrame) -> pd.Series:
        """The rows of ``df`` on which this axis is varied."""
        if self.filter_column is None:
            return pd.Series(True, index=df.index)
        values = df[self.filter_column]
        if isinstance(self.filter_value, bool):
            return _as_bool(values) == self.filter_value
        return pd.Series(
            np.isclose(values.astype(float), float(self.filter_value), rtol=1e-9, atol=0.0), index=df.index
        )


AXES: tuple[Axis, ...] = (
    Axis("learning_rate", "lr", "learning rate", "weight_decay", 0.0),
    Axis("weight_decay", "weight_decay", "weight decay", "lr", 0.1),
    Axis("batch_size", "batch_size", "batch size"),
    Axis("optimizer", "optimizer", "optimizer"),
    Axis("dropout", "dropout", "dropout", "augment", False),
    Axis("augment", "augment", "data augm.", "dropout", 0.0),
    Axis("width", "width", "width", "depth", 1.0),
    Axis("depth", "depth", "depth", "width", 1.0),
)
AXIS_NAMES: tuple[str, ...] = tuple(axis.name for axis in AXES)
GROUP_CONTEXT = ("dataset", "arch")  # grouped on too when present: never compare models of different pairs


# --------------------------------------------------------------------------------------------------------------
# tau-a


def kendall_tau_a(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Kendall's tau-a: ``1/(n(n-1)) * sum_{i != j} sign(x_i - x_j) * sign(y_i - y_j)``; ties count 0.

    ``x`` and ``y`` are 1-D, of equal length n >= 2, finite. Vectorised (O(n^2) memory, fine for a few thousand
    models).
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1 or ya.ndim != 1:
        raise ValueError(f"kendall_tau_a needs 1-D inputs, got shapes {xa.shape} and {ya.shape}")
    if xa.shape != ya.shape:
        raise ValueError(f"kendall_tau_a needs inputs of equal length, got {xa.size} and {ya.size}")
    n = xa.size
    if n < 2:
        raise ValueError(f"kendall_tau_a needs at least 2 values, got {n}")
    for name, values in (("x", xa), ("y", ya)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(f"kendall_tau_a: {name}[{bad[0]}] = {values[bad[0]]} is not finite")
    sx = np.sign(xa[:, None] - xa[None, :])
    sy = np.sign(ya[:, None] - ya[None, :])
    # the diagonal (i == j) is 0 in both, so summing the full matrix sums over i != j
    return float((sx * sy).sum() / (n * (n - 1)))


# --------------------------------------------------------------------------------------------------------------
# model selection


def _require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} needs a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; have {list(df.columns)}")


def _as_bool(series: pd.Series) -> pd.Series:
    """Booleans from bool, 0/1 or 'true'/'false' columns (as CSV round trips may give); NaN counts as False."""
    if series.dtype == bool:
        return series
    mapping = {"true": True, "false": False, "1": True, "0": False, "": False, "nan": False}

    def convert(value: Any) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)):
            return bool(value)
        key = str(value).strip().lower()
        if key not in mapping:
            raise ValueError(f"cannot read {value!r} as a boolean (column {series.name!r})")
        return mapping[key]

    return series.map(convert).astype(bool)


def select_models(df: pd.DataFrame, min_train_acc: float = 0.99) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split models into (kept, excluded); ``excluded`` has a ``reason`` column (SPEC §8: listed, never silent).

    A model is excluded if it diverged, if ``train_acc < min_train_acc`` (did not fit the training set; accuracies
    are fractions), or if its train or test accuracy is missing/non-finite. Several reasons are joined by "; ".
    """
    _require_columns(df, ("diverged", "train_acc", ACCURACY), "select_models")
    if not (isinstance(min_train_acc, (int, float)) and 0.0 <= float(min_train_acc) <= 1.0):
        raise ValueError(f"min_train_acc must be a fraction in [0, 1], got {min_train_acc!r}")
    diverged = _as_bool(df["diverged"])
    train = pd.to_numeric(df["train_acc"], errors="coerce")
    test = pd.to_numeric(df[ACCURACY], errors="coerce")
    reasons: list[str] = []
    for idx in df.index:
        why = []
        if diverged[idx]:
            why.append("diverged")
        if not np.isfinite(train[idx]):
            why.append("train_acc missing")
        elif train[idx] < min_train_acc:
            why.append(f"train_acc {train[idx]:.4f} < {min_train_acc:g}")
        if not np.isfinite(test[idx]):
            why.append("test_acc missing")
        reasons.append("; ".join(why))
    reason = pd.Series(reasons, index=df.index, dtype=object)
    excluded_mask = reason != ""
    kept = df.loc[~excluded_mask].copy()
    excluded = df.loc[excluded_mask].copy()
    excluded["reason"] = reason[excluded_mask]
    return kept, excluded


# --------------------------------------------------------------------------------------------------------------
# granulated Kendall


def _orientation(measure: str, orientation: int | None) -> int:
    if orientation is None:
        if measure not in ORIENTATION:
            raise ValueError(
                f"unknown measure {measure!r}: pass orientation=+1 or -1, or use one of {list(ORIENTATION)}"
            )
        return ORIENTATION[measure]
    if orientation not in (1, -1):
        raise ValueError(f"orientation must be +1 or -1, got {orientation!r}")
    return int(orientation)


def granulated_kendall(df: pd.DataFrame, measure: str, orientation: int | None = None) -> dict[str, float | None]:
    """Granulated Kendall coefficients of ``measure`` against ``test_acc``:
    ``{axis name: psi_h or None, "total": ...}``.

    ``psi_h`` is the mean tau-a over the groups of models agreeing on every hyperparameter but h (restricted by h's
    filter, see :data:`AXES`) with >= 2 models and >= 2 values of h; ``None`` if there is no such group. ``total``
    is the mean of the present psi_h (``None`` if none is). ``orientation`` defaults to :data:`ORIENTATION`; the
    measure is multiplied by it before ranking. Pass the *kept* models of :func:`select_models`; rows whose
    measure is NaN are left out with a warning (a column that is NaN throughout, e.g. c1 on a data set without
    subclasses, gives all-missing silently).
    """
    sign = _orientation(measure, orientation)
    _require_columns(df, (measure, ACCURACY, *HYPERPARAMETERS), "granulated_kendall")
    values = pd.to_numeric(df[measure], errors="coerce")
    accuracy = pd.to_numeric(df[ACCURACY], errors="coerce")
    bad_acc = ~np.isfinite(accuracy.to_numpy(dtype=float))
    if bad_acc.any():
        first = df.index[bad_acc][0]
        raise ValueError(
            f"granulated_kendall: test_acc of row {first!r} is {df.loc[first, ACCURACY]!r}; run select_models first"
        )
    finite = np.isfinite(values.to_numpy(dtype=float))
    if finite.any() and not finite.all():
        ids = list(df.loc[~finite, "run_id"]) if "run_id" in df.columns else list(df.index[~finite])
        warnings.warn(
            f"granulated_kendall: {measure} is missing for {len(ids)} model(s), left out: {ids[:10]}", stacklevel=2
        )
    data = df.loc[finite].assign(_measure=sign * values[finite], _acc=accuracy[finite])
    context = [c for c in GROUP_CONTEXT if c in data.columns]

    result: dict[str, float | None] = {}
    for axis in AXES:
        rows = data.loc[axis.mask(data)] if len(data) else data
        keys = context + [c for c in HYPERPARAMETERS if c != axis.column]
        taus = [
            kendall_tau_a(group["_measure"], group["_acc"])
            for _, group in (rows.groupby(keys, dropna=False, sort=False) if len(rows) else [])
            if len(group) >= 2 and group[axis.column].nunique(dropna=False) >= 2
        ]
        result[axis.name] = float(np.mean(taus)) if taus else None
    present = [v for v in result.values() if v is not None]
    result[TOTAL] = float(np.mean(present)) if present else None
    return result


def _measure_order(measures: Iterable[str]) -> list[str]:
    """Intraclass measures first, then sharpness measures, then any others; stable within each group."""
    measures = list(dict.fromkeys(measures))
    for m in measures:
        if m not in ORIENTATION:
            raise ValueError(f"unknown measure {m!r}; known measures: {list(ORIENTATION)}")

    def rank(m: str) -> int:
        return 0 if m in INTRACLASS_MEASURES else 1

    return sorted(measures, key=rank)


def kendall_table(df: pd.DataFrame, measures: Iterable[str]) -> pd.DataFrame:
    """Granulated Kendall table: rows = measures (intraclass first, then sharpness), columns = the 8 axes + total.

    Missing coefficients are NaN. A known measure whose column is absent from ``df`` (c1/c2 on a data set without
    subclasses) gets a row of NaN, like a column that is NaN throughout.
    """
    order = _measure_order(measures)
    if not order:
        raise ValueError("kendall_table needs at least one measure")
    columns = [*AXIS_NAMES, TOTAL]
    rows = {}
    for m in order:
        if m in df.columns:
            scores = granulated_kendall(df, m)
            rows[m] = [np.nan if scores[c] is None else scores[c] for c in columns]
        else:
            rows[m] = [np.nan] * len(columns)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns).astype(float)
    table.index.name = "measure"
    return table


# --------------------------------------------------------------------------------------------------------------
# writers


def _formatted(table: pd.DataFrame, missing: str, labels: Mapping[str, str], digits: int) -> pd.DataFrame:
    """Cells as strings rounded to ``digits`` (no "-0.00"), missing as ``missing``; readable row/column labels."""
    axis_labels = {axis.name: axis.label for axis in AXES}
    out = table.apply(
        lambda col: col.map(lambda v: missing if pd.isna(v) else f"{round(v, digits) + 0.0:.{digits}f}")
    ).astype(object)
    out.index = [labels.get(m, m) for m in table.index]
    out.index.name = "measure"
    out.columns = [axis_labels.get(c, c) for c in table.columns]
    return out


def _latex(table: pd.DataFrame, digits: int) -> str:
    """booktabs tabular with a \\midrule between intraclass and sharpness rows (written by hand: pandas'
    to_latex needs jinja2 and cannot place a rule between row groups)."""
    cells = _formatted(table, MISSING_LATEX, LABELS_LATEX, digits)
    lines = [
        "\\begin{tabular}{l" + "r" * len(cells.columns) + "}",
        "\\toprule",
        " & ".join(["Measure", *(str(c).replace("_", "\\_") for c in cells.columns)]) + " \\\\",
        "\\midrule",
    ]
    previous_group = None
    for measure, (label, row) in zip(table.index, cells.iterrows(), strict=False):
        group = measure in INTRACLASS_MEASURES
        if previous_group is not None and group != previous_group:
            lines.append("\\midrule")
        previous_group = group
        lines.append(" & ".join([str(label), *row.tolist()]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def write_kendall_tables(table: pd.DataFrame, stem: str | os.PathLike[str], digits: int = 2) -> list[Path]:
    """Write ``<stem>.csv`` (full precision, missing = empty), ``<stem>.md`` (missing = "n/a") and ``<stem>.tex``
    (booktabs, missing = "--"), each atomically. Returns the three paths."""
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("write_kendall_tables needs a non-empty DataFrame from kendall_table")
    unknown = [c for c in table.columns if c not in (*AXIS_NAMES, TOTAL)]
    if unknown:
        raise ValueError(f"write_kendall_tables: unexpected column(s) {unknown}; expected {[*AXIS_NAMES, TOTAL]}")
    stem = Path(stem)
    csv_path, md_path, tex_path = (stem.with_name(stem.name + ext) for ext in (".csv", ".md", ".tex"))
    csv = table.copy()
    csv.index.name = "measure"
    write_text(csv_path, csv.to_csv(na_rep=""))
    md = _formatted(table, MISSING_MARKDOWN, LABELS_MARKDOWN, digits)
    write_text(md_path, md.to_markdown(disable_numparse=True, colalign=("left", *["right"] * len(md.columns))) + "\n")
    write_text(tex_path, _latex(table, digits))
    return [csv_path, md_path, tex_path]
