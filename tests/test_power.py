"""The power report (SPEC §14): hand-checked numbers on a small study, a design that cannot rank, and the `power`
target end to end without any measure."""

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_BASE, snakemake, write_config

from intraclass.kendall import granulated_kendall_intervals
from intraclass.power import CAN_RANK, CANNOT_RANK, EXPERIMENT, POWER_COLUMNS, power_table, write_power_tables

BASE = dict(weight_decay=0.0, optimizer="sgd", dropout=0.0, augment=False, width=1.0, depth=1.0)
N_TEST = 10


def runs_with_accuracies(accuracies):
    """Runs of the given {(lr, batch_size): [accuracy per seed]} and a correctness matrix of 10 images whose row
    means are exactly those accuracies."""
    rows, correct = [], []
    for (lr, batch_size), seeds in accuracies.items():
        for r, accuracy in enumerate(seeds):
            rows.append(dict(run_id=f"lr{lr}_bs{batch_size}_r{r}", lr=lr, batch_size=batch_size, replicate=r, **BASE))
            correct.append(np.arange(N_TEST) < round(accuracy * N_TEST))
    runs = pd.DataFrame(rows)
    correct = np.array(correct)
    runs["test_acc"] = correct.mean(axis=1)
    return runs, correct


def test_power_numbers_equal_a_hand_computation(tmp_path):
    # A = (lr 0.01, bs 100): 0.5, 0.7; B = (lr 0.1, bs 100): 0.8, 1.0; C = (lr 0.1, bs 300): 0.6, 1.0.
    # Squared deviations from the configuration means: A 0.02, B 0.02, C 0.08 (1 degree of freedom each).
    runs, correct = runs_with_accuracies({(0.01, 100): [0.5, 0.7], (0.1, 100): [0.8, 1.0], (0.1, 300): [0.6, 1.0]})
    table = power_table(runs, correct, n_resamples=50, seed=3)
    assert list(table.columns) == list(POWER_COLUMNS)

    # learning rate: one group (bs 100) of A and B; C's group has one learning rate. SD = sqrt(0.04 / 2) = 0.1414;
    # means 0.6 and 0.9: range 0.3 = 2.12 SD. Cross pairs A x B: |differences| 0.3, 0.5, 0.1, 0.3; > 2 SD = 0.283: 3
    lr = table.loc["learning_rate"]
    assert lr.value_means == "0.01: 0.6000; 0.1: 0.9000"
    assert lr.seed_sd == pytest.approx(np.sqrt(0.02))
    assert lr.range == pytest.approx(0.3) and lr.range_sd == pytest.approx(0.3 / np.sqrt(0.02))
    assert (lr.n_configurations, lr.n_seed_configurations, lr.n_pairs, lr.n_resolvable) == (2, 2, 4, 3)
    assert lr.verdict == CANNOT_RANK
    # batch size: one group (lr 0.1) of B and C. SD = sqrt(0.10 / 2) = 0.2236; means 0.9 and 0.8: range 0.1.
    # Pairs B x C: 0.2, 0.2, 0.4, 0.0; none > 2 SD = 0.447
    bs = table.loc["batch_size"]
    assert bs.seed_sd == pytest.approx(np.sqrt(0.05)) and bs.range == pytest.approx(0.1)
    assert (bs.n_pairs, bs.n_resolvable, bs.verdict) == (4, 0, CANNOT_RANK)
    # the experiment: SD = sqrt(0.12 / 3) = 0.2; configuration means 0.6, 0.9, 0.8: span 0.3 = 1.5 SD
    experiment = table.loc[EXPERIMENT]
    assert experiment.seed_sd == pytest.approx(0.2) and experiment.range == pytest.approx(0.3)
    assert experiment.range_sd == pytest.approx(1.5)
    assert (experiment.n_configurations, experiment.n_pairs, experiment.n_resolvable) == (3, 8, 3)
    assert experiment.verdict == f"{CANNOT_RANK} on 2 of 2 axes (learning rate, batch size)"
    assert table.loc["dropout", "verdict"].startswith("n/a") and table.loc["dropout", "n_pairs"] == 0

    # the half-width: the Kendall bootstrap on the reference score, accuracy on a seeded random half of the images
    half = np.zeros(N_TEST, dtype=bool)
    half[np.random.default_rng(3).permutation(N_TEST)[: N_TEST // 2]] = True
    scored = runs.assign(reference=correct[:, half].mean(axis=1), test_acc=correct[:, ~half].mean(axis=1))
    cells = granulated_kendall_intervals(scored, "reference", 1, correct[:, ~half], n_resamples=50, seed=3)
    assert lr.half_width == pytest.approx((cells.loc["learning_rate", "hi"] - cells.loc["learning_rate", "lo"]) / 2)
    assert experiment.half_width == pytest.approx((cells.loc["total", "hi"] - cells.loc["total", "lo"]) / 2)

    paths = write_power_tables(table, tmp_path / "power")
    md = paths[1].read_text()
    assert "| learning rate | 0.01: 0.6000; 0.1: 0.9000 | 2 (2) | 0.1414 | 0.3000 | 2.1 | 4 | 3 |" in md
    assert "can rank: range >= 4 seed SDs" in md
    # rows: the 2 axes the design varies and the experiment; the 7 others named under the table
    rows = [line.split(" | ")[0] for line in md.splitlines()[2:6]]
    assert rows == ["| learning rate", "| batch size", "| experiment", ""]
    left_out = "weight decay, optimizer, dropout, data augm., width, depth, train size"
    assert f"Axes not shown (no group with 2 values of the axis): {left_out}.  " in md.splitlines()
    back = pd.read_csv(paths[0], index_col="axis")
    assert back.loc["batch_size", "n_pairs"] == 4 and back.loc[EXPERIMENT, "seed_sd"] == pytest.approx(0.2)
    assert "\\begin{tabular}" in paths[2].read_text()


def test_configurations_sharing_one_accuracy_distribution_cannot_rank():
    rng = np.random.default_rng(0)
    n_test = 2000
    design = {(lr, bs): 3 for lr in (0.01, 0.032, 0.1) for bs in (100, 300)}

    def study(effect):
        rows, correct = [], []
        for (lr, bs), n in design.items():
            for r in range(n):
                p = 0.8 + effect * np.log10(lr / 0.01) + rng.normal(0, 0.01)
                rows.append(dict(lr=lr, batch_size=bs, replicate=r, **BASE))
                correct.append(rng.random(n_test) < p)
        runs = pd.DataFrame(rows)
        runs["test_acc"] = np.mean(correct, axis=1)
        return power_table(runs, np.array(correct), n_resamples=100)

    same = study(effect=0.0)
    assert (same.loc[["learning_rate", "batch_size"], "verdict"] == CANNOT_RANK).all()
    assert (same.loc[["learning_rate", "batch_size"], "range_sd"] < 4).all()
    assert same.loc[EXPERIMENT, "verdict"].startswith(CANNOT_RANK)
    # the same design where the learning rate moves accuracy by 5 points a decade: that axis can rank
    moved = study(effect=0.05)
    assert moved.loc["learning_rate", "verdict"] == CAN_RANK and moved.loc["batch_size", "verdict"] == CANNOT_RANK


def test_power_validates_its_input():
    runs, correct = runs_with_accuracies({(0.01, 100): [0.5, 0.7], (0.1, 100): [0.8, 1.0]})
    with pytest.raises(ValueError, match=r"correct must have shape \(4, n_test >= 2\), got \(3, 10\)"):
        power_table(runs, correct[:3])
    with pytest.raises(ValueError, match="test_acc of row 1 is nan"):
        power_table(runs.assign(test_acc=[0.5, np.nan, 0.8, 1.0]), correct)
    # no kept run: a report of n/a rows, not a traceback
    empty = power_table(runs.iloc[:0], np.zeros((0, 0), dtype=bool))
    assert empty["verdict"].str.startswith("n/a").all() and (empty["n_pairs"] == 0).all()
    assert empty.loc[EXPERIMENT, "n_configurations"] == 0 and np.isnan(empty.loc[EXPERIMENT, "half_width"])


def test_power_target_trains_and_reports_without_any_measure(tmp_path):
    from conftest import copy_workflow

    copy_workflow(tmp_path)
    config = {
        "study": "tiny",
        "experiments": [
            {"dataset": "digits-coarse", "arch": "vgg", "design": "lists", "base": TINY_BASE,
             "values": {"lr": [0.1, 0.01]}, "replicates": 2}
        ],
        "training": {"epochs": 1, "checkpoint_every": 1, "snapshot_epochs": [1]},
        "kendall": {"min_train_acc": 0.0, "n_resamples": 50},
    }  # fmt: skip
    write_config(tmp_path / "config.yaml", config)
    snakemake(tmp_path, "power")
    results = tmp_path / "results" / "tiny"
    table = pd.read_csv(results / "power" / "digits-coarse_vgg.csv", index_col="axis")
    runs = pd.read_csv(results / "runs.csv")
    assert len(runs) == 4 and table.loc["learning_rate", "n_pairs"] == 4  # 2 x 2 seeds: 4 cross pairs
    assert table.loc[EXPERIMENT, "n_seed_configurations"] == 2 and np.isfinite(table.loc[EXPERIMENT, "seed_sd"])
    assert (results / "power" / "digits-coarse_vgg.md").exists() and (
        results / "power" / "digits-coarse_vgg.tex"
    ).exists()
    assert not list(results.rglob("measures*")) and not (results / "kendall").exists()


def test_training_set_size_is_an_axis_of_the_power_table(tmp_path):
    from conftest import copy_workflow

    from intraclass.data import DatasetArrays, stratified_subset

    copy_workflow(tmp_path)
    config = {
        "study": "tiny",
        "experiments": [
            {"dataset": "digits-coarse", "arch": "vgg", "design": "star", "base": {**TINY_BASE, "train_size": 300},
             "values": {"train_size": [300, 600]}, "replicates": 2}
        ],
        "training": {"epochs": 2, "checkpoint_every": 1},
        "kendall": {"min_train_acc": 0.0, "n_resamples": 50},
    }  # fmt: skip
    write_config(tmp_path / "config.yaml", config)
    snakemake(tmp_path, "power")
    results = tmp_path / "results" / "tiny"
    runs = pd.read_csv(results / "runs.csv")
    assert sorted(runs.train_size) == [300, 300, 600, 600]
    assert all(
        run_id.endswith(f"_n{size}_r{r}") for run_id, size, r in runs[["run_id", "train_size", "replicate"]].values
    )
    prepared = DatasetArrays.load(tmp_path / "resources" / "datasets" / "digits-coarse.npz")
    for size in (300, 600):  # one subset file per size, read by every job of its runs
        subset = DatasetArrays.load(tmp_path / "resources" / "datasets" / "digits-coarse" / f"train{size}.npz")
        np.testing.assert_array_equal(subset.x_train, stratified_subset(prepared, size).x_train)
        np.testing.assert_array_equal(subset.x_test, prepared.x_test)
    table = pd.read_csv(results / "power" / "digits-coarse_vgg.csv", index_col="axis")
    # one group: 2 sizes x 2 seeds, the 2 x 2 pairs across sizes (seed pairs left out); no other axis varies
    assert table.loc["train_size", ["n_configurations", "n_seed_configurations", "n_pairs"]].tolist() == [2, 2, 4]
    assert (
        table.loc["train_size", "value_means"].startswith("300: ")
        and "; 600: " in table.loc["train_size", "value_means"]
    )
    assert (table.drop(["train_size", EXPERIMENT])["n_pairs"] == 0).all()
    assert table.loc[EXPERIMENT, "n_configurations"] == 2 and table.loc[EXPERIMENT, "n_seed_configurations"] == 2
    markdown = (results / "power" / "digits-coarse_vgg.md").read_text()
    assert any(line.startswith("| train size |") for line in markdown.splitlines())
