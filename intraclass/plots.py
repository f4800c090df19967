"""The paper's figures (SPEC §9) as pure functions: plain data in, a :class:`matplotlib.figure.Figure` out.

Every ``fig*`` function takes DataFrames, measure summaries (a model's ``measures.json`` dict) or arrays, never
paths, and builds its figure with the object-oriented API (``Figure()``, no pyplot state), so it is safe in a
Snakemake job and in tests. :func:`save_figure` writes a figure as PDF and PNG, each atomically.

A figure is never drawn empty, nor from fewer than :data:`~intraclass.selection.MIN_MODELS` models where it is
about models: when its data cannot support it, the function raises ``ValueError`` saying why. Which runs count is
decided once, in runs.csv (:func:`intraclass.selection.split_runs` reads it): Fig. 3 and 8 take its
:class:`~intraclass.selection.Selection` (Fig. 3 draws the excluded runs hollow, Fig. 8 counts them); the figures
over summaries plot the models given, the kept ones. Measure labels and orientations come from the registry
(:func:`intraclass.registry.label`); numbers are printed as the tables print them
(:func:`intraclass.tables.number`); layers are labelled "s<stage>.b<block>" (:func:`layer_labels`), runs by id and
test accuracy (:func:`run_label`).

This module draws only: what a figure shows is prepared by :mod:`intraclass.figure_data` (Fig. 2's neuron and its
ratio, Fig. 3's colour of each run, Fig. 4's Kendall over k, Fig. 7's subclasses and distributions), beside the
statistics it comes from. The figures come first, then the labels and :func:`save_figure`, then private helpers.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from . import registry
from .controls import control_column
from .figure_data import BASE, SEVERAL, NeuronByClass, varied_axes
from .grid import experiment_name
from .kendall import AXES, FEW_PAIRS_MARKDOWN, FEW_SEEDS_MARKDOWN, MISSING_MARKDOWN, TOTAL, compared_axes
from .registry import MEASURES, measures_for
from .selection import MIN_MODELS, Selection
from .storage import atomic_path
from .tables import number

__all__ = [
    "fig2_neuron_histogram",
    "fig3_measure_vs_accuracy",
    "fig3_sharpness_vs_accuracy",
    "fig4_kendall_vs_k",
    "fig5_measures_per_layer",
    "fig6_measures_over_epochs",
    "fig7_selective_neuron_over_epochs",
    "fig8_accuracy_histogram",
    "fig11_selectivity_distribution",
    "fig_sweeps",
    "layer_labels",
    "run_label",
    "save_figure",
]

PANEL_SIZE = (3.2, 2.6)  # inches per panel
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")  # no grey
# Their light partners in matplotlib's tab20, for a figure with more lines of one style than COLORS has.
LIGHT_COLORS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5")
MODEL_COLORS = {"high": "#2ca02c", "mid": "#ff7f0e", "low": "#d62728"}  # Fig. 6's three models
AXIS_NAMES = tuple(axis.name for axis in AXES)
# The controls (SPEC §11) as reference lines, told apart by their dashes (colours are the runs'): Fig. 3 draws
# them vertical, Fig. 5 and 6 horizontal.
CONTROL_STYLES = {
    "untrained": {"color": "0.15", "linestyle": "--", "linewidth": 1.0},
    "pixels": {"color": "0.15", "linestyle": "-.", "linewidth": 1.0},
    "shuffled": {"color": "0.15", "linestyle": ":", "linewidth": 1.3},
}
CONTROL_LABELS = {
    "untrained": "untrained (median)",
    "pixels": "input pixels",
    "shuffled": "shuffled subclasses (median)",
}
STAGES = 4  # every model has four stages (SPEC §2)
SITE = re.compile(r"stages\.(?P<block>\d+)(?:\.[\w.]+)?")  # a pre-activation site's module path


# --------------------------------------------------------------------------------------------------------------
# Fig. 2: one neuron, one class against the whole data set (c3's ratio)


def fig2_neuron_histogram(neuron: NeuronByClass, bins: int = 50, run: str | None = None) -> Figure:
    """Fig. 2: histogram of one neuron's pre-activations over the whole data set D and over one class.

    Parameters
    ----------
    neuron : NeuronByClass
        The neuron's values, class and c3 ratio (:func:`intraclass.figure_data.neuron_by_class`).
    bins : int
        Number of bins, shared by both histograms (densities).
    run : str, optional
        The run, first line of the title (e.g. :func:`run_label`).

    Returns
    -------
    Figure
        One axes, two bar containers (data set, class); the title gives the layer, neuron, class and ratio.
    """
    values, in_class = neuron.values, neuron.in_class
    edges = np.histogram_bin_edges(values, bins=bins)
    fig, (ax,) = _figure(1, panel_size=(6.2, 3.6))  # wide enough for a run id in the title
    ax.hist(values, bins=edges, density=True, color="0.6", alpha=0.7, label=f"data set D (n={values.size})")
    ax.hist(
        values[in_class],
        bins=edges,
        density=True,
        color=COLORS[0],
        alpha=0.6,
        label=f"class {neuron.class_id} (n={int(in_class.sum())})",
    )
    _style(
        ax,
        "pre-activation",
        "density",
        ("" if run is None else f"{run}\n")
        + f"{neuron.layer}, neuron {neuron.neuron}, class {neuron.class_id}: "
        + rf"$\sigma_{{n,C}} / \sigma_{{n,D}}$ = {neuron.ratio:.2f}",
    )
    ax.legend(fontsize=8, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 3: each measure against test accuracy


def fig3_measure_vs_accuracy(
    selection: Selection, kendall_tables: Mapping[str, pd.DataFrame], measures: Sequence[str] | None = None
) -> Figure:
    """Fig. 3: the intraclass measures (``preactivations`` stage) against test accuracy, a row per experiment.

    Parameters
    ----------
    selection : Selection
        Every run of the study split into kept and excluded (:func:`intraclass.selection.split_runs` of
        measures.csv): kept runs are filled points, excluded runs (with a finite value) hollow ones.
    kendall_tables : mapping of experiment name to DataFrame
        Each experiment's granulated-Kendall table (:func:`intraclass.kendall.kendall_interval_table`, or its CSV
        as read by ``pd.read_csv``), keyed by :func:`experiment_name`. A panel's title gives its total, interval and
        axes exactly as the table's Markdown does, so figure and table agree.
    measures : list of str, optional
        The columns, in order; default: every registered ``preactivations`` measure present in the table.

    Returns
    -------
    Figure
        A panel per (experiment, measure).

    Notes
    -----
    Rows are the experiments ((dataset, arch), sorted), columns the measures. Each point is a run, coloured by the
    axis it varies (:func:`varied_axes`); the base configuration is a black star. The controls of SPEC §11 are
    vertical lines at their value on the measure axis, over the experiment's kept runs: the median untrained
    network (dashed), the input pixels (dash-dotted) and the median shuffled-subclass control (dotted), where
    measures.csv has them (``<measure>_untrained``, ...). A panel with fewer than
    :data:`~intraclass.selection.MIN_MODELS` kept runs with a finite value is marked "no data". ValueError if a
    column, an experiment's table or a measure's total is missing, or if no panel has enough kept runs.
    """
    frame = pd.concat([selection.kept, selection.excluded])
    chosen = _present(frame, measures, "preactivations")
    return _measures_vs_accuracy(selection, kendall_tables, chosen, "fig3_measure_vs_accuracy")


def fig3_sharpness_vs_accuracy(
    selection: Selection, kendall_tables: Mapping[str, pd.DataFrame], measures: Sequence[str] | None = None
) -> Figure:
    """Fig. 3 for the sharpness measures (``sharpness`` stage, plotted negated: right predicts better).

    Parameters
    ----------
    selection, kendall_tables
        As in :func:`fig3_measure_vs_accuracy`.
    measures : list of str, optional
        The columns, in order; default: every registered ``sharpness`` measure present in the table.

    Returns
    -------
    Figure
        Laid out and titled as :func:`fig3_measure_vs_accuracy`, without control lines (sharpness has none).
    """
    frame = pd.concat([selection.kept, selection.excluded])
    chosen = _present(frame, measures, "sharpness")
    return _measures_vs_accuracy(selection, kendall_tables, chosen, "fig3_sharpness_vs_accuracy")


def _present(frame: pd.DataFrame, measures: Sequence[str] | None, stage: str) -> list[str]:
    """The requested measures (all of them must be columns), or the registered ones of ``stage`` with a value."""
    if measures is not None:
        chosen = list(dict.fromkeys(measures))
        absent = [m for m in chosen if m not in frame.columns]
        if absent:
            raise ValueError(f"column(s) {absent} not in the measures table")
    else:
        chosen = [m.name for m in measures_for(frame.columns, stage=stage) if np.isfinite(_finite(frame[m.name])).any()]
    if not chosen:
        raise ValueError(f"no {stage} measure to plot: none is in the measures table with a finite value")
    return chosen


def _measures_vs_accuracy(
    selection: Selection, kendall_tables: Mapping[str, pd.DataFrame], measures: list[str], what: str
) -> Figure:
    kept, excluded = selection.kept, selection.excluded
    frame = pd.concat([kept.assign(_kept=True), excluded.assign(_kept=False)])
    if "test_acc" not in frame.columns:
        raise ValueError(f"{what}: no test_acc column")
    experiments = _experiments(frame)
    if not experiments:
        raise ValueError(f"{what}: no runs")
    tables = {}
    for experiment in experiments:
        name = experiment_name(*experiment)
        if name not in kendall_tables:
            raise ValueError(f"{what}: no Kendall table for experiment {name!r} (have {sorted(kendall_tables)})")
        tables[experiment] = _long_table(kendall_tables[name], name)

    fig, axes = _figure(len(experiments) * len(measures), ncols=len(measures), panel_size=(2.9, 2.5))
    drawn, categories, controls = 0, set(), set()
    for row, experiment in enumerate(experiments):
        rows = _experiment_rows(frame, experiment)
        axis_of = varied_axes(rows)
        acc = 100 * _finite(rows["test_acc"])
        is_kept = rows["_kept"].to_numpy(dtype=bool)
        for col, measure in enumerate(measures):
            ax = axes[row * len(measures) + col]
            title = f"{_experiment_title(experiment)}: {registry.label(measure, 'latex')}"
            x = _orientation(measure) * _finite(rows[measure])
            ok = np.isfinite(x) & np.isfinite(acc)
            n_kept = int((ok & is_kept).sum())
            if n_kept < MIN_MODELS:
                _no_data(ax, title, f"{n_kept} kept run(s) with a value of {measure}")
                continue
            for category in np.unique(axis_of[ok]):
                for kept_now in (True, False):
                    where = ok & (axis_of.to_numpy() == category) & (is_kept == kept_now)
                    if where.any():
                        _scatter_runs(ax, x[where], acc[where], category, filled=kept_now)
                categories.add(category)
            controls |= _control_lines(ax, rows.loc[is_kept], measure, x[ok])
            total = _total_text(tables[experiment], measure, experiment)
            _style(
                ax,
                registry.label(measure, "oriented_latex"),
                "test accuracy (%)",
                f"{title}\ngranulated $\\tau$ = {total}",
            )
            drawn += 1
    if drawn == 0:
        raise ValueError(f"{what}: no experiment has {MIN_MODELS} kept runs with a finite value of any of {measures}")
    handles = _fig3_legend(categories, controls)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), fontsize=8, frameon=False)
    fig.suptitle(
        f"{len(kept)} kept runs (filled), {len(excluded)} excluded (hollow; left out of the Kendall totals)",
        fontsize=10,
    )
    return fig


def _control_lines(ax: Axes, kept: pd.DataFrame, measure: str, plotted: np.ndarray) -> set[str]:
    """Fig. 3's controls of ``measure``: a vertical line at each control's median over the kept runs (oriented as
    the measure). A control far from the points (beyond half their range on either side) would squeeze them into
    a corner: it is written at that edge instead, named, its value beside an arrow ("<- pixels 0.30").
    Returns the controls shown."""
    lo, hi = float(plotted.min()), float(plotted.max())
    margin = 0.5 * ((hi - lo) or abs(hi) or 1.0)
    shown, off_left, off_right = set(), 0, 0
    for control, style in CONTROL_STYLES.items():
        column = control_column(measure, control)
        if measure not in MEASURES or column not in kept.columns or not np.isfinite(_finite(kept[column])).any():
            continue
        value = _orientation(measure) * float(np.nanmedian(_finite(kept[column])))
        shown.add(control)
        if lo - margin <= value <= hi + margin:
            ax.axvline(value, label=control, zorder=1, **style)
            continue
        left = value < lo  # the usual empty corners of a rising cloud: top left, bottom right
        row = off_left if left else off_right
        ax.text(
            0.02 if left else 0.98,
            0.97 - 0.09 * row if left else 0.03 + 0.09 * row,
            f"\u2190 {control} {number(value)}" if left else f"{control} {number(value)} \u2192",
            transform=ax.transAxes,
            ha="left" if left else "right",
            va="top" if left else "bottom",
            fontsize=7,
            color=style["color"],
            gid=f"control:{control}",
        )
        off_left, off_right = off_left + left, off_right + (not left)
    return shown


def _scatter_runs(ax: Axes, x: np.ndarray, y: np.ndarray, category: str, filled: bool) -> None:
    """Runs of one colour category: filled if kept, hollow (edge only) if excluded; the base as a star."""
    color = _category_color(category)
    marker, size = ("*", 90) if category == BASE else ("o", 22)
    if filled:
        ax.scatter(x, y, s=size, marker=marker, color=color, alpha=0.85, linewidths=0, zorder=3)
    else:
        ax.scatter(x, y, s=size, marker=marker, facecolors="none", edgecolors=color, linewidths=1.0, zorder=3)


def _category_color(category: str) -> str:
    if category == BASE:
        return "black"
    if category == SEVERAL:
        return "0.6"
    return COLORS[AXIS_NAMES.index(category) % len(COLORS)]


def _fig3_legend(categories: set[str], controls: set[str]) -> list[Line2D]:
    """Legend handles: the base, the axes present (in AXES order), several axes, hollow = excluded, controls."""
    labels = {axis.name: f"varies {axis.label}" for axis in AXES}
    order = [BASE, *AXIS_NAMES, SEVERAL]
    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="*" if c == BASE else "o",
            markersize=9 if c == BASE else 5,
            color=_category_color(c),
            label="base configuration" if c == BASE else labels.get(c, c),
        )
        for c in order
        if c in categories
    ]
    handles.append(
        Line2D(
            [], [], linestyle="none", marker="o", markersize=5, markerfacecolor="none", color="0.3", label="excluded"
        )
    )
    handles += [Line2D([], [], label=CONTROL_LABELS[c], **CONTROL_STYLES[c]) for c in CONTROL_STYLES if c in controls]
    return handles


def _long_table(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """A Kendall interval table indexed by (measure, cell), from the library's frame or its CSV."""
    long = table.reset_index() if "measure" in (table.index.names or []) else table
    missing = [
        c
        for c in ("measure", "cell", "value", "lo", "hi", "n_axes", "few_pairs", "few_seeds", "missing_reason")
        if c not in long
    ]
    if missing:
        raise ValueError(f"the Kendall table of {name!r} lacks column(s) {missing}")
    return long.set_index(["measure", "cell"])


