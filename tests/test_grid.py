from collections import Counter

import pytest

from intraclass.grid import RunConfig, experiment_runs, paper_grid, study_runs

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
