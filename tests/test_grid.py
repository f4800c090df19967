from collections import Counter

import pytest

from intraclass.config import ConfigError, resolve_config
from intraclass.grid import AXES, HYPERPARAMETERS, RunConfig, experiment_runs, paper_grid, study_runs

BASE = dict(lr=0.1, weight_decay=0, batch_size=100, optimizer="sgd", dropout=0, augment=False, width=1, depth=1)


def test_paper_grid_sizes_and_axes():
    resnet = paper_grid("cifar100", "resnet")
    vgg = paper_grid("cifar10", "vgg")
    assert len(resnet) == 192 and len({r.run_id for r in resnet}) == 192
    assert len(vgg) == 144
    assert {r.dropout for r in vgg} == {0.0, 0.2}
    assert Counter((r.lr, r.weight_decay) for r in resnet) == {
        (0.01, 0): 48,
        (0.032, 0): 48,
        (0.1, 0): 48,
        (0.1, 4e-5): 48,
    }
    assert not any(r.dropout > 0 and r.augment for r in resnet)
    assert not any(r.width == 1.5 and r.depth == 1.5 for r in resnet)


def test_run_id_and_seed_are_readable_and_stable():
    run = RunConfig("digits-coarse", "resnet", **BASE)
    assert run.run_id == "digits-coarse_resnet_lr0.1_wd0_bs100_sgd_do0_aug0_w1_d1_r0"
    assert run.seed == 1067254372  # crc32 of the id: the same on every machine
    assert RunConfig("cifar10", "vgg", 0.032, 4e-5, 300, "adam", 0.2, False, 1.5, 1).run_id == (
        "cifar10_vgg_lr0.032_wd4e-05_bs300_adam_do0.2_aug0_w1.5_d1_r0"
    )
    # YAML's 1 and 1.0 are one configuration
    assert RunConfig("digits", "vgg", **{**BASE, "width": 1.0}) == RunConfig("digits", "vgg", **BASE)
    assert RunConfig.from_dict(run.as_dict()) == run


def test_star_design_varies_each_axis_alone():
    runs = experiment_runs({"dataset": "digits-coarse", "arch": "resnet", "design": "star", "base": BASE})
    assert len(runs) == 11  # base + lr 2 + wd 1 + bs 1 + opt 1 + dropout 2 + aug 1 + width 1 + depth 1
    base = RunConfig("digits-coarse", "resnet", **BASE)
    for run in runs:
        differing = [k for k in BASE if getattr(run, k) != getattr(base, k)]
        assert len(differing) <= 1
    vgg = experiment_runs({"dataset": "digits-coarse", "arch": "vgg", "design": "star", "base": BASE})
    assert len(vgg) == 10 and max(r.dropout for r in vgg) == 0.2


def test_list_design_is_the_product_and_replicates_multiply():
    experiment = {
        "dataset": "digits",
        "arch": "vgg",
        "design": "lists",
        "base": BASE,
        "values": {"lr": [0.1, 0.01], "optimizer": ["sgd", "adam"]},
        "replicates": 2,
    }
    runs = experiment_runs(experiment)
    assert len(runs) == 8
    assert {(r.lr, r.optimizer, r.replicate) for r in runs} == {
        (lr, o, k) for lr in (0.1, 0.01) for o in ("sgd", "adam") for k in (0, 1)
    }
    assert len({r.seed for r in runs}) == 8


def test_study_runs_deduplicates_across_experiments():
    star = {"dataset": "digits", "arch": "vgg", "design": "star", "base": BASE}
    assert len(study_runs([star, star])) == 10


def test_unknown_axis_is_rejected():
    with pytest.raises(TypeError, match="momentum"):
        experiment_runs({"dataset": "digits", "arch": "vgg", "design": "star", "base": {**BASE, "momentum": 0.9}})


def test_train_size_is_an_axis_named_in_the_id_only_when_set():
    whole = RunConfig("digits-coarse", "resnet", **BASE)
    assert whole.train_size is None and "train_size" in HYPERPARAMETERS and AXES[-1].label == "train size"
    cut = RunConfig("digits-coarse", "resnet", **BASE, train_size=300.0)  # YAML may give a float
    assert cut.train_size == 300 and isinstance(cut.train_size, int)
    assert cut.run_id == "digits-coarse_resnet_lr0.1_wd0_bs100_sgd_do0_aug0_w1_d1_n300_r0"
    assert cut.seed != whole.seed and RunConfig.from_dict(cut.as_dict()) == cut
    # the paper design never varies it; the default star design neither
    assert all(r.train_size is None for r in paper_grid("cifar10", "vgg"))
    star = {"dataset": "digits", "arch": "vgg", "design": "star", "base": BASE}
    assert all(r.train_size is None for r in experiment_runs(star))
    # star: the base on the whole split, then each size alone (1 + 2 configurations)
    varied = experiment_runs({**star, "values": {"train_size": [300, 600]}, "replicates": 2})
    assert sorted((r.train_size or 0, r.replicate) for r in varied) == [
        (0, 0), (0, 1), (300, 0), (300, 1), (600, 0), (600, 1)
    ]  # fmt: skip
    # lists: the product with the other lists; a base's train_size is kept where no list is given
    lists = experiment_runs(
        {**star, "design": "lists", "base": {**BASE, "train_size": 500}, "values": {"lr": [0.1, 0.01]}}
    )
    assert [(r.lr, r.train_size) for r in lists] == [(0.1, 500), (0.01, 500)]
    crossed = experiment_runs({**star, "design": "lists", "values": {"lr": [0.1, 0.01], "train_size": [100, None]}})
    assert {(r.lr, r.train_size) for r in crossed} == {(0.1, 100), (0.1, None), (0.01, 100), (0.01, None)}


def test_schema_accepts_train_size_as_a_positive_integer_or_null():
    experiment = {"dataset": "digits", "arch": "vgg", "design": "star", "base": {**BASE, "train_size": None}}
    config = resolve_config({"study": "s", "experiments": [{**experiment, "values": {"train_size": [300, None]}}]})
    assert config["experiments"][0]["values"]["train_size"] == [300, None]
    for bad in (0, 2.5, "300"):
        with pytest.raises(ConfigError, match="train_size"):
            resolve_config({"study": "s", "experiments": [{**experiment, "values": {"train_size": [bad]}}]})
