"""The leaderboard of one experiment: every measure with its granulated Kendall total and 95% interval, CMI K and
mean robust sign-error, best total first (SPEC §14). Built from the tables the Kendall and criteria rules already
wrote, so it computes no statistic of its own; written through :mod:`intraclass.tables`, labelled by the registry.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .kendall import TOTAL
from .registry import label
from .tables import MISSING_LATEX, latex_table, markdown_table, number, write_table

__all__ = ["LEADERBOARD_COLUMNS", "leaderboard", "write_leaderboard"]

LEADERBOARD_COLUMNS = ("total", "lo", "hi", "n_pairs", "cmi_k", "sign_error")
_HEADER = ["measure", "Kendall total", "95% interval", "pairs", "CMI K", "mean sign-error"]
_LEGEND = [
    "Kendall total: granulated Kendall coefficient of the measure (complexities negated) against test accuracy, "
    "mean over the axes; interval: 95% bootstrap over test images and seeds.",
    "CMI K: conditional mutual information, minimum over pairs of axes (Jiang et al. 2020); blind to direction.",
    "Mean sign-error: robust sign-error over all environments (Dziugaite et al. 2020); 0.5 is chance.",
]


def leaderboard(kendall: pd.DataFrame, cmi: pd.DataFrame, sign_error: pd.DataFrame) -> pd.DataFrame:
    """One row per measure of the Kendall table, sorted by Kendall total (highest first, missing totals last).

    Parameters
    ----------
    kendall : DataFrame
        :func:`intraclass.kendall.read_kendall_interval_table` of the experiment (index ``(measure, cell)``).
    cmi : DataFrame
        The experiment's ``criteria/<experiment>_cmi.csv`` (columns ``measure``, ``cmi_2``, ...).
    sign_error : DataFrame
        The experiment's ``criteria/<experiment>_sign_error.csv`` (columns ``measure``, ``statistic``, ``all``, ...).

    Returns
    -------
    DataFrame
        Indexed by ``measure``, columns :data:`LEADERBOARD_COLUMNS`: ``total``, ``lo``, ``hi`` and ``n_pairs`` of
        the Kendall total, ``cmi_k`` (CMI minimised over pairs of axes) and ``sign_error`` (the mean over all
        environments); a measure missing from a criteria table has NaN there.
    """
    for name, frame, columns in (
        ("cmi", cmi, {"measure", "cmi_2"}),
        ("sign_error", sign_error, {"measure", "statistic", "all"}),
    ):
        missing = columns - set(frame.columns)
        if missing:
            raise ValueError(f"leaderboard: the {name} table lacks column(s) {sorted(missing)}")
    if TOTAL not in kendall.index.get_level_values("cell"):
        raise ValueError(f"leaderboard: the Kendall table has no {TOTAL!r} cell")
    totals = kendall.xs(TOTAL, level="cell")
    table = pd.DataFrame(
        {
            "total": totals["value"],
            "lo": totals["lo"],
            "hi": totals["hi"],
            "n_pairs": totals["n_pairs"],
            "cmi_k": cmi.set_index("measure")["cmi_2"].reindex(totals.index),
            "sign_error": sign_error[sign_error["statistic"] == "mean"]
            .set_index("measure")["all"]
            .reindex(totals.index),
        }
    )
    table.index.name = "measure"
    return table.sort_values("total", ascending=False, na_position="last", kind="stable")


def write_leaderboard(table: pd.DataFrame, stem: str | os.PathLike[str]) -> list[Path]:
    """Write :func:`leaderboard`'s table as ``<stem>.csv`` (full precision), ``.md`` and ``.tex`` (a rank column,
    registry labels, 2 decimals, CMI 3). Returns the three paths."""
    missing = [c for c in LEADERBOARD_COLUMNS if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"write_leaderboard: needs a non-empty leaderboard() table, missing columns {missing}")
    markdown_rows, latex_rows = [], []
    for rank, (name, row) in enumerate(table.iterrows(), start=1):
        for rows, style, empty in ((markdown_rows, "markdown", "n/a"), (latex_rows, "oriented_latex", MISSING_LATEX)):
            interval = "" if pd.isna(row["lo"]) else f"[{number(row['lo'])}, {number(row['hi'])}]"
            rows.append(
                [
                    f"{rank}. {label(name, style)}",
                    number(row["total"], missing=empty),
                    interval or empty,
                    empty if pd.isna(row["n_pairs"]) else f"{int(row['n_pairs'])}",
                    number(row["cmi_k"], digits=3, missing=empty),
                    number(row["sign_error"], missing=empty),
                ]
            )
    return write_table(
        stem,
        table,
        markdown_table(_HEADER, markdown_rows, _LEGEND),
        latex_table(_HEADER, latex_rows, legend=_LEGEND, spec="lrcrrr"),
    )
