"""The paper's figures (SPEC §9) as pure functions: plain data in, a :class:`matplotlib.figure.Figure` out.

Every ``fig*`` function takes DataFrames, measure summaries (a model's ``measures.json`` dict) or arrays, never
paths, and builds its figure with the object-oriented API (``Figure()``, no pyplot state), so it is safe in a
Snakemake job and in tests. :func:`save_figure` writes a figure as PDF and PNG, each atomically.

A figure is never drawn empty: when its data cannot support it, the function raises ``ValueError`` saying why.
Models are plotted as given: excluding diverged or unfitted models (:func:`intraclass.selection.select_runs`)
is the caller's job. Measure labels and orientations come from the registry (:mod:`intraclass.registry`).

Helpers the workflow uses to prepare the data: :func:`kendall_over_k` (Fig. 4's curves), :func:`log_k_grid`,
:func:`subclasses_per_class`, :func:`top_ratio_neuron` (Fig. 2's neuron), :func:`selective_subclasses` and
:func:`neuron_distribution` (Fig. 7's neurons and distributions).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .kendall import TOTAL, granulated_kendall, kendall_tau_a
from .measures import class_std_ratio
from .registry import MEASURES, measures_for
from .storage import atomic_path

__all__ = [
    "fig2_neuron_histogram",
    "fig3_measure_vs_accuracy",
    "fig4_kendall_vs_k",
    "fig5_measures_per_layer",
    "fig6_measures_over_epochs",
    "fig7_selective_neuron_over_epochs",
    "fig8_accuracy_histogram",
    "fig11_selectivity_distribution",
    "kendall_over_k",
    "log_k_grid",
    "neuron_distribution",
    "save_figure",
    "selective_subclasses",
    "subclasses_per_class",
    "top_ratio_neuron",
]

PANEL_SIZE = (3.2, 2.6)  # inches per panel
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
MODEL_COLORS = {"high": "#2ca02c", "mid": "#ff7f0e", "low": "#d62728"}  # Fig. 6's three models
EPOCH_LABELS = ("high", "mid", "low")


# --------------------------------------------------------------------------------------------------------------
# common layout and styling


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


def _label(measure: str) -> str:
    return MEASURES[measure].latex if measure in MEASURES else measure


def _oriented_label(measure: str) -> str:
    """Axis label of a measure as ranked: complexities (orientation -1) are shown negated."""
    return MEASURES[measure].oriented_latex if measure in MEASURES else measure


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


# --------------------------------------------------------------------------------------------------------------
# writing


def save_figure(
    fig: Figure, pdf_path: str | os.PathLike[str], png_path: str | os.PathLike[str], dpi: int = 150
) -> None:
    """Write ``fig`` as PDF and as PNG (``dpi``), each through a temporary file moved into place on success."""
    for path, fmt in ((pdf_path, "pdf"), (png_path, "png")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)


# --------------------------------------------------------------------------------------------------------------
# Fig. 2: one neuron, one class against the whole data set (c3's ratio)


def top_ratio_neuron(layers: Sequence[npt.ArrayLike], labels: npt.ArrayLike) -> tuple[int, int, Any]:
    """The (layer index, neuron index in that layer, class id) with the largest c3 ratio sigma[n,C]/sigma[n,D]
    over all layers, neurons and classes (first one on ties): a neuron that illustrates c3 well (Fig. 2)."""
    if len(layers) == 0:
        raise ValueError("top_ratio_neuron needs at least one layer")
    classes = np.unique(np.asarray(labels))
    best: tuple[float, int, int, Any] | None = None
    for index, layer in enumerate(layers):
        ratio = class_std_ratio(layer, labels)  # (n_classes, n_neurons), rows follow np.unique(labels)
        if ratio.size == 0:
            continue
        c, n = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        if best is None or ratio[c, n] > best[0]:
            best = (float(ratio[c, n]), index, int(n), classes[c].item())
    if best is None:
        raise ValueError("top_ratio_neuron: the layers have no neurons")
    return best[1], best[2], best[3]


def fig2_neuron_histogram(
    layers: Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    layer_index: int,
    neuron: int,
    class_id: Any,
    layer_names: Sequence[str] | None = None,
    bins: int = 50,
) -> Figure:
    """Fig. 2: histogram of one neuron's pre-activations over the whole data set D and over the class ``class_id``.

    ``layers`` are per-layer (n_samples, n_neurons_l) pre-activations, ``labels`` the class of each sample. Both
    histograms are densities on shared bins; the title gives the c3 ratio sigma[n,C]/sigma[n,D] of this neuron
    and class (as :func:`intraclass.measures.class_std_ratio` computes it: population std, dead neuron -> 0).
    One axes, two bar containers (data set, class).
    """
    if not 0 <= layer_index < len(layers):
        raise ValueError(f"layer_index {layer_index} out of range: there are {len(layers)} layers")
    x = np.asarray(layers[layer_index], dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"layer {layer_index} must be a non-empty (n_samples, n_neurons) array, got shape {x.shape}")
    if not 0 <= neuron < x.shape[1]:
        raise ValueError(f"neuron {neuron} out of range: layer {layer_index} has {x.shape[1]} neurons")
    y = np.asarray(labels)
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
    in_class = y == class_id
    if not in_class.any():
        raise ValueError(f"class {class_id!r} has no samples (classes: {np.unique(y).tolist()})")
    values = x[:, neuron]
    classes = np.unique(y)
    ratio = float(class_std_ratio(values[:, None], y)[int(np.searchsorted(classes, class_id)), 0])
    edges = np.histogram_bin_edges(values, bins=bins)

    fig, (ax,) = _figure(1, panel_size=(4.8, 3.2))
    ax.hist(values, bins=edges, density=True, color="0.6", alpha=0.7, label=f"data set D (n={values.size})")
    ax.hist(
        values[in_class],
        bins=edges,
        density=True,
        color=COLORS[0],
        alpha=0.6,
        label=f"class {class_id} (n={int(in_class.sum())})",
    )
    layer = layer_names[layer_index] if layer_names is not None else f"layer {layer_index}"
    _style(
        ax,
        "pre-activation",
        "density",
        f"{layer}, neuron {neuron}, class {class_id}\n"
        rf"$\sigma_{{n,C}} / \sigma_{{n,D}}$ = {ratio:.2f}",
    )
    ax.legend(fontsize=8, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 3: each measure against test accuracy


def fig3_measure_vs_accuracy(measures_df: pd.DataFrame, measure_columns: Sequence[str]) -> Figure:
    """Fig. 3: one scatter panel per (experiment, measure): the measure (x) against test accuracy in % (y).

    Rows are the experiments ((dataset, arch) pairs, sorted), columns the measures in the given order. Measures
    with orientation -1 (sharpness, :mod:`intraclass.registry`) are plotted negated, so that in every
    panel "right" predicts "better"; the title gives Kendall's tau-a of the plotted points. Only rows with a
    finite measure and accuracy are plotted; a panel with fewer than 2 such models (e.g. c1 on a data set
    without subclasses) is marked "no data". ValueError if a column is absent or no panel has 2 models.
    """
    measures = list(dict.fromkeys(measure_columns))
    if not measures:
        raise ValueError("fig3_measure_vs_accuracy needs at least one measure column")
    absent = [m for m in (*measures, "test_acc") if m not in measures_df.columns]
    if absent:
        raise ValueError(f"fig3_measure_vs_accuracy: column(s) {absent} not in the measures table")
    experiments = _experiments(measures_df)
    if not experiments:
        raise ValueError("fig3_measure_vs_accuracy: the measures table has no models")

    fig, axes = _figure(len(experiments) * len(measures), ncols=len(measures))
    drawn = 0
    for row, experiment in enumerate(experiments):
        rows = _experiment_rows(measures_df, experiment)
        acc = _finite(rows["test_acc"])
        for col, measure in enumerate(measures):
            ax = axes[row * len(measures) + col]
            title = f"{_experiment_title(experiment)}: {_label(measure)}"
            x = _orientation(measure) * _finite(rows[measure])
            ok = np.isfinite(x) & np.isfinite(acc)
            if ok.sum() < 2:
                _no_data(ax, title, f"{int(ok.sum())} model(s) with {measure}")
                continue
            tau = kendall_tau_a(x[ok], acc[ok])
            ax.scatter(x[ok], 100 * acc[ok], s=14, color=COLORS[col % len(COLORS)], alpha=0.75, linewidths=0)
            _style(
                ax,
                _oriented_label(measure),
                "test accuracy (%)",
                f"{title}\n" + rf"$\tau$ = {tau:.2f} ({int(ok.sum())} models)",
            )
            drawn += 1
    if drawn == 0:
        raise ValueError(f"fig3_measure_vs_accuracy: no experiment has 2 models with a finite value of {measures}")
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 4: granulated Kendall against k


def log_k_grid(max_k: int, points: int = 30) -> np.ndarray:
    """About ``points`` distinct integers from 1 to ``max_k``, evenly spaced on a log scale (always 1 and max_k)."""
    if max_k < 1 or points < 1:
        raise ValueError(f"log_k_grid needs max_k >= 1 and points >= 1, got {max_k}, {points}")
    grid = np.unique(np.round(np.geomspace(1, max_k, num=max(points, 2))).astype(int))
    return np.unique(np.concatenate([[1], grid, [max_k]]))


def subclasses_per_class(summaries: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]]) -> float:
    """Number of subclasses per class (5 on cifar100-coarse, 2 on digits-coarse): Fig. 4's scale of c1's k.

    Computed from the summaries' ``subclasses`` and ``classes`` (the mean when classes are unequal); ValueError if
    the summaries disagree or none has subclasses."""
    values = {len(s["subclasses"]["id"]) / len(s["classes"]) for s in _summary_list(summaries) if "subclasses" in s}
    if not values:
        raise ValueError("subclasses_per_class: no summary has subclasses")
    if len(values) > 1:
        raise ValueError(f"subclasses_per_class: the summaries disagree ({sorted(values)}); use one experiment")
    return values.pop()


def kendall_over_k(
    measures_df: pd.DataFrame,
    summaries_by_run_id: Mapping[str, Mapping[str, Any]],
    measure: str,
    ks: Iterable[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 4's curve: the total granulated Kendall of ``measure`` ("c1" or "c3") with k neurons, for each k.

    For each k, ``measures_df[measure]`` is replaced by ``summaries_by_run_id[run_id]["k_curve"][measure][k - 1]``
    and :func:`intraclass.kendall.granulated_kendall` is called. ``measures_df`` should hold the kept models
    (:func:`intraclass.selection.select_runs`) of one experiment. Returns (ks, totals) as arrays; a missing total
    (no axis with a group) is NaN. ValueError if a run has no summary, no curve for ``measure``, or fewer than
    max(ks) neurons.
    """
    ks_arr = np.asarray(sorted({int(k) for k in ks}), dtype=int)
    if ks_arr.size == 0 or ks_arr[0] < 1:
        raise ValueError(f"kendall_over_k needs k values >= 1, got {ks_arr.tolist()}")
    if measures_df.empty:
        raise ValueError("kendall_over_k: no models")
    curves = []
    for run_id in measures_df["run_id"]:
        if run_id not in summaries_by_run_id:
            raise ValueError(f"kendall_over_k: no measure summary for run {run_id!r}")
        curve = summaries_by_run_id[run_id].get("k_curve", {}).get(measure)
        if curve is None:
            raise ValueError(f"kendall_over_k: run {run_id!r} has no k curve for {measure!r}")
        if len(curve) < ks_arr[-1]:
            raise ValueError(f"kendall_over_k: k = {ks_arr[-1]} but run {run_id!r} has only {len(curve)} neurons")
        curves.append(np.asarray(curve, dtype=float))
    table = np.stack([c[ks_arr - 1] for c in curves])  # (n_models, n_ks)
    totals = np.empty(ks_arr.size)
    for j in range(ks_arr.size):
        total = granulated_kendall(measures_df.assign(**{measure: table[:, j]}), measure)[TOTAL]
        totals[j] = np.nan if total is None else total
    return ks_arr, totals