def _total_text(table: pd.DataFrame, measure: str, experiment: tuple[str, str]) -> str:
    """The table's total of ``measure`` as its Markdown cell: ``0.71 [0.52, 0.86]``, then ``†`` on fewer than
    MIN_PAIRS pairs, ``‡`` when few seeds were resampled, and, on a line of its own (a panel is narrower than the
    whole), ``(k/n axes)`` over fewer than the n axes the study compares (:func:`intraclass.kendall.compared_axes`);
    ``n/a (reason)`` when missing."""
    if (measure, TOTAL) not in table.index:
        raise ValueError(f"the Kendall table of {experiment_name(*experiment)!r} has no total for {measure!r}")
    r = table.loc[(measure, TOTAL)]
    reason = r["missing_reason"]
    if isinstance(reason, str) and reason:
        return f"{MISSING_MARKDOWN} ({reason})"
    text = number(r["value"])
    if not pd.isna(r["lo"]):
        text += f" [{number(r['lo'])}, {number(r['hi'])}]"
    if bool(r["few_pairs"]):
        text += FEW_PAIRS_MARKDOWN
    if bool(r["few_seeds"]):
        text += FEW_SEEDS_MARKDOWN
    axes = compared_axes(table)
    if int(r["n_axes"]) < len(axes):
        text += f"\n({int(r['n_axes'])}/{len(axes)} axes)"
    return text


