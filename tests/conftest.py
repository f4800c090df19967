"""Shared helpers: a copy of the workflow in a temporary directory, and Snakemake run on it for real."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "config.yaml", "rules", "scripts", "envs", "configs", "profiles", "report")

TINY_BASE = dict(lr=0.1, weight_decay=0, batch_size=100, optimizer="sgd", dropout=0, augment=False, width=1, depth=1)
TINY_STUDY = {
    "study": "tiny",
    "experiments": [
        {
            "dataset": "digits-coarse",
            "arch": "vgg",
            "design": "lists",
            "base": TINY_BASE,
            "values": {"lr": [0.1, 0.032, 0.01]},
        },
        {"dataset": "digits-coarse", "arch": "resnet", "design": "lists", "base": TINY_BASE},
    ],
    "training": {"epochs": 2, "checkpoint_every": 1, "snapshot_epochs": [1, 2]},
    # 2 epochs fit nothing: count every run, so that every figure has its three followed runs
    "kendall": {"min_train_acc": 0.0},
    "sharpness": {
        "subset_size": 100,
        "eval_batch_size": 50,
        "bisection_iterations": 4,
        "mc_draws": 2,
        "ascent_steps": 4,
        "ascent_check_every": 2,
        "ascent_lr_decay_step": 3,
        "ascent_batch_size": 50,
    },
}


def copy_workflow(destination: Path) -> Path:
    for name in WORKFLOW_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, destination / name)
    return destination


def snakemake(workdir: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real Snakemake command line in ``workdir`` (``env``: the environment, default this one's)."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def tiny_workflow(tmp_path: Path) -> Path:
    """A copy of the workflow whose config.yaml is the tiny study (4 runs, 2 epochs)."""
    copy_workflow(tmp_path)
    write_config(tmp_path / "config.yaml", TINY_STUDY)
    return tmp_path
