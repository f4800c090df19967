"""The intraclass clustering measures c1-c4 of the paper (§2.2, §2.3), c5 (bimodality, §4.6) and the variants the
figures and sweeps need.

Pure numpy, scikit-learn-metrics style: arrays in, floats (or float64 arrays) out, no hidden state. Everything is
computed in float64 whatever the input dtype (pre-activations are usually stored as float16).

Notation (SPEC §6): ``C_i`` the samples of class (or subclass) ``i``, ``S_s(i)`` its superclass, ``D`` all samples;
``mu``/``sigma`` the mean and *population* standard deviation (ddof=0) over a sample set; ``topk_mean`` the mean of
the ``k`` largest values (``k`` is clipped to the number of values available).

Conventions, defined once here and used by every measure:

* **Dead neuron**: a neuron whose pre-activation is negative on every sample of ``D``. It scores 0 in c1, c3 and c5
  and is dropped from its layer in c4. (c2 uses activations, where a dead neuron is 0 and contributes nothing.)
* **Zero denominator**: any ratio whose denominator is exactly 0 is 0 (0/0 and x/0 alike), never NaN or inf
  (:func:`_safe_divide`). The same goes for undefined quantities: the complement ``S_s(i) \\ C_i`` of a subclass
  that is alone in its superclass gives a selectivity and a silhouette of 0; a set with fewer than two samples
  has a pairwise-distance spread of 0; a neuron constant over a class, or a class of 3 samples or fewer, has a
  bimodality coefficient of 0.
* **Cosine distance** follows :func:`sklearn.metrics.pairwise.cosine_distances`: rows are scaled to unit norm with
  zero rows left at zero, the distance is ``1 - u_i . u_j``, so a zero vector is at distance 1 from every other
  sample (zero vectors included) and at distance 0 from itself.
* **The authors' variants** (their code, github.com/Simoncarbo/intraclass_clustering, ``utils_measures.py``), off
  by default: ``k="authors"`` in c1, c3 and c5 takes ``k = max(round(n_neurons / n_groups), 1)`` neurons, with
  ``n_groups`` the subclasses (c1) or classes (c3, c5); ``pairs="authors"`` in c4 takes the spread of the whole
  ``n x n`` distance matrix, zero diagonal included, instead of the distinct pairs ``i < j``.

Layer-level measures take a list of per-layer **pre-activations** ``(n, d_l)``; c2 applies the ReLU itself and c4
applies its own transform, so callers always pass the same stored arrays. Nothing here builds an ``n x n`` matrix
over a full data set: with unit rows ``u``, cosine distance is ``1 - u_i . u_j``, so silhouettes come from
per-cluster sums of unit vectors (O(n d K)) and the spread of all pairwise distances from the Gram identity
(O(n d^2), d x d memory).

References
----------
.. [1] S. Carbonnelle and C. De Vleeschouwer, "Intraclass clustering: an implicit learning ability that
   regularizes DNNs", ICLR 2021. Equation numbers below refer to this paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "topk_mean",
    "topk_mean_curve",
    "subclass_selectivity",
    "most_selective_neurons",
    "c1",
    "cosine_silhouette_samples",
    "subclass_silhouettes",
    "c2",
    "class_std_ratio",
    "c3",
    "pairwise_cosine_distance_std",
    "percentile_relu_transform",
    "class_distance_spread_ratio",
    "c4",
    "bimodality_coefficient",
    "c5",
    "measure_summary",
    "measure_sweeps",
]

Float64Array = npt.NDArray[np.float64]
NeuronK = int | Literal["authors"]
Pairs = Literal["distinct", "authors"]

# Columns converted to float64 at a time when computing per-group moments (bounds the working memory).
_COLUMN_CHUNK = 512


# ----------------------------------------------------------------------------------------------------------------
# Top-k means (the paper's mean^k)
# ----------------------------------------------------------------------------------------------------------------


def topk_mean(values: npt.ArrayLike, k: int, axis: int = -1) -> Float64Array | float:
    """Mean of the ``k`` largest values along ``axis`` (``mean^k`` in the paper, §2.1).

    Parameters
    ----------
    values : array-like
        The values; any shape with at least one value along ``axis``.
    k : int >= 1
        How many of the largest values to average; clipped to the number of values along ``axis``.
    axis : int, default=-1
        The axis reduced.

    Returns
    -------
    float or ndarray of float64
        A float for 1-D input, else an array with ``axis`` removed.
    """
    k = _check_k(k)
    v = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    n = v.shape[-1]
    if n == 0:
        raise ValueError("topk_mean needs at least one value along the reduced axis")
    k = min(k, n)
    top = np.partition(v, n - k, axis=-1)[..., n - k :]
    out = top.mean(axis=-1)
    return float(out) if out.ndim == 0 else out


def topk_mean_curve(values: npt.ArrayLike) -> Float64Array:
    """:func:`topk_mean` along the last axis for every k = 1..n at once (§4.2, Fig. 4).

    One sort and one cumulative sum: O(n log n) per row instead of O(n^2) for n separate calls.

    Parameters
    ----------
    values : array-like
        Any shape with at least one value along the last axis (n values).

    Returns
    -------
    ndarray of float64, same shape as ``values``
        Entry ``[..., k-1]`` is the top-k mean.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 0 or v.shape[-1] == 0:
        raise ValueError("topk_mean_curve needs at least one value along the last axis")
    desc = -np.sort(-v, axis=-1)
    return np.cumsum(desc, axis=-1) / np.arange(1, v.shape[-1] + 1)


# ----------------------------------------------------------------------------------------------------------------
# c1: neuron-level subclass selectivity (§2.2.1)
# ----------------------------------------------------------------------------------------------------------------


def subclass_selectivity(
    preactivations: npt.ArrayLike, labels: npt.ArrayLike, sublabels: npt.ArrayLike
) -> Float64Array:
    """Selectivity of every neuron for every subclass, the quantity c1 averages (Eq. 1).

    ``sel[i, n] = (mu[n, C_i] - mu[n, S\\C_i]) / (sigma[n, C_i] + sigma[n, S\\C_i])`` with ``S = S_s(i)`` the
    superclass of subclass ``i``, on pre-activations, population std. Dead neurons (negative on every sample) score
    0; a zero denominator gives 0; a subclass alone in its superclass scores 0 everywhere. Unbounded in both
    directions; positive when the subclass fires more than the rest of its superclass.

    Parameters
    ----------
    preactivations : array-like of shape (n_samples, n_neurons)
        Pre-activations, all layers concatenated.
    labels : array-like of shape (n_samples,)
        Superclass of each sample.
    sublabels : array-like of shape (n_samples,)
        Subclass of each sample; each subclass must lie in a single superclass.

    Returns
    -------
    ndarray of float64, shape (n_subclasses, n_neurons)
        Rows follow ``np.unique(sublabels)``.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.2.1, Eq. (1).
    """
    x, groups = _hierarchy(preactivations, labels, sublabels)
    return _selectivity_from_moments(_group_moments(x, groups), groups)