def fig4_kendall_vs_k(
    curves_by_measure: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    subclasses_per_class: float | None = None,
    title: str | None = None,
) -> Figure:
    """Fig. 4: the total granulated Kendall coefficient against k, one line per measure on one axes.

    ``curves_by_measure`` maps a measure to (k values, totals), e.g. from :func:`kendall_over_k`. c1's k counts
    neurons per *subclass*: as in the paper, its x is k x ``subclasses_per_class`` (required when "c1" is given),
    so both measures are read in neurons per class. Log x axis when k spans more than a decade. NaN totals are
    skipped; ValueError if no curve has a finite point.
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
        label = _label(measure) + (f" (k $\\times$ {scale:g})" if measure == "c1" else "")
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
) -> Figure:
    """Fig. 5 (9, 10): each measure per layer, averaged over the given models (all with the same layers).

    One panel per measure present in every summary's ``per_layer`` (c1, c2, c3, c4 order): the mean over models
    (a line with markers) and +/- one standard deviation (a shaded band). ``depth_label`` names the model set in
    the figure title, e.g. "resnet / cifar100-coarse, depth x1". ValueError if there are no summaries, they have
    different numbers of layers, or share no measure.
    """
    models = _summary_list(summaries)
    if not models:
        raise ValueError("fig5_measures_per_layer: no models")
    n_layers = {len(s["layer_names"]) for s in models}
    if len(n_layers) != 1:
        raise ValueError(
            f"fig5_measures_per_layer: the models have different numbers of layers {sorted(n_layers)}; "
            "pass the models of one depth"
        )
    measures = [m for m in _layer_measures(models[0]["per_layer"]) if all(m in s["per_layer"] for s in models)]
    if not measures:
        raise ValueError("fig5_measures_per_layer: no measure is present in every model's per_layer values")
    n = n_layers.pop()
    fig, axes = _figure(len(measures))
    layer = np.arange(1, n + 1)
    for i, (ax, measure) in enumerate(zip(axes, measures, strict=False)):
        values = np.asarray([s["per_layer"][measure] for s in models], dtype=float)
        if values.shape != (len(models), n):
            raise ValueError(f"fig5_measures_per_layer: per_layer[{measure!r}] must have one value per layer ({n})")
        mean, std = values.mean(axis=0), values.std(axis=0)
        ax.fill_between(layer, mean - std, mean + std, color=COLORS[i], alpha=0.2, linewidth=0)
        ax.plot(layer, mean, marker="o", markersize=3, color=COLORS[i])
        _style(ax, "layer", _label(measure), _label(measure))
        ax.set_xticks(layer if n <= 12 else layer[::2])
    fig.suptitle(f"{depth_label}: mean $\\pm$ std over {len(models)} model(s)", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 6 / 7: over training epochs


def _model_color(label: str, index: int) -> str:
    return MODEL_COLORS.get(label, COLORS[index % len(COLORS)])


def _epoch_scale(ax: Axes, epochs: np.ndarray) -> None:
    """Symmetric-log epoch axis when the epochs span more than a decade (early training is where things change)."""
    positive = epochs[epochs > 0]
    if positive.size and positive.max() / positive.min() > 10:
        ax.set_xscale("symlog", linthresh=1)


def fig6_measures_over_epochs(series: Mapping[str, pd.DataFrame]) -> Figure:
    """Fig. 6: the measures over training epochs, for a few models (typically "high", "mid", "low").

    ``series`` maps a model label to a DataFrame with an ``epoch`` column, measure columns among c1..c4 and
    optionally ``test_acc`` (a fraction). One panel per measure present in any model (c1..c4 order), plus a last
    "test accuracy" panel when any model has test_acc; one line per model having finite values of that column.
    ValueError if no model has an epoch and a measure with a finite value.
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
    fig, axes = _figure(len(columns))
    all_epochs = np.concatenate([_finite(f["epoch"]) for f in series.values()])
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
            ax.plot(
                epoch[ok][order],
                scale * value[ok][order],
                marker="o",
                markersize=3,
                color=_model_color(label, i),
                label=label,
            )
        name = "test accuracy (%)" if column == "test_acc" else _label(column)
        _style(ax, "epoch", name, name)
        _epoch_scale(ax, all_epochs[np.isfinite(all_epochs)])
    axes[0].legend(fontsize=8, frameon=False)
    return fig


