"""Training one configuration (SPEC §4), airbench-style: the training split lives on the device as one tensor and
augmentation is a batched tensor operation.

A checkpoint every few epochs holds everything the rest of the run depends on (weights, optimizer, schedule, RNG
states, history), so a killed job started again resumes where it stopped and ends with the same weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .data import DatasetArrays
from .grid import ADAM_LR_DIVISOR, LR_GAMMA, SGD_MOMENTUM, RunConfig, TrainingSettings
from .models import ModelSpec, build_model
from .paths import snapshot_path
from .storage import atomic_path

log = logging.getLogger(__name__)


@dataclass
class TrainingState:
    """What a checkpoint holds besides the model and optimizer."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False
    wall_s: float = 0.0


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else the CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def normalized_tensor(images: np.ndarray, mean: list[float], std: list[float], device: torch.device) -> torch.Tensor:
    """uint8 images (N, C, H, W) as one normalized float32 tensor on ``device``."""
    x = torch.as_tensor(images, device=device).float()
    shape = (1, -1, 1, 1)
    return (x - torch.tensor(mean, device=device).view(shape)) / torch.tensor(std, device=device).view(shape)


def make_optimizer(model: nn.Module, run: RunConfig) -> torch.optim.Optimizer:
    if run.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=run.lr, momentum=SGD_MOMENTUM, weight_decay=run.weight_decay)
    if run.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=run.lr / ADAM_LR_DIVISOR, weight_decay=run.weight_decay)
    raise ValueError(f"unknown optimizer {run.optimizer!r}; expected 'sgd' or 'adam'")


def augment_batch(x: torch.Tensor, max_shift: int, generator: torch.Generator, flip: bool = True) -> torch.Tensor:
    """Random integer shifts of up to ``max_shift`` px in x and y (reflection padding) and, if ``flip``, random
    horizontal flips, for a whole batch at once on its device."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4, mode="reflect")
    shifts = torch.randint(0, 2 * max_shift + 1, (2, n), device=x.device, generator=generator)
    rows = shifts[0, :, None] + torch.arange(h, device=x.device)  # (n, h)
    cols = shifts[1, :, None] + torch.arange(w, device=x.device)  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    shifted = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (n, c, h, w)
    if not flip:
        return shifted
    flipped = torch.rand(n, device=x.device, generator=generator) < 0.5
    return torch.where(flipped[:, None, None, None], shifted.flip(3), shifted)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` in inference mode."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start : start + batch_size])
        target = y[start : start + batch_size]
        loss_sum += nn.functional.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(1) == target).sum().item()
    model.train(was_training)
    return loss_sum / len(x), correct / len(x)


def fingerprint(run: RunConfig, settings: TrainingSettings) -> str:
    """Identifies what a checkpoint was made for, so a stale one (other settings) is never resumed."""
    text = json.dumps({"run": run.as_dict(), "settings": asdict(settings)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _rng_states(generator: torch.Generator) -> dict[str, Any]:
    states: dict[str, Any] = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_rng(states: dict[str, Any], generator: torch.Generator) -> None:
    generator.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def model_spec(run: RunConfig, data: DatasetArrays) -> ModelSpec:
    return ModelSpec(run.arch, data.num_classes, data.in_channels, run.width, run.depth, run.dropout)


def save_model(path: str | os.PathLike[str], model: nn.Module, spec: ModelSpec, normalization: tuple) -> None:
    """A trained model as the later stages read it: its spec, weights and the input normalization."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _save_torch(path, {"spec": asdict(spec), "state_dict": state, "normalization": normalization})