def most_selective_neurons(
    preactivations: npt.ArrayLike, labels: npt.ArrayLike, sublabels: npt.ArrayLike
) -> tuple[np.ndarray, Float64Array, np.ndarray]:
    """Per subclass, the selectivity at k = 1 and the most selective neuron (Fig. 11, §4.5).

    Parameters
    ----------
    preactivations, labels, sublabels
        As in :func:`subclass_selectivity`.

    Returns
    -------
    subclass_ids : ndarray of shape (n_subclasses,)
        ``np.unique(sublabels)``.
    selectivity : ndarray of float64, shape (n_subclasses,)
        ``max_n sel[i, n]``.
    neuron : ndarray of int, shape (n_subclasses,)
        Its argmax, a column index of ``preactivations`` (the first one on ties).

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §4.5 and Fig. 11.
    """
    x, groups = _hierarchy(preactivations, labels, sublabels)
    sel = _selectivity_from_moments(_group_moments(x, groups), groups)
    return groups.ids, sel.max(axis=1), sel.argmax(axis=1)


def c1(
    preactivations: npt.ArrayLike,
    labels: npt.ArrayLike,
    sublabels: npt.ArrayLike,
    k: NeuronK = 30,
    reduce: str = "topk",
) -> float:
    """c1, neuron-level subclass selectivity: ``median_i topk_mean_n sel[i, n]`` (Eq. 1).

    ``sel`` is :func:`subclass_selectivity`. Unbounded; larger means neurons that separate subclasses better.

    Parameters
    ----------
    preactivations, labels, sublabels
        As in :func:`subclass_selectivity`.
    k : int >= 1 or "authors", default=30
        Neurons averaged per subclass (the paper's 30); ``"authors"`` takes ``max(round(n_neurons /
        n_subclasses), 1)``, as the authors' code does with ``neuron_agg="topk"``.
    reduce : {"topk", "max"}, default="topk"
        ``"topk"`` is the paper's mean over the top-``k`` neurons; ``"max"`` the authors' code default (the
        single most selective neuron, i.e. k = 1; ``k`` is then ignored).

    Returns
    -------
    float

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.2.1, Eq. (1).
    """
    _check_neuron_k(k)
    if reduce not in ("topk", "max"):
        raise ValueError(f"reduce must be 'topk' or 'max', got {reduce!r}")
    sel = subclass_selectivity(preactivations, labels, sublabels)
    if reduce == "max":
        return float(np.median(sel.max(axis=1)))
    n_subclasses, n_neurons = sel.shape
    return float(np.median(topk_mean(sel, _resolve_neuron_k(k, n_neurons, n_subclasses), axis=1)))


# ----------------------------------------------------------------------------------------------------------------
# c2: layer-level silhouette of subclasses (§2.2.2)
# ----------------------------------------------------------------------------------------------------------------


def cosine_silhouette_samples(x: npt.ArrayLike, clusters: npt.ArrayLike) -> Float64Array:
    """Silhouette of every sample with cosine distance, without the n x n distance matrix.

    Equal to ``sklearn.metrics.silhouette_samples(x, clusters, metric="cosine")`` (float64):
    ``s(i) = (b(i) - a(i)) / max(a(i), b(i))``, ``a(i)`` the mean cosine distance from i to the other members of
    its cluster, ``b(i)`` the smallest mean distance from i to another cluster; 0 for singleton clusters and for
    0/0. Zero rows follow sklearn's ``cosine_distances`` (distance 1 to every other sample). Range [-1, 1].
    Cost O(n d K) for K clusters.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
    clusters : array-like of shape (n_samples,)
        Cluster of each sample; as in sklearn, 2 <= K <= n_samples - 1 clusters (else ValueError).

    Returns
    -------
    ndarray of float64, shape (n_samples,)

    References
    ----------
    .. [1] P. J. Rousseeuw, "Silhouettes: a graphical aid to the interpretation and validation of cluster
       analysis", Journal of Computational and Applied Mathematics 20 (1987) 53-65.
    """
    arr = _check_matrix(x, "x")
    lab = _check_labels(clusters, arr.shape[0], "clusters")
    _, idx = np.unique(lab, return_inverse=True)
    n_clusters = int(idx.max()) + 1
    if not 2 <= n_clusters <= arr.shape[0] - 1:
        raise ValueError(
            f"number of clusters is {n_clusters}; valid values are 2 to n_samples - 1 = {arr.shape[0] - 1}"
        )
    return _silhouette_unit(_unit_rows(arr), idx, n_clusters)


def subclass_silhouettes(
    preactivations_per_layer: Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    sublabels: npt.ArrayLike,
) -> Float64Array:
    """``silhouette(a_l, S_s(i), C_i)`` for every layer l and subclass i, the quantity c2 averages (Eq. 2).

    The mean cosine silhouette (:func:`cosine_silhouette_samples`) of the samples of C_i when the samples of its
    superclass are labelled by subclass, on the activations ``a_l = max(preactivations_l, 0)`` (the ReLU is applied
    here: pass pre-activations). A subclass alone in its superclass scores 0. Range [-1, 1].

    Parameters
    ----------
    preactivations_per_layer : list of array-like of shape (n_samples, d_l)
        Pre-activations per layer (a single 2-D array counts as one layer).
    labels, sublabels : array-like of shape (n_samples,)
        Superclass and subclass of each sample.

    Returns
    -------
    ndarray of float64, shape (n_layers, n_subclasses)
        Columns follow ``np.unique(sublabels)``.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.2.2, Eq. (2).
    """
    layers = _check_layers(preactivations_per_layer, "preactivations_per_layer")
    n = layers[0].shape[0]
    groups = _make_groups(_check_labels(labels, n, "labels"), _check_labels(sublabels, n, "sublabels"))
    return np.stack([_layer_subclass_silhouettes(x, groups) for x in layers])


def c2(
    preactivations_per_layer: Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    sublabels: npt.ArrayLike,
    k: int = 5,
) -> float:
    """c2, layer-level silhouette: ``median_i topk_mean_l silhouette(a_l, S_s(i), C_i)`` (Eq. 2).

    Silhouettes from :func:`subclass_silhouettes` (pre-activations in, ReLU applied inside). Range [-1, 1]; larger
    means layers where subclasses form tighter clusters.

    Parameters
    ----------
    preactivations_per_layer, labels, sublabels
        As in :func:`subclass_silhouettes`.
    k : int >= 1, default=5
        Layers averaged per subclass: 5 for ResNets, 1 for VGGs in the paper (the authors' code uses the max over
        layers, i.e. k = 1).

    Returns
    -------
    float

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.2.2, Eq. (2).
    """
    k = _check_k(k)
    sil = subclass_silhouettes(preactivations_per_layer, labels, sublabels)
    return float(np.median(topk_mean(sil, k, axis=0)))


# ----------------------------------------------------------------------------------------------------------------
# c3: neuron-level variance (§2.3.1)
# ----------------------------------------------------------------------------------------------------------------


def class_std_ratio(preactivations: npt.ArrayLike, labels: npt.ArrayLike) -> Float64Array:
    """``sigma[n, C_i] / sigma[n, D]`` for every class ``i`` and neuron ``n``, the quantity c3 averages (Eq. 3).

    Population std on pre-activations. Dead neurons score 0, and a zero denominator (a neuron constant over D)
    gives 0. Non-negative.

    Parameters
    ----------
    preactivations : array-like of shape (n_samples, n_neurons)
        Pre-activations, all layers concatenated.
    labels : array-like of shape (n_samples,)
        Class of each sample.

    Returns
    -------
    ndarray of float64, shape (n_classes, n_neurons)
        Rows follow ``np.unique(labels)``.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.3.1, Eq. (3) and Fig. 2.
    """
    x, groups = _hierarchy(preactivations, labels, None)
    return _std_ratio_from_moments(_group_moments(x, groups), groups)


