"""The report's front page: what was trained and kept (exclusions with their reasons), every Kendall table with its
intervals, the top of each experiment's leaderboard, and each measure's verdict against its controls. Rendered as
reStructuredText (Snakemake's report renders the workflow description, which includes this page, with docutils) and
as Markdown to read on its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pandas as pd

from .controls import CONTROLS
from .kendall import AXES, MIN_PAIRS
from .power import MIN_RANGE_SD
from .registry import label
from .selection import Product
from .tables import number

__all__ = ["front_page"]

Markup = Literal["rst", "md"]
LEADERBOARD_TOP = 5  # rows of each leaderboard on the front page


def front_page(
    study: str,
    runs: pd.DataFrame,
    excluded: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    verdicts: Mapping[str, pd.DataFrame],
    skipped: Sequence[Product],
    power: Mapping[str, tuple[list[str], list[list[str]]]],
    markup: Markup = "rst",
    leaderboards: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """The front page as reStructuredText (``markup="rst"``) or Markdown (``"md"``); it begins with the power
    report (``power``: :func:`intraclass.power.power_cells` of each experiment).

    ``runs`` is runs.csv; ``excluded`` the excluded runs with their ``reason``
    (:func:`intraclass.selection.split_runs`); ``tables`` the formatted Kendall cells of each experiment
    (:func:`intraclass.kendall.interval_cells`: a row per measure, a column per axis and the total); ``verdicts``
    :func:`intraclass.controls.control_verdicts` of each experiment's kept runs; ``skipped`` the tables and figures
    the study cannot have, with the reason (:func:`intraclass.selection.plan_products`); ``leaderboards`` maps an
    experiment to its ``leaderboard/<experiment>.csv`` (:func:`intraclass.leaderboard.leaderboard`, indexed by
    measure), of which the page shows the first :data:`LEADERBOARD_TOP` rows.
    """
    return _page(markup, study, runs, excluded, tables, verdicts, skipped, power, leaderboards or {})


def _page(
    markup: Markup,
    study: str,
    runs: pd.DataFrame,
    excluded: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    verdicts: Mapping[str, pd.DataFrame],
    skipped: Sequence[Product],
    power: Mapping[str, tuple[list[str], list[list[str]]]],
    leaderboards: Mapping[str, pd.DataFrame],
) -> str:
    kept = len(runs) - len(excluded)
    out = [
        _heading(markup, f"Study {study}", 1),
        _heading(markup, "Power: can this design rank its models?", 2),
        "From training alone, before any measure (SPEC §14): an axis can rank its models when the range of its "
        f"values' mean test accuracies is at least {MIN_RANGE_SD:g} pooled seed standard deviations; otherwise every "
        "measure's coefficient on it is mostly seed noise. The half-width is that of the 95% interval a "
        "near-perfect reference score gets on this design. Axes the design varies in no group have no row.",
        *(
            _table(markup, pd.DataFrame(rows, columns=header), experiment)
            for experiment, (header, rows) in power.items()
        ),
        f"**{len(runs)} runs trained, {kept} kept, {len(excluded)} excluded** (a run is excluded when it diverged "
        "or did not fit its training set). Every table and figure uses the kept runs only.",
    ]
    if len(excluded):
        reasons = excluded[["run_id", "reason"]].rename(columns={"run_id": "excluded run"}).reset_index(drop=True)
        out.append(_table(markup, reasons, "Excluded runs"))
    if skipped:
        out.append(
            f"**{len(skipped)} tables and figures this study cannot have**, for want of kept runs (or of what the "
            "config leaves out):"
        )
        missing = pd.DataFrame({"not made": [p.target for p in skipped], "why": [p.reason for p in skipped]})
        out.append(_table(markup, missing, "Tables and figures not made"))
    out += [
        _heading(markup, "Granulated Kendall coefficients", 2),
        "Each cell: the coefficient of the oriented measure against test accuracy, and its 95% bootstrap "
        "interval over the test images and the seeds (SPEC §11). An interval that contains 0 is a result: the "
        f"measure does not rank these models reliably. † marks a cell resting on fewer than {MIN_PAIRS} model "
        "pairs; a total over fewer of the shown axes says so (k/n axes). Axes the design varies in no group have "
        "no column.",
    ]
    for experiment, cells in tables.items():
        labelled = cells.rename(index=label, columns={axis.name: axis.label for axis in AXES})
        out.append(_table(markup, labelled.rename_axis("measure").reset_index(), experiment))
    out += _leaderboard_section(markup, leaderboards)
    out.append(_heading(markup, "Controls", 2))
    out.append(
        "Does each measure of the trained models beat what it scores where nothing was learned? Controls: "
        + "; ".join(f"*{name}*, {what}" for name, what in CONTROLS.items())
        + ". A run beats a control when its oriented value exceeds it; the verdict is *beats* when every kept run "
        "does, *mostly beats* when more than half do, else *does not beat*."
    )
    for experiment, frame in verdicts.items():
        out.append(_heading(markup, experiment, 3))
        out.append(_verdict_lines(frame))
    return "\n\n".join(out) + "\n"


def _leaderboard_section(markup: Markup, leaderboards: Mapping[str, pd.DataFrame]) -> list[str]:
    """The first rows of each experiment's leaderboard, best Kendall total first, and where the whole one is."""
    if not leaderboards:
        return []
    out = [
        _heading(markup, "Leaderboards", 2),
        f"The {LEADERBOARD_TOP} measures with the highest granulated Kendall total of each experiment, with CMI K "
        "(conditional mutual information, minimum over pairs of axes) and the mean robust sign-error (0.5 is "
        "chance). Every measure is in ``leaderboard/<experiment>.md`` (also .csv, .tex).",
    ]
    for experiment, board in leaderboards.items():
        rows = [
            {
                "rank": str(rank),
                "measure": label(str(name)),
                "Kendall total": number(row["total"])
                + ("" if pd.isna(row["lo"]) else f" [{number(row['lo'])}, {number(row['hi'])}]"),
                "CMI K": number(row["cmi_k"], digits=3),
                "mean sign-error": number(row["sign_error"]),
            }
            for rank, (name, row) in enumerate(board.head(LEADERBOARD_TOP).iterrows(), start=1)
        ]
        title = f"{experiment} (top {len(rows)} of {len(board)}; all in leaderboard/{experiment}.md)"
        out.append(_table(markup, pd.DataFrame(rows), title))
    return out


def _verdict_lines(verdicts: pd.DataFrame) -> str:
    if verdicts.empty:
        return "No control values were computed for the kept runs."
    lines = []
    for name, rows in verdicts.groupby("measure", sort=False):
        parts = [
            f"{row.verdict} the {row.control} control ({row.beaten_fraction:.0%} of {row.n_runs} runs; median "
            f"{row.trained_median:.3g} vs {row.control_median:.3g})"
            for row in rows.itertuples()
        ]
        lines.append(f"- **{label(name)}** " + "; ".join(parts) + ".")
    return "\n".join(lines)


def _heading(markup: Markup, text: str, level: int) -> str:
    if markup == "md":
        return "#" * level + " " + text
    return f"{text}\n{'=-~'[level - 1] * len(text)}"


def _table(markup: Markup, frame: pd.DataFrame, title: str) -> str:
    header = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    if markup == "md":
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + row[0])
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("\n", " ").replace("|", "/") or " "
