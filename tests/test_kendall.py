import itertools
import math
import os

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from intraclass.kendall import (
    AXES,
    INTERVAL_COLUMNS,
    draw_replicates,
    draw_test_images,
    granulated_kendall,
    granulated_kendall_intervals,
    interval_markdown,
    kendall_interval_table,
    kendall_table,
    kendall_tau_a,
    write_kendall_interval_tables,
    write_kendall_tables,
)

AXIS_NAMES = [a.name for a in AXES]
PAPER_AXIS_NAMES = AXIS_NAMES[:-1]  # the paper's grids (and these frames) never vary train_size, the last axis
CELL_NAMES = [*AXIS_NAMES, "total"]
PERCENTILES_95 = [(1 - 0.95) / 2, (1 + 0.95) / 2]  # as computed, bit for bit
MEASURES = ["c1", "c2", "c3", "c4", "inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp"]

# SPEC §3: the paper's coupled axis values
LR_WD = [(0.01, 0.0), (0.032, 0.0), (0.1, 0.0), (0.1, 4e-5)]
BATCH = [100, 300]
OPT = ["sgd", "adam"]
DO_AUG = [(0.0, True), (0.0, False), (0.2, False), (0.4, False)]
W_D = [(1.0, 1.0), (1.5, 1.0), (1.0, 1.5)]


def paper_grid_df(seed: int = 0, arch: str = "resnet") -> pd.DataFrame:
    rows = []
    for (lr, wd), bs, opt, (do, aug), (w, d) in itertools.product(LR_WD, BATCH, OPT, DO_AUG, W_D):
        if arch == "vgg" and do > 0.2:
            continue
        rows.append(
            dict(
                run_id=f"{lr}_{wd}_{bs}_{opt}_{do}_{aug}_{w}_{d}",
                dataset="cifar100-coarse",
                arch=arch,
                lr=lr,
                weight_decay=wd,
                batch_size=bs,
                optimizer=opt,
                dropout=do,
                augment=aug,
                width=w,
                depth=d,
                seed=0,
                epochs_run=10,
                train_acc=1.0,
                train_loss=0.01,
                diverged=False,
                wall_s=1.0,
            )
        )
    df = pd.DataFrame(rows)
    rng = np.random.default_rng(seed)
    df["test_acc"] = rng.permutation(len(df)) / (2 * len(df)) + 0.3  # all distinct: no ties anywhere
    df["test_loss"] = 1 - df["test_acc"]
    return df


# ---------------------------------------------------------------------------------------------------------- tau-a