def c3(preactivations: npt.ArrayLike, labels: npt.ArrayLike, k: NeuronK = 30) -> float:
    """c3, neuron-level variance: ``mean_i topk_mean_n sigma[n, C_i] / sigma[n, D]`` (Eq. 3).

    Ratios from :func:`class_std_ratio`. Non-negative; larger means neurons that vary more within a class.

    Parameters
    ----------
    preactivations, labels
        As in :func:`class_std_ratio`.
    k : int >= 1 or "authors", default=30
        Neurons averaged per class (the paper's 30); ``"authors"`` takes ``max(round(n_neurons / n_classes), 1)``,
        as the authors' code does.

    Returns
    -------
    float

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.3.1, Eq. (3).
    """
    _check_neuron_k(k)
    ratio = class_std_ratio(preactivations, labels)
    n_classes, n_neurons = ratio.shape
    return float(np.mean(topk_mean(ratio, _resolve_neuron_k(k, n_neurons, n_classes), axis=1)))


# ----------------------------------------------------------------------------------------------------------------
# c4: layer-level variance of pairwise cosine distances (§2.3.2)
# ----------------------------------------------------------------------------------------------------------------


def pairwise_cosine_distance_std(x: npt.ArrayLike, pairs: Pairs = "distinct") -> float:
    """Population std of the pairwise cosine distances between samples, without the n x n matrix (Sigma of Eq. 4).

    Cost O(n d min(n, d)). Fewer than two samples: 0. Range [0, 1].

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
    pairs : {"distinct", "authors"}, default="distinct"
        ``"distinct"``: the n(n-1)/2 pairs i < j, equal to ``np.std(scipy.spatial.distance.pdist(x, "cosine"))``
        when no row is zero. ``"authors"``: the whole matrix, zero diagonal included, equal to
        ``np.std(sklearn.metrics.pairwise.cosine_distances(x))`` as the authors' code computes it.
        Zero rows follow ``cosine_distances`` (distance 1 to every other row; scipy would give NaN), so the
        "distinct" reference is then ``np.std(cosine_distances(x)[np.triu_indices(n, 1)])``.

    Returns
    -------
    float

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.3.2, Eq. (4).
    """
    pairs = _check_pairs(pairs)
    return _pair_stats(_unit_rows(_check_matrix(x, "x"))).spread(pairs)


def percentile_relu_transform(
    preactivations: npt.ArrayLike,
    percentile: float = 75.0,
    min_active_neurons: int | None = None,
) -> Float64Array:
    """c4's transform of one layer: drop dead neurons, z-score each neuron over D, subtract its percentile, ReLU.

    ``t[:, n] = max(z[:, n] - P_q(z[:, n]), 0)`` with ``z = (x - mu[n, D]) / sigma[n, D]`` (population std; a
    constant neuron gives z = 0) and ``P_q`` numpy's linear-interpolation percentile, so each neuron fires on
    about ``100 - q`` % of the samples.

    Parameters
    ----------
    preactivations : array-like of shape (n_samples, d)
        One layer's pre-activations.
    percentile : float in [0, 100], default=75
        ``q``; 75 makes each neuron fire on 25% of the samples, the paper's choice (footnote 3).
    min_active_neurons : int >= 1 or None, default=None
        The authors' code option: with ``m`` set and ``d`` alive neurons, the layer uses
        ``q = max(min(round(100 - 100 m / d), percentile), 0)`` so that about ``m`` neurons fire per sample on
        average (the authors use m = 10, which lowers q for layers with fewer than 40 neurons).

    Returns
    -------
    ndarray of float64, shape (n_samples, n_alive)
        Dead neurons (negative on every sample) are dropped first; possibly 0 columns.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.3.2 and footnote 3.
    """
    x = _check_matrix(preactivations, "preactivations")
    q = _check_percentile(percentile)
    if min_active_neurons is not None:
        _check_k(min_active_neurons, "min_active_neurons")
    z = _standardized_alive(x)
    return _relu_above_percentile(z, q, min_active_neurons, out=z)


def class_distance_spread_ratio(
    preactivations_per_layer: Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    percentile: float = 75.0,
    min_active_neurons: int | None = None,
    pairs: Pairs = "distinct",
) -> Float64Array:
    """``Sigma[l, C_i] / Sigma[l, D]`` for every layer l and class i, the quantity c4 averages (Eq. 4).

    ``Sigma[l, E]`` is :func:`pairwise_cosine_distance_std` of the samples of E in layer l after
    :func:`percentile_relu_transform` (statistics of the transform over all of D). A layer whose neurons are all
    dead has no representation and gets 0 for every class (0 is the smallest possible ratio, so it is only picked
    by a top-k over layers if fewer than k layers are alive); a zero denominator gives 0. Non-negative.

    Parameters
    ----------
    preactivations_per_layer : list of array-like of shape (n_samples, d_l)
        Pre-activations per layer (the transform is applied here).
    labels : array-like of shape (n_samples,)
        Class of each sample.
    percentile, min_active_neurons
        The transform's, see :func:`percentile_relu_transform`.
    pairs : {"distinct", "authors"}, default="distinct"
        Which distances make up Sigma, see :func:`pairwise_cosine_distance_std`.

    Returns
    -------
    ndarray of float64, shape (n_layers, n_classes)
        Columns follow ``np.unique(labels)``.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.3.2, Eq. (4).
    """
    layers = _check_layers(preactivations_per_layer, "preactivations_per_layer")
    pairs = _check_pairs(pairs)
    groups = _make_groups(_check_labels(labels, layers[0].shape[0], "labels"), None)
    return np.stack(
        [
            _layer_spread_ratio(percentile_relu_transform(x, percentile, min_active_neurons), groups, pairs)
            for x in layers
        ]
    )


def c4(
    preactivations_per_layer: Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    k: int = 5,
    percentile: float = 75.0,
    min_active_neurons: int | None = None,
    pairs: Pairs = "distinct",
) -> float:
    """c4, layer-level variance: ``mean_i topk_mean_l Sigma[l, C_i] / Sigma[l, D]`` (Eq. 4).

    Ratios from :func:`class_distance_spread_ratio` (pre-activations in, transform applied inside). Non-negative;
    larger means layers whose within-class distances vary more.

    Parameters
    ----------
    preactivations_per_layer, labels, percentile, min_active_neurons, pairs
        As in :func:`class_distance_spread_ratio`.
    k : int >= 1, default=5
        Layers averaged per class: 5 for ResNets, 1 for VGGs in the paper.

    Returns
    -------
    float

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §2.3.2, Eq. (4).
    """
    k = _check_k(k)
    ratio = class_distance_spread_ratio(preactivations_per_layer, labels, percentile, min_active_neurons, pairs)
    return float(np.mean(topk_mean(ratio, k, axis=0)))


# ----------------------------------------------------------------------------------------------------------------
# c5: neuron-level bimodality (§4.6, SPEC §13)
# ----------------------------------------------------------------------------------------------------------------