def selective_subclasses(summary: Mapping[str, Any]) -> dict[str, int]:
    """Positions (in ``summary["subclasses"]``'s lists) of the subclasses with the maximum and the median
    selectivity at k = 1 (§4.5): {"max": i, "median": j}. Sorted by (selectivity, subclass id); the median is
    the lower one, position (n - 1) // 2. ValueError if the summary has no subclasses."""
    sub = summary.get("subclasses")
    if not sub or not sub.get("id"):
        raise ValueError("selective_subclasses: the summary has no subclasses")
    order = sorted(range(len(sub["id"])), key=lambda i: (float(sub["selectivity_k1"][i]), sub["id"][i]))
    return {"max": order[-1], "median": order[(len(order) - 1) // 2]}


def neuron_distribution(
    layers: Sequence[npt.ArrayLike],
    layer_names: Sequence[str],
    labels: npt.ArrayLike,
    sublabels: npt.ArrayLike,
    layer: str,
    neuron_in_layer: int,
    subclass_id: Any,
    superclass_id: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """One neuron's pre-activations on subclass ``subclass_id`` and on the rest of its superclass (Fig. 7's
    input for one epoch), as float64 arrays. ``layer`` is a layer name (as in ``summary["subclasses"]["layer"]``)."""
    names = [str(n) for n in layer_names]
    if layer not in names:
        raise ValueError(f"neuron_distribution: no layer {layer!r} among {names}")
    x = np.asarray(layers[names.index(layer)], dtype=np.float64)
    if not 0 <= neuron_in_layer < x.shape[1]:
        raise ValueError(
            f"neuron_distribution: neuron {neuron_in_layer} out of range for {layer!r} ({x.shape[1]} neurons)"
        )
    y, sub = np.asarray(labels), np.asarray(sublabels)
    in_sub = sub == subclass_id
    rest = (y == superclass_id) & ~in_sub
    if not in_sub.any() or not rest.any():
        raise ValueError(
            f"neuron_distribution: subclass {subclass_id!r} or the rest of superclass {superclass_id!r} is empty"
        )
    return x[in_sub, neuron_in_layer], x[rest, neuron_in_layer]


def _half_violin(ax: Axes, position: float, values: np.ndarray, edges: np.ndarray, side: int, color: str) -> None:
    """A histogram drawn sideways as half a violin at ``position`` (side -1: left, +1: right), max width 0.42."""
    counts, _ = np.histogram(values, bins=edges)
    width = 0.42 * counts / max(counts.max(), 1)
    centers = 0.5 * (edges[:-1] + edges[1:])
    ax.fill_betweenx(centers, position, position + side * width, color=color, alpha=0.75, linewidth=0)


def fig7_selective_neuron_over_epochs(
    distributions: Mapping[str, Sequence[tuple[int, npt.ArrayLike, npt.ArrayLike]]],
    bins: int = 30,
) -> Figure:
    """Fig. 7: pre-activation distributions of a neuron over training, subclass against rest of its superclass.

    ``distributions`` maps a panel label (e.g. "max selectivity: subclass 37, layer ..., neuron 12") to a list of
    (epoch, values on the subclass, values on the rest of the superclass). One panel per label; at each epoch, a
    split histogram-violin: the subclass on the left, the rest of the superclass on the right (each half scaled
    to its own maximum, on shared bins per epoch). Two filled shapes per epoch. ValueError if a label has no
    epochs or an epoch has an empty or non-finite array.
    """
    if not distributions:
        raise ValueError("fig7_selective_neuron_over_epochs: no neurons")
    fig, axes = _figure(len(distributions), panel_size=(4.4, 3.2))
    for ax, (label, epochs) in zip(axes, distributions.items(), strict=False):
        if not epochs:
            raise ValueError(f"fig7_selective_neuron_over_epochs: {label!r} has no epochs")
        ordered = sorted(epochs, key=lambda e: e[0])
        for pos, (epoch, inside, rest) in enumerate(ordered):
            a, b = np.asarray(inside, dtype=float).ravel(), np.asarray(rest, dtype=float).ravel()
            if a.size == 0 or b.size == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
                raise ValueError(
                    f"fig7_selective_neuron_over_epochs: {label!r} epoch {epoch}: empty or non-finite values"
                )
            edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
            _half_violin(ax, pos, a, edges, -1, COLORS[0])
            _half_violin(ax, pos, b, edges, +1, "0.55")
        ax.set_xticks(range(len(ordered)), [str(e[0]) for e in ordered])
        ax.set_xlim(-0.6, len(ordered) - 0.4)
        _style(ax, "epoch", "pre-activation", label)
    axes[0].legend(
        handles=[Patch(color=COLORS[0], label="subclass"), Patch(color="0.55", label="rest of superclass")],
        fontsize=8,
        frameon=False,
    )
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 8: test accuracies


def fig8_accuracy_histogram(measures_df: pd.DataFrame, bins: int = 20) -> Figure:
    """Fig. 8: histogram of test accuracies (%), one panel per experiment ((dataset, arch), sorted).

    Rows with a non-finite test_acc are skipped; ValueError if no experiment has a finite accuracy."""
    if "test_acc" not in measures_df.columns:
        raise ValueError("fig8_accuracy_histogram needs a test_acc column")
    experiments = [
        e for e in _experiments(measures_df) if np.isfinite(_finite(_experiment_rows(measures_df, e)["test_acc"])).any()
    ]
    if not experiments:
        raise ValueError("fig8_accuracy_histogram: no model has a finite test accuracy")
    fig, axes = _figure(len(experiments), ncols=min(len(experiments), 3))
    for i, (ax, experiment) in enumerate(zip(axes, experiments, strict=False)):
        acc = _finite(_experiment_rows(measures_df, experiment)["test_acc"])
        acc = 100 * acc[np.isfinite(acc)]
        ax.hist(acc, bins=bins, color=COLORS[i % len(COLORS)], alpha=0.8, edgecolor="white", linewidth=0.5)
        _style(ax, "test accuracy (%)", "models", f"{_experiment_title(experiment)} ({acc.size} models)", counts=True)
    return fig


# --------------------------------------------------------------------------------------------------------------
# Fig. 11: subclass selectivity at k = 1


def fig11_selectivity_distribution(
    summaries: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
    bins: int = 30,
) -> Figure:
    """Fig. 11: the per-subclass selectivity at k = 1 (the most selective neuron's, ``selectivity_k1``).

    Two panels: (left) histogram of the values of every (model, subclass) pair; (right) per subclass, the mean
    over models, subclasses sorted in decreasing order, with a band from the minimum to the maximum over models.
    Summaries without subclasses are ignored; ValueError if none has any, or the models have different
    subclass ids (pass the models of one experiment).
    """
    models = [s for s in _summary_list(summaries) if s.get("subclasses") and s["subclasses"].get("id")]
    if not models:
        raise ValueError("fig11_selectivity_distribution: no model has subclasses")
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
