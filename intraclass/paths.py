"""Where a run's files live inside its folder: the one source of these path patterns (torch-free)."""

from __future__ import annotations

import os
from pathlib import Path


def snapshot_dir(epoch: int) -> str:
    """Where a snapshot lives inside its run's folder: it is laid out like a run (model.pt, then what is computed
    from it), so the same rules serve final models and snapshots."""
    return f"snapshots/epoch_{epoch:03d}"


def snapshot_path(run_dir: str | os.PathLike[str], epoch: int) -> Path:
    return Path(run_dir) / snapshot_dir(epoch) / "model.pt"