def bimodality_coefficient(preactivations: npt.ArrayLike, labels: npt.ArrayLike) -> Float64Array:
    """Sarle's bimodality coefficient of every neuron's pre-activations within every class, the quantity c5 averages.

    ``BC = (g^2 + 1) / (kappa + 3 (m-1)^2 / ((m-2)(m-3)))`` over the ``m`` samples of the class, with ``g`` the
    bias-corrected sample skewness and ``kappa`` the bias-corrected sample excess kurtosis
    (``scipy.stats.skew(bias=False)``, ``scipy.stats.kurtosis(bias=False)``). Computed in closed form from the
    per-class central moments, a block of neurons at a time. BC is 1/3 for a normal distribution, 5/9 for a
    uniform one and tends to 1 for two separated spikes; values above 5/9 suggest bimodality. Non-negative
    (the denominator equals ``(m^2 - 1) b2 / ((m-2)(m-3))`` with ``b2 >= 1`` the moment ratio m4/m2^2); slightly
    above 1 is possible in small classes, through the bias corrections.

    Undefined cases score 0: a dead neuron (negative on every sample of D, in every class), a neuron constant
    over the class (zero variance), and every neuron of a class of 3 samples or fewer (the kurtosis correction
    needs m > 3).

    Parameters
    ----------
    preactivations : array-like of shape (n_samples, n_neurons)
        Pre-activations, all layers concatenated.
    labels : array-like of shape (n_samples,)
        Class of each sample.

    Returns
    -------
    ndarray of float64, shape (n_classes, n_neurons)
        Rows follow ``np.unique(labels)``.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §4.6 (a bimodality measure left as future work).
    .. [2] SAS Institute, SAS/STAT User's Guide (1990), the bimodality coefficient; R. Pfister et al., "Good things
       peak in pairs: a note on the bimodality coefficient", Frontiers in Psychology 4:700 (2013).
    """
    x, groups = _hierarchy(preactivations, labels, None)
    return _bimodality_by_group(x, groups)


def c5(
    preactivations: npt.ArrayLike | Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    k: NeuronK = 30,
) -> float:
    """c5, neuron-level bimodality: ``mean_i topk_mean_n BC[i, n]``, needing no subclass labels.

    ``BC`` is :func:`bimodality_coefficient`. Non-negative; larger means neurons whose pre-activations within a
    class are more bimodal, i.e. neurons that split the class into two clusters.

    Parameters
    ----------
    preactivations : array-like of shape (n_samples, n_neurons), or a list of per-layer (n_samples, d_l) arrays
        Pre-activations; a list is taken as its layers' neurons side by side, without concatenating them (each
        layer is converted to float64 a block of columns at a time).
    labels : array-like of shape (n_samples,)
        Class of each sample.
    k : int >= 1 or "authors", default=30
        Neurons averaged per class, as c3's (``"authors"``: ``max(round(n_neurons / n_classes), 1)``).

    Returns
    -------
    float

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §4.6; SPEC §13.
    """
    _check_neuron_k(k)
    layers = _check_layers(preactivations, "preactivations")
    groups = _make_groups(_check_labels(labels, layers[0].shape[0], "labels"), None)
    bc = np.concatenate([_bimodality_by_group(x, groups) for x in layers], axis=1)
    n_classes, n_neurons = bc.shape
    return float(np.mean(topk_mean(bc, _resolve_neuron_k(k, n_neurons, n_classes), axis=1)))


# ----------------------------------------------------------------------------------------------------------------
# Everything for one model
# ----------------------------------------------------------------------------------------------------------------


