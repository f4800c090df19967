import json

import pandas as pd
import pytest
from conftest import TINY_BASE, TINY_STUDY, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.slow

RUN_COLUMNS = [
    "run_id",
    "dataset",
    "arch",
    "lr",
    "weight_decay",
    "batch_size",
    "optimizer",
    "dropout",
    "augment",
    "width",
    "depth",
    "train_size",
    "replicate",
    "seed",
    "epochs_run",
    "train_acc",
    "train_loss",
    "test_acc",
    "test_loss",
    "diverged",
    "wall_s",
    "kept",
    "reason",
]


def test_tiny_study_trains_every_run_then_has_nothing_to_do(tiny_workflow):
    snakemake(tiny_workflow, "results/tiny/runs.csv")
    runs = pd.read_csv(tiny_workflow / "results/tiny/runs.csv")
    assert list(runs.columns) == RUN_COLUMNS
    assert len(runs) == 4
    assert sorted(runs.lr) == [0.01, 0.032, 0.1, 0.1]
    assert (runs.epochs_run == 2).all() and not runs.diverged.any()
    assert (runs.test_acc > 0.2).all()  # 5 classes: chance is 0.2
    for run_id in runs.run_id:
        run_dir = tiny_workflow / "results/tiny/runs" / run_id
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert len(metrics["history"]) == 2 and metrics["run_id"] == run_id
        assert (run_dir / "model.pt").exists()
        # epoch 0, the untrained network, is always kept: the control of SPEC §11
        assert sorted(p.name for p in (run_dir / "snapshots").iterdir()) == ["epoch_000", "epoch_001", "epoch_002"]
        assert (run_dir / "snapshots/epoch_002/model.pt").exists()
        assert not (run_dir / "checkpoint.pt").exists()
        log = (tiny_workflow / "results/tiny/logs/train" / f"{run_id}.log").read_text()
        assert "epoch 2/2" in log
    again = snakemake(tiny_workflow, "results/tiny/runs.csv", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


# Small studies finish (exit status 0) with a summary naming the excluded runs and what the study cannot have.
ONE_EPOCH = {"epochs": 1, "checkpoint_every": 1, "snapshot_epochs": [1]}
SMALL_STUDIES = {
    "one_run": ({"design": "lists", "base": TINY_BASE}, {}),
    # 1 epoch fits nothing at the default threshold: every run is excluded as not fitted
    "unfitted": ({"design": "lists", "base": TINY_BASE, "values": {"lr": [0.1, 0.01]}}, {"min_train_acc": 0.99}),
    # an absurd learning rate: every run diverges
    "diverged": ({"design": "lists", "base": {**TINY_BASE, "lr": 1e6}, "values": {"lr": [1e6, 1e9]}}, {}),
}


@pytest.mark.parametrize("name", list(SMALL_STUDIES))
def test_a_small_study_finishes_with_a_summary_of_what_it_cannot_have(tmp_path, name):
    experiment, kendall = SMALL_STUDIES[name]
    study = {
        **TINY_STUDY,
        "study": name,
        "experiments": [{"dataset": "digits-coarse", "arch": "vgg", **experiment}],
        "training": ONE_EPOCH,
        "kendall": {**TINY_STUDY["kendall"], **kendall},
    }
    copy_workflow(tmp_path)
    write_config(tmp_path / "config.yaml", study)
    snakemake(tmp_path)  # exit status 0, or the test fails with Snakemake's output
    results = tmp_path / "results" / name
    runs = pd.read_csv(results / "runs.csv")
    summary = (results / "summary.md").read_text()
    assert f"**{len(runs)} runs trained, {int(runs.kept.sum())} kept, {int((~runs.kept).sum())} excluded**" in summary
    for run in runs[~runs.kept].itertuples():
        assert f"| {run.run_id} | {run.reason} |" in summary
    if name == "one_run":
        assert len(runs) == 1 and runs.kept.all()
    elif name == "unfitted":
        assert len(runs) == 2 and not runs.kept.any()
        assert all(r.startswith("train_acc ") and r.endswith(" < 0.99 (not fitted)") for r in runs.reason)
    else:
        assert len(runs) == 2 and runs.diverged.all() and not runs.kept.any()
        assert all(reason.startswith("diverged") for reason in runs.reason)
    assert "| figures/fig8.png | no experiment has 2 kept runs (at most " in summary
    assert "| figures/digits-coarse_vgg/fig6.png | " in summary
    figures = sorted(p.name for p in (results / "figures").rglob("*.png")) if (results / "figures").exists() else []
    assert figures == []  # nothing is drawn from fewer than 2 kept models
    table = pd.read_csv(results / "kendall/digits-coarse_vgg.csv")
    assert table["value"].isna().all()  # every cell n/a, with its reason