def load_model(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> tuple[nn.Module, tuple]:
    """The model saved by :func:`save_model`, in inference mode on ``device``, and its input normalization."""
    stored = torch.load(path, map_location=device, weights_only=True)
    model = build_model(ModelSpec(**stored["spec"])).to(device)
    model.load_state_dict(stored["state_dict"])
    return model.eval(), tuple(stored["normalization"])


def train(
    run: RunConfig,
    data: DatasetArrays,
    settings: TrainingSettings,
    run_dir: str | os.PathLike[str],
    device: torch.device,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train ``run`` and write ``model.pt`` (and snapshots) into ``run_dir``; return the run's metrics.

    Resumes from ``run_dir/checkpoint.pt`` when it was made for the same run and settings. A non-finite loss ends
    the run and is recorded as ``diverged``; it is not an error.
    """
    run_dir = Path(run_dir)
    checkpoint_path = run_dir / "checkpoint.pt"
    # Snapshots wait beside the checkpoint until the run ends: Snakemake deletes a killed job's declared outputs,
    # and a resumed run does not pass the early epochs again.
    pending_dir = run_dir / "checkpoint_snapshots"

    def pending_snapshot(epoch: int) -> Path:
        return pending_dir / f"epoch_{epoch:03d}.pt"

    key = fingerprint(run, settings)
    mean, std = data.normalization()
    x_train = normalized_tensor(data.x_train, mean, std, device)
    y_train = torch.as_tensor(data.y_train, device=device)
    x_test = normalized_tensor(data.x_test, mean, std, device)
    y_test = torch.as_tensor(data.y_test, device=device)

    torch.manual_seed(run.seed)
    spec = model_spec(run, data)
    model = build_model(spec).to(device)
    optimizer = make_optimizer(model, run)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, settings.milestones(), gamma=LR_GAMMA)
    generator = torch.Generator(device=device)
    generator.manual_seed(run.seed)
    state = TrainingState()

    if checkpoint_path.exists():
        stored = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if stored["fingerprint"] == key:
            model.load_state_dict(stored["model"])
            optimizer.load_state_dict(stored["optimizer"])
            scheduler.load_state_dict(stored["scheduler"])
            _restore_rng(stored["rng"], generator)
            state = TrainingState(**stored["state"])
            log.info("resumed %s from its checkpoint at epoch %d", run.run_id, state.epoch)
        else:
            log.info("ignoring a checkpoint made for other settings: %s", checkpoint_path)

    def save_checkpoint() -> None:
        _save_torch(
            checkpoint_path,
            {
                "fingerprint": key,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_states(generator),
                "state": asdict(state),
            },
        )

    started = time.perf_counter() - state.wall_s
    n = len(x_train)
    while state.epoch < settings.epochs and not state.diverged:
        model.train()
        order = torch.randperm(n, device=device, generator=generator)
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
        for start in range(0, n, run.batch_size):
            index = order[start : start + run.batch_size]
            xb, yb = x_train[index], y_train[index]
            if run.augment:
                xb = augment_batch(xb, data.max_shift, generator, flip=data.flip)
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
            correct += (logits.detach().argmax(1) == yb).sum()
        lr = optimizer.param_groups[0]["lr"]  # the rate this epoch ran at
        scheduler.step()
        state.epoch += 1
        train_loss = loss_sum.item() / n
        if not math.isfinite(train_loss):
            state.diverged = True
            log.warning("%s diverged at epoch %d (non-finite training loss)", run.run_id, state.epoch)
        test_loss, test_acc = evaluate(model, x_test, y_test, settings.eval_batch_size)
        record = {
            "epoch": state.epoch,
            "lr": lr,
            "train_loss": train_loss,
            "train_acc": correct.item() / n,
            "test_loss": test_loss,
            "test_acc": test_acc,
        }
        state.history.append(record)
        log.info(
            "epoch %d/%d loss %.4g train_acc %.4f test_acc %.4f",
            state.epoch,
            settings.epochs,
            train_loss,
            record["train_acc"],
            test_acc,
        )
        if on_epoch is not None:
            on_epoch(record)
        finished = state.diverged or state.epoch == settings.epochs or train_loss < settings.min_loss
        # Snapshots of epochs the run never reaches (early stop) hold its final weights.
        for epoch in settings.snapshot_epochs:
            if epoch == state.epoch or (finished and epoch > state.epoch):
                save_model(pending_snapshot(epoch), model, spec, (mean, std))
        state.wall_s = time.perf_counter() - started
        if finished:
            break
        if state.epoch % settings.checkpoint_every == 0:
            save_checkpoint()

    train_loss, train_acc = evaluate(model, x_train, y_train, settings.eval_batch_size)
    test_loss, test_acc = evaluate(model, x_test, y_test, settings.eval_batch_size)
    save_model(run_dir / "model.pt", model, spec, (mean, std))
    metrics = {
        **run.as_dict(),
        "epochs_run": state.epoch,
        "train_acc": train_acc,
        "train_loss": _finite_or_none(train_loss),
        "test_acc": test_acc,
        "test_loss": _finite_or_none(test_loss),
        "diverged": state.diverged,
        "wall_s": state.wall_s,
        "device": str(device),
        "settings": asdict(settings),
        "history": [{k: _finite_or_none(v) for k, v in h.items()} for h in state.history],
    }
    for epoch in settings.snapshot_epochs:
        final = snapshot_path(run_dir, epoch)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(pending_snapshot(epoch), final)
    shutil.rmtree(pending_dir, ignore_errors=True)
    checkpoint_path.unlink(missing_ok=True)
    return metrics


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a diverged run's losses are recorded as null."""
    return value if np.isfinite(value) else None


def _save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