def measure_summary(
    preactivations_per_layer: Sequence[npt.ArrayLike],
    layer_names: Sequence[str],
    labels: npt.ArrayLike,
    sublabels: npt.ArrayLike | None = None,
    k_neurons: NeuronK = 30,
    k_layers: int = 5,
    k_neurons_per_layer: int = 5,
    percentile: float = 75.0,
    min_active_neurons: int | None = None,
    c4_pairs: Pairs = "distinct",
) -> dict[str, Any]:
    """c1-c5 and their figure variants for one model, as a JSON-serialisable dict (plain floats/lists).

    The per-group moments are computed once and shared by c1 and c3; each layer is converted to float64 once and
    serves c1-c5.

    Parameters
    ----------
    preactivations_per_layer : list of array-like of shape (n_samples, d_l)
        Pre-activations (any float dtype), in layer order.
    layer_names : list of str
        One name per layer.
    labels : array-like of shape (n_samples,)
        Training label (the superclass for hierarchical data sets).
    sublabels : array-like of shape (n_samples,) or None, default=None
        Subclass, or None for data sets without hierarchy (then c1, c2 are left out).
    k_neurons : int >= 1 or "authors", default=30
        k of c1, c3 and c5 (the paper's 30); "authors": ``max(round(n_neurons / n_subclasses), 1)`` for c1 and
        ``max(round(n_neurons / n_classes), 1)`` for c3, as the authors' code.
    k_layers : int >= 1, default=5
        k of c2 and c4 (5 for ResNets, 1 for VGGs).
    k_neurons_per_layer : int >= 1, default=5
        k of the per-layer c1, c3 and c5 (top neurons within each layer; 5 in §4.3).
    percentile, min_active_neurons
        c4's transform, see :func:`percentile_relu_transform`.
    c4_pairs : {"distinct", "authors"}, default="distinct"
        c4's distances, see :func:`pairwise_cosine_distance_std`.

    Returns
    -------
    dict
        * ``n_samples``, ``n_neurons`` (int); ``layer_names`` (list[str]); ``layer_sizes`` (neurons per layer);
          ``dead_neurons`` (dead neurons per layer); ``params`` (the options as given, and ``k_neurons_used``:
          ``{"c1" (with sublabels), "c3", "c5": int}``, the k each measure used).
        * ``c1``, ``c2`` (only with sublabels), ``c3``, ``c4``, ``c5``: the measures (float).
        * ``per_layer``: ``{"c1", "c2", "c3", "c4", "c5": list[float] (one per layer)}``: c1/c3/c5 with the top
          ``k_neurons_per_layer`` neurons of each layer, c2/c4 the per-layer value before the top-k over layers.
        * ``k_curve``: ``{"c1", "c3": list[float]}``, entry ``k-1`` is the measure with k neurons, k = 1..n_neurons.
        * ``classes``: class ids (order of the per-class values below); ``c3_per_class``, ``c4_per_class``: the
          per-class values that c3 and c4 average.
        * ``subclasses`` (only with sublabels): ``{"id", "superclass", "selectivity_k1", "neuron", "layer",
          "neuron_in_layer", "c1_topk", "c2_topk"}``, lists aligned on subclass id: the selectivity of the most
          selective neuron (k = 1, Fig. 11), its global index in the concatenation of the layers, its layer name
          and index in that layer (§4.5), and the per-subclass values that c1 and c2 take the median of.

    Notes
    -----
    Cost: about 6-8 s single-threaded at CIFAR size (50,000 x 2,880 float16 over 24 layers), holding at most about
    one extra copy of the activations (the largest layer in float64 plus its transform). The Gram products use
    BLAS: on a machine whose cores are shared with other jobs, limit BLAS to the job's threads (e.g.
    ``threadpoolctl.threadpool_limits(1)``); oversubscribed OpenBLAS threads made it 5-6x slower in the benchmark.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, Eqs. (1)-(4), §4.2-4.5.
    """
    layers = _check_layers(preactivations_per_layer, "preactivations_per_layer")
    names = [str(s) for s in layer_names]
    if len(names) != len(layers):
        raise ValueError(f"layer_names has {len(names)} names but there are {len(layers)} layers")
    _check_neuron_k(k_neurons, "k_neurons")
    k_layers = _check_k(k_layers, "k_layers")
    k_per_layer = _check_k(k_neurons_per_layer, "k_neurons_per_layer")
    _check_percentile(percentile)
    if min_active_neurons is not None:
        _check_k(min_active_neurons, "min_active_neurons")
    c4_pairs = _check_pairs(c4_pairs, "c4_pairs")
    n = layers[0].shape[0]
    y = _check_labels(labels, n, "labels")
    hierarchical = sublabels is not None
    sub = _check_labels(sublabels, n, "sublabels") if hierarchical else None
    groups = _make_groups(y, sub)  # subclasses, or classes
    classes = _make_groups(y, None) if hierarchical else groups

    moments, silhouettes, spreads, bimodality = [], [], [], []
    for x16 in layers:
        x = np.asarray(x16, dtype=np.float64)  # one float64 copy of the layer at a time
        moments.append(_group_moments(x, groups))
        bimodality.append(_bimodality_by_group(x, classes))
        if hierarchical:
            silhouettes.append(_layer_subclass_silhouettes(x, groups))
        spreads.append(
            _layer_spread_ratio(percentile_relu_transform(x, percentile, min_active_neurons), classes, c4_pairs)
        )
    mom = _Moments.concatenate(moments)
    sizes = [x.shape[1] for x in layers]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    layer_slices = [slice(starts[i], starts[i + 1]) for i in range(len(layers))]
    n_neurons = int(starts[-1])

    ratio = _std_ratio_from_moments(mom, groups)  # per class: pooled over the class's groups
    ratio_curve = topk_mean_curve(ratio).mean(axis=0)
    k_used = {"c3": _resolve_neuron_k(k_neurons, n_neurons, len(classes.classes))}
    k_used["c5"] = k_used["c3"]  # both take the top-k neurons of each class
    bc = np.concatenate(bimodality, axis=1)  # (n_classes, n_neurons)
    c3_per_class = topk_mean(ratio, k_used["c3"], axis=1)
    spread = np.stack(spreads)  # (L, n_classes)
    c4_per_class = topk_mean(spread, k_layers, axis=0)

    out: dict[str, Any] = {
        "n_samples": int(n),
        "n_neurons": n_neurons,
        "layer_names": names,
        "layer_sizes": [int(s) for s in sizes],
        "dead_neurons": [int((~mom.alive[s]).sum()) for s in layer_slices],
        "params": {
            "k_neurons": k_neurons if isinstance(k_neurons, str) else int(k_neurons),
            "k_layers": k_layers,
            "k_neurons_per_layer": k_per_layer,
            "percentile": float(percentile),
            "min_active_neurons": min_active_neurons,
            "c4_pairs": c4_pairs,
            "k_neurons_used": k_used,
        },
    }
    per_layer: dict[str, list[float]] = {}
    k_curve: dict[str, list[float]] = {}
    if hierarchical:
        sel = _selectivity_from_moments(mom, groups)
        k_used["c1"] = _resolve_neuron_k(k_neurons, n_neurons, groups.n_groups)
        c1_per_subclass = topk_mean(sel, k_used["c1"], axis=1)
        sil = np.stack(silhouettes)  # (L, n_subclasses)
        c2_per_subclass = topk_mean(sil, k_layers, axis=0)
        best = sel.argmax(axis=1)
        best_layer = np.searchsorted(starts, best, side="right") - 1
        out["c1"] = float(np.median(c1_per_subclass))
        out["c2"] = float(np.median(c2_per_subclass))
        per_layer["c1"] = [float(np.median(topk_mean(sel[:, s], k_per_layer, axis=1))) for s in layer_slices]
        per_layer["c2"] = _floats(np.median(sil, axis=1))
        k_curve["c1"] = _floats(np.median(topk_mean_curve(sel), axis=0))
        out["subclasses"] = {
            "id": _plain(groups.ids),
            "superclass": _plain(groups.classes[groups.group_class]),
            "selectivity_k1": _floats(sel.max(axis=1)),
            "neuron": [int(b) for b in best],
            "layer": [names[i] for i in best_layer],
            "neuron_in_layer": [int(b - starts[i]) for b, i in zip(best, best_layer, strict=False)],
            "c1_topk": _floats(c1_per_subclass),
            "c2_topk": _floats(c2_per_subclass),
        }
    out["c3"] = float(np.mean(c3_per_class))
    out["c4"] = float(np.mean(c4_per_class))
    out["c5"] = float(np.mean(topk_mean(bc, k_used["c5"], axis=1)))
    per_layer["c3"] = [float(np.mean(topk_mean(ratio[:, s], k_per_layer, axis=1))) for s in layer_slices]
    per_layer["c4"] = _floats(spread.mean(axis=1))
    per_layer["c5"] = [float(np.mean(topk_mean(bc[:, s], k_per_layer, axis=1))) for s in layer_slices]
    k_curve["c3"] = _floats(ratio_curve)
    out["per_layer"] = per_layer
    out["k_curve"] = k_curve
    out["classes"] = _plain(classes.classes)
    out["c3_per_class"] = _floats(c3_per_class)
    out["c4_per_class"] = _floats(c4_per_class)
    return out


def measure_sweeps(
    preactivations_per_layer: Sequence[npt.ArrayLike],
    labels: npt.ArrayLike,
    sublabels: npt.ArrayLike | None = None,
    k_values: Sequence[int] = (),
    percentiles: Sequence[float] = (),
    k_layers: int = 5,
    min_active_neurons: int | None = None,
    c4_pairs: Pairs = "distinct",
) -> dict[str, dict[float, float]]:
    """c1 and c3 over a list of k, and c4 over a list of its transform's percentile, for one model (SPEC §13).

    Each point equals the single-value function (``c1(..., k=k)``, ``c3(..., k=k)``, ``c4(..., percentile=q)``),
    computed without recomputing what the points share: the per-group moments, the selectivities and the std
    ratios are computed once for all k (a point is then one top-k mean), and each layer is standardised once
    for all percentiles (a point is then its percentile shift, ReLU and pair statistics).

    Parameters
    ----------
    preactivations_per_layer : list of array-like of shape (n_samples, d_l)
        Pre-activations (any float dtype), in layer order.
    labels : array-like of shape (n_samples,)
        Training label (the superclass for hierarchical data sets).
    sublabels : array-like of shape (n_samples,) or None, default=None
        Subclass, or None (then c1 is left out).
    k_values : sequence of int >= 1, default=()
        The k of c1 and c3 to compute (§4.2 and Fig. 4); empty: no c1, c3 sweep.
    percentiles : sequence of float in [0, 100], default=()
        The percentiles of c4's transform to compute (75 = each neuron fires on 25% of the samples, footnote 3);
        empty: no c4 sweep.
    k_layers, min_active_neurons, c4_pairs
        c4's other options, as in :func:`c4` (``c4_pairs`` is its ``pairs``).

    Returns
    -------
    dict
        ``{"c1": {k: float}, "c3": {k: float}, "c4": {percentile: float}}``, each keyed by the swept values in
        the order given (duplicates once); ``"c1"`` only with sublabels, a measure only when its list is not empty.

    References
    ----------
    .. [1] Carbonnelle & De Vleeschouwer, ICLR 2021, §4.2 (Fig. 4, the influence of k) and footnote 3 (the 25%).
    """
    layers = _check_layers(preactivations_per_layer, "preactivations_per_layer")
    ks = [_check_k(k, f"k_values[{i}]") for i, k in enumerate(k_values)]
    qs = [_check_percentile(q, f"percentiles[{i}]") for i, q in enumerate(percentiles)]
    k_layers = _check_k(k_layers, "k_layers")
    if min_active_neurons is not None:
        _check_k(min_active_neurons, "min_active_neurons")
    c4_pairs = _check_pairs(c4_pairs, "c4_pairs")
    n = layers[0].shape[0]
    y = _check_labels(labels, n, "labels")
    hierarchical = sublabels is not None
    groups = _make_groups(y, _check_labels(sublabels, n, "sublabels") if hierarchical else None)
    classes = _make_groups(y, None) if hierarchical else groups

    moments, spreads = [], []  # spreads[l][j]: layer l's (n_classes,) ratios at percentile qs[j]
    for x16 in layers:
        x = np.asarray(x16, dtype=np.float64)
        if ks:
            moments.append(_group_moments(x, groups))
        if qs:
            z = _standardized_alive(x)
            spreads.append(
                [_layer_spread_ratio(_relu_above_percentile(z, q, min_active_neurons), classes, c4_pairs) for q in qs]
            )
    out: dict[str, dict[float, float]] = {}
    if ks:
        mom = _Moments.concatenate(moments)
        if hierarchical:
            sel = _selectivity_from_moments(mom, groups)
            out["c1"] = {k: float(np.median(topk_mean(sel, k, axis=1))) for k in ks}
        ratio = _std_ratio_from_moments(mom, groups)
        out["c3"] = {k: float(np.mean(topk_mean(ratio, k, axis=1))) for k in ks}
    if qs:
        out["c4"] = {
            q: float(np.mean(topk_mean(np.stack([layer[j] for layer in spreads]), k_layers, axis=0)))
            for j, q in enumerate(qs)
        }
    return out


