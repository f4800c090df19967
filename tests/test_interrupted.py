"""A training that finished is never trained again after an interrupted Snakemake: whether Snakemake marked its
outputs incomplete (Ctrl-C, kill -9 of the driver) or deleted them, the rerun of its train job restores them."""

import base64
import json

import pandas as pd
import pytest
from conftest import TINY_BASE, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.slow

ONE_RUN = {
    "study": "tiny",
    "experiments": [{"dataset": "digits-coarse", "arch": "vgg", "design": "lists", "base": TINY_BASE}],
    "training": {"epochs": 2, "checkpoint_every": 1, "snapshot_epochs": [1, 2]},
    "kendall": {"min_train_acc": 0.0},
}
TRAIN_OUTPUTS = ("model.pt", "metrics.json", "snapshots/epoch_001/model.pt", "snapshots/epoch_002/model.pt")


def _mark_incomplete(workdir, path: str) -> None:
    """What Snakemake 9 records for an output of a job it started and has not seen end (persistence/file.py)."""
    marker = workdir / ".snakemake/incomplete" / base64.urlsafe_b64encode(path.encode()).decode()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"external_jobid": None}))


@pytest.mark.parametrize("interruption", ["marked incomplete", "outputs deleted"])
def test_rerun_after_an_interruption_restores_the_finished_training(tmp_path, interruption):
    copy_workflow(tmp_path)
    write_config(tmp_path / "config.yaml", ONE_RUN)
    snakemake(tmp_path, "results/tiny/runs.csv")
    (run_id,) = pd.read_csv(tmp_path / "results/tiny/runs.csv").run_id
    run_dir = f"results/tiny/runs/{run_id}"
    trained = {name: (tmp_path / run_dir / name).read_bytes() for name in TRAIN_OUTPUTS}
    for name in TRAIN_OUTPUTS:
        if interruption == "marked incomplete":
            _mark_incomplete(tmp_path, f"{run_dir}/{name}")
        else:
            (tmp_path / run_dir / name).unlink()
    if interruption == "marked incomplete":
        refused = snakemake(tmp_path, "results/tiny/runs.csv", check=False)
        assert refused.returncode != 0 and "IncompleteFilesException" in refused.stdout + refused.stderr

    # the run's metrics as the target: with runs.csv present, Snakemake would not rebuild deleted intermediates
    rerun = snakemake(tmp_path, f"{run_dir}/metrics.json", "--rerun-incomplete")
    assert "rule train:" in rerun.stdout + rerun.stderr
    log = (tmp_path / f"results/tiny/logs/train/{run_id}.log").read_text()
    assert "outputs restored, no epoch trained" in log and "epoch 1/2" not in log
    # metrics.json byte for byte, its wall_s and history included: the model was not trained again
    assert {name: (tmp_path / run_dir / name).read_bytes() for name in TRAIN_OUTPUTS} == trained
    again = snakemake(tmp_path, f"{run_dir}/metrics.json", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