# --------------------------------------------------------------------------------------------------------------
# Fig. 4: granulated Kendall against k


def fig4_kendall_vs_k(
    curves_by_measure: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    subclasses_per_class: float | None = None,
    title: str | None = None,
) -> Figure:
    """Fig. 4: the total granulated Kendall coefficient against k, one line per measure on one axes.

    Parameters
    ----------
    curves_by_measure : mapping of measure to (k values, totals)
        E.g. from :func:`intraclass.figure_data.kendall_over_k`; NaN totals are skipped.
    subclasses_per_class : float, optional
        Required when "c1" is given: c1's k counts neurons per *subclass*, so, as in the paper, its x is
        k x ``subclasses_per_class`` and both measures are read in neurons per class.
    title : str, optional
        The axes' title.

    Returns
    -------
    Figure
        One axes, one line per measure with a finite point; log x axis when k spans more than a decade.
        ValueError if no curve has a finite point.
    """
    if not curves_by_measure:
        raise ValueError("fig4_kendall_vs_k needs at least one curve")
    if "c1" in curves_by_measure and not (subclasses_per_class and subclasses_per_class > 0):
        raise ValueError(
            "fig4_kendall_vs_k: c1's k is scaled by the number of subclasses per class; pass subclasses_per_class"
        )
    fig, (ax,) = _figure(1, panel_size=(4.8, 3.4))
    spans: list[float] = []
    for i, (measure, (ks, totals)) in enumerate(curves_by_measure.items()):
        k = np.asarray(ks, dtype=float)
        t = np.asarray(totals, dtype=float)
        if k.shape != t.shape or k.ndim != 1:
            raise ValueError(f"fig4_kendall_vs_k: {measure}'s k values and totals must be 1-D of equal length")
        ok = np.isfinite(k) & np.isfinite(t)
        if not ok.any():
            continue
        scale = subclasses_per_class if measure == "c1" else 1.0
        label = registry.label(measure, "latex") + (f" (k $\\times$ {scale:g})" if measure == "c1" else "")
        order = np.argsort(k[ok])
        ax.plot(
            scale * k[ok][order], t[ok][order], marker="o", markersize=3, color=COLORS[i % len(COLORS)], label=label
        )
        spans += [float(scale * k[ok].min()), float(scale * k[ok].max())]
    if not spans:
        raise ValueError("fig4_kendall_vs_k: no curve has a finite Kendall coefficient")
    if min(spans) > 0 and max(spans) / min(spans) > 10:
        ax.set_xscale("log")
    _style(ax, "k (neurons per class)", "granulated Kendall (total)", title)
    ax.legend(fontsize=8, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 5 / 9 / 10: measures per layer


def fig5_measures_per_layer(
    summaries: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    depth_label: str,
    untrained: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] | None = None,
) -> Figure:
    """Fig. 5 (9, 10): each measure per layer, averaged over the given models (all with the same layers).

    Parameters
    ----------
    summaries : sequence of summaries, or mapping of run id to summary
        The models' ``measures.json`` dicts (``layer_names``, ``per_layer``).
    depth_label : str
        Names the model set in the figure title, e.g. "resnet / cifar100-coarse, depth x1".
    untrained : summaries, optional
        The same runs' untrained networks (their epoch-0 snapshots, SPEC §11): their mean per layer is a dashed
        reference line.

    Returns
    -------
    Figure
        One panel per measure present in every summary's ``per_layer`` (registry order), 2 a row: the mean over
        models (a line with markers) and +/- one standard deviation (a shaded band); layers labelled
        "s<stage>.b<block>" (:func:`layer_labels`). ValueError if there are fewer than
        :data:`~intraclass.selection.MIN_MODELS` models, they (or the untrained ones) have different layers, or
        share no measure.
    """
    models = _summary_list(summaries)
    if len(models) < MIN_MODELS:
        raise ValueError(f"fig5_measures_per_layer: {len(models)} model(s); a mean per layer needs {MIN_MODELS}")
    names = _common_layers(models, "the models")
    references = _summary_list(untrained) if untrained is not None else []
    if references and _common_layers(references, "the untrained networks") != names:
        raise ValueError("fig5_measures_per_layer: the untrained networks' layers differ from the models'")
    measures = [m for m in _layer_measures(models[0]["per_layer"]) if all(m in s["per_layer"] for s in models)]
    if not measures:
        raise ValueError("fig5_measures_per_layer: no measure is present in every model's per_layer values")
    n = len(names)
    fig, axes = _figure(len(measures), ncols=2, panel_size=(max(3.6, 1.2 + 0.22 * n), 2.9))
    layer = np.arange(1, n + 1)
    for i, (ax, measure) in enumerate(zip(axes, measures, strict=False)):
        values = _per_layer(models, measure, n)
        mean, std = values.mean(axis=0), values.std(axis=0)
        ax.fill_between(layer, mean - std, mean + std, color=COLORS[i], alpha=0.2, linewidth=0)
        ax.plot(layer, mean, marker="o", markersize=3, color=COLORS[i], label=f"trained (mean of {len(models)})")
        if references and all(measure in s["per_layer"] for s in references):
            ax.plot(
                layer,
                _per_layer(references, measure, n).mean(axis=0),
                label=f"untrained (mean of {len(references)})",
                **CONTROL_STYLES["untrained"],
            )
        _style(ax, None, registry.label(measure, "latex"), registry.label(measure, "latex"))
        ax.set_xticks(layer, layer_labels(names), rotation=90, fontsize=7)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"{depth_label}: mean $\\pm$ std over {len(models)} model(s)", fontsize=10)
    return fig


