"""Kendall coefficients between a measure and test accuracy, plain and granulated, with bootstrap intervals
(SPEC §8, §11, paper §3.2).

Definitions
-----------
Kendall's tau-a over n models with measure values x and test accuracies y (SPEC §8, ``ties="spec"``)::

    tau_a(x, y) = 1 / (n (n - 1)) * sum_{i != j} sign(x_i - x_j) * sign(y_i - y_j)

a mean over the n (n - 1) ordered pairs, where a tie in x or in y contributes 0 (sign(0) = 0). It lies in [-1, 1].

The authors' ``kendal_coefficient.py`` (``ties="authors"``) loops over the ordered pairs, *skips those identical in
both values* (``(m1, t1) == (m2, t2)``, which also skips i == j) and multiplies ``math.copysign(1, d)`` factors,
which are +1 for d = 0. A pair tied in one value only thus gives +s in one order and -s in the other: it adds 0 to
the sum, as here, but stays in the count; a pair tied in both values leaves the count. Their coefficient is::

    tau_authors(x, y) = sum_{i != j} sign(x_i - x_j) sign(y_i - y_j) / (n (n - 1) - #{i != j: x_i = x_j, y_i = y_j})

e.g. x = [1, 1, 3], y = [1, 1, 2]: 4/6 = 0.667 here, 4/4 = 1.0 theirs. It is undefined when every pair is tied in
both values (their code divides by zero); such a group is left out of the mean.

Granulated Kendall (Jiang et al. 2020): for a hyperparameter axis h, keep the models satisfying h's filter (the
coupled axis held at the value where h is varied, e.g. weight decay 0 for the learning rate), group them by
every *other* hyperparameter column (and by dataset and architecture when present), and average tau over the
groups::

    psi_h = 1 / |G_h| * sum_{g in G_h} tau(orientation * measure[g], test_acc[g])

where G_h are the groups of >= 2 models taking >= 2 distinct values of h (on the paper's grid, without replicates,
every group of >= 2 models does; the extra condition only keeps groups of pure replicates, which say nothing
about h, out of star designs). An axis with no such group is *missing*, never 0. The total is::

    total = mean of psi_h over the axes that are present

(the paper always has all 8 present; averaging over the present ones is this module's choice, so that one empty
axis does not hide the others; the tables say over how many axes a total is). Replicates of one configuration
(different seeds) fall in the same group. By default (``pairs="cross"``, SPEC §14) tau is taken over the pairs
of a group that differ in the axis (cross-configuration pairs): in the paper each configuration has one model,
so every pair of a group differs in h, and a pair of seeds of one configuration says nothing about h.
``pairs="all"`` also counts the seed pairs, as the authors' code would on replicated runs.

Intervals (SPEC §11)
--------------------
:func:`granulated_kendall_intervals` and :func:`kendall_interval_table` give every cell (axis) and the total its
number of groups and of model pairs (unordered; the total sums them over its axes, so a pair of replicates counts
once per axis) and a bootstrap interval. Each resample redraws, where the study has them:

* the test images: n_test images drawn with replacement (:func:`draw_test_images`, one draw shared by every run),
  every run's test accuracy recomputed as its mean correctness over the drawn images;
* the seeds: within each configuration (all hyperparameters, dataset and architecture equal), its replicates drawn
  with replacement (:func:`draw_replicates`); a replicate's measure and accuracy move together.

The point estimate stays the plain granulated value; a resample recomputes every cell on the same groups. A
replicate drawn twice is one model, not a pair: the pairs of a run with its own copy are left out of the resample's
coefficients (counted 0 they would pull every resample towards 0; a measure ranking the models perfectly keeps 1).

Drawing n seeds with replacement among n understates the between-seed variance: the variance of a drawn
replicate is the plug-in (1/n) variance, so a mean over seeds varies by (n - 1)/n of what it should (1/2 with 2
seeds; measured on the default study with 6 seeds, the uncorrected interval's standard error was 0.60-0.69 of the
real between-half spread). The replicates are therefore drawn from *adjusted residuals* (Davison & Hinkley 1997,
*Bootstrap Methods and their Application*, §3.3 eq. 3.14 and §3.8 on hierarchical data): before the draw, a
configuration's n replicates' measure and accuracy (the latter recomputed on each test-image resample) are moved
away from the configuration's mean by sqrt(n / (n - 1)), so that a drawn replicate varies like a new seed
(variance s^2, ddof=1). A cell with a configuration of at most :data:`FEW_SEEDS` seeds is flagged
(``few_seeds``): its seed noise is estimated from that few.

The interval is the percentile interval of the resampled coefficients translated so that their median sits on
the point estimate (:func:`bootstrap_interval`; a bias correction by translation, Efron & Tibshirani 1993,
*An Introduction to the Bootstrap*, §10): resamples of a sign statistic are pulled towards 0 by the noise they
add, and the plain percentile interval can exclude its own estimate; the translated one always contains it.

Orientation (:data:`intraclass.registry.MEASURES`): intraclass measures (c1-c4) are expected to grow with test
accuracy (+1); sharpness measures are complexities, negated before ranking (-1). A positive coefficient therefore
always means "ranks the models the right way" (Tables 1-3).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .columns import as_bool, require_columns
from .grid import AXES, HYPERPARAMETERS, Axis, with_train_size
from .registry import MEASURES, label
from .tables import MISSING_LATEX, MISSING_MARKDOWN, latex_table, latex_text, markdown_table, number, write_table

__all__ = [
    "AXES",
    "Axis",
    "FEW_SEEDS",
    "PAIRS",
    "INTERVAL_COLUMNS",
    "MIN_PAIRS",
    "RESAMPLE_SOURCES",
    "TIES",
    "TOTAL",
    "axis_pairs",
    "bootstrap_interval",
    "compared_axes",
    "configurations",
    "draw_replicates",
    "draw_test_images",
    "granulated_kendall",
    "granulated_kendall_intervals",
    "interval_cells",
    "interval_latex",
    "interval_markdown",
    "kendall_interval_table",
    "kendall_table",
    "kendall_tau_a",
    "read_kendall_interval_table",
    "write_kendall_interval_tables",
    "write_kendall_tables",
]

ACCURACY = "test_acc"
TOTAL = "total"
TIES = ("spec", "authors")
Ties = Literal["spec", "authors"]
RESAMPLE_SOURCES = ("test_images", "seeds")
PAIRS = ("cross", "all")
Pairs = Literal["cross", "all"]
MIN_PAIRS = 3  # a cell on fewer model pairs is flagged (SPEC §11)
FEW_SEEDS = 3  # a cell whose configurations have at most this many seeds is flagged (SPEC §14)
INTERVAL_COLUMNS = (
    "value",
    "lo",
    "hi",
    "n_groups",
    "n_pairs",
    "n_pairs_all",
    "n_axes",
    "few_pairs",
    "few_seeds",
    "n_resamples",
    "missing_reason",
)
FEW_PAIRS_MARKDOWN = "†"
FEW_PAIRS_LATEX = "$^\\dagger$"
FEW_SEEDS_MARKDOWN = "‡"
FEW_SEEDS_LATEX = "$^\\ddagger$"
NO_GROUP = "no group with 2 values of the axis"
NO_AXIS = "no axis present"


AXIS_NAMES: tuple[str, ...] = tuple(axis.name for axis in AXES)
CELLS: tuple[str, ...] = (*AXIS_NAMES, TOTAL)
GROUP_CONTEXT = ("dataset", "arch")  # grouped on too when present: never compare models of different pairs


# --------------------------------------------------------------------------------------------------------------
# tau


def kendall_tau_a(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, ties: Ties = "spec") -> float:
    """Kendall's tau-a: ``1/(n(n-1)) * sum_{i != j} sign(x_i - x_j) * sign(y_i - y_j)``; ties count 0.

    Vectorised (O(n^2) memory, fine for a few thousand models).

    Parameters
    ----------
    x, y : array-like of shape (n,)
        Finite values, n >= 2 (a measure and the test accuracies).
    ties : {"spec", "authors"}
        ``"spec"``: the mean over the n (n - 1) ordered pairs (SPEC §8). ``"authors"``: the same sum over the
        ordered pairs *not identical in both values* (the authors' ``kendall_coeff``, module docstring); a
        ValueError if every pair is.

    Returns
    -------
    float
        In [-1, 1]; 1 when x and y rank every pair alike.

    References
    ----------
    .. [1] Kendall, "A new measure of rank correlation", Biometrika 30 (1938).
    """
    _check_ties(ties)
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
    concordance = float((sx * sy).sum())
    if ties == "spec":
        return concordance / (n * (n - 1))
    counted = n * (n - 1) - int(((sx == 0) & (sy == 0)).sum() - n)  # the diagonal is tied in both: not a pair
    if counted == 0:
        raise ValueError("kendall_tau_a: every pair is identical in both values; the authors' tau is undefined")
    return concordance / counted


# --------------------------------------------------------------------------------------------------------------
# granulated Kendall


def granulated_kendall(
    df: pd.DataFrame, measure: str, orientation: int | None = None, ties: Ties = "spec", pairs: Pairs = "cross"
) -> dict[str, float | None]:
    """Granulated Kendall coefficients of ``measure`` against ``test_acc`` (Jiang et al. 2020; module docstring).

    ``psi_h = 1/|G_h| sum_{g in G_h} tau(orientation * measure[g], test_acc[g])`` over the groups G_h of models
    agreeing on every hyperparameter but h (restricted by h's filter, see :data:`AXES`) with >= 2 models and >= 2
    values of h; ``total`` is the mean of the present psi_h.

    Parameters
    ----------
    df : DataFrame
        The *kept* models of the run selection: ``measure``, ``test_acc`` and the 8 hyperparameters (``dataset``,
        ``arch`` grouped on when present). Rows whose measure is NaN are left out with a warning (a column NaN
        throughout, e.g. c1 on a data set without subclasses, gives all-missing silently).
    measure : str
        The column to rank.
    orientation : {+1, -1}, optional
        Multiplies the measure before ranking; default the measure's in :data:`intraclass.registry.MEASURES`.
    ties : {"spec", "authors"}
        As :func:`kendall_tau_a`.
    pairs : {"cross", "all"}
        ``"cross"``: the pairs of a group differing in h (SPEC §14); ``"all"``: seed pairs of one configuration
        too (module docstring).

    Returns
    -------
    dict
        ``{axis name: psi_h, ..., "total": ...}``, each in [-1, 1], or ``None`` where missing (an axis with no
        group; a total with no axis present).
    """
    _check_ties(ties)
    _check_pairs(pairs)
    sign = _orientation(measure, orientation)
    prepared = _prepare(df, measure, sign, "granulated_kendall", pairs)
    if prepared.reason:
        return dict.fromkeys(CELLS)
    point = _cells(prepared.axis_pairs, prepared.oriented[None, :], prepared.accuracy[None, :], ties)[0]
    return {cell: None if np.isnan(v) else float(v) for cell, v in zip(CELLS, point, strict=True)}


def kendall_table(df: pd.DataFrame, measures: Iterable[str], ties: Ties = "spec") -> pd.DataFrame:
    """Granulated Kendall table of point values (:func:`granulated_kendall` of several measures).

    Parameters
    ----------
    df : DataFrame
        As :func:`granulated_kendall`.
    measures : iterable of str
        Registered measures; one whose column is absent from ``df`` (c1/c2 on a data set without subclasses) gets a
        row of NaN, like a column that is NaN throughout.
    ties : {"spec", "authors"}
        As :func:`kendall_tau_a`.

    Returns
    -------
    DataFrame
        Index ``measure`` (registry order), columns :data:`AXIS_NAMES` and ``total``; missing coefficients NaN.
    """
    order = _measure_order(measures, "kendall_table")
    rows = {}
    for m in order:
        if m in df.columns:
            scores = granulated_kendall(df, m, ties=ties)
            rows[m] = [np.nan if scores[c] is None else scores[c] for c in CELLS]
        else:
            rows[m] = [np.nan] * len(CELLS)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(CELLS)).astype(float)
    table.index.name = "measure"
    return table


# --------------------------------------------------------------------------------------------------------------
# bootstrap intervals (SPEC §11)


def draw_test_images(n_test: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """The test images of each resample: ``(n_resamples, n_test)`` indices drawn with replacement (int32).

    Seeded by the first child of ``SeedSequence(seed)``, so the draw does not depend on whether the seeds are
    resampled too.
    """
    _check_positive_int(n_test, "n_test")
    _check_positive_int(n_resamples, "n_resamples")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    return rng.integers(0, n_test, size=(n_resamples, n_test), dtype=np.int32)


def draw_replicates(df: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> np.ndarray | None:
    """Each resample's replicates: ``(n_resamples, len(df))`` row positions, where position ``r`` of a resample
    holds a row drawn with replacement among the replicates of row ``r``'s configuration (its rows agreeing on
    every hyperparameter, dataset and architecture); ``None`` if no configuration has 2 replicates.

    Seeded by the second child of ``SeedSequence(seed)``. A ``replicate`` column, when present, must not repeat
    within a configuration (two rows of one configuration and seed are a duplicated run).
    """
    _check_positive_int(n_resamples, "n_resamples")
    df = with_train_size(df)
    require_columns(df, HYPERPARAMETERS, "draw_replicates")
    configuration = configurations(df)
    if "replicate" in df.columns:
        twice = df.assign(_cfg=configuration).duplicated(["_cfg", "replicate"], keep=False).to_numpy()
        if twice.any():
            ids = list(df.loc[twice, "run_id"]) if "run_id" in df.columns else list(df.index[twice])
            raise ValueError(f"draw_replicates: rows {ids[:10]} repeat a configuration and replicate")
    sizes = np.bincount(configuration)
    if len(df) == 0 or sizes.max() < 2:
        return None
    by_configuration = np.argsort(configuration, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    picks = rng.integers(0, sizes[configuration], size=(n_resamples, len(df)))
    return by_configuration[starts[configuration] + picks]


def configurations(df: pd.DataFrame) -> np.ndarray:
    """Each row's configuration: rows agreeing on every hyperparameter (and dataset and architecture when present)
    share an id; ids 0, 1, ... in order of first appearance. The rows of one configuration are its seeds."""
    df = with_train_size(df)
    require_columns(df, HYPERPARAMETERS, "configurations")
    keys = [c for c in (*GROUP_CONTEXT, *HYPERPARAMETERS) if c in df.columns]
    return df.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()


def axis_pairs(df: pd.DataFrame, axis: str, pairs: Pairs = "cross") -> np.ndarray:
    """The unordered model pairs a granulated Kendall cell of ``axis`` (a name of :data:`AXES`) compares:
    ``(n_pairs, 2)`` row positions in ``df``, within the axis's groups (module docstring), the pairs differing in
    the axis (``pairs="cross"``) or every pair of the groups (``"all"``); no row when the axis has no group."""
    _check_pairs(pairs)
    by_name = {a.name: a for a in AXES}
    if axis not in by_name:
        raise ValueError(f"unknown axis {axis!r}; axes: {list(by_name)}")
    df = with_train_size(df)
    require_columns(df, HYPERPARAMETERS, "axis_pairs")
    compared = _pairs(df, by_name[axis], pairs)
    if compared is None:
        return np.empty((0, 2), dtype=np.int64)
    return np.column_stack([compared.first, compared.second]).astype(np.int64)


def bootstrap_interval(point: float, resampled: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The interval of a coefficient from its bootstrap resamples: the percentile interval translated so that the
    resamples' median sits on the point estimate, clipped to [-1, 1].

    ``lo = point + q_(1-confidence)/2 - median``, ``hi = point + q_(1+confidence)/2 - median`` (q: quantiles of
    ``resampled``, NaN left out), then clipped to [-1, 1]. Since the median lies between the two quantiles, the
    interval always contains ``point`` (a plain percentile interval need not: resamples of a sign statistic are
    pulled towards 0 by the noise they add). A bias correction by translation (Efron & Tibshirani 1993, *An
    Introduction to the Bootstrap*, §10); without bias (median = point) it is the percentile interval.

    Parameters
    ----------
    point : float
        The coefficient on the data, in [-1, 1].
    resampled : array
        The coefficient on each resample (NaN where undefined; at least one defined).
    confidence : float
        The interval's level, in (0, 1).

    Returns
    -------
    (lo, hi) : tuple of float
    """
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not -1.0 <= point <= 1.0:
        raise ValueError(f"bootstrap_interval: the point estimate must be in [-1, 1], got {point!r}")
    values = np.asarray(resampled, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("bootstrap_interval needs at least one defined resample")
    q_lo, median, q_hi = np.quantile(values, [(1 - confidence) / 2, 0.5, (1 + confidence) / 2])
    return float(np.clip(point + q_lo - median, -1.0, 1.0)), float(np.clip(point + q_hi - median, -1.0, 1.0))


def granulated_kendall_intervals(
    df: pd.DataFrame,
    measure: str,
    orientation: int | None = None,
    correct: np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    ties: Ties = "spec",
    resample: Collection[str] = RESAMPLE_SOURCES,
    pairs: Pairs = "cross",
) -> pd.DataFrame:
    """Granulated Kendall of one measure with, per cell, its groups, pairs and a bootstrap interval.

    Parameters
    ----------
    df : DataFrame
        The kept models (one row per run): the measure, ``test_acc``, the 8 hyperparameters (and ``dataset``,
        ``arch``, ``replicate`` when present).
    measure, orientation, ties, pairs
        As :func:`granulated_kendall`.
    correct : array of shape (len(df), n_test), optional
        Per-image test correctness of each run, rows aligned with ``df`` (row means must equal ``test_acc`` up to
        one image). ``None``: the test images are not resampled.
    n_resamples, seed, confidence
        Bootstrap size, seed (:func:`draw_test_images`, :func:`draw_replicates`) and interval level.
    resample : subset of ("test_images", "seeds")
        Noise sources to resample where the data have them (test images: ``correct`` given; seeds: a configuration
        with >= 2 replicates, drawn from adjusted residuals, see the module docstring).

    Returns
    -------
    DataFrame indexed by cell (:data:`AXIS_NAMES`, then ``"total"``) with columns :data:`INTERVAL_COLUMNS`:
    ``value`` (the plain granulated coefficient), ``lo``/``hi`` (:func:`bootstrap_interval` of the resampled
    coefficients; NaN if nothing is resampled), ``n_groups``, ``n_pairs`` (unordered model pairs used: those
    ``pairs`` selects), ``n_pairs_all`` (every pair of the groups, seed pairs included), ``n_axes`` (total only:
    axes present), ``few_pairs`` (``n_pairs < MIN_PAIRS``), ``few_seeds`` (seeds were resampled and a configuration of
    the cell has at most :data:`FEW_SEEDS` seeds), ``n_resamples`` (resamples where the cell is defined),
    ``missing_reason`` ("" for a present cell). ``attrs`` records confidence, ties, pairs, seed and the sources
    resampled.
    """
    sign = _orientation(measure, orientation)
    options = _check_interval_options(n_resamples, confidence, ties, resample, pairs)
    hits = _test_hits(df, correct, n_resamples, seed) if "test_images" in options else None
    cells = _intervals(df, measure, sign, hits, n_resamples, seed, confidence, ties, "seeds" in options, pairs)
    cells.attrs = _interval_attrs(df, hits, n_resamples, seed, confidence, ties, "seeds" in options, pairs)
    return cells


def kendall_interval_table(
    df: pd.DataFrame,
    measures: Iterable[str],
    correct: np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    ties: Ties = "spec",
    resample: Collection[str] = RESAMPLE_SOURCES,
    pairs: Pairs = "cross",
) -> pd.DataFrame:
    """:func:`granulated_kendall_intervals` of several registered measures (their registry orientation), indexed by
    (measure, cell), measures in registry order. The test-image draws (and the accuracies recomputed on them) are
    shared by every measure. A measure whose column is absent gets n/a cells ("measure not computed").
    """
    order = _measure_order(measures, "kendall_interval_table")
    options = _check_interval_options(n_resamples, confidence, ties, resample, pairs)
    hits = _test_hits(df, correct, n_resamples, seed) if "test_images" in options else None
    seeds = "seeds" in options
    frames = [
        _intervals(df, m, MEASURES[m].orientation, hits, n_resamples, seed, confidence, ties, seeds, pairs)
        for m in order
    ]
    table = pd.concat(frames, keys=order, names=["measure", "cell"])
    table.attrs = _interval_attrs(df, hits, n_resamples, seed, confidence, ties, seeds, pairs)
    return table


# --------------------------------------------------------------------------------------------------------------
# writers


def write_kendall_tables(table: pd.DataFrame, stem: str | os.PathLike[str], digits: int = 2) -> list[Path]:
    """Write a :func:`kendall_table` through :func:`intraclass.tables.write_table`.

    Parameters
    ----------
    table : DataFrame
        From :func:`kendall_table`.
    stem : path-like
        ``<stem>.csv`` (full precision, missing empty), ``<stem>.md`` (missing "n/a") and ``<stem>.tex`` (booktabs,
        a rule between intraclass and sharpness measures, missing "--") are written, each atomically.
    digits : int
        Decimals in the Markdown and LaTeX tables.

    Returns
    -------
    list of Path
        The CSV, Markdown and LaTeX paths.
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("write_kendall_tables needs a non-empty DataFrame from kendall_table")
    unknown = [c for c in table.columns if c not in CELLS]
    if unknown:
        raise ValueError(f"write_kendall_tables: unexpected column(s) {unknown}; expected {list(CELLS)}")
    markdown = _markdown_grid(table.map(lambda v: number(v, digits)))
    latex = _latex_grid(table.map(lambda v: number(v, digits, MISSING_LATEX)))
    return write_table(stem, table.rename_axis("measure"), markdown, latex)


def interval_markdown(table: pd.DataFrame, digits: int = 2) -> str:
    """A :func:`kendall_interval_table` as Markdown, then its legend.

    Parameters
    ----------
    table : DataFrame
        From :func:`kendall_interval_table` (or :func:`read_kendall_interval_table`).
    digits : int
        Decimals of the coefficients and bounds.

    Returns
    -------
    str
        A row per measure, a column per compared axis (:func:`interval_cells`) and the total, cells
        ``0.71 [0.52, 0.86]`` (``†`` after a cell on fewer than :data:`MIN_PAIRS` pairs; ``(k/n axes)`` after a
        total over fewer than the n axes shown; ``n/a (a)``, the letter's reason in the legend).
    """
    return _markdown_grid(interval_cells(table, digits, latex=False), _legend(table, latex=False))


def interval_latex(table: pd.DataFrame, digits: int = 2) -> str:
    """A :func:`kendall_interval_table` as a booktabs tabular, then its legend in ``\\footnotesize``.

    Parameters
    ----------
    table : DataFrame
        As :func:`interval_markdown`.
    digits : int
        Decimals of the coefficients and bounds.

    Returns
    -------
    str
        Cells as :func:`interval_markdown` (``n/a$^{a}$`` for a missing cell), a rule between stages.
    """
    return _latex_grid(interval_cells(table, digits, latex=True), _legend(table, latex=True))


def read_kendall_interval_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read back a table written by :func:`write_kendall_interval_tables`.

    Parameters
    ----------
    path : path-like
        Its CSV.

    Returns
    -------
    DataFrame
        As :func:`kendall_interval_table` returned it (index measure, cell; :data:`INTERVAL_COLUMNS`), without
        ``attrs``.
    """
    table = pd.read_csv(path, index_col=["measure", "cell"], keep_default_na=False, na_values=[""])
    table["missing_reason"] = table["missing_reason"].fillna("").astype(str)
    for flag in ("few_pairs", "few_seeds"):
        table[flag] = as_bool(table[flag])
    for count in ("n_groups", "n_pairs", "n_pairs_all", "n_axes", "n_resamples"):
        table[count] = table[count].astype("Int64")
    return table


def write_kendall_interval_tables(table: pd.DataFrame, stem: str | os.PathLike[str], digits: int = 2) -> list[Path]:
    """Write a :func:`kendall_interval_table` through :func:`intraclass.tables.write_table`.

    Parameters
    ----------
    table : DataFrame
        From :func:`kendall_interval_table`.
    stem : path-like
        ``<stem>.csv`` (long: measure, cell and every column of :data:`INTERVAL_COLUMNS`, missing numbers empty),
        ``<stem>.md`` (:func:`interval_markdown`) and ``<stem>.tex`` (:func:`interval_latex`), each atomically.
    digits : int
        Decimals in the Markdown and LaTeX tables.

    Returns
    -------
    list of Path
        The CSV, Markdown and LaTeX paths.
    """
    _check_interval_table(table)
    return write_table(stem, table, interval_markdown(table, digits), interval_latex(table, digits))


def compared_axes(table: pd.DataFrame) -> list[str]:
    """The axes a :func:`kendall_interval_table` compares, in :data:`AXIS_NAMES` order: every axis but those the
    study varies in no group (a column of "n/a" alone: :data:`NO_GROUP`, or a measure missing altogether).

    The interval tables show these axes and the total; a total over fewer of them says ``(k/n axes)``.
    """
    reasons = table["missing_reason"].fillna("").unstack("cell").reindex(columns=list(AXIS_NAMES), fill_value="")
    whole_row = (reasons != "").all(axis=1) & (reasons.nunique(axis=1) == 1)  # a measure missing on every axis
    no_group = reasons == NO_GROUP
    not_compared = no_group.any() & (no_group | whole_row.to_numpy()[:, None]).all()
    return [a for a in AXIS_NAMES if not not_compared[a]]


def interval_cells(table: pd.DataFrame, digits: int, latex: bool) -> pd.DataFrame:
    """The formatted cells of a :func:`kendall_interval_table`, as :func:`interval_markdown` prints them.

    Parameters
    ----------
    table : DataFrame
        From :func:`kendall_interval_table` (or :func:`read_kendall_interval_table`).
    digits : int
        Decimals of the coefficients and bounds.
    latex : bool
        LaTeX marks (``$^\\dagger$``, ``$^\\ddagger$``, ``n/a$^{a}$``) instead of Markdown ones (``†``, ``‡``,
        ``n/a (a)``).

    Returns
    -------
    DataFrame
        A row per measure (index: its name), a column per compared axis (every axis but those no group of the
        study varies, :data:`NO_GROUP` for every measure; the legend names them) and ``total``, strings.
    """
    _check_interval_table(table)
    axes = compared_axes(table)
    cells = [*axes, TOTAL]
    letters = _reason_letters(table, cells)
    few = FEW_PAIRS_LATEX if latex else FEW_PAIRS_MARKDOWN
    grid: dict[str, list[str]] = {}
    for measure_name in dict.fromkeys(table.index.get_level_values("measure")):
        row = []
        for cell in cells:
            r = table.loc[(measure_name, cell)]
            if r["missing_reason"]:
                row.append(
                    f"{MISSING_MARKDOWN}$^{{{letters[r['missing_reason']]}}}$"
                    if latex
                    else f"{MISSING_MARKDOWN} ({letters[r['missing_reason']]})"
                )
                continue
            text = number(r["value"], digits)
            if not pd.isna(r["lo"]):
                text += f" [{number(r['lo'], digits)}, {number(r['hi'], digits)}]"
            if r["few_pairs"]:
                text += few
            if r["few_seeds"]:
                text += FEW_SEEDS_LATEX if latex else FEW_SEEDS_MARKDOWN
            if cell == TOTAL and r["n_axes"] < len(axes):
                text += f" ({r['n_axes']}/{len(axes)} axes)"
            row.append(text)
        grid[measure_name] = row
    return pd.DataFrame.from_dict(grid, orient="index", columns=cells)


# --------------------------------------------------------------------------------------------------------------
# private helpers: data and pairs


@dataclass(frozen=True)
class _AxisPairs:
    """The model pairs one axis compares: ``first[p]``, ``second[p]`` (row positions), grouped contiguously;
    ``starts`` are the groups' first pairs (for ``np.add.reduceat``), ``sizes`` their numbers of pairs; ``n_all``
    the number of pairs of the same groups, seed pairs included."""

    first: np.ndarray
    second: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    n_all: int


@dataclass(frozen=True)
class _Prepared:
    """One measure's rows: oriented measure and accuracy (finite), their positions in the input frame, the pairs
    of each axis (``None``: no group, reason in ``axis_reasons``); ``reason`` non-empty when nothing can be
    ranked."""

    data: pd.DataFrame
    positions: np.ndarray
    oriented: np.ndarray
    accuracy: np.ndarray
    axis_pairs: tuple[_AxisPairs | None, ...]
    axis_reasons: tuple[str, ...]
    reason: str = ""


def _prepare(df: pd.DataFrame, measure: str, sign: int, what: str, pairs: Pairs) -> _Prepared:
    df = with_train_size(df)
    require_columns(df, (measure, ACCURACY, *HYPERPARAMETERS), what)
    values = pd.to_numeric(df[measure], errors="coerce").to_numpy(dtype=float)
    accuracy = pd.to_numeric(df[ACCURACY], errors="coerce").to_numpy(dtype=float)
    bad_acc = ~np.isfinite(accuracy)
    if bad_acc.any():
        first = df.index[bad_acc][0]
        raise ValueError(f"{what}: test_acc of row {first!r} is {df.loc[first, ACCURACY]!r}; select the runs first")
    finite = np.isfinite(values)
    if finite.any() and not finite.all():
        ids = list(df.loc[~finite, "run_id"]) if "run_id" in df.columns else list(df.index[~finite])
        warnings.warn(f"{what}: {measure} is missing for {len(ids)} model(s), left out: {ids[:10]}", stacklevel=3)
    positions = np.flatnonzero(finite)
    data = df.iloc[positions]
    reason = "no fitted model" if len(df) == 0 else "" if finite.any() else "no value of the measure"
    axis_pairs, axis_reasons = [], []
    for axis in AXES:
        compared = None if reason else _pairs(data, axis, pairs)
        axis_pairs.append(compared)
        axis_reasons.append(reason or ("" if compared else NO_GROUP))
    return _Prepared(
        data, positions, sign * values[positions], accuracy[positions], tuple(axis_pairs), tuple(axis_reasons), reason
    )


def _pairs(data: pd.DataFrame, axis: Axis, pairs: Pairs) -> _AxisPairs | None:
    """The pairs of the groups of ``axis`` (>= 2 models, >= 2 values of the axis), or None if there is none:
    those differing in the axis (``pairs="cross"``) or every pair (``"all"``)."""
    rows = np.flatnonzero(axis.mask(data).to_numpy())
    keys = [c for c in GROUP_CONTEXT if c in data.columns] + [c for c in HYPERPARAMETERS if c != axis.column]
    first, second, sizes, n_all = [], [], [], 0
    subset = data.iloc[rows]
    values = pd.factorize(subset[axis.column], use_na_sentinel=False)[0]
    if np.unique(values).size >= 2:  # else no group can have 2 values: skip the grouping
        groups = subset.groupby(keys, dropna=False, sort=False).indices.values()
        for members in sorted(groups, key=lambda m: m[0]):  # groups in order of first appearance
            if len(members) >= 2 and np.unique(values[members]).size >= 2:
                i, j = np.triu_indices(len(members), 1)
                n_all += i.size
                if pairs == "cross":
                    differ = values[members[i]] != values[members[j]]
                    i, j = i[differ], j[differ]
                first.append(rows[members[i]])
                second.append(rows[members[j]])
                sizes.append(i.size)
    if not sizes:
        return None
    sizes_arr = np.asarray(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes_arr)[:-1]])
    return _AxisPairs(np.concatenate(first), np.concatenate(second), starts, sizes_arr, n_all)


def _adjusted_residuals(values: np.ndarray, configuration: np.ndarray) -> np.ndarray:
    """``values`` (``(B, n)``) moved away from their configuration's mean (per row) by sqrt(n_c / (n_c - 1)), n_c
    the configuration's number of replicates (unchanged when 1): a replicate drawn from them varies like a new seed
    (Davison & Hinkley 1997, §3.3)."""
    sizes = np.bincount(configuration)
    order = np.argsort(configuration, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    means = np.add.reduceat(values[:, order], starts, axis=1) / sizes
    inflation = np.sqrt(sizes / np.maximum(sizes - 1, 1))
    centre = means[:, configuration]
    return centre + inflation[configuration] * (values - centre)


def _cells(
    axis_pairs: Sequence[_AxisPairs | None],
    measure: np.ndarray,
    accuracy: np.ndarray,
    ties: Ties,
    runs: np.ndarray | None = None,
) -> np.ndarray:
    """Granulated Kendall of every row of ``measure`` and ``accuracy`` (each ``(B, n)``, or ``(1, n)`` broadcast):
    ``(B, 9)``, the 8 axes then the total; NaN where undefined. Vectorised over rows and pairs.

    ``runs`` (``(B, n)``, from :func:`draw_replicates`): the run behind each position; a pair of one run with its
    own copy is one model, not a pair, and is left out (under the authors' ties it is out anyway: tied in both).
    """
    n_rows = max(measure.shape[0], accuracy.shape[0])
    psi = np.full((n_rows, len(AXES)), np.nan)
    for a, pairs in enumerate(axis_pairs):
        if pairs is None:
            continue
        dm = np.sign(measure[:, pairs.first] - measure[:, pairs.second]).astype(np.int8)
        da = np.sign(accuracy[:, pairs.first] - accuracy[:, pairs.second]).astype(np.int8)
        concordance = np.add.reduceat((dm * da).astype(np.int64), pairs.starts, axis=1)
        if ties == "authors":
            left_out = (dm == 0) & (da == 0)
        elif runs is not None:
            left_out = runs[:, pairs.first] == runs[:, pairs.second]
        else:
            left_out = np.zeros((1, len(pairs.first)), dtype=bool)
        counted = pairs.sizes - np.add.reduceat(left_out.astype(np.int64), pairs.starts, axis=1)
        defined = counted > 0
        taus = np.where(defined, concordance / np.maximum(counted, 1), 0.0)
        n_defined = defined.sum(axis=1)
        psi[:, a] = np.where(n_defined > 0, taus.sum(axis=1) / np.maximum(n_defined, 1), np.nan)
    present = ~np.isnan(psi)
    total = np.where(present.any(axis=1), np.nansum(psi, axis=1) / np.maximum(present.sum(axis=1), 1), np.nan)
    return np.column_stack([psi, total])


def _test_hits(df: pd.DataFrame, correct: np.ndarray | None, n_resamples: int, seed: int) -> np.ndarray | None:
    """Each run's number of correct images in each test-image resample, ``(len(df), n_resamples)``; None without
    ``correct``. A counts matrix times the correctness matrix, in blocks of resamples (exact: integers < 2^24)."""
    if correct is None:
        return None
    correct = _check_correct(df, correct)
    n_test = correct.shape[1]
    draws = draw_test_images(n_test, n_resamples, seed)
    as_float = correct.astype(np.float32)
    hits = np.empty((len(df), n_resamples), dtype=np.float32)
    block = max(1, 4_000_000 // n_test)
    for start in range(0, n_resamples, block):
        drawn = draws[start : start + block]
        offsets = np.arange(len(drawn), dtype=np.int64)[:, None] * n_test
        counts = np.bincount((drawn + offsets).ravel(), minlength=drawn.size).reshape(drawn.shape)
        hits[:, start : start + len(drawn)] = as_float @ counts.T.astype(np.float32)
    return hits.astype(np.int64)


def _intervals(
    df: pd.DataFrame,
    measure: str,
    sign: int,
    hits: np.ndarray | None,
    n_resamples: int,
    seed: int,
    confidence: float,
    ties: Ties,
    seeds: bool,
    pairs: Pairs,
) -> pd.DataFrame:
    """One measure's cells (see :func:`granulated_kendall_intervals`); ``hits`` from :func:`_test_hits`."""
    if measure not in df.columns:
        return _missing_cells("measure not computed")
    prepared = _prepare(df, measure, sign, "granulated_kendall_intervals", pairs)
    if prepared.reason:
        return _missing_cells(prepared.reason)
    point = _cells(prepared.axis_pairs, prepared.oriented[None, :], prepared.accuracy[None, :], ties)[0]

    oriented, accuracy = prepared.oriented[None, :], prepared.accuracy[None, :]
    if hits is not None:
        accuracy = hits[prepared.positions].T.astype(float)
    replicates = draw_replicates(prepared.data, n_resamples, seed) if seeds else None
    configuration = configurations(prepared.data)
    if replicates is not None:
        oriented = _adjusted_residuals(oriented, configuration)[0][replicates]
        accuracy = _adjusted_residuals(accuracy, configuration)
        accuracy = np.take_along_axis(np.broadcast_to(accuracy, replicates.shape), replicates, axis=1)
    resampled = hits is not None or replicates is not None
    boot = (
        _cells(prepared.axis_pairs, oriented, accuracy, ties, replicates)
        if resampled
        else np.full((0, len(CELLS)), np.nan)
    )

    n_groups = [0 if p is None else len(p.sizes) for p in prepared.axis_pairs]
    n_pairs = [0 if p is None else int(p.sizes.sum()) for p in prepared.axis_pairs]
    n_pairs_all = [0 if p is None else p.n_all for p in prepared.axis_pairs]
    # fewest seeds of a configuration in each axis's groups; seed noise is estimated from that few
    seeds_per_configuration = np.bincount(configuration)[configuration]
    fewest = [
        0 if p is None else int(seeds_per_configuration[np.concatenate([p.first, p.second])].min())
        for p in prepared.axis_pairs
    ]
    reasons = list(prepared.axis_reasons)
    for a, value in enumerate(point[: len(AXES)]):
        if np.isnan(value) and not reasons[a]:
            reasons[a] = "every pair tied in both values"  # authors' ties only
    present = ~np.isnan(point[: len(AXES)])
    few_seeds = [replicates is not None and bool(p) and f <= FEW_SEEDS for p, f in zip(present, fewest, strict=True)]
    n_groups.append(int(np.asarray(n_groups)[present].sum()))
    n_pairs.append(int(np.asarray(n_pairs)[present].sum()))
    n_pairs_all.append(int(np.asarray(n_pairs_all)[present].sum()))
    few_seeds.append(any(few_seeds))
    reasons.append("" if present.any() else NO_AXIS)

    defined = ~np.isnan(boot)
    lo, hi = np.full(len(CELLS), np.nan), np.full(len(CELLS), np.nan)
    for c in np.flatnonzero(defined.any(axis=0) & ~np.isnan(point)):
        lo[c], hi[c] = bootstrap_interval(point[c], boot[:, c], confidence)
    cells = pd.DataFrame(
        {
            "value": point,
            "lo": lo,
            "hi": hi,
            "n_groups": n_groups,
            "n_pairs": n_pairs,
            "n_pairs_all": n_pairs_all,
            "n_axes": pd.array([pd.NA] * len(AXES) + [int(present.sum())], dtype="Int64"),
            "few_pairs": [not r and n < MIN_PAIRS for r, n in zip(reasons, n_pairs, strict=True)],
            "few_seeds": few_seeds,
            "n_resamples": np.where(np.isnan(point), 0, defined.sum(axis=0)),
            "missing_reason": reasons,
        },
        index=pd.Index(CELLS, name="cell"),
    )
    return cells


def _missing_cells(reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value": np.nan,
            "lo": np.nan,
            "hi": np.nan,
            "n_groups": 0,
            "n_pairs": 0,
            "n_pairs_all": 0,
            "n_axes": pd.array([pd.NA] * len(AXES) + [0], dtype="Int64"),
            "few_pairs": False,
            "few_seeds": False,
            "n_resamples": 0,
            "missing_reason": [reason] * len(AXES) + [NO_AXIS],
        },
        index=pd.Index(CELLS, name="cell"),
    )


def _interval_attrs(
    df: pd.DataFrame,
    hits: np.ndarray | None,
    n_resamples: int,
    seed: int,
    confidence: float,
    ties: Ties,
    seeds: bool,
    pairs: Pairs,
) -> dict[str, Any]:
    """What the intervals resampled (for the legend): ``resampled`` lists the sources the data had."""
    with_seeds = seeds and len(df) > 0 and draw_replicates(df, 1, seed) is not None
    sources = [s for s, used in zip(RESAMPLE_SOURCES, (hits is not None, with_seeds), strict=True) if used]
    return {
        "confidence": confidence,
        "n_resamples": n_resamples,
        "seed": seed,
        "ties": ties,
        "pairs": pairs,
        "resampled": sources,
    }


# --------------------------------------------------------------------------------------------------------------
# private helpers: validation


def _check_ties(ties: str) -> None:
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")


def _check_positive_int(value: Any, name: str) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_pairs(pairs: str) -> None:
    if pairs not in PAIRS:
        raise ValueError(f"pairs must be one of {PAIRS}, got {pairs!r}")


def _check_interval_options(
    n_resamples: int, confidence: float, ties: str, resample: Collection[str], pairs: str
) -> set[str]:
    _check_positive_int(n_resamples, "n_resamples")
    _check_ties(ties)
    _check_pairs(pairs)
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(resample, str) or not set(resample) <= set(RESAMPLE_SOURCES):
        raise ValueError(f"resample must be a subset of {RESAMPLE_SOURCES}, got {resample!r}")
    return set(resample)


def _check_correct(df: pd.DataFrame, correct: np.ndarray) -> np.ndarray:
    """``correct`` as a boolean ``(len(df), n_test)`` matrix whose row means are ``test_acc`` (to one image)."""
    array = np.asarray(correct)
    if array.ndim != 2 or array.shape[0] != len(df) or array.shape[1] == 0:
        raise ValueError(f"correct must have shape ({len(df)}, n_test) (one row per run of df), got {array.shape}")
    if array.dtype != bool:
        if not np.isin(array, (0, 1)).all():
            raise ValueError("correct must hold booleans or 0/1 (per-image test correctness)")
        array = array.astype(bool)
    if array.shape[1] >= 2**24:
        raise ValueError(f"correct has {array.shape[1]} test images; at most 2^24 - 1 are supported")
    if ACCURACY in df.columns:
        stated = pd.to_numeric(df[ACCURACY], errors="coerce").to_numpy(dtype=float)
        off = np.abs(array.mean(axis=1) - stated) > 1.0 / array.shape[1] + 1e-9
        if off.any():
            r = int(np.flatnonzero(off)[0])
            run = df["run_id"].iloc[r] if "run_id" in df.columns else df.index[r]
            raise ValueError(
                f"correct row {r} ({run}) has accuracy {array[r].mean():.6f} but test_acc is {stated[r]:.6f}: "
                "are the rows aligned with df?"
            )
    return array


def _orientation(measure: str, orientation: int | None) -> int:
    if orientation is None:
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure!r}: pass orientation=+1 or -1, or use one of {list(MEASURES)}")
        return MEASURES[measure].orientation
    if orientation not in (1, -1):
        raise ValueError(f"orientation must be +1 or -1, got {orientation!r}")
    return int(orientation)


def _measure_order(measures: Iterable[str], what: str) -> list[str]:
    """The registered measures asked for, in registry (display) order."""
    asked = list(dict.fromkeys(measures))
    unknown = [m for m in asked if m not in MEASURES]
    if unknown:
        raise ValueError(f"{what}: unknown measure {unknown[0]!r}; registered measures: {list(MEASURES)}")
    if not asked:
        raise ValueError(f"{what} needs at least one measure")
    return [m for m in MEASURES if m in asked]


def _check_interval_table(table: pd.DataFrame) -> None:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("write_kendall_interval_tables needs a non-empty DataFrame from kendall_interval_table")
    if list(table.index.names) != ["measure", "cell"] or list(table.columns) != list(INTERVAL_COLUMNS):
        raise ValueError(
            "expected a kendall_interval_table (index measure, cell; columns "
            f"{list(INTERVAL_COLUMNS)}), got index {list(table.index.names)} and columns {list(table.columns)}"
        )


# --------------------------------------------------------------------------------------------------------------
# private helpers: formatting


def _reason_letters(table: pd.DataFrame, cells: Sequence[str]) -> dict[str, str]:
    """A letter for each reason a shown cell (of ``cells``) is missing, in order of appearance."""
    shown = table[table.index.get_level_values("cell").isin(cells)]
    reasons = [r for r in dict.fromkeys(shown["missing_reason"]) if r]
    return {r: "abcdefghijklmnopqrstuvwxyz"[i % 26] for i, r in enumerate(reasons)}


def _legend(table: pd.DataFrame, latex: bool) -> list[str]:
    """The lines under a table: what the brackets are, the marks, the ties, the n/a reasons (LaTeX)."""
    attrs = table.attrs
    sources = {
        "test_images": "the test images",
        "seeds": "the seeds within each configuration (adjusted for few seeds)",
    }
    resampled = [sources[s] for s in attrs.get("resampled", [])]
    lines = []
    if resampled:
        lines.append(
            f"[lo, hi]: {100 * attrs['confidence']:g}% bootstrap interval (percentile, centred on the estimate), "
            f"{attrs['n_resamples']:,} resamples of {' and of '.join(resampled)} (seed {attrs['seed']})."
        )
    elif attrs:
        lines.append("No interval: the study has neither per-image test correctness nor replicates.")
    if "pairs" in attrs:
        used = "differing in the axis (seed pairs left out)" if attrs["pairs"] == "cross" else "seed pairs included"
        counts = table.xs(TOTAL, level="cell")[["n_pairs", "n_pairs_all"]].max()
        lines.append(
            f"Pairs: each cell ranks the model pairs of its groups {used}; {counts['n_pairs']:,} pairs used over "
            f"the axes of the fullest total, of {counts['n_pairs_all']:,} in its groups."
        )
    if table["few_pairs"].any():
        mark = FEW_PAIRS_LATEX if latex else FEW_PAIRS_MARKDOWN
        lines.append(f"{mark} on fewer than {MIN_PAIRS} model pairs.")
    if table["few_seeds"].any():
        mark = FEW_SEEDS_LATEX if latex else FEW_SEEDS_MARKDOWN
        lines.append(f"{mark} a configuration of the cell has at most {FEW_SEEDS} seeds: its seed noise rests on few.")
    axes = compared_axes(table)
    totals = table.xs(TOTAL, level="cell")
    if (totals["n_axes"][totals["missing_reason"].fillna("") == ""] < len(axes)).any():
        lines.append(f"(k/{len(axes)} axes): a total over k of the {len(axes)} axes shown, the others n/a.")
    if attrs.get("ties") == "authors":
        lines.append("Ties as in the authors' code: pairs identical in both values left out.")
    cells = [*axes, TOTAL]
    left_out = [_cell_label(c) for c in CELLS if c not in cells]
    if left_out:
        lines.append(f"Axes not shown ({NO_GROUP} in this study): {', '.join(left_out)}.")
    lines += list(attrs.get("notes", ()))  # what the caller adds, e.g. how many values sit at a search bound
    letters = _reason_letters(table, cells)
    if latex:  # a line holding "$" is kept as LaTeX by latex_table: its reason is escaped here
        lines += [f"{MISSING_MARKDOWN}$^{{{letter}}}$: {latex_text(r)}." for r, letter in letters.items()]
    else:
        lines += [f"{MISSING_MARKDOWN} ({letter}): {r}." for r, letter in letters.items()]
    return lines


def _markdown_grid(cells: pd.DataFrame, legend: Sequence[str] = ()) -> str:
    """A Markdown table of formatted cells: measures' labels as rows, the axes' labels and "total" as columns."""
    header = ["measure", *(_cell_label(c) for c in cells.columns)]
    rows = [[label(m, "markdown"), *row] for m, row in zip(cells.index, cells.to_numpy().tolist(), strict=True)]
    return markdown_table(header, rows, legend)


def _latex_grid(cells: pd.DataFrame, legend: Sequence[str] = ()) -> str:
    """A booktabs tabular of formatted cells as :func:`_markdown_grid`, a rule between measures of different
    stages."""
    header = ["Measure", *(_cell_label(c) for c in cells.columns)]
    rows = [[label(m, "latex"), *row] for m, row in zip(cells.index, cells.to_numpy().tolist(), strict=True)]
    stages = [MEASURES[m].stage if m in MEASURES else None for m in cells.index]
    return latex_table(header, rows, stages, legend)


def _cell_label(cell: str) -> str:
    return {axis.name: axis.label for axis in AXES}.get(cell, cell)
