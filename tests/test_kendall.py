import itertools
import math
import os

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from intraclass.kendall import (
    AXES,
    ORIENTATION,
    granulated_kendall,
    kendall_table,
    kendall_tau_a,
    select_models,
    write_kendall_tables,
)

AXIS_NAMES = [a.name for a in AXES]
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


def test_axes_are_the_papers_eight():
    assert AXIS_NAMES == [
        "learning_rate",
        "weight_decay",
        "batch_size",
        "optimizer",
        "dropout",
        "augment",
        "width",
        "depth",
    ]
    assert ORIENTATION["c3"] == 1 and ORIENTATION["inv_alpha_pp"] == -1


@pytest.mark.parametrize("arch", ["resnet", "vgg"])
def test_accuracy_itself_scores_one_everywhere(arch):
    df = paper_grid_df(arch=arch)
    assert len(df) == (192 if arch == "resnet" else 144)
    df["c3"] = df["test_acc"]
    df["c4"] = -df["test_acc"]
    df["inv_sigma_p"] = -df["test_acc"]  # a complexity: negated before ranking -> agrees with accuracy
    assert granulated_kendall(df, "c3") == {**{a: 1.0 for a in AXIS_NAMES}, "total": 1.0}
    assert granulated_kendall(df, "c4") == {**{a: -1.0 for a in AXIS_NAMES}, "total": -1.0}
    assert granulated_kendall(df, "inv_sigma_p") == {**{a: 1.0 for a in AXIS_NAMES}, "total": 1.0}
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
    for axis in AXIS_NAMES[1:]:
        assert scores[axis] == 0.0, axis
    assert scores["total"] == pytest.approx(1 / 8)


def _naive_psi(df, measure_values, column, keep):
    """Straight from SPEC §8: pairs loop over models agreeing on every other hyperparameter."""
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
        if len(members) >= 2:
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
    assert scores["total"] == pytest.approx(np.mean([scores[a] for a in AXIS_NAMES]))


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
    assert md.count("n/a") == 2 and "0.00" not in md


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
    with pytest.raises(ValueError, match="min_train_acc must be a fraction in \\[0, 1\\], got 99"):
        select_models(df, min_train_acc=99)
    bad = df.assign(c3=1.0)
    bad.loc[5, "test_acc"] = np.nan
    with pytest.raises(ValueError, match="test_acc of row 5"):
        granulated_kendall(bad, "c3")


# ------------------------------------------------------------------------------------------------------ selection


def test_select_models_lists_exclusions_with_reasons():
    df = paper_grid_df()
    df.loc[0, "diverged"] = True
    df.loc[0, "train_acc"] = 0.1
    df.loc[1, "train_acc"] = 0.95
    df.loc[2, "test_acc"] = np.nan
    df.loc[3, "train_acc"] = 0.99  # exactly the threshold: kept
    kept, excluded = select_models(df)
    assert len(kept) == 189 and len(excluded) == 3
    assert set(kept.index).isdisjoint(excluded.index) and len(kept) + len(excluded) == len(df)
    assert excluded.loc[0, "reason"] == "diverged; train_acc 0.1000 < 0.99"
    assert excluded.loc[1, "reason"] == "train_acc 0.9500 < 0.99"
    assert excluded.loc[2, "reason"] == "test_acc missing"
    assert excluded.loc[0, "run_id"] == df.loc[0, "run_id"]
    assert "reason" not in kept.columns
    # a looser threshold keeps model 1; string booleans (CSV round trip) are understood
    kept, excluded = select_models(df.assign(diverged=df["diverged"].map({True: "True", False: "False"})), 0.9)
    assert list(excluded.index) == [0, 2]


# -------------------------------------------------------------------------------------------------------- writers


def test_table_and_writers(tmp_path):
    df = paper_grid_df()
    rng = np.random.default_rng(7)
    for m in MEASURES:
        df[m] = rng.normal(size=len(df))
    df["c3"] = df["test_acc"]
    order = ["inv_sigma_p", "c3", "inv_alpha_pp", "c1", "c2", "c4", "inv_sigma_pp", "inv_alpha_p"]
    table = kendall_table(df, order)
    assert list(table.index) == ["c3", "c1", "c2", "c4", "inv_sigma_p", "inv_alpha_pp", "inv_sigma_pp", "inv_alpha_p"]
    assert list(table.columns) == AXIS_NAMES + ["total"]
    assert (table.loc["c3"] == 1.0).all()
    assert table.notna().all().all() and ((table >= -1) & (table <= 1)).all().all()
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
    assert md[2].split("|")[1].strip() == "c3" and "1.00" in md[2]
    assert any("1/σ''" in line for line in md)

    tex = paths[2].read_text()
    lines = tex.splitlines()
    assert lines[1] == "\\toprule" and lines[-2] == "\\bottomrule" and lines[0] == "\\begin{tabular}{l" + "r" * 9 + "}"
    assert tex.count("\\midrule") == 2  # after the header, and between intraclass and sharpness rows
    midrule_at = [i for i, line in enumerate(lines) if line == "\\midrule"][1]
    assert lines[midrule_at - 1].startswith("$c_4$") and lines[midrule_at + 1].startswith("$1/\\sigma'$ ")
    assert "$c_1$" in tex and "$1/\\alpha''$" in tex
    assert lines[4].startswith("$c_3$ & 1.00 & 1.00")

    # no "-0.00" from rounding a tiny negative value
    tiny = table.copy()
    tiny.loc["c1", "dropout"] = -0.001
    write_kendall_tables(tiny, stem)
    assert "-0.00" not in paths[1].read_text() and "-0.00" not in paths[2].read_text()

    # rewriting replaces the files in place
    write_kendall_tables(table.iloc[:2], stem)
    assert len(paths[1].read_text().splitlines()) == 4
    assert sorted(os.listdir(stem.parent)) == ["table1.csv", "table1.md", "table1.tex"]