# ================================================================================================================
# Private helpers
# ================================================================================================================

# ----------------------------------------------------------------------------------------------------------------
# Validation and shared helpers
# ----------------------------------------------------------------------------------------------------------------


def _safe_divide(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> Float64Array:
    """``numerator / denominator`` elementwise in float64, with 0 wherever the denominator is exactly 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape), dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _check_matrix(x: npt.ArrayLike, name: str) -> np.ndarray:
    """A 2-D finite numeric array with at least one row and one column (dtype kept: no float64 copy here)."""
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples x features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one sample and one feature, got shape {arr.shape}")
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def _check_layers(x: Sequence[npt.ArrayLike] | np.ndarray, name: str) -> list[np.ndarray]:
    """A non-empty list of 2-D arrays with the same number of rows (an array that is not 3-D counts as one layer)."""
    if isinstance(x, np.ndarray) and x.ndim != 3:
        x = [x]
    layers = [_check_matrix(a, f"{name}[{i}]") for i, a in enumerate(x)]
    if not layers:
        raise ValueError(f"{name} must contain at least one layer")
    rows = {a.shape[0] for a in layers}
    if len(rows) != 1:
        raise ValueError(f"every layer of {name} must have the same number of samples, got {sorted(rows)}")
    return layers


def _check_labels(labels: npt.ArrayLike, n_samples: int, name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} entries but there are {n_samples} samples")
    return arr


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {k!r}")
    return int(k)


def _check_neuron_k(k: NeuronK, name: str = "k") -> None:
    """A top-k over neurons: an integer >= 1 or "authors" (resolved by :func:`_resolve_neuron_k`)."""
    if isinstance(k, str):
        if k != "authors":
            raise ValueError(f"{name} must be an integer >= 1 or 'authors', got {k!r}")
    else:
        _check_k(k, name)


def _resolve_neuron_k(k: NeuronK, n_neurons: int, n_groups: int) -> int:
    """``k``, or for "authors" ``max(round(n_neurons / n_groups), 1)`` (Python's round, half to even, as theirs)."""
    return max(round(n_neurons / n_groups), 1) if k == "authors" else int(k)


def _check_percentile(q: float, name: str = "percentile") -> float:
    if not 0 <= q <= 100:
        raise ValueError(f"{name} must be in [0, 100], got {q!r}")
    return float(q)


def _check_pairs(pairs: Pairs, name: str = "pairs") -> Pairs:
    if pairs not in ("distinct", "authors"):
        raise ValueError(f"{name} must be 'distinct' or 'authors', got {pairs!r}")
    return pairs


def _unit_rows(x: np.ndarray) -> Float64Array:
    """Rows scaled to unit Euclidean norm in float64; zero rows stay zero (as sklearn's ``normalize``)."""
    u = np.array(x, dtype=np.float64)  # always a copy
    norms = np.sqrt(np.einsum("ij,ij->i", u, u))
    nonzero = norms > 0
    u[nonzero] /= norms[nonzero, None]
    return u


# ----------------------------------------------------------------------------------------------------------------
# Groups of samples (subclasses, or classes when there are no sublabels) and their moments: c1, c3, c5
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Groups:
    """Samples grouped by (sub)label: group ``g`` is ``order[bounds[g]:bounds[g+1]]``.

    Groups are the unique values of ``sublabels`` (sorted) or of ``labels`` when there are no sublabels.
    ``group_class[g]`` is the index into ``classes`` (the sorted unique ``labels``) of the group's (super)class.
    """

    order: np.ndarray
    bounds: np.ndarray
    counts: np.ndarray
    ids: np.ndarray
    classes: np.ndarray
    group_class: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.counts)

    def indices(self, g: int) -> np.ndarray:
        return self.order[self.bounds[g] : self.bounds[g + 1]]

    def members(self, c: int) -> np.ndarray:
        """Group indices of class ``c``."""
        return np.flatnonzero(self.group_class == c)


def _make_groups(labels: np.ndarray, sublabels: np.ndarray | None) -> _Groups:
    classes, class_of_sample = np.unique(labels, return_inverse=True)
    key = class_of_sample if sublabels is None else sublabels
    ids, inverse = np.unique(key, return_inverse=True)
    if sublabels is None:
        ids = classes
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(ids))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    group_class = class_of_sample[order[bounds[:-1]]]
    # Each subclass must belong to exactly one superclass.
    sample_class_sorted = class_of_sample[order]
    mismatch = sample_class_sorted != np.repeat(group_class, counts)
    if mismatch.any():
        g = int(np.searchsorted(bounds, np.flatnonzero(mismatch)[0], side="right") - 1)
        found = np.unique(labels[order[bounds[g] : bounds[g + 1]]])
        raise ValueError(
            f"subclass {ids[g].item()!r} spans several superclasses {found.tolist()}; each subclass must belong to one"
        )
    return _Groups(order, bounds, counts, ids, classes, group_class)


def _hierarchy(
    preactivations: npt.ArrayLike, labels: npt.ArrayLike, sublabels: npt.ArrayLike | None
) -> tuple[np.ndarray, _Groups]:
    x = _check_matrix(preactivations, "preactivations")
    y = _check_labels(labels, x.shape[0], "labels")
    sub = None if sublabels is None else _check_labels(sublabels, x.shape[0], "sublabels")
    return x, _make_groups(y, sub)


