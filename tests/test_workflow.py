import json

import pandas as pd
import pytest
from conftest import snakemake

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
    "replicate",
    "seed",
    "epochs_run",
    "train_acc",
    "train_loss",
    "test_acc",
    "test_loss",
    "diverged",
    "wall_s",
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