def test_tau_a_hand_cases():
    # x = [1,2,3], y = [1,3,2]: unordered pairs (1,2): (-1)(-1) = +1; (1,3): (-1)(-1) = +1; (2,3): (-1)(+1) = -1.
    # ordered pairs sum = 2 * (1 + 1 - 1) = 2, over n(n-1) = 6 -> 1/3
    assert kendall_tau_a([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    # ties count 0: x = [1,1,2], y = [1,2,3]: (1,2): 0 * (-1) = 0; (1,3): +1; (2,3): +1 -> 2 * 2 / 6 = 2/3
    # (tau-b would divide by sqrt(2 * 3) unordered non-tied pairs: 2/sqrt(6) = 0.816)
    assert kendall_tau_a([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / 3)
    assert kendalltau([1, 1, 2], [1, 2, 3], variant="b").statistic == pytest.approx(2 / math.sqrt(6))
    # perfectly concordant / discordant / constant
    assert kendall_tau_a([0.1, 0.5, 0.9, 2.0], [3, 4, 5, 6]) == 1.0
    assert kendall_tau_a([0.1, 0.5, 0.9, 2.0], [6, 5, 4, 3]) == -1.0
    assert kendall_tau_a([7, 7, 7], [1, 2, 3]) == 0.0
    # x = [1,2,3,4], y = [2,1,4,3]: unordered pairs: (1,2) -1; (1,3) +1; (1,4) +1; (2,3) +1; (2,4) +1; (3,4) -1
    # sum = 2 -> 4 / 12 = 1/3
    assert kendall_tau_a([1, 2, 3, 4], [2, 1, 4, 3]) == pytest.approx(1 / 3)


def test_tau_a_equals_scipy_tau_b_without_ties():
    rng = np.random.default_rng(1)
    for n in (2, 5, 17, 60):
        x, y = rng.normal(size=n), rng.normal(size=n)
        assert kendall_tau_a(x, y) == pytest.approx(kendalltau(x, y, variant="b").statistic, abs=1e-12)


def test_tau_a_validates_inputs():
    with pytest.raises(ValueError, match="equal length, got 3 and 2"):
        kendall_tau_a([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 values, got 1"):
        kendall_tau_a([1], [1])
    with pytest.raises(ValueError, match=r"y\[1\] = nan"):
        kendall_tau_a([1, 2], [0.5, float("nan")])
    with pytest.raises(ValueError, match="1-D"):
        kendall_tau_a([[1, 2]], [[1, 2]])


# --------------------------------------------------------------------------------------------------- granulated


def test_axes_are_the_papers_eight_then_the_training_set_size():
    assert AXIS_NAMES == [
        "learning_rate",
        "weight_decay",
        "batch_size",
        "optimizer",
        "dropout",
        "augment",
        "width",
        "depth",
        "train_size",
    ]


@pytest.mark.parametrize("arch", ["resnet", "vgg"])
def test_accuracy_itself_scores_one_everywhere(arch):
    df = paper_grid_df(arch=arch)
    assert len(df) == (192 if arch == "resnet" else 144)
    df["c3"] = df["test_acc"]
    df["c4"] = -df["test_acc"]
    df["inv_sigma_p"] = -df["test_acc"]  # a complexity: negated before ranking -> agrees with accuracy
    unvaried = {"train_size": None}  # the whole split for every run: no pair differs in it
    assert granulated_kendall(df, "c3") == {**{a: 1.0 for a in PAPER_AXIS_NAMES}, **unvaried, "total": 1.0}
    assert granulated_kendall(df, "c4") == {**{a: -1.0 for a in PAPER_AXIS_NAMES}, **unvaried, "total": -1.0}
    assert granulated_kendall(df, "inv_sigma_p") == {**{a: 1.0 for a in PAPER_AXIS_NAMES}, **unvaried, "total": 1.0}
    # explicit orientation overrides the default
    assert granulated_kendall(df, "inv_sigma_p", orientation=1)["total"] == -1.0


def test_measure_following_only_the_learning_rate():
    df = paper_grid_df()
    lr_rank = df["lr"].map({0.01: 0, 0.032: 1, 0.1: 2})
    # accuracy grows with lr within every group (lr step 1.0 dominates the other effects, which are < 0.5)
    df["test_acc"] = (lr_rank + df["test_acc"]) / 3
    df["c1"] = df["lr"]
    scores = granulated_kendall(df, "c1")
    assert scores["learning_rate"] == 1.0
    # the measure is constant within every group of the other axes: every pair is a tie -> 0
    for axis in PAPER_AXIS_NAMES[1:]:
        assert scores[axis] == 0.0, axis
    assert scores["total"] == pytest.approx(1 / 8)


def _naive_psi(df, measure_values, column, keep, tau=None):
    """Straight from SPEC §8: pairs loop over models agreeing on every other hyperparameter (``tau``: a function
    of a group's measure values and accuracies instead of the ordered-pairs loop)."""
    others = [
        c
        for c in ["lr", "weight_decay", "batch_size", "optimizer", "dropout", "augment", "width", "depth"]
        if c != column
    ]
    configs = [tuple(r) for r in df.loc[keep, others].itertuples(index=False)]
    m = measure_values[keep].to_numpy()
    acc = df.loc[keep, "test_acc"].to_numpy()
    seen, taus = set(), []
    for i in range(len(configs)):
        if i in seen:
            continue
        members = [j for j in range(len(configs)) if configs[j] == configs[i]]
        seen.update(members)
        if len(members) >= 2 and tau is not None:
            taus += [t for t in [tau(m[members], acc[members])] if t is not None]
        elif len(members) >= 2:
            s = sum(np.sign(m[a] - m[b]) * np.sign(acc[a] - acc[b]) for a in members for b in members if a != b)
            taus.append(s / (len(members) * (len(members) - 1)))
    return float(np.mean(taus))


def test_matches_naive_pairs_loop_with_ties():
    df = paper_grid_df(seed=3)
    rng = np.random.default_rng(3)
    df["c2"] = rng.integers(0, 3, size=len(df)).astype(float)  # many ties in the measure
    scores = granulated_kendall(df, "c2")
    keeps = {
        "learning_rate": ("lr", df["weight_decay"] == 0),
        "weight_decay": ("weight_decay", df["lr"] == 0.1),
        "batch_size": ("batch_size", df["lr"] > 0),
        "optimizer": ("optimizer", df["lr"] > 0),
        "dropout": ("dropout", ~df["augment"]),
        "augment": ("augment", df["dropout"] == 0),
        "width": ("width", df["depth"] == 1),
        "depth": ("depth", df["width"] == 1),
    }
    for axis, (column, keep) in keeps.items():
        assert scores[axis] == pytest.approx(_naive_psi(df, df["c2"], column, keep), abs=1e-12), axis
    assert scores["total"] == pytest.approx(np.mean([scores[a] for a in PAPER_AXIS_NAMES]))


def test_axis_without_complete_group_is_missing_not_zero(tmp_path):
    df = paper_grid_df()
    df = df[df["width"] == 1.0].copy()  # no width 1.5: no group varies the width
    df["c3"] = df["test_acc"]
    df["inv_alpha_p"] = df["test_acc"]  # complexity agreeing with accuracy -> -1 after orientation
    scores = granulated_kendall(df, "c3")
    assert scores["width"] is None
    assert scores["depth"] == 1.0
    assert scores["total"] == 1.0  # mean over the 7 present axes
    table = kendall_table(df, ["inv_alpha_p", "c3"])
    assert list(table.index) == ["c3", "inv_alpha_p"]
    assert np.isnan(table.loc["c3", "width"]) and np.isnan(table.loc["inv_alpha_p", "width"])
    assert table.loc["inv_alpha_p", "total"] == -1.0
    paths = write_kendall_tables(table, tmp_path / "t")
    md = paths[1].read_text()
    assert md.count("n/a") == 2 * 2 and "0.00" not in md  # width and train size, for both measures


def test_all_nan_or_absent_measure_is_missing_and_partial_nan_warns():
    df = paper_grid_df()
    df["c1"] = np.nan
    assert granulated_kendall(df, "c1") == {**{a: None for a in AXIS_NAMES}, "total": None}
    table = kendall_table(df, ["c1", "c2"])  # c2 absent from the frame
    assert table.isna().all().all() and list(table.index) == ["c1", "c2"]
    df["c3"] = df["test_acc"]
    df.loc[0, "c3"] = np.nan
    with pytest.warns(UserWarning, match="c3 is missing for 1 model"):
        assert granulated_kendall(df, "c3")["total"] == 1.0


def test_input_validation():
    df = paper_grid_df()
    with pytest.raises(ValueError, match="unknown measure 'c9'"):
        granulated_kendall(df.assign(c9=1.0), "c9")
    with pytest.raises(ValueError, match="orientation must be"):
        granulated_kendall(df.assign(c3=1.0), "c3", orientation=2)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['c3'\]"):
        granulated_kendall(df, "c3")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['dropout'\]"):
        granulated_kendall(df.assign(c3=1.0).drop(columns="dropout"), "c3")
    with pytest.raises(ValueError, match="unknown measure 'c7'"):
        kendall_table(df, ["c3", "c7"])
    bad = df.assign(c3=1.0)
    bad.loc[5, "test_acc"] = np.nan
    with pytest.raises(ValueError, match="test_acc of row 5"):
        granulated_kendall(bad, "c3")


# -------------------------------------------------------------------------------------------------------- writers


def test_table_and_writers(tmp_path):
    df = paper_grid_df()
    rng = np.random.default_rng(7)
    for m in MEASURES:
        df[m] = rng.normal(size=len(df))
    df["c3"] = df["test_acc"]
    order = ["inv_sigma_p", "c3", "inv_alpha_pp", "c1", "c2", "c4", "inv_sigma_pp", "inv_alpha_p"]
    table = kendall_table(df, order)
    assert list(table.index) == MEASURES  # registry order
    assert list(table.columns) == AXIS_NAMES + ["total"]
    assert (table.loc["c3"].drop("train_size") == 1.0).all()
    paper_axes = table.drop(columns="train_size")
    assert table["train_size"].isna().all() and paper_axes.notna().all().all()
    assert ((paper_axes >= -1) & (paper_axes <= 1)).all().all()
    assert table.loc["c4", "total"] == pytest.approx(granulated_kendall(df, "c4")["total"])

    stem = tmp_path / "sub" / "table1"
    paths = write_kendall_tables(table, stem)
    assert [p.name for p in paths] == ["table1.csv", "table1.md", "table1.tex"]
    assert sorted(os.listdir(stem.parent)) == ["table1.csv", "table1.md", "table1.tex"]  # no temp files left

    back = pd.read_csv(paths[0], index_col="measure")
    assert list(back.index) == list(table.index) and list(back.columns) == list(table.columns)
    np.testing.assert_allclose(back.to_numpy(), table.to_numpy(), atol=1e-12)

    md = paths[1].read_text().splitlines()
    assert len(md) == 2 + 8  # header, separator, 8 measures
    assert "learning rate" in md[0] and "total" in md[0]
    assert md[4].split("|")[1].strip() == "c3" and md[4].count("1.00") == 9
    assert any("1/σ''" in line for line in md)

    tex = paths[2].read_text()
    lines = tex.splitlines()
    assert lines[1] == "\\toprule" and lines[-2] == "\\bottomrule" and lines[0] == "\\begin{tabular}{l" + "r" * 10 + "}"
    assert tex.count("\\midrule") == 2  # after the header, and between intraclass and sharpness rows
    midrule_at = [i for i, line in enumerate(lines) if line == "\\midrule"][1]
    assert lines[midrule_at - 1].startswith("$c_4$") and lines[midrule_at + 1].startswith("$1/\\sigma'$ ")
    assert "$c_1$" in tex and "$1/\\alpha''$" in tex
    assert lines[6] == "$c_3$ & " + " & ".join(["1.00"] * 8 + ["--", "1.00"]) + " \\\\"  # train size missing

    # no "-0.00" from rounding a tiny negative value
    tiny = table.copy()
    tiny.loc["c1", "dropout"] = -0.001
    write_kendall_tables(tiny, stem)
    assert "-0.00" not in paths[1].read_text() and "-0.00" not in paths[2].read_text()

    # rewriting replaces the files in place
    write_kendall_tables(table.iloc[:2], stem)
    assert len(paths[1].read_text().splitlines()) == 4
    assert sorted(os.listdir(stem.parent)) == ["table1.csv", "table1.md", "table1.tex"]


# ----------------------------------------------------------------------------------------------- authors' ties


def _authors_tau(x, y):
    """The authors' kendall_coeff, restated: ordered pairs not identical in both values, copysign(1, 0) = +1;
    None where they would divide by zero (every pair identical: such a group is left out)."""
    total, count = 0.0, 0
    for xi, yi in zip(x, y, strict=True):
        for xj, yj in zip(x, y, strict=True):
            if (xi, yi) != (xj, yj):
                total += math.copysign(1, xi - xj) * math.copysign(1, yi - yj)
                count += 1
    return total / count if count else None


def test_authors_ties_hand_case_and_brute_force():
    # pair (0, 1) is identical in both values: counted 0 by SPEC §8 (4/6), dropped by the authors (4/4)
    assert kendall_tau_a([1, 1, 3], [1, 1, 2]) == pytest.approx(2 / 3)
    assert kendall_tau_a([1, 1, 3], [1, 1, 2], ties="authors") == 1.0
    # a tie in one value only: +1 and -1 in its two orders, so 0 in the sum under both conventions, and counted
    assert kendall_tau_a([1, 1, 2], [1, 2, 3], ties="authors") == pytest.approx(2 / 3)
    rng = np.random.default_rng(5)
    for n in (2, 3, 6, 11):
        for _ in range(20):
            x, y = rng.integers(0, 3, size=n).astype(float), rng.integers(0, 2, size=n).astype(float)
            if len(set(zip(x, y, strict=True))) < 2:
                with pytest.raises(ValueError, match="every pair is identical"):
                    kendall_tau_a(x, y, ties="authors")
                continue
            assert kendall_tau_a(x, y, ties="authors") == pytest.approx(_authors_tau(x, y), abs=1e-12)
    with pytest.raises(ValueError, match=r"ties must be one of \('spec', 'authors'\), got 'paper'"):
        kendall_tau_a([1, 2], [1, 2], ties="paper")


def test_granulated_authors_ties_match_brute_force():
    df = paper_grid_df(seed=4)
    rng = np.random.default_rng(4)
    df["c2"] = rng.integers(0, 2, size=len(df)).astype(float)
    df["test_acc"] = rng.integers(0, 2, size=len(df)) / 2  # ties in both values are frequent
    spec, authors = granulated_kendall(df, "c2"), granulated_kendall(df, "c2", ties="authors")
    for axis, (column, keep) in _paper_axes(df).items():
        assert spec[axis] == pytest.approx(_naive_psi(df, df["c2"], column, keep), abs=1e-12), axis
        assert authors[axis] == pytest.approx(_naive_psi(df, df["c2"], column, keep, _authors_tau), abs=1e-12), axis
    assert authors["total"] != pytest.approx(spec["total"])
    assert kendall_table(df, ["c2"], ties="authors").loc["c2", "total"] == authors["total"]


def _paper_axes(df):
    return {
        "learning_rate": ("lr", df["weight_decay"] == 0),
        "weight_decay": ("weight_decay", df["lr"] == 0.1),
        "batch_size": ("batch_size", df["lr"] > 0),
        "optimizer": ("optimizer", df["lr"] > 0),
        "dropout": ("dropout", ~df["augment"]),
        "augment": ("augment", df["dropout"] == 0),
        "width": ("width", df["depth"] == 1),
        "depth": ("depth", df["width"] == 1),
    }


# ------------------------------------------------------------------------------------------------------ intervals


def small_replicated_df(seed: int = 0) -> pd.DataFrame:
    """3 learning rates x 2 batch sizes, 1 to 3 replicates per configuration (15 runs), other axes at a base."""
    rows = []
    replicates = {(0.01, 100): 3, (0.032, 100): 1, (0.1, 100): 2, (0.01, 300): 2, (0.032, 300): 3, (0.1, 300): 4}
    for (lr, bs), n in replicates.items():
        for r in range(n):
            rows.append(
                dict(run_id=f"lr{lr}_bs{bs}_r{r}", dataset="d", arch="a", lr=lr, weight_decay=0.0, batch_size=bs,
                     optimizer="sgd", dropout=0.0, augment=False, width=1.0, depth=1.0, replicate=r)
            )  # fmt: skip
    return pd.DataFrame(rows)


def _slow_cells(df, measure_values, accuracy, runs=None, cross=True):
    """The 8 axes and the total with explicit loops over groups and ordered pairs (SPEC §8), groups taken in order
    of their first model, as a reader would do it by hand; ``runs``: the run behind each row of a resample, a pair
    of one run with itself left out; ``cross``: only the pairs differing in the axis (SPEC §14)."""
    runs = list(range(len(df))) if runs is None else list(runs)
    hyper = ["lr", "weight_decay", "batch_size", "optimizer", "dropout", "augment", "width", "depth"]
    keeps = _paper_axes(df)
    psi = []
    for axis in AXIS_NAMES:
        if axis not in keeps:  # train_size: these frames never vary it
            psi.append(np.nan)
            continue
        column, keep = keeps[axis]
        rows = [i for i in range(len(df)) if keep.iloc[i]]
        others = [c for c in hyper if c != column]
        key = {i: tuple(df.iloc[i][others]) for i in rows}
        seen, taus = set(), []
        for i in rows:
            if i in seen:
                continue
            members = [j for j in rows if key[j] == key[i]]
            seen.update(members)
            if len(members) >= 2 and len({df.iloc[j][column] for j in members}) >= 2:
                counted = [(a, b) for a in members for b in members if runs[a] != runs[b]
                           and (not cross or df.iloc[a][column] != df.iloc[b][column])]  # fmt: skip
                s = sum(
                    np.sign(measure_values[a] - measure_values[b]) * np.sign(accuracy[a] - accuracy[b])
                    for a, b in counted
                )
                taus.append(s / len(counted))
        psi.append(np.mean(taus) if taus else np.nan)
    psi = np.array(psi)
    return [*psi, np.nansum(psi) / np.sum(~np.isnan(psi))]


def _slow_adjusted(df, values):
    """Each value moved away from its configuration's mean by sqrt(n / (n - 1)), n its number of replicates."""
    values = np.asarray(values, dtype=float)
    out = values.copy()
    for _, rows in df.groupby(["lr", "batch_size"]).indices.items():
        n = len(rows)
        if n >= 2:
            mean = values[rows].mean()
            out[rows] = mean + np.sqrt(n / (n - 1)) * (values[rows] - mean)
    return out


def test_interval_equals_a_direct_slow_bootstrap():
    df = small_replicated_df()
    rng = np.random.default_rng(11)
    n_test, n_resamples, seed = 40, 60, 3
    correct = rng.random((len(df), n_test)) < rng.uniform(0.3, 0.9, size=(len(df), 1))
    df["test_acc"] = correct.mean(axis=1)
    df["c3"] = df["test_acc"] + rng.normal(0, 0.1, size=len(df))
    cells = granulated_kendall_intervals(df, "c3", correct=correct, n_resamples=n_resamples, seed=seed)

    images = draw_test_images(n_test, n_resamples, seed)
    replicates = draw_replicates(df, n_resamples, seed)
    measure = df["c3"].to_numpy()
    slow = []
    for b in range(n_resamples):
        picked = replicates[b]  # position r holds a replicate of row r's configuration
        assert all(df.iloc[p].lr == df.iloc[r].lr and df.iloc[p].batch_size == df.iloc[r].batch_size
                   for r, p in enumerate(picked))  # fmt: skip
        accuracy = _slow_adjusted(df, [np.mean(correct[r][images[b]]) for r in range(len(df))])
        slow.append(_slow_cells(df, _slow_adjusted(df, measure)[picked], accuracy[picked], picked))
    slow = np.array(slow)
    assert np.isnan(slow[:, [1, 3, 4, 5, 6, 7, 8]]).all()  # only the learning rate and the batch size vary
    point = _slow_cells(df, measure, df["test_acc"].to_numpy())
    for c, cell in enumerate(CELL_NAMES):
        row = cells.loc[cell]
        if cell in ("learning_rate", "batch_size", "total"):
            # the percentile interval translated so that the resamples' median sits on the estimate
            lo, median, hi = np.quantile(slow[:, c], [PERCENTILES_95[0], 0.5, PERCENTILES_95[1]])
            expected = (max(-1, point[c] + lo - median), min(1, point[c] + hi - median))
            assert (row.lo, row.hi) == pytest.approx(expected, abs=1e-12), cell
            assert row.n_resamples == n_resamples and row.lo < row.hi
        else:
            assert np.isnan(row.lo) and row.missing_reason == "no group with 2 values of the axis", cell
    assert cells.loc["total", "value"] == pytest.approx(point[-1], abs=1e-12)
    # the interval resamples both sources: without either, it changes
    for only in (["test_images"], ["seeds"]):
        other = granulated_kendall_intervals(df, "c3", correct=correct, n_resamples=n_resamples, seed=seed,
                                             resample=only)  # fmt: skip
        assert other.attrs["resampled"] == only and other.loc["total", "lo"] != cells.loc["total", "lo"]
    assert cells.attrs["resampled"] == ["test_images", "seeds"]


def test_measure_equal_to_accuracy_has_a_degenerate_interval():
    df = small_replicated_df()
    # nested correctness, 25 images apart: every resample keeps the order of the accuracies
    n_test = 25 * len(df)
    order = np.random.default_rng(2).permutation(len(df))
    correct = np.arange(n_test)[None, :] < 25 * (order[:, None] + 1)
    df["test_acc"] = correct.mean(axis=1)
    df["c1"] = df["test_acc"]
    # each source alone keeps the order (the seeds' adjusted residuals move measure and accuracy alike); both
    # together need not, as the measure is not recomputed on the test images
    for source in ("test_images", "seeds"):
        cells = granulated_kendall_intervals(df, "c1", correct=correct, n_resamples=200, seed=0, resample=[source])
        present = cells.loc[["learning_rate", "batch_size", "total"]]
        assert (present[["value", "lo", "hi"]] == 1.0).all().all(), source
        assert cells.loc["total", "n_axes"] == 2


def test_replicate_resampling_hand_case():
    # two learning rates, two replicates each: A = lr 0.01 (a0, a1), B = lr 0.1 (b0, b1); (measure, accuracy):
    # a0 = (1, 0.1), a1 = (4, 0.4), b0 = (2, 0.3), b1 = (3, 0.2). Of the 6 pairs only b0-b1 is discordant: 4/6.
    # A resample draws 2 of A's and 2 of B's replicates. Its 4 cross pairs are concordant whatever is drawn
    # (a0 and a1 are each on the same side of b0 and b1 in both values); a replicate drawn twice is one model (its
    # pair with itself is left out); both of A's drawn add the pair a0-a1 (+1), both of B's b0-b1 (-1):
    # tau = (4 + mixed_A - mixed_B) / (4 + mixed_A + mixed_B), one of 1 (4/4, 5/5), 3/5, 4/6 (pairs="all").
    # The adjusted residuals (sqrt(2) x the distance to the configuration's mean) keep every order: a0 = (0.38,
    # 0.038), a1 = (4.62, 0.462), b0 = (1.79, 0.321), b1 = (3.21, 0.179).
    # With cross pairs (the default) only the 4 concordant cross pairs count: 1 on the data and on every resample.
    df = pd.DataFrame(
        dict(lr=[0.01, 0.01, 0.1, 0.1], weight_decay=0.0, batch_size=100, optimizer="sgd", dropout=0.0,
             augment=False, width=1.0, depth=1.0, replicate=[0, 1, 0, 1], c4=[1.0, 4.0, 2.0, 3.0],
             test_acc=[0.1, 0.4, 0.3, 0.2])
    )  # fmt: skip
    cross = granulated_kendall_intervals(df, "c4", n_resamples=100, seed=7).loc["learning_rate"]
    assert (cross.value, cross.lo, cross.hi, cross.n_pairs, cross.n_pairs_all) == (1.0, 1.0, 1.0, 4, 6)
    assert cross.few_seeds and not cross.few_pairs
    cells = granulated_kendall_intervals(df, "c4", n_resamples=100, seed=7, pairs="all")
    picks = draw_replicates(df, 100, 7)
    assert set(np.unique(picks[:, :2])) <= {0, 1} and set(np.unique(picks[:, 2:])) <= {2, 3}
    mixed_a = picks[:, 0] != picks[:, 1]
    mixed_b = picks[:, 2] != picks[:, 3]
    expected = (4 + mixed_a.astype(int) - mixed_b.astype(int)) / (4 + mixed_a.astype(int) + mixed_b.astype(int))
    assert set(expected) == {1.0, 3 / 5, 4 / 6}  # 100 resamples see every case
    row = cells.loc["learning_rate"]
    assert row.value == pytest.approx(4 / 6)
    lo, median, hi = np.quantile(expected, [PERCENTILES_95[0], 0.5, PERCENTILES_95[1]])
    assert (row.lo, row.hi) == pytest.approx((4 / 6 + lo - median, min(1.0, 4 / 6 + hi - median)))
    assert (row.n_groups, row.n_pairs, row.n_pairs_all, row.few_pairs) == (1, 6, 6, False)
    assert cells.attrs["resampled"] == ["seeds"]
    # no replicates and no correctness: nothing to resample, no interval
    single = granulated_kendall_intervals(df[df.replicate == 0], "c4")
    assert single.loc["learning_rate", "value"] == 1.0 and np.isnan(single.loc["learning_rate", "lo"])
    assert single.loc["learning_rate", "few_pairs"] and single.attrs["resampled"] == []
    assert draw_replicates(df[df.replicate == 0]) is None


def test_groups_and_pairs_counted_exactly():
    df = paper_grid_df()
    df["c3"] = df["test_acc"]
    cells = granulated_kendall_intervals(df, "c3", n_resamples=10)
    # lr: 48 groups of 3 (wd 0); wd: 48 of 2 (lr 0.1); batch, optimizer: 96 of 2; dropout: 48 of 3 (no augm.);
    # augm.: 48 of 2 (dropout 0); width, depth: 64 of 2 (the other at x1)
    groups = [48, 48, 96, 96, 48, 48, 64, 64]
    pairs = [144, 48, 96, 96, 144, 48, 64, 64]
    # train size: no group varies it
    assert cells["n_groups"].tolist() == [*groups, 0, sum(groups)]
    assert cells["n_pairs"].tolist() == [*pairs, 0, sum(pairs)]
    assert cells["n_axes"].isna().sum() == 9 and cells.loc["total", "n_axes"] == 8
    assert cells.loc["train_size", "missing_reason"] == "no group with 2 values of the axis"
    paper_cells = cells.drop("train_size")
    assert not paper_cells["few_pairs"].any() and (paper_cells["missing_reason"] == "").all()
    assert (paper_cells["value"] == 1.0).all() and cells["lo"].isna().all()  # no correctness, no replicates
    # a star design around the base: one group per axis; 2 values -> 1 pair (flagged), 3 values -> 3 pairs
    base = df[(df.lr == 0.1) & (df.weight_decay == 0) & (df.batch_size == 100) & (df.optimizer == "sgd")]
    star = pd.concat([base[(base.dropout == 0) & ~base.augment & (base.width == 1) & (base.depth == 1)],
                      base[(base.dropout > 0) & (base.width == 1) & (base.depth == 1)],
                      base[(base.dropout == 0) & ~base.augment & ((base.width > 1) | (base.depth > 1))]])  # fmt: skip
    star_cells = granulated_kendall_intervals(star, "c3")
    assert star_cells.loc["dropout", ["n_groups", "n_pairs", "few_pairs"]].tolist() == [1, 3, False]
    assert star_cells.loc["width", ["n_groups", "n_pairs", "few_pairs"]].tolist() == [1, 1, True]
    assert star_cells.loc["total", ["n_groups", "n_pairs", "n_pairs_all", "n_axes"]].tolist() == [3, 5, 5, 3]
    assert star_cells.loc["learning_rate", "missing_reason"] == "no group with 2 values of the axis"
    assert granulated_kendall_intervals(df.iloc[:0], "c3").loc["total", "missing_reason"] == "no axis present"
    assert granulated_kendall_intervals(df.iloc[:0], "c3").loc["depth", "missing_reason"] == "no fitted model"


def test_interval_table_and_writers(tmp_path):
    df = small_replicated_df()
    rng = np.random.default_rng(3)
    correct = rng.random((len(df), 30)) < 0.7
    df["test_acc"] = correct.mean(axis=1)
    df["c3"] = df["test_acc"]
    df["inv_sigma_p"] = rng.normal(size=len(df))
    df["c1"] = np.nan
    table = kendall_interval_table(df, ["inv_sigma_p", "c2", "c1", "c3"], correct=correct, n_resamples=50, seed=1)
    assert list(table.index.get_level_values("measure").unique()) == ["c1", "c2", "c3", "inv_sigma_p"]
    assert list(table.columns) == list(INTERVAL_COLUMNS) and len(table) == 4 * 10
    single = granulated_kendall_intervals(df, "c3", correct=correct, n_resamples=50, seed=1)
    pd.testing.assert_frame_equal(table.loc["c3"], single)  # the same draws for every measure
    assert table.loc[("c2", "total"), "missing_reason"] == "no axis present"
    assert table.loc[("c2", "width"), "missing_reason"] == "measure not computed"
    assert table.loc[("c1", "width"), "missing_reason"] == "no value of the measure"

    paths = write_kendall_interval_tables(table, tmp_path / "t")
    back = pd.read_csv(paths[0], index_col=["measure", "cell"], keep_default_na=False, na_values=[""])
    assert list(back.columns) == list(INTERVAL_COLUMNS)
    np.testing.assert_array_equal(back["n_pairs"], table["n_pairs"])
    np.testing.assert_allclose(back[["value", "lo", "hi"]], table[["value", "lo", "hi"]].astype(float), atol=1e-12)

    md = paths[1].read_text().splitlines()
    c3 = table.loc["c3"]
    lr_cell = f"{c3.loc['learning_rate', 'value']:.2f} [{c3.loc['learning_rate', 'lo']:.2f}, "
    row = next(line for line in md if line.startswith("| c3 "))
    assert lr_cell in row and "axes)" not in row  # a total over both axes the study compares: no mark
    # Only the varied axes are columns: the 7 others (no group of either measure with a value) are named below.
    assert md[0] == "| measure | learning rate | batch size | total |"
    left_out = "weight decay, optimizer, dropout, data augm., width, depth, train size"
    assert f"Axes not shown (no group with 2 values of the axis in this study): {left_out}.  " in md
    letters = {line.split(":")[0]: line.split(": ")[1].strip() for line in md if line.startswith("n/a (")}
    assert sorted(letters.values()) == ["measure not computed.", "no axis present.", "no value of the measure."]
    partly = table.copy()  # one measure with a group on an axis keeps its column, the others' n/a with it
    partly.loc[("c3", "weight_decay"), ["value", "missing_reason"]] = [0.5, ""]
    assert (
        interval_markdown(partly).splitlines()[0] == "| measure | learning rate | weight decay | batch size | total |"
    )
    assert "n/a (d): no group with 2 values of the axis." in interval_markdown(partly)
    partly_c3 = next(line for line in interval_markdown(partly).splitlines() if line.startswith("| c3 "))
    assert partly_c3.endswith(" (2/3 axes) |")  # its total has 2 of the 3 axes now shown
    assert "(k/3 axes): a total over k of the 3 axes shown, the others n/a.  " in interval_markdown(partly)
    c2_row = next(line for line in md if line.startswith("| c2 "))
    assert next(k for k, v in letters.items() if v == "measure not computed.") in c2_row
    assert any(line.startswith("[lo, hi]: 95% bootstrap interval (percentile, centred on the estimate), 50 resamples "
                               "of the test images and of the seeds within each configuration (adjusted for few "
                               "seeds) (seed 1).") for line in md)  # fmt: skip
    # 3 lr x 2 batch sizes, 1-4 seeds: lr groups (bs 100: 3+1+2 runs, bs 300: 2+3+4) have 11 + 26 cross pairs of
    # 15 + 36; batch-size groups (lr: 3+2, 1+3, 2+4) 6 + 3 + 8 of 10 + 6 + 15
    assert c3.loc["total", ["n_pairs", "n_pairs_all"]].tolist() == [11 + 26 + 6 + 3 + 8, 15 + 36 + 10 + 6 + 15]
    assert any(line.startswith("Pairs: each cell ranks the model pairs of its groups differing in the axis (seed "
                               "pairs left out); 54 pairs used") for line in md)  # fmt: skip
    assert any(line.startswith("‡ a configuration of the cell has at most 3 seeds") for line in md)
    assert c3["few_seeds"].tolist() == [True, False, True, False, False, False, False, False, False, True]
    assert not any(line.startswith("(k/") for line in md)
    assert "†" not in "".join(md)  # every present cell rests on >= 3 pairs here

    tex = paths[2].read_text()
    assert "\\begin{tabular}{lrrr}" in tex and "\\bottomrule" in tex
    assert "n/a$^{a}$" in tex and "n/a$^{a}$: no value of the measure." in tex
    assert "95\\% bootstrap interval (percentile" in tex


def test_interval_validation():
    df = small_replicated_df()
    df["test_acc"] = 0.5
    df["c3"] = 1.0
    correct = np.zeros((len(df), 10), dtype=bool)
    correct[:, :5] = True
    with pytest.raises(ValueError, match=r"correct must have shape \(15, n_test\).*got \(14, 10\)"):
        granulated_kendall_intervals(df, "c3", correct=correct[:-1])
    shifted = correct.copy()
    shifted[3, :] = True
    with pytest.raises(ValueError, match=r"correct row 3 \(lr0.032_bs100_r0\) has accuracy 1.000000 but test_acc"):
        granulated_kendall_intervals(df, "c3", correct=shifted)
    with pytest.raises(ValueError, match="confidence must be in"):
        granulated_kendall_intervals(df, "c3", confidence=95)
    with pytest.raises(ValueError, match="resample must be a subset"):
        granulated_kendall_intervals(df, "c3", resample="seeds")
    with pytest.raises(ValueError, match="n_resamples must be a positive integer, got 0"):
        granulated_kendall_intervals(df, "c3", n_resamples=0)
    with pytest.raises(ValueError, match=r"repeat a configuration and replicate"):
        draw_replicates(pd.concat([df, df.iloc[:1]]))