@dataclass(frozen=True)
class _Moments:
    """Per-group sample count, mean and sum of squared deviations (M2) of every neuron, and the alive mask."""

    counts: np.ndarray  # (G,)
    means: Float64Array  # (G, d)
    m2: Float64Array  # (G, d)
    alive: np.ndarray  # (d,) bool: non-negative on at least one sample

    @staticmethod
    def concatenate(parts: Sequence[_Moments]) -> _Moments:
        return _Moments(
            parts[0].counts,
            np.concatenate([p.means for p in parts], axis=1),
            np.concatenate([p.m2 for p in parts], axis=1),
            np.concatenate([p.alive for p in parts]),
        )

    def pooled(self, members: np.ndarray) -> tuple[int, Float64Array, Float64Array]:
        """(n, mean, M2) of the union of ``members`` groups, exactly: M2 = sum M2_g + n_g (mu_g - mu)^2.

        Every term is non-negative, so no cancellation (a neuron constant on the union gets M2 = 0 exactly).
        """
        n_g = self.counts[members].astype(np.float64)[:, None]
        n = float(n_g.sum())
        mu = (n_g * self.means[members]).sum(axis=0) / n
        m2 = (self.m2[members] + n_g * (self.means[members] - mu) ** 2).sum(axis=0)
        return int(n), mu, m2


def _group_moments(x: np.ndarray, groups: _Groups) -> _Moments:
    """Two-pass (mean, then squared deviations) moments per group, float64, ``_COLUMN_CHUNK`` columns at a time."""
    d = x.shape[1]
    means = np.empty((groups.n_groups, d))
    m2 = np.empty((groups.n_groups, d))
    alive = np.empty(d, dtype=bool)
    for c0 in range(0, d, _COLUMN_CHUNK):
        cols = slice(c0, min(c0 + _COLUMN_CHUNK, d))
        xc = x[:, cols]
        alive[cols] = (xc >= 0).any(axis=0)
        for g in range(groups.n_groups):
            block = xc[groups.indices(g)].astype(np.float64)
            mu = block.mean(axis=0)
            block -= mu
            means[g, cols] = mu
            m2[g, cols] = np.einsum("ij,ij->j", block, block)
    return _Moments(groups.counts, means, m2, alive)


def _selectivity_from_moments(mom: _Moments, groups: _Groups) -> Float64Array:
    """(G, d) subclass selectivity (mu_C - mu_R) / (sigma_C + sigma_R), R = S_s(i) \\ C_i; see subclass_selectivity."""
    out = np.zeros_like(mom.means)
    for g in range(groups.n_groups):
        others = groups.members(groups.group_class[g])
        others = others[others != g]
        if len(others) == 0:
            continue  # alone in its superclass: undefined complement, selectivity 0
        n_r, mu_r, m2_r = mom.pooled(others)
        sigma_c = np.sqrt(mom.m2[g] / mom.counts[g])
        sigma_r = np.sqrt(m2_r / n_r)
        out[g] = _safe_divide(mom.means[g] - mu_r, sigma_c + sigma_r)
    out[:, ~mom.alive] = 0.0
    return out


def _std_ratio_from_moments(mom: _Moments, groups: _Groups) -> Float64Array:
    """(n_classes, d) sigma[n, C_i] / sigma[n, D]; see class_std_ratio."""
    n_d, _, m2_d = mom.pooled(np.arange(groups.n_groups))
    sigma_d = np.sqrt(m2_d / n_d)
    out = np.zeros((len(groups.classes), mom.means.shape[1]))
    for c in range(len(groups.classes)):
        n_c, _, m2_c = mom.pooled(groups.members(c))
        out[c] = _safe_divide(np.sqrt(m2_c / n_c), sigma_d)
    out[:, ~mom.alive] = 0.0
    return out


def _bimodality_by_group(x: np.ndarray, groups: _Groups) -> Float64Array:
    """(G, d) Sarle's bimodality coefficient per group and neuron from central moments; see bimodality_coefficient.

    Float64, ``_COLUMN_CHUNK`` columns at a time. Each group's block is first shifted by its first row, so a neuron
    constant on the group has exactly zero deviations (the mean of equal floats need not be exactly that float)
    and is recognised by its zero second moment.
    """
    d = x.shape[1]
    out = np.zeros((groups.n_groups, d))
    for c0 in range(0, d, _COLUMN_CHUNK):
        cols = slice(c0, min(c0 + _COLUMN_CHUNK, d))
        xc = x[:, cols]
        alive = (xc >= 0).any(axis=0)
        for g in range(groups.n_groups):
            m = float(groups.counts[g])
            if m <= 3:
                continue  # the bias-corrected kurtosis needs m > 3: BC undefined, 0
            block = xc[groups.indices(g)].astype(np.float64)
            block -= block[0].copy()
            block -= block.mean(axis=0)
            sq = block * block
            m2 = sq.sum(axis=0) / m
            m3 = np.einsum("ij,ij->j", sq, block) / m
            m4 = np.einsum("ij,ij->j", sq, sq) / m
            defined = alive & (m2 > 0)
            m2, m3, m4 = m2[defined], m3[defined], m4[defined]
            skew = np.sqrt(m * (m - 1)) / (m - 2) * m3 / m2**1.5  # scipy.stats.skew(bias=False)
            small_sample = (m - 2) * (m - 3)
            excess_kurtosis = ((m * m - 1) * m4 / m2**2 - 3 * (m - 1) ** 2) / small_sample  # kurtosis(bias=False)
            block_out = np.zeros(cols.stop - cols.start)
            block_out[defined] = (skew**2 + 1) / (excess_kurtosis + 3 * (m - 1) ** 2 / small_sample)
            out[g, cols] = block_out
    return out


# ----------------------------------------------------------------------------------------------------------------
# c2: silhouettes from per-cluster sums
# ----------------------------------------------------------------------------------------------------------------


def _silhouette_unit(u: Float64Array, clusters: np.ndarray, n_clusters: int) -> Float64Array:
    """Cosine silhouette of each row of ``u`` (unit or zero rows) for clusters ``0..n_clusters-1``, O(n d K).

    With d(i, j) = 1 - u_i.u_j for j != i and d(i, i) = 0, the sum of distances from i to cluster c is
    ``n_c - u_i.U_c - [i in c](1 - |u_i|^2)`` where ``U_c`` is the sum of the unit rows of c. Then, as sklearn,
    a = mean distance to the own cluster (others only), b = min over other clusters of the mean distance,
    s = (b - a) / max(a, b), with 0/0 -> 0 and s = 0 in singleton clusters.
    """
    n = u.shape[0]
    if n_clusters < 2:
        return np.zeros(n)
    counts = np.bincount(clusters, minlength=n_clusters).astype(np.float64)
    sums = np.zeros((n_clusters, u.shape[1]))
    for c in range(n_clusters):
        sums[c] = u[clusters == c].sum(axis=0)
    dist_sums = counts[None, :] - u @ sums.T  # (n, K): includes the self term 1 - |u_i|^2
    rows = np.arange(n)
    self_term = 1.0 - np.einsum("ij,ij->i", u, u)
    own_sum = dist_sums[rows, clusters] - self_term
    own_size = counts[clusters] - 1.0
    a = _safe_divide(own_sum, own_size)
    other_means = dist_sums / counts[None, :]  # empty clusters are excluded by construction (bincount of used ids)
    other_means[rows, clusters] = np.inf
    b = other_means.min(axis=1)
    s = _safe_divide(b - a, np.maximum(a, b))
    s[own_size == 0] = 0.0
    return s


