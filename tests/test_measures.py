"""Tests of intraclass.measures: closed forms against scikit-learn / scipy, hand-computed cases, edge cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import kurtosis, skew
from sklearn.metrics import silhouette_samples
from sklearn.metrics.pairwise import cosine_distances

from intraclass import measures as M

# ----------------------------------------------------------------------------------------------------------------
# Fixtures and brute-force references
# ----------------------------------------------------------------------------------------------------------------

# Hand-checkable data: 8 samples, 2 superclasses of 2 subclasses of 2 samples each, 4 neurons.
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
SUBLABELS = np.array([10, 10, 11, 11, 20, 20, 21, 21])
PRE = np.array(
    [
        # n0: informative    n1: dead (always < 0)   n2: constant    n3: x/0 case
        [1.0, -1.0, 5.0, 1.0],
        [3.0, -1.0, 5.0, 1.0],
        [0.0, -5.0, 5.0, 0.0],
        [0.0, -5.0, 5.0, 0.0],
        [2.0, -3.0, 5.0, 0.0],
        [2.0, -3.0, 5.0, 0.0],
        [2.0, -3.0, 5.0, 0.0],
        [4.0, -3.0, 5.0, 0.0],
    ]
)


def _sklearn_triu_std(x: np.ndarray) -> float:
    d = cosine_distances(x)
    return float(np.std(d[np.triu_indices(len(x), 1)]))


def _brute_transform(x: np.ndarray, q: float = 75.0) -> np.ndarray:
    x = x[:, ~np.all(x < 0, axis=0)].astype(np.float64)
    sigma = x.std(axis=0)
    z = np.where(sigma > 0, (x - x.mean(axis=0)) / np.where(sigma > 0, sigma, 1), 0.0)
    return np.maximum(z - np.percentile(z, q, axis=0), 0)


def _brute_spread_ratio(layers, labels, q=75.0):
    out = []
    for x in layers:
        t = _brute_transform(x, q)
        sd = _sklearn_triu_std(t)
        out.append([_sklearn_triu_std(t[labels == c]) / sd for c in np.unique(labels)])
    return np.array(out)


def _brute_silhouettes(layers, labels, sublabels):
    subs = np.unique(sublabels)
    out = np.zeros((len(layers), len(subs)))
    for li, x in enumerate(layers):
        a = np.maximum(x, 0).astype(np.float64)
        for c in np.unique(labels):
            m = labels == c
            s = silhouette_samples(a[m], sublabels[m], metric="cosine")
            for sub in np.unique(sublabels[m]):
                out[li, np.searchsorted(subs, sub)] = s[sublabels[m] == sub].mean()
    return out


def _random_hierarchy(rng, n=240, n_super=3, per_super=4, widths=(6, 9, 4)):
    sub = rng.integers(0, n_super * per_super, n)
    sub[: n_super * per_super] = np.arange(n_super * per_super)  # every subclass present
    lab = sub // per_super
    layers = [rng.normal(size=(n, w)) + 0.4 * rng.normal(size=(n_super * per_super, w))[sub] for w in widths]
    return layers, lab, sub


# ----------------------------------------------------------------------------------------------------------------
# Closed forms vs scikit-learn / scipy
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_silhouette_matches_sklearn_with_zero_rows_and_singletons(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(150, 8))
    x[rng.random(x.shape) < 0.3] = 0.0
    x[[0, 7, 40, 41]] = 0.0  # zero rows
    clusters = rng.integers(0, 5, 150)
    clusters[[3, 99]] = [7, 8]  # two singleton clusters
    clusters[40] = clusters[41] = 6  # a cluster made only of zero rows
    for data in (x, np.maximum(x, 0)):
        ref = silhouette_samples(data, clusters, metric="cosine")
        got = M.cosine_silhouette_samples(data, clusters)
        np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)
        assert got[3] == 0.0 and got[99] == 0.0
    assert np.abs(got - ref).max() < 1e-12


def test_silhouette_string_labels_and_float16():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 5)).astype(np.float16)
    lab = np.array(["a", "b", "c"])[rng.integers(0, 3, 60)]
    ref = silhouette_samples(x.astype(np.float64), lab, metric="cosine")
    np.testing.assert_allclose(M.cosine_silhouette_samples(x, lab), ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", [(200, 6), (30, 50), (2, 3)])
def test_pairwise_std_matches_scipy_pdist(shape):
    x = np.random.default_rng(4).normal(size=shape)
    assert M.pairwise_cosine_distance_std(x) == pytest.approx(np.std(pdist(x, "cosine")), abs=1e-10)


def test_pairwise_std_zero_rows_follow_sklearn():
    rng = np.random.default_rng(5)
    x = np.maximum(rng.normal(size=(120, 4)), 0)  # ~6% of rows all zero
    x[[1, 2, 3]] = 0.0
    assert np.isnan(pdist(x, "cosine")).any()  # scipy is no reference here
    assert M.pairwise_cosine_distance_std(x) == pytest.approx(_sklearn_triu_std(x), abs=1e-10)


def test_pairwise_std_degenerate_sets():
    assert M.pairwise_cosine_distance_std(np.ones((1, 3))) == 0.0  # no pair
    assert M.pairwise_cosine_distance_std(np.zeros((5, 3))) == 0.0  # all distances 1
    # two pairs at distance 0 and one at distance 1: values {0, 1, 1} -> std = sqrt(2)/3
    x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    assert M.pairwise_cosine_distance_std(x) == pytest.approx(math.sqrt(2) / 3, abs=1e-12)


def test_column_percentile_is_numpy_percentile():
    rng = np.random.default_rng(6)
    for z in (rng.normal(size=(101, 70)), rng.integers(-2, 3, (50, 70)) * 0.3, rng.normal(size=(1, 3))):
        for q in (0, 25, 75, 100, 33.3):
            assert np.array_equal(M._column_percentile(z, q), np.percentile(z, q, axis=0))
    f = np.asfortranarray(rng.normal(size=(50, 3)))  # its transpose is C-contiguous: must still not be mutated
    before = f.copy()
    assert np.array_equal(M._column_percentile(f, 75), np.percentile(before, 75, axis=0))
    assert np.array_equal(f, before)


# ----------------------------------------------------------------------------------------------------------------
# c1 and c3 by hand
# ----------------------------------------------------------------------------------------------------------------


def test_subclass_selectivity_by_hand():
    # n0, subclass 10 = {1, 3}: mu 2, sigma 1; rest of superclass 0 = {0, 0}: mu 0, sigma 0 -> (2-0)/(1+0) = 2
    #     subclass 11: (0-2)/(0+1) = -2
    #     subclass 20 = {2, 2}: mu 2, sigma 0; rest {2, 4}: mu 3, sigma 1 -> (2-3)/(0+1) = -1;  subclass 21: +1
    # n1 dead -> 0; n2 constant -> 0/0 -> 0; n3 subclass 10 = {1, 1} vs {0, 0}: 1/0 -> 0 by convention.
    sel = M.subclass_selectivity(PRE, LABELS, SUBLABELS)
    expected = np.array([[2.0, 0, 0, 0], [-2.0, 0, 0, 0], [-1.0, 0, 0, 0], [1.0, 0, 0, 0]])
    np.testing.assert_array_equal(sel, expected)


def test_c1_by_hand():
    # k=1: per-subclass max = [2, 0, 0, 1] -> median 0.5.
    # k=2: top-2 means = [(2+0)/2, (0+0)/2, (0+0)/2, (1+0)/2] = [1, 0, 0, 0.5] -> median 0.25.
    assert M.c1(PRE, LABELS, SUBLABELS, k=1) == pytest.approx(0.5)
    assert M.c1(PRE, LABELS, SUBLABELS, k=2) == pytest.approx(0.25)
    assert M.c1(PRE, LABELS, SUBLABELS, reduce="max") == pytest.approx(0.5)
    # k larger than the number of neurons is clipped to 4: means [2/4, -2/4, -1/4, 1/4] -> median 0
    assert M.c1(PRE, LABELS, SUBLABELS, k=100) == pytest.approx(0.0)
    ids, best, neuron = M.most_selective_neurons(PRE, LABELS, SUBLABELS)
    assert ids.tolist() == [10, 11, 20, 21]
    np.testing.assert_array_equal(best, [2.0, 0.0, 0.0, 1.0])
    assert neuron.tolist() == [0, 1, 1, 0]  # first argmax on ties (all-zero rows -> neuron 1 beats 0 for -2/-1)


def test_class_std_ratio_and_c3_by_hand():
    # n0 over D: [1,3,0,0,2,2,2,4], mean 1.75, sum of squared deviations 13.5 -> var 1.6875
    #   class 0 [1,3,0,0]: var 6/4 = 1.5 -> ratio sqrt(1.5/1.6875) = sqrt(8/9) = 2*sqrt(2)/3
    #   class 1 [2,2,2,4]: var 3/4 = 0.75 -> ratio sqrt(4/9) = 2/3
    # n1 dead -> 0; n2 constant -> 0/0 -> 0
    # n3 over D: [1,1,0,...,0]: var 0.25*0.75 = 0.1875; class 0 [1,1,0,0]: var 0.25 -> sqrt(4/3); class 1: 0
    ratio = M.class_std_ratio(PRE, LABELS)
    expected = np.array([[2 * math.sqrt(2) / 3, 0, 0, 2 / math.sqrt(3)], [2 / 3, 0, 0, 0]])
    np.testing.assert_allclose(ratio, expected, rtol=0, atol=1e-12)
    # c3, k=1: mean(2/sqrt(3), 2/3); k=2: mean((2/sqrt(3) + 2 sqrt(2)/3)/2, (2/3 + 0)/2)
    assert M.c3(PRE, LABELS, k=1) == pytest.approx((2 / math.sqrt(3) + 2 / 3) / 2)
    assert M.c3(PRE, LABELS, k=2) == pytest.approx(((2 / math.sqrt(3) + 2 * math.sqrt(2) / 3) / 2 + 1 / 3) / 2)


def test_c1_c3_float16_and_unordered_samples_agree_with_float64():
    rng = np.random.default_rng(7)
    layers, lab, sub = _random_hierarchy(rng)
    x = np.concatenate(layers, axis=1).astype(np.float16)
    perm = rng.permutation(len(lab))
    a = M.c1(x, lab, sub, k=3)
    assert a == pytest.approx(M.c1(x[perm], lab[perm], sub[perm], k=3), abs=1e-12)
    assert a == pytest.approx(M.c1(x.astype(np.float64), lab, sub, k=3), abs=1e-12)
    # reference: direct masks, as in the authors' code (without their +1e-7)
    sel = M.subclass_selectivity(x, lab, sub)
    xf = x.astype(np.float64)
    for i, s in enumerate(np.unique(sub)):
        c, r = sub == s, (lab == lab[sub == s][0]) & (sub != s)
        ref = (xf[c].mean(0) - xf[r].mean(0)) / (xf[c].std(0) + xf[r].std(0))
        np.testing.assert_allclose(sel[i], ref, rtol=1e-10, atol=1e-12)
    ratio = M.class_std_ratio(x, lab)
    for i, c in enumerate(np.unique(lab)):
        np.testing.assert_allclose(ratio[i], xf[lab == c].std(0) / xf.std(0), rtol=1e-10)


def test_topk_helpers():
    v = np.array([[3.0, -1.0, 2.0, 0.5], [0.0, 0.0, 1.0, 4.0]])
    np.testing.assert_allclose(M.topk_mean(v, 2, axis=1), [2.5, 2.5])
    np.testing.assert_allclose(M.topk_mean(v, 1, axis=0), [3.0, 0.0, 2.0, 4.0])
    assert M.topk_mean(np.array([1.0, 2.0]), 10) == 1.5  # k clipped
    curve = M.topk_mean_curve(v)
    for k in range(1, 5):
        np.testing.assert_allclose(curve[:, k - 1], M.topk_mean(v, k, axis=1))


# ----------------------------------------------------------------------------------------------------------------
# c2 and c4
# ----------------------------------------------------------------------------------------------------------------


def test_c2_perfectly_separated_subclasses_is_one():
    # Superclass 0: subclass 10 along e1, 11 along e2 (after ReLU: the -3 entries vanish), so intra distance 0,
    # inter distance 1 -> every silhouette is (1 - 0)/1 = 1. Superclass 1 likewise with e2 / e1.
    x = np.array([[1.0, -3.0], [2.0, -1.0], [-2.0, 1.0], [-1.0, 3.0], [-3.0, 2.0], [-1.0, 1.0], [2.0, -1.0], [5, 0]])
    sil = M.subclass_silhouettes([x], LABELS, SUBLABELS)
    np.testing.assert_allclose(sil, np.ones((1, 4)), atol=1e-12)
    assert M.c2([x], LABELS, SUBLABELS, k=1) == pytest.approx(1.0)


def test_c2_matches_sklearn_per_superclass():
    rng = np.random.default_rng(8)
    layers, lab, sub = _random_hierarchy(rng)
    layers[1][:5] = -1.0  # samples whose activations are all zero in layer 1
    ref = _brute_silhouettes(layers, lab, sub)
    got = M.subclass_silhouettes(layers, lab, sub)
    np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)
    expected = np.median(np.sort(ref, axis=0)[-2:].mean(axis=0))  # top-2 layers, median over subclasses
    assert M.c2(layers, lab, sub, k=2) == pytest.approx(expected, abs=1e-6)


def test_c4_matches_brute_force():
    rng = np.random.default_rng(9)
    layers, lab, sub = _random_hierarchy(rng, n=180, widths=(3, 7, 12))
    layers[2][:, :4] = -np.abs(layers[2][:, :4]) - 0.1  # 4 dead neurons, dropped
    ref = _brute_spread_ratio(layers, lab)
    got = M.class_distance_spread_ratio(layers, lab)
    # the 3-neuron layer has many all-zero transformed rows: sklearn's zero-vector convention is exercised
    assert (M.percentile_relu_transform(layers[0]).sum(axis=1) == 0).sum() > 10
    np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)
    assert M.c4(layers, lab, k=2) == pytest.approx(np.mean(np.sort(ref, axis=0)[-2:].mean(axis=0)), abs=1e-6)
    # invariant to positive rescaling and shift of each neuron (up to shifts that keep it alive)
    scaled = [x * rng.uniform(0.5, 3, x.shape[1]) for x in layers[:2]]
    assert M.c4(scaled, lab, k=1) == pytest.approx(M.c4(layers[:2], lab, k=1), abs=1e-9)


def test_percentile_relu_transform():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(400, 20))
    x[:, 3] = -1 - rng.random(400)  # dead
    t = M.percentile_relu_transform(x)
    assert t.shape == (400, 19)
    np.testing.assert_allclose((t > 0).mean(axis=0), 0.25, atol=0.003)  # 25% fire
    np.testing.assert_allclose(t, _brute_transform(x), atol=1e-12)
    # authors' option: 19 alive neurons, m = 10 -> q = max(min(round(100 - 1000/19), 75), 0) = 47
    t2 = M.percentile_relu_transform(x, min_active_neurons=10)
    np.testing.assert_allclose(t2, _brute_transform(x, 47.0), atol=1e-12)
    wide = rng.normal(size=(400, 50))  # >= 40 neurons: q stays 75
    np.testing.assert_array_equal(
        M.percentile_relu_transform(wide, min_active_neurons=10), M.percentile_relu_transform(wide)
    )


# ----------------------------------------------------------------------------------------------------------------
# The authors' variants (their code: k = round(neurons / groups); c4 over the full matrix with its zero diagonal)
# ----------------------------------------------------------------------------------------------------------------


def test_c4_authors_pairs_match_the_full_cosine_distance_matrix():
    rng = np.random.default_rng(14)
    x = np.maximum(rng.normal(size=(60, 4)), 0)
    x[[0, 1]] = 0.0  # zero rows: sklearn's convention, diagonal 0 for them too
    assert M.pairwise_cosine_distance_std(x, pairs="authors") == pytest.approx(np.std(cosine_distances(x)), abs=1e-12)
    assert M.pairwise_cosine_distance_std(x[:1], pairs="authors") == 0.0  # the 1 x 1 matrix [0]
    # two points at distance 1: the matrix [[0, 1], [1, 0]] has std 1/2 (the distinct pairs: std 0)
    assert M.pairwise_cosine_distance_std(np.eye(2), pairs="authors") == pytest.approx(0.5, abs=1e-12)
    layers, lab, _ = _random_hierarchy(rng, n=150, widths=(3, 8))
    ref = []
    for layer in layers:
        t = _brute_transform(layer)
        ref.append([np.std(cosine_distances(t[lab == c])) / np.std(cosine_distances(t)) for c in np.unique(lab)])
    got = M.class_distance_spread_ratio(layers, lab, pairs="authors")
    np.testing.assert_allclose(got, ref, atol=1e-9, rtol=0)
    assert not np.allclose(got, M.class_distance_spread_ratio(layers, lab), atol=1e-3)  # the variant differs
    assert M.c4(layers, lab, k=1, pairs="authors") == pytest.approx(np.mean(np.max(ref, axis=0)), abs=1e-9)
    s = M.measure_summary(layers, ["a", "b"], lab, None, k_layers=1, c4_pairs="authors")
    assert s["c4"] == pytest.approx(M.c4(layers, lab, k=1, pairs="authors"), abs=1e-12)
    assert s["params"]["c4_pairs"] == "authors"


def test_k_authors_is_round_neurons_over_groups():
    rng = np.random.default_rng(15)
    layers, lab, sub = _random_hierarchy(rng, widths=(6, 9, 4))  # 19 neurons, 12 subclasses, 3 classes
    x = np.concatenate(layers, axis=1)
    # c1: round(19 / 12) = 2; c3: round(19 / 3) = 6
    assert M.c1(x, lab, sub, k="authors") == M.c1(x, lab, sub, k=2)
    assert M.c3(x, lab, k="authors") == M.c3(x, lab, k=6)
    assert M.c1(x, lab, sub, k="authors") != M.c1(x, lab, sub, k=30)
    s = M.measure_summary(layers, ["a", "b", "c"], lab, sub, k_neurons="authors")
    assert s["params"]["k_neurons"] == "authors" and s["params"]["k_neurons_used"] == {"c3": 6, "c5": 6, "c1": 2}
    assert s["c1"] == M.c1(x, lab, sub, k=2) and s["c3"] == M.c3(x, lab, k=6)
    # Python's round, as theirs: 10 / 4 = 2.5 -> 2, and at least 1 neuron
    assert M.c3(x[:, :10], np.arange(len(lab)) % 4, k="authors") == M.c3(x[:, :10], np.arange(len(lab)) % 4, k=2)
    assert M.c3(x[:, :1], lab, k="authors") == M.c3(x[:, :1], lab, k=1)  # round(1 / 3) = 0 -> 1


# ----------------------------------------------------------------------------------------------------------------
# c5: Sarle's bimodality coefficient
# ----------------------------------------------------------------------------------------------------------------


def _brute_bimodality(x, labels):
    out = np.zeros((len(np.unique(labels)), x.shape[1]))
    dead = np.all(x < 0, axis=0)
    for i, c in enumerate(np.unique(labels)):
        xc = x[labels == c].astype(np.float64)
        m = len(xc)
        for n in range(x.shape[1]):
            if dead[n] or m <= 3 or np.all(xc[:, n] == xc[0, n]):
                continue
            g, kappa = skew(xc[:, n], bias=False), kurtosis(xc[:, n], bias=False)
            out[i, n] = (g**2 + 1) / (kappa + 3 * (m - 1) ** 2 / ((m - 2) * (m - 3)))
    return out


def test_bimodality_coefficient_matches_scipy_with_dead_constant_and_tiny_classes():
    rng = np.random.default_rng(16)
    lab = np.repeat([0, 1, 2, 3, 4], [40, 25, 4, 3, 1])  # classes of 4 (smallest defined), 3 and 1 samples
    x = rng.normal(size=(len(lab), 7)) * rng.uniform(0.1, 5, 7) + rng.normal(size=7) * 3
    x[:, 1] = np.where(rng.random(len(lab)) < 0.5, -2.0, 2.0) + 0.1 * rng.normal(size=len(lab))  # bimodal
    x[:, 2] = -np.abs(x[:, 2]) - 0.1  # dead
    x[:, 3] = 0.1  # constant everywhere (the mean of equal 0.1's is not exactly 0.1)
    x[lab == 1, 4] = 0.3  # constant in class 1 only
    x[:, 5] = rng.exponential(size=len(lab))  # skewed
    x = x.astype(np.float16)
    ref = _brute_bimodality(x, lab)
    got = M.bimodality_coefficient(x, lab)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    assert (got[:, 2:4] == 0).all() and got[1, 4] == 0 and got[0, 4] > 0
    assert (got[3:] == 0).all() and (got[2] > 0).any()  # m <= 3: undefined, 0; m = 4: defined
    assert got[0, 1] > 5 / 9 > got[0, 0]  # two modes above the uniform's 5/9, a normal below
    # float64 input and shuffled samples give the same values
    perm = rng.permutation(len(lab))
    np.testing.assert_allclose(M.bimodality_coefficient(x.astype(np.float64)[perm], lab[perm]), got, atol=1e-12)


def test_bimodality_coefficient_known_values():
    # two equal spikes {0, 1} x m/2: g = 0, kappa = -2 corrected -> BC = 1 / (-2-corrected + 3(m-1)^2/...)
    m = 10
    x = np.repeat([0.0, 1.0], m // 2)[:, None]
    kappa = kurtosis(x[:, 0], bias=False)
    expected = 1 / (kappa + 3 * (m - 1) ** 2 / ((m - 2) * (m - 3)))
    assert M.bimodality_coefficient(x, np.zeros(m))[0, 0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx((m - 2) * (m - 3) / (m * m - 1))  # b2 = 1 for two spikes


def test_c5_top_k_over_neurons_mean_over_classes():
    rng = np.random.default_rng(17)
    layers, lab, _ = _random_hierarchy(rng, widths=(6, 9, 4))
    layers = [x.astype(np.float16) for x in layers]
    x = np.concatenate(layers, axis=1)
    bc = _brute_bimodality(x, lab)
    for k in (1, 3, 19, 50):
        expected = np.mean(np.sort(bc, axis=1)[:, -min(k, 19) :].mean(axis=1))
        assert M.c5(x, lab, k=k) == pytest.approx(expected, abs=1e-12)
        assert M.c5(layers, lab, k=k) == pytest.approx(expected, abs=1e-12)  # layers side by side, no concatenation
    assert M.c5(layers, lab, k="authors") == M.c5(layers, lab, k=6)  # round(19 / 3)


def test_c5_is_registered_and_reads_the_stored_layers():
    from intraclass.registry import PreactivationInputs, measure

    rng = np.random.default_rng(18)
    layers, lab, _ = _random_hierarchy(rng, widths=(6, 9, 4))
    layers = [x.astype(np.float16) for x in layers]
    c5 = measure("c5")
    assert (c5.orientation, c5.level, c5.needs_subclasses, c5.stage) == (1, "neuron", False, "preactivations")
    inputs = PreactivationInputs(layers, ["a", "b", "c"], lab, None, {"k_neurons": 4})
    assert c5.compute(inputs) == M.c5(layers, lab, k=4)
    assert c5.compute(PreactivationInputs(layers, ["a", "b", "c"], lab, None)) == M.c5(layers, lab)


# ----------------------------------------------------------------------------------------------------------------
# Sweeps over k and c4's percentile
# ----------------------------------------------------------------------------------------------------------------


def test_measure_sweeps_each_point_equals_the_single_value_function():
    rng = np.random.default_rng(19)
    layers, lab, sub = _random_hierarchy(rng, widths=(6, 9, 4))
    layers = [x.astype(np.float16) for x in layers]
    layers[2][:, 0] = -1.0  # a dead neuron
    x = np.concatenate(layers, axis=1)
    ks, qs = [1, 5, 30, 5], [50.0, 75, 90]
    out = M.measure_sweeps(layers, lab, sub, k_values=ks, percentiles=qs, k_layers=2)
    assert set(out) == {"c1", "c3", "c4"} and list(out["c1"]) == [1, 5, 30] and list(out["c4"]) == qs
    for k in ks:
        assert out["c1"][k] == M.c1(x, lab, sub, k=k)
        assert out["c3"][k] == M.c3(x, lab, k=k)
    for q in qs:
        assert out["c4"][q] == pytest.approx(M.c4(layers, lab, k=2, percentile=q), abs=1e-12)
    variant = M.measure_sweeps(
        layers, lab, None, percentiles=[60], k_layers=1, min_active_neurons=10, c4_pairs="authors"
    )
    assert set(variant) == {"c4"}
    expected = M.c4(layers, lab, k=1, percentile=60, min_active_neurons=10, pairs="authors")
    assert variant["c4"][60] == pytest.approx(expected, abs=1e-12)
    assert M.measure_sweeps(layers, lab, None, k_values=[2]) == {"c3": {2: M.c3(x, lab, k=2)}}


# ----------------------------------------------------------------------------------------------------------------
# Edge cases: always numbers, never NaN
# ----------------------------------------------------------------------------------------------------------------


def test_edge_cases_return_numbers():
    rng = np.random.default_rng(11)
    n = 40
    lab = np.repeat([0, 1, 2], [20, 19, 1])  # class 2 has a single sample
    sub = np.concatenate([np.repeat([0, 1, 2], [1, 9, 10]), np.repeat([3], 19), [4]])  # singleton subclass 0
    # subclass 3 and 4 are alone in their superclass
    dead = -np.abs(rng.normal(size=(n, 4))) - 0.1
    const = np.full((n, 3), 2.0)
    zeros = np.zeros((n, 2))
    mixed = rng.normal(size=(n, 5))
    layers = [dead, const, zeros, mixed]
    summary = M.measure_summary(layers, ["dead", "const", "zeros", "mixed"], lab, sub, k_neurons=3, k_layers=2)
    flat = json.dumps(summary)
    assert "NaN" not in flat and "Infinity" not in flat
    # dead / constant / zero layers contribute exactly 0 to every per-layer measure except c2's zero layers:
    assert summary["per_layer"]["c1"][:3] == [0.0, 0.0, 0.0]
    assert summary["per_layer"]["c3"][:3] == [0.0, 0.0, 0.0]
    assert summary["per_layer"]["c4"][:3] == [0.0, 0.0, 0.0]
    assert summary["dead_neurons"] == [4, 0, 0, 0]
    # all activations zero -> all distances 1 -> a = b = 1 -> silhouette 0
    assert summary["per_layer"]["c2"][0] == 0.0
    sil = M.subclass_silhouettes(layers, lab, sub)
    assert sil[:, 0].tolist() == [0.0] * 4  # singleton subclass
    assert sil[:, 3].tolist() == [0.0] * 4 and sil[:, 4].tolist() == [0.0] * 4  # alone in superclass
    sel = M.subclass_selectivity(np.concatenate(layers, axis=1), lab, sub)
    assert np.isfinite(sel).all() and (sel[3:] == 0).all()
    ratio = M.class_distance_spread_ratio(layers, lab)
    assert np.isfinite(ratio).all() and (ratio[:, 2] == 0).all()  # single-sample class: no pair -> 0


def test_safe_divide():
    np.testing.assert_array_equal(M._safe_divide([0.0, 1.0, -2.0, 3.0], [0.0, 0.0, 4.0, 0.0]), [0, 0, -0.5, 0])


# ----------------------------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: M.c1(PRE[:, 0], LABELS, SUBLABELS), "2-D"),
        (lambda: M.c1(PRE, LABELS[:5], SUBLABELS), "labels has 5 entries but there are 8 samples"),
        (lambda: M.c1(PRE, LABELS, SUBLABELS[:7]), "sublabels has 7 entries"),
        (lambda: M.c1(PRE, LABELS, SUBLABELS, k=0), "k must be an integer >= 1, got 0"),
        (lambda: M.c3(PRE, LABELS, k=2.5), "got 2.5"),
        (lambda: M.c1(PRE, LABELS, SUBLABELS, reduce="mean"), "reduce must be 'topk' or 'max', got 'mean'"),
        (lambda: M.c1(PRE, np.array([0, 0, 0, 1, 1, 1, 1, 1]), SUBLABELS), r"subclass 11 spans .*\[0, 1\]"),
        (lambda: M.c3(np.where(PRE > 4, np.nan, PRE), LABELS), "non-finite"),
        (lambda: M.c3(np.zeros((0, 3)), []), "at least one sample"),
        (lambda: M.c2([PRE, PRE[:4]], LABELS, SUBLABELS), r"same number of samples, got \[4, 8\]"),
        (lambda: M.c4([], LABELS), "at least one layer"),
        (lambda: M.c4([PRE], LABELS, percentile=150), "percentile must be in"),
        (lambda: M.c4([PRE], LABELS, min_active_neurons=0), "min_active_neurons must be"),
        (lambda: M.cosine_silhouette_samples(PRE, np.zeros(8)), "number of clusters is 1"),
        (lambda: M.cosine_silhouette_samples(PRE, np.arange(8)), "number of clusters is 8"),
        (lambda: M.measure_summary([PRE], ["a", "b"], LABELS), "layer_names has 2 names but there are 1"),
        (lambda: M.measure_summary([PRE], ["a"], LABELS, k_layers=-1), "k_layers must be"),
        (lambda: M.c1(PRE, LABELS, SUBLABELS, k="author"), "k must be an integer >= 1 or 'authors', got 'author'"),
        (lambda: M.c4([PRE], LABELS, pairs="full"), "pairs must be 'distinct' or 'authors', got 'full'"),
        (lambda: M.measure_summary([PRE], ["a"], LABELS, c4_pairs="all"), "c4_pairs must be 'distinct' or 'authors'"),
        (lambda: M.measure_summary([PRE], ["a"], LABELS, k_neurons="max"), "k_neurons must be an integer >= 1 or"),
        (lambda: M.c5(PRE[:, 0], LABELS), r"preactivations\[0\] must be a 2-D array"),
        (lambda: M.c5(PRE, LABELS, k=0), "k must be an integer >= 1, got 0"),
        (lambda: M.measure_sweeps([PRE], LABELS, k_values=[3, 0]), r"k_values\[1\] must be an integer >= 1, got 0"),
        (lambda: M.measure_sweeps([PRE], LABELS, percentiles=[101]), r"percentiles\[0\] must be in \[0, 100\]"),
    ],
)
def test_validation_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------------------------------------------
# measure_summary
# ----------------------------------------------------------------------------------------------------------------


def test_measure_summary_consistent_with_functions():
    rng = np.random.default_rng(12)
    layers, lab, sub = _random_hierarchy(rng, widths=(6, 9, 4))
    layers = [x.astype(np.float16) for x in layers]
    # plant a neuron very selective for subclass 5 at layer "b", index 2 (global index 6 + 2 = 8)
    layers[1][:, 2] = np.where(sub == 5, 4.0, rng.normal(size=len(sub)) * 0.1).astype(np.float16)
    names = ["a", "b", "c"]
    s = M.measure_summary(layers, names, lab, sub, k_neurons=4, k_layers=2, k_neurons_per_layer=2)
    json.dumps(s)
    x = np.concatenate(layers, axis=1)
    assert s["c1"] == pytest.approx(M.c1(x, lab, sub, k=4), abs=1e-12)
    assert s["c2"] == pytest.approx(M.c2(layers, lab, sub, k=2), abs=1e-12)
    assert s["c3"] == pytest.approx(M.c3(x, lab, k=4), abs=1e-12)
    assert s["c4"] == pytest.approx(M.c4(layers, lab, k=2), abs=1e-12)
    assert s["n_neurons"] == 19 and s["layer_sizes"] == [6, 9, 4] and len(s["k_curve"]["c1"]) == 19
    for k in (1, 3, 19):
        assert s["k_curve"]["c1"][k - 1] == pytest.approx(M.c1(x, lab, sub, k=k), abs=1e-12)
        assert s["k_curve"]["c3"][k - 1] == pytest.approx(M.c3(x, lab, k=k), abs=1e-12)
    assert s["per_layer"]["c1"][1] == pytest.approx(M.c1(layers[1], lab, sub, k=2), abs=1e-12)
    assert s["per_layer"]["c3"][2] == pytest.approx(M.c3(layers[2], lab, k=2), abs=1e-12)
    assert s["per_layer"]["c5"][2] == pytest.approx(M.c5(layers[2], lab, k=2), abs=1e-12)
    assert s["c5"] == pytest.approx(M.c5(layers, lab, k=4), abs=1e-12)
    assert s["per_layer"]["c2"][0] == pytest.approx(M.c2(layers[:1], lab, sub, k=1), abs=1e-12)
    assert s["per_layer"]["c4"][2] == pytest.approx(M.c4(layers[2:], lab, k=1), abs=1e-12)
    subs = s["subclasses"]
    i = subs["id"].index(5)
    assert (subs["neuron"][i], subs["layer"][i], subs["neuron_in_layer"][i]) == (8, "b", 2)
    assert subs["superclass"][i] == 1 and subs["selectivity_k1"][i] > 5
    ids, best, neuron = M.most_selective_neurons(x, lab, sub)
    assert subs["neuron"] == neuron.tolist() and subs["selectivity_k1"] == pytest.approx(best.tolist())
    assert np.median(subs["c1_topk"]) == pytest.approx(s["c1"])


def test_measure_summary_without_sublabels():
    rng = np.random.default_rng(13)
    layers, lab, _ = _random_hierarchy(rng)
    s = M.measure_summary(layers, ["a", "b", "c"], lab, None, k_neurons=3, k_layers=1)
    assert "c1" not in s and "c2" not in s and "subclasses" not in s
    assert set(s["per_layer"]) == {"c3", "c4", "c5"} and set(s["k_curve"]) == {"c3"}
    assert s["classes"] == [0, 1, 2] and len(s["c4_per_class"]) == 3
    assert s["c3"] == pytest.approx(M.c3(np.concatenate(layers, axis=1), lab, k=3), abs=1e-12)


@pytest.fixture(scope="module")
def trained_digits_preactivations(tmp_path_factory):
    """Pre-activations of a VGG trained for 3 epochs on digits-coarse (real data, real training)."""
    import torch

    from intraclass.activations import extract_preactivations
    from intraclass.data import load_dataset
    from intraclass.grid import RunConfig, TrainingSettings
    from intraclass.training import load_model, normalized_tensor, train

    data = load_dataset("digits-coarse")
    run = RunConfig("digits-coarse", "vgg", 0.1, 0.0, 100, "sgd", 0.0, False, 1, 1)
    run_dir = tmp_path_factory.mktemp("digits_model")
    metrics = train(run, data, TrainingSettings(epochs=3), run_dir, torch.device("cpu"))
    assert metrics["train_acc"] > 0.8  # well above the 0.2 of chance
    model, (mean, std) = load_model(run_dir / "model.pt")
    layers = extract_preactivations(model, normalized_tensor(data.x_train, mean, std, torch.device("cpu")))
    return [layer.astype(np.float64) for layer in layers], data.y_train, data.sub_train


def test_closed_forms_match_brute_force_on_a_trained_digits_model(trained_digits_preactivations):
    layers, labels, sublabels = trained_digits_preactivations
    assert [layer.shape[1] for layer in layers] == [32, 32, 64, 64, 128, 128, 256, 256]
    ref_silhouettes = _brute_silhouettes(layers, labels, sublabels)
    np.testing.assert_allclose(M.subclass_silhouettes(layers, labels, sublabels), ref_silhouettes, atol=1e-6, rtol=0)
    np.testing.assert_allclose(
        M.class_distance_spread_ratio(layers, labels), _brute_spread_ratio(layers, labels), atol=1e-6, rtol=0
    )
    for layer in (layers[0], layers[-1]):
        transformed = M.percentile_relu_transform(layer)
        reference = cosine_distances(transformed)[np.triu_indices(len(transformed), 1)].std()
        assert M.pairwise_cosine_distance_std(transformed) == pytest.approx(reference, abs=1e-6)
