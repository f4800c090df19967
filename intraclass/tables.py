"""Every table the workflow writes, in one format: ``<stem>.csv``, ``<stem>.md`` and ``<stem>.tex``.

The CSV keeps full precision (missing values empty), the Markdown is a pipe table (missing ``n/a``), the LaTeX a
booktabs tabular (missing ``--``). Numbers are rounded by :func:`number` (never ``-0.00``) and text is escaped for
LaTeX by :func:`latex_text`; these are the only definitions of either. Kendall, criteria, paper, sweeps, power and
leaderboard tables build their cells and call :func:`write_table`. Torch-free, matplotlib-free.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .storage import write_text

__all__ = [
    "EXTENSIONS",
    "MISSING_LATEX",
    "MISSING_MARKDOWN",
    "latex_table",
    "latex_text",
    "markdown_table",
    "number",
    "table_paths",
    "write_table",
]

EXTENSIONS = (".csv", ".md", ".tex")
MISSING_MARKDOWN = "n/a"
MISSING_LATEX = "--"
_LATEX_SPECIAL = {"\\": "\\textbackslash{}", "_": "\\_", "%": "\\%", "&": "\\&", "#": "\\#"}


def write_table(stem: str | os.PathLike[str], csv: pd.DataFrame, markdown: str, latex: str) -> list[Path]:
    """Write one table as ``<stem>.csv``, ``<stem>.md`` and ``<stem>.tex``, each atomically.

    Parameters
    ----------
    stem : path-like
        The three files' common path without extension; its folder is created.
    csv : DataFrame
        The full-precision table; its index is written when it is named (``index.name`` or ``index.names``).
    markdown, latex : str
        The rendered tables, from :func:`markdown_table` and :func:`latex_table` (a trailing newline is added
        when missing).

    Returns
    -------
    list of Path
        The CSV, Markdown and LaTeX paths, in that order.
    """
    if not isinstance(csv, pd.DataFrame) or csv.empty:
        raise ValueError(f"write_table {Path(stem).name}: needs a non-empty DataFrame")
    paths = table_paths(stem)
    named_index = any(name is not None for name in csv.index.names)
    write_text(paths[0], csv.to_csv(na_rep="", index=named_index))
    write_text(paths[1], markdown if markdown.endswith("\n") else markdown + "\n")
    write_text(paths[2], latex if latex.endswith("\n") else latex + "\n")
    return paths


def table_paths(stem: str | os.PathLike[str]) -> list[Path]:
    """The CSV, Markdown and LaTeX paths of the table ``stem`` (the stem's name may contain dots)."""
    stem = Path(stem)
    return [stem.with_name(stem.name + ext) for ext in EXTENSIONS]


def number(value: Any, digits: int = 2, missing: str = MISSING_MARKDOWN, sign: bool = False) -> str:
    """A number rounded to ``digits`` decimals for a table cell.

    Parameters
    ----------
    value : float or None
        The number; NaN, None and ``pd.NA`` are missing.
    digits : int
        Decimals kept.
    missing : str
        What a missing value reads as (:data:`MISSING_MARKDOWN` or :data:`MISSING_LATEX`).
    sign : bool
        Always write the sign (differences): ``+`` before positive numbers and zero.

    Returns
    -------
    str
        E.g. ``"0.71"``; a value that rounds to zero is ``"0.00"`` (``"+0.00"`` with ``sign``), never ``"-0.00"``.
    """
    if value is None or pd.isna(value):
        return missing
    rounded = round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:+.{digits}f}" if sign else f"{rounded:.{digits}f}"


def latex_text(text: str) -> str:
    """``text`` escaped for LaTeX (``\\ _ % & #``); text holding ``$`` is taken as LaTeX already and kept."""
    text = str(text)
    if "$" in text:
        return text
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], legend: Sequence[str] = ()) -> str:
    """A Markdown pipe table of preformatted cells, then the legend lines.

    The first column is left-aligned, the others right-aligned unless one of their cells is not a number (label
    columns). Each legend line ends with a hard break, so consecutive lines render as lines, not one paragraph.
    """
    _check_rows(header, rows)
    aligns = [":--" if k == 0 or any(not _numeric(r[k]) for r in rows) else "--:" for k in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    if legend:
        lines += ["", *(line + "  " for line in legend)]
    return "\n".join(lines) + "\n"


def latex_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    groups: Sequence[Any] | None = None,
    legend: Sequence[str] = (),
    spec: str | None = None,
) -> str:
    """A booktabs tabular of preformatted LaTeX cells, then the legend in ``\\footnotesize``.

    Parameters
    ----------
    header : sequence of str
        Column titles, escaped here with :func:`latex_text`.
    rows : sequence of sequence of str
        Cells, already LaTeX (labels from :func:`intraclass.registry.label`, numbers from :func:`number`).
    groups : sequence, optional
        One key per row; a ``\\midrule`` is drawn wherever it changes (e.g. the measures' stages).
    legend : sequence of str
        Lines under the table (escaped with :func:`latex_text`).
    spec : str, optional
        The column spec; default ``l`` then ``r`` for every other column.
    """
    _check_rows(header, rows)
    if groups is not None and len(groups) != len(rows):
        raise ValueError(f"latex_table: {len(groups)} group keys for {len(rows)} rows")
    spec = spec or "l" + "r" * (len(header) - 1)
    lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule", " & ".join(latex_text(h) for h in header) + " \\\\"]
    lines.append("\\midrule")
    for k, row in enumerate(rows):
        if groups is not None and k and groups[k] != groups[k - 1]:
            lines.append("\\midrule")
        lines.append(" & ".join(str(c) for c in row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if legend:
        lines += ["", "\\par\\smallskip{\\footnotesize", *(latex_text(line) + "\\\\" for line in legend), "}"]
    return "\n".join(lines) + "\n"


def _check_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    for k, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"table row {k} has {len(row)} cells for {len(header)} columns: {list(row)}")


def _numeric(cell: Any) -> bool:
    text = str(cell).split(" ")[0].rstrip("†")
    if text in (MISSING_MARKDOWN, MISSING_LATEX, ""):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True
