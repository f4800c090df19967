"""Can a study rank its models at all? A power report from what training records, never from a measure
(SPEC §14).

A granulated Kendall cell ranks the models of an axis by test accuracy. If the axis's values move test accuracy
less than the seeds do, every coefficient of every measure, good or useless, is mostly seed noise. Per experiment
and axis (the models of the axis's Kendall groups, :data:`intraclass.kendall.AXES`):

* ``value_means``: each value of the axis and its mean test accuracy;
* ``seed_sd``: the pooled within-configuration standard deviation of test accuracy over the configurations with
  >= 2 seeds, ``sqrt(sum_c sum_i (a_ci - mean_c)^2 / sum_c (n_c - 1))`` (ddof=1 within each configuration);
* ``range``: the largest minus the smallest value mean; ``range_sd``: ``range / seed_sd``;
* ``n_pairs``: the cross-configuration model pairs the Kendall cell uses (:func:`intraclass.kendall.axis_pairs`);
  ``n_resolvable``: those whose test accuracies differ by more than ``2 * seed_sd``;
* ``half_width``: half the width of the 95% interval a granulated Kendall cell gets on this design, from the
  bootstrap the Kendall tables use (:func:`intraclass.kendall.granulated_kendall_intervals`, same resamples,
  seed, ties and pairs) applied to a *reference score*: each run's accuracy on a fixed random half of the test
  images (seeded), ranked against its accuracy on the other half as the generalization. The reference is a
  near-perfect measure of generalization, so its interval is close to the narrowest any measure can get here;
  it rests on half the test images, so it is a little wider than a measure's on all of them would be;
* ``verdict``: "can rank" when ``range >= 4 * seed_sd`` (:data:`MIN_RANGE_SD`), else "cannot rank: accuracy
  differences are within seed noise"; "cannot tell" without a configuration of 2 seeds.

The experiment's row (``axis = "experiment"``) pools the seed deviation over every configuration, its range is
the span of the configurations' mean accuracies, its pairs and resolvable pairs add the axes', its half-width is
the total's, and it can rank when every axis present can.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import require_columns
from .grid import HYPERPARAMETERS, with_train_size
from .kendall import AXES, TOTAL, Pairs, Ties, axis_pairs, configurations, granulated_kendall_intervals
from .tables import MISSING_LATEX, latex_table, latex_text, markdown_table, number, write_table

__all__ = [
    "EXPERIMENT",
    "MIN_RANGE_SD",
    "POWER_COLUMNS",
    "not_varied",
    "power_cells",
    "power_table",
    "write_power_tables",
]

EXPERIMENT = "experiment"
MIN_RANGE_SD = 4.0  # an axis can be ranked when its range is at least this many seed deviations (SPEC §14)
RESOLVABLE_SD = 2.0  # a pair is resolvable when its accuracies differ by more than this many seed deviations
CAN_RANK = "can rank"
CANNOT_RANK = "cannot rank: accuracy differences are within seed noise"
CANNOT_TELL = "cannot tell: no configuration has 2 seeds"
NO_GROUP = "n/a: no group with 2 values of the axis"
REFERENCE = "reference"
POWER_COLUMNS = (
    "label",
    "value_means",
    "n_configurations",
    "n_seed_configurations",
    "seed_sd",
    "range",
    "range_sd",
    "n_pairs",
    "n_resolvable",
    "half_width",
    "verdict",
)


def power_table(
    runs: pd.DataFrame,
    correct: np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    ties: Ties = "spec",
    pairs: Pairs = "cross",
) -> pd.DataFrame:
    """The power report of one experiment (module docstring): a row per axis of :data:`intraclass.kendall.AXES`,
    then the experiment's row.

    Parameters
    ----------
    runs : DataFrame
        The kept runs of one experiment (runs.csv rows): ``test_acc`` and the 8 hyperparameters.
    correct : array of shape (len(runs), n_test)
        Each run's per-image test correctness (:func:`intraclass.correctness.correctness_matrix`), rows aligned
        with ``runs``; at least 2 test images (any shape ``(0, k)`` when no run was kept).
    n_resamples, seed, confidence, ties, pairs
        The Kendall tables' bootstrap settings (:func:`intraclass.kendall.granulated_kendall_intervals`); ``seed``
        also draws the reference's half of the test images.

    Returns
    -------
    DataFrame indexed by ``axis`` (the axis names, then ``"experiment"``) with columns :data:`POWER_COLUMNS`;
    numbers are NaN where undefined (no group, no configuration with 2 seeds).
    """
    runs = with_train_size(runs)
    require_columns(runs, ("test_acc", *HYPERPARAMETERS), "power_table")
    correct = np.asarray(correct)
    if correct.ndim != 2 or correct.shape[0] != len(runs) or (len(runs) and correct.shape[1] < 2):
        raise ValueError(f"power_table: correct must have shape ({len(runs)}, n_test >= 2), got {correct.shape}")
    data = runs.reset_index(drop=True)
    accuracy = pd.to_numeric(data["test_acc"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(accuracy).all():
        row = int(np.flatnonzero(~np.isfinite(accuracy))[0])
        raise ValueError(f"power_table: test_acc of row {row} is {data['test_acc'].iloc[row]}; select runs first")
    configuration = configurations(data) if len(data) else np.zeros(0, dtype=np.int64)
    half_widths = _half_widths(data, correct, n_resamples, seed, confidence, ties, pairs)

    rows = {}
    for axis in AXES:
        compared = axis_pairs(data, axis.name, pairs)
        if len(compared) == 0:
            rows[axis.name] = _row(axis.label, "", 0, 0, np.nan, np.nan, 0, 0, np.nan, NO_GROUP)
            continue
        members = np.unique(compared)
        means = pd.Series(accuracy[members]).groupby(data[axis.column].to_numpy()[members]).mean()
        sd, n_seeded = _pooled_seed_sd(accuracy[members], configuration[members])
        rows[axis.name] = _row(
            axis.label,
            "; ".join(
                f"{value:g}: {mean:.4f}" if _is_number(value) else f"{value}: {mean:.4f}"
                for value, mean in means.items()
            ),  # fmt: skip
            np.unique(configuration[members]).size,
            n_seeded,
            sd,
            float(means.max() - means.min()),
            len(compared),
            _resolvable(accuracy, compared, sd),
            half_widths[axis.name],
            _verdict(float(means.max() - means.min()), sd),
        )
    present = [r for r in rows.values() if r["verdict"] != NO_GROUP]
    sd, n_seeded = _pooled_seed_sd(accuracy, configuration)
    configuration_means = pd.Series(accuracy).groupby(configuration).mean()
    span = float(configuration_means.max() - configuration_means.min()) if len(data) else np.nan
    unable = [r["label"] for r in present if r["verdict"] != CAN_RANK]
    if not present:
        verdict = NO_GROUP
    elif np.isnan(sd):
        verdict = CANNOT_TELL
    elif unable:
        verdict = f"{CANNOT_RANK} on {len(unable)} of {len(present)} axes ({', '.join(unable)})"
    else:
        verdict = CAN_RANK
    rows[EXPERIMENT] = _row(
        EXPERIMENT,
        f"{configuration_means.min():.4f} to {configuration_means.max():.4f}" if len(data) else "",
        configuration_means.size,
        n_seeded,
        sd,
        span,
        sum(r["n_pairs"] for r in present),
        sum(r["n_resolvable"] for r in present),
        half_widths[TOTAL],
        verdict,
    )
    table = pd.DataFrame.from_dict(rows, orient="index")[list(POWER_COLUMNS)]
    table.index.name = "axis"
    return table


def power_cells(table: pd.DataFrame, latex: bool = False) -> tuple[list[str], list[list[str]]]:
    """The header and formatted rows of a :func:`power_table` (Markdown, or LaTeX with ``latex=True``): accuracies
    and deviations to 4 decimals, range/SD to 1, half-widths to 2. The axes no group of the design varies
    (:func:`not_varied`) have no row."""
    missing = MISSING_LATEX if latex else "n/a"
    header = [
        "axis",
        "mean test accuracy per value",
        "configurations (with seeds)",
        "seed SD",
        "range",
        "range / SD",
        "pairs",
        "resolvable",
        "95% half-width",
        "verdict",
    ]
    rows = []
    for r in table[table["verdict"] != NO_GROUP].itertuples():
        text = [
            str(r.label),
            missing if pd.isna(r.value_means) or not r.value_means else str(r.value_means),
            f"{r.n_configurations} ({r.n_seed_configurations})",
        ]
        text += [number(r.seed_sd, 4, missing), number(r.range, 4, missing), number(r.range_sd, 1, missing)]
        text += [str(r.n_pairs), str(r.n_resolvable), number(r.half_width, 2, missing), str(r.verdict)]
        rows.append([latex_text(t) for t in text] if latex else text)
    return header, rows


def not_varied(table: pd.DataFrame) -> list[str]:
    """The labels of a :func:`power_table`'s axes that no group of the design varies (verdict n/a, no row in
    :func:`power_cells`)."""
    return [str(label) for label in table.loc[table["verdict"] == NO_GROUP, "label"]]


def write_power_tables(table: pd.DataFrame, stem: str | os.PathLike[str]) -> list[Path]:
    """Write a :func:`power_table` as ``<stem>.csv`` (full precision), ``<stem>.md`` and ``<stem>.tex``
    (:func:`intraclass.tables.write_table`), with a legend saying what each column is."""
    if list(table.columns) != list(POWER_COLUMNS):
        raise ValueError(f"write_power_tables needs a power_table (columns {list(POWER_COLUMNS)})")
    legend = [
        "seed SD: pooled within-configuration standard deviation of test accuracy (configurations with >= 2 seeds).",
        "range: largest minus smallest mean test accuracy of the axis's values (experiment: of the configurations).",
        f"resolvable: cross-configuration pairs whose accuracies differ by more than {RESOLVABLE_SD:g} seed SDs.",
        "95% half-width: of the granulated Kendall interval a reference score (accuracy on a fixed half of the "
        "test images, ranked against accuracy on the other half) gets from the Kendall tables' bootstrap.",
        f"can rank: range >= {MIN_RANGE_SD:g} seed SDs (SPEC §14).",
    ]
    if not_varied(table):
        legend.append(f"Axes not shown ({NO_GROUP.removeprefix('n/a: ')}): {', '.join(not_varied(table))}.")
    header, rows = power_cells(table)
    markdown = markdown_table(header, rows, legend)
    latex_header, latex_rows = power_cells(table, latex=True)
    spec = "ll" + "r" * (len(header) - 3) + "p{6cm}"
    return write_table(stem, table, markdown, latex_table(latex_header, latex_rows, legend=legend, spec=spec))


def _row(label, value_means, n_configurations, n_seeded, sd, value_range, n_pairs, n_resolvable, half_width, verdict):
    ratio = value_range / sd if np.isfinite(sd) and sd > 0 else (np.inf if sd == 0 and value_range > 0 else np.nan)
    return {
        "label": label,
        "value_means": value_means,
        "n_configurations": int(n_configurations),
        "n_seed_configurations": int(n_seeded),
        "seed_sd": sd,
        "range": value_range,
        "range_sd": ratio,
        "n_pairs": int(n_pairs),
        "n_resolvable": int(n_resolvable),
        "half_width": half_width,
        "verdict": verdict,
    }


def _pooled_seed_sd(accuracy: np.ndarray, configuration: np.ndarray) -> tuple[float, int]:
    """The pooled within-configuration standard deviation (ddof=1 in each configuration of >= 2 seeds) and the
    number of such configurations; NaN and 0 when there is none."""
    frame = pd.DataFrame({"acc": accuracy, "cfg": configuration})
    sizes = frame.groupby("cfg")["acc"].transform("size")
    seeded = frame[sizes >= 2]
    if seeded.empty:
        return np.nan, 0
    squares = ((seeded["acc"] - seeded.groupby("cfg")["acc"].transform("mean")) ** 2).sum()
    n_seeded = seeded["cfg"].nunique()
    return float(np.sqrt(squares / (len(seeded) - n_seeded))), int(n_seeded)


def _resolvable(accuracy: np.ndarray, compared: np.ndarray, sd: float) -> int:
    if not np.isfinite(sd):
        return 0
    return int((np.abs(accuracy[compared[:, 0]] - accuracy[compared[:, 1]]) > RESOLVABLE_SD * sd).sum())


def _verdict(value_range: float, sd: float) -> str:
    if np.isnan(sd):
        return CANNOT_TELL
    return CAN_RANK if value_range >= MIN_RANGE_SD * sd else CANNOT_RANK


def _half_widths(
    data: pd.DataFrame,
    correct: np.ndarray,
    n_resamples: int,
    seed: int,
    confidence: float,
    ties: Ties,
    pairs: Pairs,
) -> dict[str, float]:
    """Half the width of each cell's interval for the reference score (module docstring); NaN without runs."""
    if len(data) == 0:
        return dict.fromkeys((*(axis.name for axis in AXES), TOTAL), np.nan)
    n_test = correct.shape[1]
    reference = np.zeros(n_test, dtype=bool)
    reference[np.random.default_rng(seed).permutation(n_test)[: n_test // 2]] = True
    held_out = correct[:, ~reference].astype(bool)
    scored = data.assign(**{REFERENCE: correct[:, reference].mean(axis=1), "test_acc": held_out.mean(axis=1)})
    cells = granulated_kendall_intervals(
        scored, REFERENCE, orientation=1, correct=held_out, n_resamples=n_resamples, seed=seed,
        confidence=confidence, ties=ties, pairs=pairs,
    )  # fmt: skip
    return {cell: float((row.hi - row.lo) / 2) for cell, row in cells.iterrows()}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