def _common_layers(models: list[Mapping[str, Any]], what: str) -> list[str]:
    """The layer names every summary shares; ValueError if they differ."""
    names = {tuple(str(n) for n in s["layer_names"]) for s in models}
    if len(names) != 1:
        sizes = sorted({len(n) for n in names})
        raise ValueError(f"fig5_measures_per_layer: {what} have different layers ({sizes} layers); pass one depth")
    return list(names.pop())


def _per_layer(models: list[Mapping[str, Any]], measure: str, n: int) -> np.ndarray:
    values = np.asarray([s["per_layer"][measure] for s in models], dtype=float)
    if values.shape != (len(models), n):
        raise ValueError(f"fig5_measures_per_layer: per_layer[{measure!r}] must have one value per layer ({n})")
    return values


# --------------------------------------------------------------------------------------------------------------
# Fig. 6 / 7: over training epochs


def fig6_measures_over_epochs(series: Mapping[str, pd.DataFrame], pixels: Mapping[str, float] | None = None) -> Figure:
    """Fig. 6: the measures over training epochs, for a few runs (typically the high / mid / low accuracy ones).

    Parameters
    ----------
    series : mapping of legend label to DataFrame
        A run's label (e.g. ``"high: " + run_label(run_id, test_acc)``; a label starting with "high", "mid" or
        "low" takes that run's colour) to its ``epoch`` column (epoch 0: the untrained network), measure columns
        and optionally ``test_acc`` (a fraction).
    pixels : mapping of measure to float, optional
        Each measure's value on the input pixels (SPEC §11), a dash-dotted horizontal reference line.

    Returns
    -------
    Figure
        One panel per registered ``preactivations`` measure present in any run, plus a last "test accuracy" panel
        when any run has test_acc; one line per run with finite values; 3 panels a row, the legend below.
        ValueError if no run has an epoch and a measure with a finite value.
    """
    if not series:
        raise ValueError("fig6_measures_over_epochs: no models")
    for label, frame in series.items():
        if "epoch" not in frame.columns:
            raise ValueError(f"fig6_measures_over_epochs: model {label!r} has no epoch column")
    columns = [
        m
        for m in _layer_measures({c for f in series.values() for c in f.columns})
        if any(np.isfinite(_finite(f[m])).any() for f in series.values() if m in f.columns)
    ]
    if not columns:
        raise ValueError("fig6_measures_over_epochs: no model has a finite value of any measure")
    if any("test_acc" in f.columns and np.isfinite(_finite(f["test_acc"])).any() for f in series.values()):
        columns.append("test_acc")
    fig, axes = _figure(len(columns), ncols=3)
    all_epochs = np.concatenate([_finite(f["epoch"]) for f in series.values()])
    handles: dict[str, Any] = {}
    for ax, column in zip(axes, columns, strict=False):
        for i, (label, frame) in enumerate(series.items()):
            if column not in frame.columns:
                continue
            epoch, value = _finite(frame["epoch"]), _finite(frame[column])
            ok = np.isfinite(epoch) & np.isfinite(value)
            if not ok.any():
                continue
            order = np.argsort(epoch[ok])
            scale = 100.0 if column == "test_acc" else 1.0
            (handles[label],) = ax.plot(
                epoch[ok][order],
                scale * value[ok][order],
                marker="o",
                markersize=3,
                color=_model_color(label, i),
                label=label,
            )
        if pixels is not None and column in pixels and np.isfinite(pixels[column]):
            handles[CONTROL_LABELS["pixels"]] = ax.axhline(
                float(pixels[column]), label=CONTROL_LABELS["pixels"], zorder=1, **CONTROL_STYLES["pixels"]
            )
        name = "test accuracy (%)" if column == "test_acc" else registry.label(column, "latex")
        _style(ax, "epoch (0: untrained)", name, name)
        _epoch_scale(ax, all_epochs[np.isfinite(all_epochs)])
    order = [*series, CONTROL_LABELS["pixels"]]  # the runs first, whichever panel each first appears in
    shown = [handles[label] for label in order if label in handles]
    fig.legend(handles=shown, loc="outside lower center", ncols=1, fontsize=8, frameon=False)
    return fig


