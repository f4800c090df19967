"""The data the figures draw, prepared beside the statistics it comes from (intraclass.plots only draws): Fig. 2's
neuron and its c3 class/all std ratio, Fig. 3's colour of each run (the axis it varies), Fig. 4's granulated
Kendall over k, Fig. 7's subclasses and distributions.

Torch- and matplotlib-free: plain arrays, measure summaries (a model's ``measures.json`` dict) and DataFrames in,
arrays and ids out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .grid import with_train_size
from .kendall import AXES, TOTAL, granulated_kendall
from .measures import class_std_ratio

__all__ = [
    "BASE",
    "SEVERAL",
    "NeuronByClass",
    "kendall_over_k",
    "log_k_grid",
    "neuron_by_class",
    "neuron_distribution",
    "selective_subclasses",
    "subclasses_per_class",
    "top_ratio_neuron",
    "varied_axes",
]

BASE, SEVERAL = "base", "several axes"  # Fig. 3's colour categories besides the 8 axes


@dataclass(frozen=True)
class NeuronByClass:
    """Fig. 2's data: one neuron's pre-activations over the data set, which of them are of the class, and c3's
    ratio sigma[n,C]/sigma[n,D] of this neuron and class."""

    values: np.ndarray  # (n_samples,) float64
    in_class: np.ndarray  # (n_samples,) bool
    ratio: float
    layer: str
    neuron: int
    class_id: Any


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


def neuron_by_class(
    layers: Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    layer_index: int,
    neuron: int,
    class_id: Any,
    layer_names: Sequence[str] | None = None,
) -> NeuronByClass:
    """Fig. 2's data: neuron ``neuron`` of layer ``layer_index`` over the whole data set and over class ``class_id``.

    Parameters
    ----------
    layers : sequence of array-like, each (n_samples, n_neurons_l)
        Per-layer pre-activations.
    labels : array-like of shape (n_samples,)
        The class of each sample.
    layer_index, neuron : int
        The layer and the neuron within it (e.g. from :func:`top_ratio_neuron`).
    class_id
        The class.
    layer_names : sequence of str, optional
        The layers' names (e.g. :func:`intraclass.plots.layer_labels`); default "layer <index>".

    Returns
    -------
    NeuronByClass
        The values, the class mask and the ratio as :func:`intraclass.measures.class_std_ratio` computes it
        (population std, dead neuron -> 0). ValueError on an index out of range or a class without samples.
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
    row = int(np.searchsorted(np.unique(y), class_id))  # class_std_ratio's rows follow np.unique(labels)
    return NeuronByClass(
        values=values,
        in_class=in_class,
        ratio=float(class_std_ratio(values[:, None], y)[row, 0]),
        layer=layer_names[layer_index] if layer_names is not None else f"layer {layer_index}",
        neuron=neuron,
        class_id=class_id,
    )


def varied_axes(runs: pd.DataFrame) -> pd.Series:
    """Which hyperparameter axis each run varies relative to the experiment's base configuration (Fig. 3's colours).

    The base is the most common value of each of the 8 hyperparameters among ``runs`` (one experiment; on ties, the
    first in sorted order). Star and value-list designs vary one axis at a time around their base, so every run has
    a single axis; on the paper's full grid most runs differ on several. Values are compared as text, so 0.1 read
    from a CSV equals 0.1 from a config.

    Parameters
    ----------
    runs : DataFrame
        One experiment's runs, with the hyperparameter column of each of :data:`intraclass.kendall.AXES`.

    Returns
    -------
    Series of str, aligned with ``runs.index``
        :data:`BASE` for a run equal to the base on every axis, the axis's name (e.g. ``"learning_rate"``) for one
        differing on a single axis, :data:`SEVERAL` for one differing on more.
    """
    runs = with_train_size(runs)
    columns = [axis.column for axis in AXES]
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"varied_axes: missing hyperparameter column(s) {missing}")
    if runs.empty:
        raise ValueError("varied_axes: no runs")
    text = runs[columns].astype(str)
    base = {c: text[c].mode().sort_values().iloc[0] for c in columns}
    differs = text.ne(pd.Series(base))
    counts = differs.to_numpy().sum(axis=1)
    first = [AXES[int(np.argmax(row))].name for row in differs.to_numpy()]  # the axis, where there is one
    labels = [BASE if n == 0 else axis if n == 1 else SEVERAL for n, axis in zip(counts, first, strict=True)]
    return pd.Series(labels, index=runs.index, dtype=object)


def kendall_over_k(
    measures_df: pd.DataFrame,
    summaries_by_run_id: Mapping[str, Mapping[str, Any]],
    measure: str,
    ks: Iterable[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 4's curve: the total granulated Kendall of ``measure`` ("c1" or "c3") with k neurons, for each k.

    For each k, ``measures_df[measure]`` is replaced by ``summaries_by_run_id[run_id]["k_curve"][measure][k - 1]``
    and :func:`intraclass.kendall.granulated_kendall` is called. ``measures_df`` should hold the kept models
    (:func:`intraclass.selection.split_runs`) of one experiment. Returns (ks, totals) as arrays; a missing total
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


def _summary_list(summaries: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A sequence of summaries, or a dict run_id -> summary, as a list."""
    if isinstance(summaries, Mapping):
        return list(summaries.values())
    return list(summaries)