def _layer_subclass_silhouettes(x: np.ndarray, groups: _Groups) -> Float64Array:
    """(G,) mean silhouette of each subclass within its superclass, on ReLU(x); 0 for a subclass alone in its
    superclass (the silhouette is then undefined)."""
    out = np.zeros(groups.n_groups)
    for c in range(len(groups.classes)):
        members = groups.members(c)
        if len(members) < 2:
            continue
        idx = np.concatenate([groups.indices(g) for g in members])
        local = np.repeat(np.arange(len(members)), groups.counts[members])
        acts = np.maximum(x[idx].astype(np.float64), 0.0)
        sil = _silhouette_unit(_unit_rows(acts), local, len(members))
        out[members] = np.bincount(local, weights=sil, minlength=len(members)) / groups.counts[members]
    return out


# ----------------------------------------------------------------------------------------------------------------
# c4: the transform and the spread of pairwise distances by the Gram identity
# ----------------------------------------------------------------------------------------------------------------


def _gram(u: Float64Array) -> Float64Array:
    """``u^T u`` (d x d)."""
    return u.T @ u


@dataclass(frozen=True)
class _PairStats:
    """What the spread of the pairwise similarities s_ij = u_i.u_j of a set of unit-or-zero rows needs.

    ``n`` rows, ``total`` = sum_i u_i, ``q1`` = sum_i |u_i|^2, ``q2`` = sum_i |u_i|^4, ``fro2`` = |U^T U|_F^2.
    All but ``fro2`` add up over disjoint sets; ``fro2`` of a union needs the summed Gram matrices.
    """

    n: int
    total: Float64Array
    q1: float
    q2: float
    fro2: float

    def spread(self, pairs: Pairs = "distinct") -> float:
        """Population std of the cosine distances ``1 - s_ij``; fewer than two rows: 0.

        ``"distinct"``, over pairs i < j (m = n(n-1)/2 of them), by the Gram identity:
        sum_{i<j} s_ij = (|total|^2 - q1) / 2, sum_{i<j} s_ij^2 = (fro2 - q2) / 2,
        std(1 - s) = std(s) = sqrt(E[s^2] - E[s]^2).
        ``"authors"``, over the whole n x n matrix: its off-diagonal entries (each pair twice) have the pairs'
        mean distance ``mu`` and variance ``v`` and weight ``w = (n-1)/n``, its diagonal is zeros, so the variance
        of the mixture is ``w v + w (1 - w) mu^2``.
        """
        if self.n < 2:
            return 0.0
        pairs_count = self.n * (self.n - 1) / 2.0
        mean = (self.total @ self.total - self.q1) / 2.0 / pairs_count
        var = (self.fro2 - self.q2) / 2.0 / pairs_count - mean**2
        if pairs == "authors":
            w = (self.n - 1) / self.n
            var = w * max(var, 0.0) + w * (1.0 - w) * (1.0 - mean) ** 2
        return float(np.sqrt(max(var, 0.0)))


def _pair_stats(u: Float64Array, gram: Float64Array | None = None) -> _PairStats:
    """Pair statistics of unit-or-zero rows ``u``; ``|U^T U|_F = |U U^T|_F`` so without a given ``gram`` the
    smaller of the two Gram matrices is used (min(n, d)^2 memory, never a large n x n)."""
    n, d = u.shape
    q = np.einsum("ij,ij->i", u, u)
    if gram is None:
        gram = _gram(u) if d <= n else u @ u.T
    return _PairStats(n, u.sum(axis=0), float(q.sum()), float((q**2).sum()), float(np.einsum("ij,ij->", gram, gram)))


def _column_percentile(z: Float64Array, q: float) -> Float64Array:
    """``np.percentile(z, q, axis=0)`` (linear method), several times faster: partition copied column blocks.

    Same formula as numpy: virtual index v = (n - 1) q / 100, lo = floor(v), g = v - lo, and the value
    ``a + (b - a) g`` (or ``b - (b - a)(1 - g)`` when g >= 0.5) between the order statistics a = z_(lo), b = z_(lo+1).
    """
    n, d = z.shape
    virtual = (n - 1) * (q / 100.0)
    lo = int(np.floor(virtual))
    hi = min(lo + 1, n - 1)
    gamma = virtual - lo
    out = np.empty(d)
    for c0 in range(0, d, 64):
        block = z[:, c0 : c0 + 64].T.copy()  # always a C-ordered copy: partitioned in place below
        block.partition(sorted({lo, hi}), axis=1)
        a, b = block[:, lo], block[:, hi]
        diff = b - a
        out[c0 : c0 + 64] = b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma
    return out


def _standardized_alive(x: np.ndarray) -> Float64Array:
    """The first half of c4's transform: alive neurons only, each z-scored over D (a constant neuron gives 0).

    Always a new float64 array (fancy indexing copies), which the caller may overwrite.
    """
    alive = (x >= 0).any(axis=0)
    z = x[:, alive].astype(np.float64, copy=False)  # fancy indexing already made a copy
    if z.shape[1] == 0:
        return z
    z -= z.mean(axis=0)
    sigma = np.sqrt(np.einsum("ij,ij->j", z, z) / z.shape[0])
    z /= np.where(sigma > 0, sigma, 1.0)  # in place; a constant neuron has z = 0 (0/0 -> 0)
    z[:, sigma == 0] = 0.0
    return z


def _relu_above_percentile(
    z: Float64Array, q: float, min_active_neurons: int | None, out: Float64Array | None = None
) -> Float64Array:
    """The second half of c4's transform: ``max(z - P_q(z), 0)`` per column, into ``out`` (``z`` itself to save a
    copy) or a new array; ``q`` is lowered per layer by ``min_active_neurons`` (see percentile_relu_transform)."""
    d = z.shape[1]
    if d == 0:
        return z if out is None else out
    if min_active_neurons is not None:
        q = float(max(min(round(100 - 100 * min_active_neurons / d), q), 0))
    t = np.subtract(z, _column_percentile(z, q), out=out)
    np.maximum(t, 0.0, out=t)
    return t


def _layer_spread_ratio(t: Float64Array, groups: _Groups, pairs: Pairs = "distinct") -> Float64Array:
    """(n_classes,) Sigma[C_i] / Sigma[D] on transformed activations ``t``; all 0 for a layer with no neuron.

    D's statistics are pooled from the classes' (the Gram of D is the sum of the classes' Grams), so each sample
    enters one Gram product only.
    """
    n_classes = len(groups.classes)
    out = np.zeros(n_classes)
    d = t.shape[1]
    if d == 0:
        return out
    n_all, total, q1, q2, gram_all = 0, np.zeros(d), 0.0, 0.0, np.zeros((d, d))
    for c in range(n_classes):
        idx = np.concatenate([groups.indices(g) for g in groups.members(c)])
        u = _unit_rows(t[idx])
        gram = _gram(u)
        stats = _pair_stats(u, gram)
        out[c] = stats.spread(pairs)
        n_all += stats.n
        total += stats.total
        q1 += stats.q1
        q2 += stats.q2
        gram_all += gram
    sigma_d = _PairStats(n_all, total, q1, q2, float(np.einsum("ij,ij->", gram_all, gram_all))).spread(pairs)
    return _safe_divide(out, sigma_d)


# ----------------------------------------------------------------------------------------------------------------
# measure_summary's output
# ----------------------------------------------------------------------------------------------------------------


def _floats(a: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def _plain(ids: np.ndarray) -> list[Any]:
    return np.asarray(ids).tolist()
