import itertools
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy
from sklearn.metrics import mutual_info_score

from intraclass.criteria import (
    ALL_AXES,
    CMI_COLUMNS,
    cmi_by_set,
    cmi_table,
    conditional_mutual_information,
    normalized_conditional_mutual_information,
    sign_error,
    sign_error_environments,
    sign_error_table,
    write_cmi_tables,
    write_sign_error_tables,
)
from intraclass.criteria_plots import fig_sign_error_cdf
from intraclass.grid import HYPERPARAMETERS
from intraclass.registry import MEASURES

BASE = dict(lr=0.1, weight_decay=0.0, batch_size=100, optimizer="sgd", dropout=0.0, augment=False, width=1.0, depth=1.0)


def models(rows, dataset="digits-coarse", arch="resnet"):
    """A measures.csv-like frame: each row's hyperparameters default to BASE."""
    records = [
        {"run_id": f"{dataset}_{arch}_{k}", "dataset": dataset, "arch": arch, **BASE, **row}
        for k, row in enumerate(rows)
    ]
    return pd.DataFrame(records)


# --------------------------------------------------------------------------------------------------------------
# conditional mutual information of samples


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unconditional_cmi_equals_sklearn_mutual_info(seed):
    rng = np.random.default_rng(seed)
    v_mu = rng.integers(0, 3, 300)
    v_g = np.where(rng.random(300) < 0.7, v_mu % 2, rng.integers(0, 2, 300))
    mi = mutual_info_score(v_mu, v_g)
    assert mi > 0.01
    assert conditional_mutual_information(v_mu, v_g) == pytest.approx(mi, abs=1e-12)
    assert normalized_conditional_mutual_information(v_mu, v_g) == pytest.approx(
        mi / entropy(np.bincount(v_g)), abs=1e-12
    )


def test_conditional_cmi_is_the_weighted_mean_of_the_strata_mutual_information():
    rng = np.random.default_rng(3)
    n = 400
    condition = rng.integers(0, 3, (n, 2))
    v_g = rng.choice([-1, 1], n)
    v_mu = np.where(rng.random(n) < 0.4 + 0.2 * condition[:, 0], v_g, -v_g)
    keys = [tuple(row) for row in condition]
    information = conditional_entropy = 0.0
    for key in set(keys):
        inside = np.array([k == key for k in keys])
        weight = inside.mean()
        information += weight * mutual_info_score(v_mu[inside], v_g[inside])
        conditional_entropy += weight * entropy(np.unique(v_g[inside], return_counts=True)[1])
    assert conditional_mutual_information(v_mu, v_g, condition) == pytest.approx(information, abs=1e-12)
    assert normalized_conditional_mutual_information(v_mu, v_g, condition) == pytest.approx(
        information / conditional_entropy, abs=1e-12
    )


def test_normalized_cmi_hand_computed():
    assert normalized_conditional_mutual_information([1, 1, -1, -1], [1, 1, -1, -1]) == pytest.approx(1.0)
    assert normalized_conditional_mutual_information([1, 1, -1, -1], [1, -1, 1, -1]) == 0.0
    # u = 0: the four sign combinations (I = 0, H = ln 2); u = 1: V_mu = V_g (I = H = ln 2): (0 + ln 2) / (2 ln 2)
    u = [0, 0, 0, 0, 1, 1, 1, 1]
    v_mu = [1, 1, -1, -1, 1, 1, -1, -1]
    v_g = [1, -1, 1, -1, 1, 1, -1, -1]
    assert conditional_mutual_information(v_mu, v_g, u) == pytest.approx(math.log(2) / 2)
    assert normalized_conditional_mutual_information(v_mu, v_g, u) == pytest.approx(0.5)
    # V_g fixed by the condition: nothing to explain
    assert math.isnan(normalized_conditional_mutual_information([1, -1, 1, -1], [1, 1, -1, -1], [0, 0, 1, 1]))


