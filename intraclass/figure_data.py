"""The data the figures draw, prepared beside the statistics it comes from (intraclass.plots only draws): Fig. 2's
neuron (c3's class/all std ratio), Fig. 4's granulated Kendall over k, Fig. 7's subclasses and distributions.

Torch- and matplotlib-free: plain arrays, measure summaries (a model's ``measures.json`` dict) and DataFrames in,
arrays and ids out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .kendall import TOTAL, granulated_kendall
from .measures import class_std_ratio

__all__ = [
    "kendall_over_k",
    "log_k_grid",
    "neuron_distribution",
    "selective_subclasses",
    "subclasses_per_class",
    "top_ratio_neuron",
]


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