def fig7_selective_neuron_over_epochs(
    distributions: Mapping[str, Sequence[tuple[int, npt.ArrayLike, npt.ArrayLike]]],
    bins: int = 30,
    run: str | None = None,
) -> Figure:
    """Fig. 7: pre-activation distributions of a neuron over training, subclass against rest of its superclass.

    Parameters
    ----------
    distributions : mapping of panel label to list of (epoch, subclass values, rest values)
        E.g. "max selectivity: subclass 37, s3.b2, neuron 12" to the neuron's values on the subclass and on the
        rest of its superclass at each epoch (:func:`intraclass.figure_data.neuron_distribution`).
    bins : int
        Bins per epoch, shared by both halves.
    run : str, optional
        Titles the figure (e.g. :func:`run_label`).

    Returns
    -------
    Figure
        One panel per label; at each epoch a split histogram-violin, two filled shapes: the subclass on the left,
        the rest of the superclass on the right, each half scaled to its own maximum.

    Notes
    -----
    The values are standardised per epoch: minus their mean, over their standard deviation (population), both over
    the subclass and the rest together; the raw standard deviation is printed under each epoch. Why: the
    pre-activations are read in inference mode, through BN's running statistics, which after a few steps have not
    converged, so early epochs come out 100 times wider than late ones (150-400 at epoch 1, about 3 at epoch 10 in
    the default study) and on one raw axis the later epochs are slivers. Per channel, inference-mode BN is an affine
    map, and so is standardising: it removes the running statistics' scale and shift and keeps what the figure is
    about, how far the subclass sits from the rest of its superclass (c1's selectivity is invariant to it).
    Recomputing the BN statistics on the training images before extracting would instead change the model whose
    measures are reported. ValueError if a label has no epochs or an epoch has an empty or non-finite array.
    """
    if not distributions:
        raise ValueError("fig7_selective_neuron_over_epochs: no neurons")
    fig, axes = _figure(len(distributions), panel_size=(4.6, 3.4))
    for ax, (label, epochs) in zip(axes, distributions.items(), strict=False):
        if not epochs:
            raise ValueError(f"fig7_selective_neuron_over_epochs: {label!r} has no epochs")
        ordered = sorted(epochs, key=lambda e: e[0])
        ticks = []
        for pos, (epoch, inside, rest) in enumerate(ordered):
            a, b = np.asarray(inside, dtype=float).ravel(), np.asarray(rest, dtype=float).ravel()
            if a.size == 0 or b.size == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
                raise ValueError(
                    f"fig7_selective_neuron_over_epochs: {label!r} epoch {epoch}: empty or non-finite values"
                )
            both = np.concatenate([a, b])
            center, spread = both.mean(), both.std()
            scale = spread if spread > 0 else 1.0  # a constant neuron is only centred
            edges = np.histogram_bin_edges((both - center) / scale, bins=bins)
            _half_violin(ax, pos, (a - center) / scale, edges, -1, COLORS[0])
            _half_violin(ax, pos, (b - center) / scale, edges, +1, "0.55")
            ticks.append(f"{epoch}\n({spread:.3g})")
        ax.set_xticks(range(len(ordered)), ticks)
        ax.set_xlim(-0.6, len(ordered) - 0.4)
        _style(ax, "epoch (raw standard deviation)", "pre-activation, standardised per epoch", label)
    fig.legend(
        handles=[Patch(color=COLORS[0], label="subclass"), Patch(color="0.55", label="rest of superclass")],
        loc="outside lower center",
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    if run is not None:
        fig.suptitle(run, fontsize=10)
    return fig


def _model_color(label: str, index: int) -> str:
    """Fig. 6's colour of a followed run: by the first word of its label ("high ..."), else by position."""
    return MODEL_COLORS.get(label.split(maxsplit=1)[0].rstrip(":") if label else "", COLORS[index % len(COLORS)])


def _epoch_scale(ax: Axes, epochs: np.ndarray) -> None:
    """Symmetric-log epoch axis when the epochs span more than a decade (early training is where things change);
    linear up to 1, so epoch 0 (the untrained network) has its place."""
    positive = epochs[epochs > 0]
    if positive.size and positive.max() / positive.min() > 10:
        ax.set_xscale("symlog", linthresh=1)


def _half_violin(ax: Axes, position: float, values: np.ndarray, edges: np.ndarray, side: int, color: str) -> None:
    """A histogram drawn sideways as half a violin at ``position`` (side -1: left, +1: right), max width 0.42."""
    counts, _ = np.histogram(values, bins=edges)
    width = 0.42 * counts / max(counts.max(), 1)
    centers = 0.5 * (edges[:-1] + edges[1:])
    ax.fill_betweenx(centers, position, position + side * width, color=color, alpha=0.75, linewidth=0)


# --------------------------------------------------------------------------------------------------------------
# Fig. 8: test accuracies


def fig8_accuracy_histogram(selection: Selection, bins: int = 20) -> Figure:
    """Fig. 8: histogram of the kept runs' test accuracies (%), one panel per experiment ((dataset, arch), sorted).

    Parameters
    ----------
    selection : Selection
        :func:`intraclass.selection.split_runs` of the study's runs, with ``test_acc``.
    bins : int
        Bins per histogram.

    Returns
    -------
    Figure
        Each panel's title counts the experiment's kept and excluded runs (the excluded are not drawn); one with
        fewer than :data:`~intraclass.selection.MIN_MODELS` kept runs is marked "no data". ValueError if none has
        that many.
    """
    kept, excluded = selection.kept, selection.excluded
    if "test_acc" not in kept.columns:
        raise ValueError("fig8_accuracy_histogram needs a test_acc column")
    experiments = _experiments(pd.concat([kept, excluded]))
    if not experiments:
        raise ValueError("fig8_accuracy_histogram: no runs")
    fig, axes = _figure(len(experiments), ncols=min(len(experiments), 3))
    drawn = 0
    for i, (ax, experiment) in enumerate(zip(axes, experiments, strict=False)):
        acc = 100 * _finite(_experiment_rows(kept, experiment)["test_acc"])
        n_out = len(_experiment_rows(excluded, experiment))
        title = f"{_experiment_title(experiment)}: {acc.size} kept, {n_out} excluded"
        if acc.size < MIN_MODELS:
            _no_data(ax, title, f"{acc.size} kept run(s)")
            continue
        ax.hist(acc, bins=bins, color=COLORS[i % len(COLORS)], alpha=0.8, edgecolor="white", linewidth=0.5)
        _style(ax, "test accuracy (%)", "runs", title, counts=True)
        drawn += 1
    if drawn == 0:
        raise ValueError(f"fig8_accuracy_histogram: no experiment has {MIN_MODELS} kept runs")
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 11: subclass selectivity at k = 1


def fig11_selectivity_distribution(
    summaries: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    bins: int = 30,
) -> Figure:
    """Fig. 11: the per-subclass selectivity at k = 1 (the most selective neuron's, ``selectivity_k1``).

    Parameters
    ----------
    summaries : sequence of summaries, or mapping of run id to summary
        One experiment's models; those without ``subclasses`` are ignored.
    bins : int
        Bins of the histogram.

    Returns
    -------
    Figure
        Two panels: (left) histogram of the values of every (model, subclass) pair; (right) per subclass, the mean
        over models, subclasses sorted in decreasing order, with a band from the minimum to the maximum. ValueError
        if fewer than :data:`~intraclass.selection.MIN_MODELS` models have subclasses, or their subclass ids differ.
    """
    models = [s for s in _summary_list(summaries) if s.get("subclasses") and s["subclasses"].get("id")]
    if len(models) < MIN_MODELS:
        raise ValueError(
            f"fig11_selectivity_distribution: {len(models)} model(s) with subclasses; the figure needs {MIN_MODELS}"
        )
    ids = {tuple(s["subclasses"]["id"]) for s in models}
    if len(ids) != 1:
        raise ValueError("fig11_selectivity_distribution: the models have different subclasses; pass one experiment")
    values = np.asarray([s["subclasses"]["selectivity_k1"] for s in models], dtype=float)  # (models, subclasses)
    fig, (left, right) = _figure(2, panel_size=(4.0, 3.0))
    left.hist(values.ravel(), bins=bins, color=COLORS[0], alpha=0.8, edgecolor="white", linewidth=0.5)
    _style(
        left,
        "selectivity at k = 1",
        "subclasses x models",
        f"{values.shape[1]} subclasses, {values.shape[0]} model(s)",
        counts=True,
    )
    mean = values.mean(axis=0)
    order = np.argsort(-mean, kind="stable")
    rank = np.arange(1, mean.size + 1)
    right.fill_between(
        rank, values.min(axis=0)[order], values.max(axis=0)[order], color=COLORS[0], alpha=0.2, linewidth=0
    )
    right.plot(rank, mean[order], marker="o", markersize=3, color=COLORS[0])
    _style(right, "subclass rank", "selectivity at k = 1", "mean over models (band: min-max)")
    return fig


# --------------------------------------------------------------------------------------------------------------
# Sweeps: granulated Kendall over a measure's free constant (SPEC §13)


def fig_sweeps(table: pd.DataFrame, title: str) -> Figure:
    """The granulated-Kendall total of each swept measure against its free constant (SPEC §13).

    Parameters
    ----------
    table : DataFrame
        :func:`intraclass.sweeps.sweep_kendall`'s rows: measure, constant, value, total, lo, hi.
    title : str
        The figure's title.

    Returns
    -------
    Figure
        A panel per measure with a defined total at 2 or more values: the total (line) and its interval (band), k
        on a log axis, c4's activation percentile on a linear one. ValueError if no measure has one.
    """
    drawable = [
        (measure, rows)
        for measure, rows in table.groupby("measure", sort=False)
        if np.isfinite(_finite(rows["total"])).sum() >= 2
    ]
    if not drawable:
        raise ValueError("fig_sweeps: no measure has a granulated Kendall total at 2 or more swept values")
    fig, axes = _figure(len(drawable))
    for i, (ax, (measure, rows)) in enumerate(zip(axes, drawable, strict=False)):
        x, total = _finite(rows["value"]), _finite(rows["total"])
        lo, hi = _finite(rows["lo"]), _finite(rows["hi"])
        ax.fill_between(x, lo, hi, color=COLORS[i % len(COLORS)], alpha=0.2, linewidth=0, label="95% interval")
        ax.plot(x, total, marker="o", markersize=3, color=COLORS[i % len(COLORS)], label="total")
        ax.axhline(0.0, color="0.5", linewidth=0.6)
        constant = str(rows["constant"].iloc[0])
        if constant == "k":
            ax.set_xscale("log")
        _style(ax, constant, "granulated Kendall total", f"{registry.label(measure, 'latex')} over {constant}")
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------------------------
# labels and writing


def run_label(run_id: str, test_acc: float) -> str:
    """How figures name a run.

    Parameters
    ----------
    run_id : str
        The run's id.
    test_acc : float
        Its final test accuracy, a fraction.

    Returns
    -------
    str
        E.g. ``"digits-coarse_vgg_..._r0 (93.1% test)"``.
    """
    return f"{run_id} ({100 * float(test_acc):.1f}% test)"


def layer_labels(site_names: Sequence[str], stages: int = STAGES) -> list[str]:
    """Short layer labels "s<stage>.b<block>" for a model's pre-activation sites, from their module paths.

    ``site_names`` are one model's sites in DAG order as stored (:func:`intraclass.activations.site_names`):
    ``stages.<i>`` (VGG: each site is one conv block, ``i`` its position in the stages' Sequential) or
    ``stages.<i>.branch.2`` and ``stages.<i>.preactivation`` (ResNet: basic block ``i``, inside its branch and after
    the residual sum). Consecutive sites sharing ``i`` form one block; the blocks are split evenly into ``stages``
    stages (2 blocks each at depth x1, 3 at x1.5).

    Parameters
    ----------
    site_names : sequence of str
        One model's pre-activation sites.
    stages : int
        Number of stages the blocks are split into.

    Returns
    -------
    list of str
        A label per site; a block with several sites numbers them: ResNet's "s1.b1.1" (mid-block) and "s1.b1.2"
        (the block's output). ValueError for a name of another form, or a number of blocks that the stages do not
        divide.
    """
    blocks: list[list[int]] = []  # site positions per block
    previous = None
    for position, name in enumerate(site_names):
        match = SITE.fullmatch(str(name))
        if match is None:
            raise ValueError(f"layer_labels: {name!r} is not a pre-activation site (stages.<i>[.<module path>])")
        if match["block"] != previous:
            blocks.append([])
            previous = match["block"]
        blocks[-1].append(position)
    if not blocks or len(blocks) % stages:
        raise ValueError(f"layer_labels: {len(blocks)} blocks cannot be split into {stages} stages: {list(site_names)}")
    per_stage = len(blocks) // stages
    labels = [""] * len(site_names)
    for b, positions in enumerate(blocks):
        stem = f"s{b // per_stage + 1}.b{b % per_stage + 1}"
        for i, position in enumerate(positions):
            labels[position] = stem if len(positions) == 1 else f"{stem}.{i + 1}"
    return labels


def save_figure(
    fig: Figure, pdf_path: str | os.PathLike[str], png_path: str | os.PathLike[str], dpi: int = 150
) -> None:
    """Write ``fig`` as PDF and as PNG, each through a temporary file moved into place on success.

    Parameters
    ----------
    fig : Figure
        The figure.
    pdf_path, png_path : path
        Where to write it.
    dpi : int
        The PNG's resolution.
    """
    for path, fmt in ((pdf_path, "pdf"), (png_path, "png")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)


# --------------------------------------------------------------------------------------------------------------
# private helpers: layout, styling, columns


def _figure(
    n_panels: int, ncols: int | None = None, panel_size: tuple[float, float] = PANEL_SIZE
) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``n_panels`` axes on a grid of ``ncols`` columns (default: all in a row).
    Unused grid cells are removed, so ``len(fig.axes) == n_panels``."""
    if n_panels < 1:
        raise ValueError("a figure needs at least one panel")
    ncols = min(ncols or n_panels, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    return fig, axes[:n_panels]


def _style(
    ax: Axes, xlabel: str | None = None, ylabel: str | None = None, title: str | None = None, counts: bool = False
) -> None:
    """The one axis style of every figure: labels, a light grid, no top/right spines, small ticks; ``counts``:
    integer ticks on the y axis (histograms of counts)."""
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=9)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=9)
    if title is not None:
        ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=8)
    if counts:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _no_data(ax: Axes, title: str, why: str) -> None:
    """Mark a panel of a multi-panel grid that has nothing to show (the figure as a whole has data)."""
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=8, color="0.4", transform=ax.transAxes, wrap=True)


def _orientation(measure: str) -> int:
    return MEASURES[measure].orientation if measure in MEASURES else 1


def _layer_measures(present: Iterable[str]) -> list[str]:
    """The registered measures with per-layer or per-epoch values among ``present``, in registry order."""
    return [m.name for m in measures_for(present, stage="preactivations")]


def _experiments(df: pd.DataFrame) -> list[tuple[str, str]]:
    """The (dataset, arch) pairs of ``df``, sorted."""
    missing = [c for c in ("dataset", "arch") if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}: cannot tell the experiments apart")
    return sorted({(str(d), str(a)) for d, a in zip(df["dataset"], df["arch"], strict=False)})


def _experiment_rows(df: pd.DataFrame, experiment: tuple[str, str]) -> pd.DataFrame:
    return df.loc[(df["dataset"].astype(str) == experiment[0]) & (df["arch"].astype(str) == experiment[1])]


def _experiment_title(experiment: tuple[str, str]) -> str:
    return f"{experiment[1]} / {experiment[0]}"


def _finite(values: Any) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)


def _summary_list(summaries: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A sequence of summaries, or a dict run_id -> summary, as a list."""
    if isinstance(summaries, Mapping):
        return list(summaries.values())
    return list(summaries)
