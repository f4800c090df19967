"""The report's front page: what was trained and kept (exclusions with their reasons), every Kendall table with its
intervals, and each measure's verdict against its controls, as reStructuredText (Snakemake's report renders the
workflow description, which includes this page, with docutils) and as Markdown for reading on its own."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .controls import CONTROLS
from .registry import MEASURES

__all__ = ["front_page", "rst_table"]


def front_page(
    study: str,
    runs: pd.DataFrame,
    excluded: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    verdicts: pd.DataFrame,
    min_train_acc: float,
) -> str:
    """The front page as reStructuredText.

    ``runs`` is runs.csv, ``excluded`` the excluded runs with their ``reason`` (:func:`intraclass.selection.
    select_runs`), ``tables`` the formatted Kendall table of each experiment (strings, a row per measure label,
    a column per axis), ``verdicts`` :func:`intraclass.controls.control_verdicts` of the kept runs.
    """
    kept = len(runs) - len(excluded)
    lines = [
        f"Study ``{study}``",
        "-" * (len(study) + 10),
        "",
        f"**{len(runs)} runs trained, {kept} kept, {len(excluded)} excluded** (diverged, or training accuracy below "
        f"{min_train_acc:g}: did not fit). Every table and figure uses the kept runs only.",
        "",
    ]
    if len(excluded):
        reasons = excluded[["run_id", "reason"]].rename(columns={"run_id": "excluded run"})
        lines += [rst_table(reasons, "Excluded runs"), ""]
    for experiment, table in tables.items():
        lines += [rst_table(table, f"Granulated Kendall, {experiment}"), ""]
    lines += [_verdicts_text(verdicts), ""]
    return "\n".join(lines)


def rst_table(table: pd.DataFrame, title: str) -> str:
    """A DataFrame of strings as an RST list-table (its index, when named or not a range, as the first column)."""
    frame = table if isinstance(table.index, pd.RangeIndex) else table.reset_index()
    header = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    out = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append("   * - " + row[0])
        out += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(out)


def _verdicts_text(verdicts: pd.DataFrame) -> str:
    """Per measure, one sentence per control: whether trained models beat it and by how many runs."""
    if verdicts.empty:
        return "No control values were computed for the kept runs."
    lines = ["**Controls** (SPEC §11): does each measure of the trained models beat what it scores without learning?"]
    lines.append("")
    for name, rows in verdicts.groupby("measure", sort=False):
        parts = []
        for row in rows.itertuples():
            parts.append(
                f"{row.verdict} the {row.control} control ({CONTROLS[row.control]}): "
                f"{row.beaten_fraction:.0%} of {row.n_runs} runs, median {row.trained_median:.3g} vs "
                f"{row.control_median:.3g}"
            )
        lines.append(f"- **{MEASURES[name].markdown if name in MEASURES else name}** " + "; ".join(parts) + ".")
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("\n", " ") or " "