def test_cmi_rejects_bad_inputs_naming_them():
    with pytest.raises(ValueError, match="equal lengths, got 3 and 2"):
        conditional_mutual_information([1, 1, -1], [1, -1])
    with pytest.raises(ValueError, match="v_mu must be 1-D"):
        conditional_mutual_information([[1, 1]], [1])
    with pytest.raises(ValueError, match="condition has 2 rows"):
        normalized_conditional_mutual_information([1, -1, 1], [1, 1, -1], [0, 1])


# --------------------------------------------------------------------------------------------------------------
# CMI over model pairs


def test_ties_count_positive_in_both_signs():
    # ordered pairs of distinct models (a, b, c): accuracies tie for (a, b), so V_g = +1 both ways
    df = models([{"test_acc": 0.5, "c3": 1.0}, {"test_acc": 0.5, "c3": 2.0}, {"test_acc": 0.7, "c3": 3.0}])
    # (V_mu, V_g) counts: (+,+) 3, (-,+) 1, (-,-) 2 over 6 pairs
    information = 0.5 * math.log(1.5) + math.log(2) / 6
    h_g = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    by_set = cmi_by_set(df, "c3")
    assert by_set.to_dict("records") == [{"set": "", "size": 0, "cmi": pytest.approx(information / h_g), "pairs": 6}]


def lr_batch_grid(replicates=3, seed=0):
    """lr x batch size, replicated; accuracy grows with lr and batch size, with a little seed noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for lr, bs, _ in itertools.product((0.01, 0.1), (100, 300), range(replicates)):
        accuracy = 0.6 + 2 * lr + 0.0001 * bs + rng.normal(0, 0.01)
        rows.append({"lr": lr, "batch_size": bs, "test_acc": accuracy, "c3": rng.normal(), "c4": lr})
    return models(rows)


def test_a_measure_that_only_tracks_one_axis_has_no_information_given_that_axis():
    df = lr_batch_grid()
    by_set = cmi_by_set(df, "c4").set_index("set")
    assert by_set.loc["", "cmi"] > 0.2  # c4 = lr, which drives accuracy
    assert by_set.loc["lr", "cmi"] == 0.0  # within each (lr_i, lr_j) cell the measure's sign is constant
    assert by_set.loc["batch_size", "cmi"] > 0.2
    assert list(by_set.index) == ["", "lr", "batch_size", "lr+batch_size"]  # only the axes that vary
    table = cmi_table(df, ["c4", "c3"])
    assert list(table.columns) == list(CMI_COLUMNS)
    assert list(table.index) == ["c3", "c4"]  # registry order
    assert table.loc["c4", "cmi_1"] == 0.0 and table.loc["c4", "set_1"] == "lr"
    assert table.loc["c4", "cmi_2"] == 0.0 and table.loc["c4", "set_2"] == "lr+batch_size"
    assert table.loc["c4", "pairs"] == 12 * 11  # ordered pairs of distinct models


def brute_force_cmi(df, measure, axes):
    """The definition, pair by pair: I / H with the condition (experiment, u_i, u_j), weighted by the cell sizes."""
    cells = {}
    for i, j in itertools.permutations(range(len(df)), 2):
        a, b = df.iloc[i], df.iloc[j]
        if (a.dataset, a.arch) != (b.dataset, b.arch):
            continue
        key = (a.dataset, a.arch, *[(a[x], b[x]) for x in axes])
        v_mu = 1 if a[measure] >= b[measure] else -1  # c3: orientation +1
        v_g = 1 if a.test_acc >= b.test_acc else -1
        cells.setdefault(key, []).append((v_mu, v_g))
    total = sum(len(c) for c in cells.values())
    information = sum(len(c) / total * mutual_info_score(*zip(*c, strict=True)) for c in cells.values())
    h = sum(len(c) / total * entropy(np.unique([g for _, g in c], return_counts=True)[1]) for c in cells.values())
    return information / h


def test_cmi_by_set_equals_the_definition_pair_by_pair():
    rng = np.random.default_rng(5)
    df = pd.concat([lr_batch_grid(2, seed=1), lr_batch_grid(2, seed=2).assign(arch="vgg")], ignore_index=True)
    df["dropout"] = rng.choice([0.0, 0.2], len(df))
    df["test_acc"] = np.round(df["test_acc"], 2)  # some ties
    df["c3"] = df["test_acc"] + rng.normal(0, 0.05, len(df))
    by_set = cmi_by_set(df, "c3")
    assert len(by_set) == 1 + 3 + 3
    for row in by_set.itertuples():
        axes = row.set.split("+") if row.set else []
        assert row.cmi == pytest.approx(brute_force_cmi(df, "c3", axes), abs=1e-12), row.set
    assert set(by_set["pairs"]) == {2 * 8 * 7}


def test_models_of_different_experiments_are_never_paired():
    # within each experiment the measure ranks every pair right; across them it would be mixed
    resnet = models([{"test_acc": a, "c3": m} for a, m in [(0.1, 1.0), (0.2, 2.0), (0.3, 3.0)]])
    vgg = models([{"test_acc": a, "c3": m} for a, m in [(0.4, 0.0), (0.5, 2.5), (0.6, 10.0)]], arch="vgg")
    table = cmi_table(pd.concat([resnet, vgg], ignore_index=True), ["c3"])
    assert table.loc["c3", "cmi_0"] == pytest.approx(1.0)
    assert table.loc["c3", "pairs"] == 2 * 3 * 2
    # mutual information is blind to direction: the reversed measure scores 1 too
    reversed_table = cmi_table(resnet.assign(c3=-resnet["c3"]), ["c3"])
    assert reversed_table.loc["c3", "cmi_0"] == pytest.approx(1.0)


def test_cmi_table_missing_values_and_unknown_measures():
    df = lr_batch_grid()
    df.loc[0, "c3"] = np.nan
    with pytest.warns(UserWarning, match=r"c3 is missing for 1 model\(s\)"):
        table = cmi_table(df.drop(columns="c4"), ["c3", "c4"])
    assert table.loc["c3", "pairs"] == 11 * 10
    assert table.loc["c4"].isna()[["cmi_0", "cmi_1", "cmi_2"]].all() and table.loc["c4", "pairs"] == 0
    with pytest.raises(ValueError, match="unknown measure 'c9'"):
        cmi_table(df, ["c9"])
    with pytest.raises(ValueError, match="test_acc of row"):
        cmi_table(df.assign(test_acc=np.nan), ["c3"])


# --------------------------------------------------------------------------------------------------------------
# robust sign-error


def test_sign_error_hand_computed():
    assert sign_error([1, 2], [0.5, 0.6], [3], [0.4]) == 1.0
    # pairs (a, b): (1, 2) right 0; (1, 0) wrong 1; (2, 2) measure tie 1/2; (2, 0) right 0
    assert sign_error([1, 2], [0.5, 0.7], [2, 0], [0.6, 0.6]) == 0.375
    assert sign_error([1], [0.5], [2], [0.5]) == 0.5  # accuracy tie
    with pytest.raises(ValueError, match="accuracy_b\\[0\\] = nan is not finite"):
        sign_error([1], [0.5], [2], [np.nan])
    with pytest.raises(ValueError, match="lengths differ"):
        sign_error([1, 2], [0.5], [2], [0.5])


def star():
    """base, lr varied, batch size varied; two replicates each."""
    return models(
        [
            {"test_acc": 0.80, "c3": 5.0},
            {"test_acc": 0.82, "c3": 4.0},
            {"lr": 0.01, "test_acc": 0.70, "c3": 1.0},
            {"lr": 0.01, "test_acc": 0.79, "c3": 4.0},
            {"batch_size": 300, "test_acc": 0.90, "c3": 6.0},
            {"batch_size": 300, "test_acc": 0.85, "c3": 3.0},
        ]
    )


def test_sign_error_environments_hand_built():
    envs = sign_error_environments(star(), ["c3"])
    # (lr 0.01, lr 0.1) and (bs 100, bs 300); lr-varied and bs-varied differ in two axes: no environment
    assert len(envs) == 2
    lr = envs[envs.axis == "lr"].iloc[0]
    # lr 0.01 (A, sorted first) against the base: 1 vs 5, 1 vs 4 and 4 vs 5 right, 4 vs 4 a tie (1/2)
    assert (lr.value_a, lr.value_b, lr.models_a, lr.models_b, lr.pairs) == (0.01, 0.1, 2, 2, 4)
    assert lr.sign_error == 0.125
    bs = envs[envs.axis == "batch_size"].iloc[0]
    # the base against bs 300: 5 vs 6 and 4 vs 6 right; 5 vs 3 and 4 vs 3 wrong (accuracies 0.80, 0.82 < 0.85)
    assert (bs.value_a, bs.value_b, bs.sign_error) == (100, 300, 0.5)
    assert (bs.lr, bs.dataset, bs.arch) == (0.1, "digits-coarse", "resnet")


def test_complexities_are_negated_before_the_sign_error():
    df = star().assign(inv_sigma_p=lambda d: d["c3"])
    df.loc[3, ["c3", "inv_sigma_p"]] = 4.5  # no measure tie
    envs = sign_error_environments(df, ["inv_sigma_p", "c3"])
    assert list(envs.measure) == ["c3", "c3", "inv_sigma_p", "inv_sigma_p"]
    c3, sharp = envs[envs.measure == "c3"], envs[envs.measure == "inv_sigma_p"]
    np.testing.assert_allclose(c3.sign_error.to_numpy() + sharp.sign_error.to_numpy(), 1.0)


def test_environments_never_cross_experiments():
    resnet = star()
    vgg = star().assign(arch="vgg", c3=lambda d: -d["c3"])
    envs = sign_error_environments(pd.concat([resnet, vgg], ignore_index=True), ["c3"])
    assert len(envs) == 4
    assert set(envs.loc[envs.arch == "resnet", "sign_error"]) == {0.125, 0.5}
    assert set(envs.loc[envs.arch == "vgg", "sign_error"]) == {0.875, 0.5}


def handmade_environments():
    rows = [("c3", "lr", e) for e in (0.0, 0.25, 0.5, 1.0)] + [("c3", "batch_size", 0.5)]
    rows += [("inv_sigma_p", "depth", 0.75)]
    return pd.DataFrame(rows, columns=["measure", "axis", "sign_error"])


def test_sign_error_table_statistics():
    table = sign_error_table(handmade_environments(), ["inv_sigma_p", "c3", "c1"])
    assert list(table.columns) == [*HYPERPARAMETERS, ALL_AXES]
    assert list(table.index.get_level_values(0).unique()) == ["c1", "c3", "inv_sigma_p"]
    c3 = table.loc["c3"]
    assert c3["lr"].to_dict() == {"mean": 0.4375, "p90": pytest.approx(0.85), "max": 1.0, "environments": 4}
    assert c3["batch_size"].to_dict() == {"mean": 0.5, "p90": 0.5, "max": 0.5, "environments": 1}
    # all five: 0, 0.25, 0.5, 0.5, 1; the 90th percentile interpolates at rank 3.6: 0.5 + 0.6 * 0.5
    assert c3[ALL_AXES].to_dict() == {"mean": 0.45, "p90": pytest.approx(0.8), "max": 1.0, "environments": 5}
    assert c3["depth"].isna()[["mean", "p90", "max"]].all() and c3.loc["environments", "depth"] == 0
    assert table.loc["c1"].loc["environments"].eq(0).all()


# --------------------------------------------------------------------------------------------------------------
# writers and figure


def test_writers_format_numbers_and_label_measures(tmp_path):
    table = sign_error_table(handmade_environments(), ["c3", "inv_sigma_p"])
    csv, md, tex = write_sign_error_tables(table, tmp_path / "se")
    back = pd.read_csv(csv).set_index(["measure", "statistic"])
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    text = md.read_text()
    # columns: the axes with an environment (lr, batch size, depth) and all; the 6 others named under the table
    assert text.splitlines()[0] == "| measure | statistic | learning rate | batch size | depth | all |"
    assert "| c3 | mean | 0.44 | 0.50 | n/a | 0.45 |" in text
    assert "|  | environments | 4 | 1 | 0 | 5 |" in text
    assert "| 1/σ' | mean | n/a | n/a | 0.75 | 0.75 |" in text and "0.4375" not in text
    assert "Axes not shown (no environment: no two configurations differ in the axis alone): weight decay, " \
        "optimizer, dropout, data augm., width, train size." in text  # fmt: skip
    latex = tex.read_text()
    assert "$1/\\sigma'$ & mean & -- & -- & 0.75 & 0.75" in latex and latex.count("\\midrule") == 2
    assert "\\begin{tabular}{llrrrr}" in latex

    cmi = cmi_table(lr_batch_grid(), ["c3", "c4"])
    csv, md, tex = write_cmi_tables(cmi, tmp_path / "cmi")
    back = pd.read_csv(csv, keep_default_na=False).set_index("measure")
    assert back.loc["c4", "set_2"] == "lr+batch_size" and back.loc["c4", "cmi_1"] == 0.0
    row = next(line for line in md.read_text().splitlines() if line.startswith("| c4 |"))
    assert (
        row
        == f"| c4 | {cmi.loc['c4', 'cmi_0']:.3f} | 0.000 | learning rate | 0.000 | learning rate, batch size | 132 |"
    )
    assert "\\|S\\|=0" in md.read_text() and "$K$ = min $|S|=2$" in tex.read_text()
    with pytest.raises(ValueError, match="columns must be"):
        write_cmi_tables(table, tmp_path / "wrong")


def test_sign_error_cdf_figure():
    figure = fig_sign_error_cdf({"inv_sigma_p": [], "c3": [0.5, 0.0, 0.25]}, title="digits-coarse_resnet")
    (ax,) = figure.axes
    c3 = ax.get_lines()[0]
    np.testing.assert_allclose(c3.get_xdata(), [0, 0, 0.25, 0.5, 1])
    np.testing.assert_allclose(c3.get_ydata(), [0, 1 / 3, 2 / 3, 1, 1])
    assert c3.get_drawstyle() == "steps-post"
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert labels == ["$c_3$: 3 env., mean 0.25, max 0.50", "$-$$1/\\sigma'$: no environment"]
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\], got 1.5"):
        fig_sign_error_cdf({"c3": [1.5]})
    with pytest.raises(ValueError, match="unknown measure 'nope'"):
        fig_sign_error_cdf({"nope": [0.5]})


def test_sign_error_cdf_draws_every_registered_measure_in_a_style_of_its_own():
    """22 measures and 8 base colours: before, c1 and c5 (and 1/sigma'', log prod. Frob. and epochs to CE) were
    drawn alike. Now the line style is the measure's stage and the colour its position within the stage."""
    figure = fig_sign_error_cdf({name: [0.25, 0.5] for name in MEASURES})
    lines = figure.axes[0].get_lines()[: len(MEASURES)]  # the measures' lines, then the chance line
    styles = [(line.get_color(), line.get_linestyle()) for line in lines]
    assert len(styles) == len(MEASURES) == len(set(styles))
    stages = {m.stage: style for m, (_, style) in zip(MEASURES.values(), styles, strict=True)}
    assert stages == {"preactivations": "-", "sharpness": "--", "model": "-."}


def test_criteria_module_imports_neither_torch_nor_matplotlib():
    code = "import sys, intraclass.criteria; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
