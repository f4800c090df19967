"""Training one configuration (SPEC §4), airbench-style: the training split lives on the device as one tensor and
augmentation is a batched tensor operation. On CUDA the network runs in channels_last layout; precision ``auto`` is
float32 on every device (bfloat16 autocast, ``bf16``, measured slower for these models on an H200).

After training, the final model and every snapshot get their batch-norm statistics recomputed on the un-augmented
training split with dropout off (:func:`recalibrate_batchnorm`): the statistics gathered during training were
seen under dropout, which shifts their variance away from what the network meets in inference mode.

A checkpoint every few epochs holds everything the rest of the run depends on (weights, optimizer, schedule, RNG
states, history), so a killed job started again resumes where it stopped and ends with the same weights. A finished
run keeps its model, snapshots and metrics in ``finished/`` beside them, which no rule declares: when an interrupted
Snakemake deletes a finished training's outputs as incomplete, the rerun of the job restores them from there in
seconds instead of training again. A lock per run makes a second job of the same run (a rerun while an orphaned
cluster job still trains) wait for the first, then restore its result.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .correctness import pack_correct
from .data import DatasetArrays
from .grid import ADAM_LR_DIVISOR, LR_GAMMA, PRECISIONS, SGD_MOMENTUM, RunConfig, TrainingSettings
from .models import ModelSpec, build_model
from .paths import snapshot_path
from .storage import atomic_path, read_json, write_json

log = logging.getLogger(__name__)


@dataclass
class TrainingState:
    """What a checkpoint holds besides the model and optimizer."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False
    wall_s: float = 0.0


PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# What precision "auto" picks per device type: the one measured faster. CUDA: on one H200
# (docs/bench/training_h200.md, the paper's ResNet x1 on 3x32x32 images, channels_last) float32 trained 19.4k
# images/s at batch 100 and 51.3k at batch 300, bfloat16 autocast 15.9k and 41.4k: these models are too small for
# bf16 to pay. CPU: float32, bf16 autocast not having been measured faster there.
AUTO_PRECISION = {"cuda": torch.float32, "cpu": torch.float32}
# Snapshots wait in this folder beside the checkpoint until the run ends: Snakemake deletes a killed job's declared
# outputs, and a resumed run does not pass the early epochs again.
PENDING_SNAPSHOTS = "checkpoint_snapshots"
# A finished run's model, snapshots and metrics: no rule output, so Snakemake never deletes them. Its metrics.json,
# written last, holds the fingerprint of what was trained and marks the record complete.
FINISHED = "finished"
# Held (flock) by the process training the run; never deleted (deleting a lock file races with its next holder).
LOCK_FILE = "train.lock"

# What a checkpoint restores besides the state: the model, optimizer, schedule and augmentation generator.
Trainer = tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler, torch.Generator]


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else the CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The dtype of the forward and backward arithmetic: ``auto`` is :data:`AUTO_PRECISION` of the device type
    (float32 wherever measured); ``fp32`` and ``bf16`` are what they say."""
    if precision == "auto":
        return AUTO_PRECISION.get(device.type, torch.float32)
    if precision not in PRECISION_DTYPES:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return PRECISION_DTYPES[precision]


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Mixed precision in ``dtype`` on ``device``; float32 runs without autocast (bit-identical to plain code)."""
    return contextlib.nullcontext() if dtype == torch.float32 else torch.autocast(device.type, dtype=dtype)


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA, where convolutions run faster in it; the default layout elsewhere."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


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


class _DropoutOff(nn.Module):
    """``model`` with its dropout layers kept in inference mode whatever mode it is put in: ``update_bn`` puts the
    model it is given in training mode, which would switch dropout on."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def train(self, mode: bool = True) -> _DropoutOff:
        super().train(mode)
        for module in self.model.modules():
            if isinstance(module, nn.Dropout):
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def recalibrate_batchnorm(model: nn.Module, x: torch.Tensor, batch_size: int) -> None:
    """Recompute the running mean and variance of every batch-norm layer of ``model`` on the images ``x``, with
    dropout off, in place ("BN recalibration"); the weights and the mode of ``model`` are left as they were.

    Each layer's statistics become the average over the batches of ``x`` (in order, ``batch_size`` images each) of
    its input's per-channel batch mean and unbiased batch variance, as ``torch.optim.swa_utils.update_bn``
    computes them, with every dropout layer in inference mode.

    Why: during training the running statistics are an exponential average over batches seen with dropout active
    (and augmented). Dropout scales the kept activations by 1/(1-p), which raises their variance; in inference mode
    it is off, so each batch-norm layer normalises with a variance the network no longer produces ("variance
    shift", Li et al. 2019, "Understanding the disharmony between dropout and batch normalization by variance
    shift", CVPR). Recomputing the statistics in the conditions of inference removes the shift, as Li et al. and
    SWA (Izmailov et al. 2018, ``bn_update``) do.
    """
    batches = (x[start : start + batch_size] for start in range(0, len(x), batch_size))
    was_training = model.training
    torch.optim.swa_utils.update_bn(batches, _DropoutOff(model))
    model.train(was_training)


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over ``(x, y)`` in an order drawn from ``generator``, one optimizer step per batch.

    Returns the summed training loss and the number of correct predictions as device tensors: no host sync.
    """
    model.train()
    n = len(x)
    order = torch.randperm(n, device=x.device, generator=generator)
    loss_sum, correct = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        xb, yb = x[index], y[index]
        if augment is not None:
            xb = augment(xb)
        with autocast(x.device, dtype):
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(index)
        correct += (logits.detach().argmax(1) == yb).sum()
    return loss_sum, correct


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, dtype: torch.dtype = torch.float32
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``model`` in inference mode and which images it classifies correctly (bool per image).

    The sums stay on the device until the end (one host sync, not one per batch); the loss is summed in float64.
    """
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = []
    for start in range(0, len(x), batch_size):
        target = y[start : start + batch_size]
        with autocast(x.device, dtype):
            logits = model(x[start : start + batch_size])
        loss_sum += nn.functional.cross_entropy(logits.float(), target, reduction="sum").double()
        correct.append(logits.argmax(1) == target)
    model.train(was_training)
    return loss_sum.item() / len(x), torch.cat(correct).cpu().numpy()


def fingerprint(run: RunConfig, settings: TrainingSettings, data: DatasetArrays) -> str:
    """Identifies what a checkpoint or a finished record was made for (run, settings and the data's content), so a
    stale one is never resumed or restored."""
    text = json.dumps({"run": run.as_dict(), "settings": asdict(settings)}, sort_keys=True)
    digest = hashlib.sha256(text.encode())
    digest.update(json.dumps([data.name, data.max_shift, data.flip]).encode())
    for array in (data.x_train, data.y_train, data.x_test, data.y_test, data.sub_train, data.sub_test):
        if array is not None:
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


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
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}  # the same file from any layout
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

    A run finished before with the same run, settings and data is not trained again: its outputs are restored from
    ``run_dir/finished`` (hard links) and its metrics returned as they were. Otherwise it resumes from
    ``run_dir/checkpoint.pt`` when that was made for the same run, settings and data. Only one process trains a
    run at a time: another waits for the lock ``run_dir/train.lock``, then restores the finished run. A
    non-finite loss ends the run and is recorded as ``diverged``; it is not an error. The saved model and
    snapshots have their batch-norm statistics recomputed (:func:`recalibrate_batchnorm`). The metrics describe
    the saved float32 model (evaluated in float32 whatever the training precision), including which test images
    it classifies correctly.
    ``data`` is the run's data set, already cut to its ``train_size`` (the workflow's rule subset_dataset); a
    training split of another size is a ValueError.
    """
    if run.train_size is not None and len(data.y_train) != run.train_size:
        raise ValueError(
            f"run {run.run_id} has train_size {run.train_size} but data set {data.name!r} has {len(data.y_train)} "
            "training images: pass its stratified_subset"
        )
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    key = fingerprint(run, settings, data)
    with _run_lock(run_dir / LOCK_FILE, run.run_id):
        restored = _restore_finished(run_dir, key, settings.snapshot_epochs)
        if restored is not None:
            log.info("%s: finished before (%s); outputs restored, no epoch trained", run.run_id, run_dir / FINISHED)
            return restored
        return _train(run, data, settings, run_dir, device, key, on_epoch)


def _train(
    run: RunConfig,
    data: DatasetArrays,
    settings: TrainingSettings,
    run_dir: Path,
    device: torch.device,
    key: str,
    on_epoch: Callable[[dict[str, float]], None] | None,
) -> dict[str, Any]:
    checkpoint_path = run_dir / "checkpoint.pt"
    dtype, layout = resolve_precision(settings.precision, device), memory_format(device)
    precision = next(name for name, value in PRECISION_DTYPES.items() if value == dtype)
    log.info("%s: precision %s (asked %s) on %s", run.run_id, precision, settings.precision, device)
    mean, std = data.normalization()
    x_train = normalized_tensor(data.x_train, mean, std, device).contiguous(memory_format=layout)
    y_train = torch.as_tensor(data.y_train, device=device)
    x_test = normalized_tensor(data.x_test, mean, std, device).contiguous(memory_format=layout)
    y_test = torch.as_tensor(data.y_test, device=device)

    torch.manual_seed(run.seed)
    spec = model_spec(run, data)
    model = build_model(spec).to(device, memory_format=layout)
    optimizer = make_optimizer(model, run)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, settings.milestones(), gamma=LR_GAMMA)
    generator = torch.Generator(device=device)
    generator.manual_seed(run.seed)
    trainer = (model, optimizer, scheduler, generator)
    state = _resume(checkpoint_path, key, trainer) or TrainingState()
    augment = (
        partial(augment_batch, max_shift=data.max_shift, generator=generator, flip=data.flip) if run.augment else None
    )
    steps_per_epoch = math.ceil(len(x_train) / run.batch_size)

    def snapshot(path: Path) -> None:
        """The weights now, with batch-norm statistics recomputed on a copy (the training run keeps its own)."""
        recalibrated = copy.deepcopy(model)
        recalibrate_batchnorm(recalibrated, x_train, settings.eval_batch_size)
        save_model(path, recalibrated, spec, (mean, std))

    if state.epoch == 0 and 0 in settings.snapshot_epochs:
        snapshot(_pending_snapshot(run_dir, 0))  # the untrained network (SPEC §11), before the first step

    started = time.perf_counter() - state.wall_s
    while state.epoch < settings.epochs and not state.diverged:
        lr = optimizer.param_groups[0]["lr"]  # the rate this epoch runs at
        loss_sum, correct = train_epoch(model, optimizer, x_train, y_train, run.batch_size, generator, augment, dtype)
        scheduler.step()
        state.epoch += 1
        train_loss = loss_sum.item() / len(x_train)
        if not math.isfinite(train_loss):
            state.diverged = True
            log.warning("%s diverged at epoch %d (non-finite training loss)", run.run_id, state.epoch)
        finished = state.diverged or state.epoch == settings.epochs or train_loss < settings.min_loss
        # train_loss and train_acc: the epoch's mean over its batches in training mode (dropout, augmentation).
        record = {
            "epoch": state.epoch,
            "steps": state.epoch * steps_per_epoch,  # optimizer steps so far
            "lr": lr,
            "train_loss": train_loss,
            "train_acc": correct.item() / len(x_train),
        }
        if finished or state.epoch % settings.test_every == 0 or state.epoch in settings.snapshot_epochs:
            test_loss, test_correct = evaluate(model, x_test, y_test, settings.eval_batch_size, dtype)
            record.update(test_loss=test_loss, test_acc=float(test_correct.mean()))
        state.history.append(record)
        log.info("%s epoch %d/%d %s", run.run_id, state.epoch, settings.epochs, record)
        if on_epoch is not None:
            on_epoch(record)
        # Snapshots of epochs the run never reaches (early stop) hold its final weights.
        for epoch in settings.snapshot_epochs:
            if epoch == state.epoch or (finished and epoch > state.epoch):
                snapshot(_pending_snapshot(run_dir, epoch))
        state.wall_s = time.perf_counter() - started
        if finished:
            break
        if state.epoch % settings.checkpoint_every == 0:
            _save_checkpoint(checkpoint_path, key, trainer, state)

    loss_before, correct_before = evaluate(model, x_train, y_train, settings.eval_batch_size)
    recalibrate_batchnorm(model, x_train, settings.eval_batch_size)
    finished_dir = run_dir / FINISHED
    save_model(finished_dir / "model.pt", model, spec, (mean, std))
    metrics = _final_metrics(model, (x_train, y_train), (x_test, y_test), settings.eval_batch_size)
    log.info(
        "%s: batch-norm recalibration: train accuracy %.4f -> %.4f in inference mode",
        run.run_id,
        correct_before.mean(),
        metrics["train_acc"],
    )
    for epoch in settings.snapshot_epochs:
        os.replace(_pending_snapshot(run_dir, epoch), _finished_snapshot(run_dir, epoch))
    metrics = {
        **run.as_dict(),
        "epochs_run": state.epoch,
        "n_train": len(x_train),
        **metrics,
        # The final model before its batch-norm statistics were recomputed (model.pt and snapshots are after).
        "bn_recalibration": {
            "images": len(x_train),
            "train_acc_before": float(correct_before.mean()),
            "train_loss_before": _finite_or_none(loss_before),
        },
        "diverged": state.diverged,
        "wall_s": state.wall_s,
        "device": str(device),
        "precision": precision,
        "settings": asdict(settings),
        "history": [{k: _finite_or_none(v) for k, v in h.items()} for h in state.history],
    }
    write_json(finished_dir / "metrics.json", {"fingerprint": key, "metrics": metrics})  # last: the record is whole
    _publish_finished(run_dir, settings.snapshot_epochs)
    shutil.rmtree(run_dir / PENDING_SNAPSHOTS, ignore_errors=True)
    checkpoint_path.unlink(missing_ok=True)
    return read_json(finished_dir / "metrics.json")["metrics"]  # as a restore returns it (lists, not tuples)


@contextlib.contextmanager
def _run_lock(path: Path, run_id: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the block, waiting (with a log line) while another process holds it.
    The kernel drops the lock when its holder dies, so a killed job never leaves the run locked. On a file system
    without locks (Lustre mounted without ``flock``) the block runs unlocked, with a warning."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("%s: another process trains this run (%s is locked); waiting for it", run_id, path)
            fcntl.flock(handle, fcntl.LOCK_EX)
            log.info("%s: the other process is done; lock acquired", run_id)
        except OSError as error:
            log.warning("%s: cannot lock %s (%s); training unlocked", run_id, path, error)
        yield


def _restore_finished(run_dir: Path, key: str, snapshot_epochs: tuple[int, ...]) -> dict[str, Any] | None:
    """The metrics of the run finished in ``run_dir/finished`` for ``key``, its model and snapshots linked back
    into place; None when there is no such whole record (a record made for another key is deleted)."""
    finished_dir = run_dir / FINISHED
    record_path = finished_dir / "metrics.json"
    if not record_path.exists():
        return None
    record = read_json(record_path)
    files = [finished_dir / "model.pt", *(_finished_snapshot(run_dir, epoch) for epoch in snapshot_epochs)]
    if record["fingerprint"] != key or not all(path.exists() for path in files):
        log.info("deleting a finished record, incomplete or of another run, settings or data: %s", finished_dir)
        shutil.rmtree(finished_dir)
        return None
    _publish_finished(run_dir, snapshot_epochs)
    return record["metrics"]


def _publish_finished(run_dir: Path, snapshot_epochs: tuple[int, ...]) -> None:
    """The finished model and snapshots as the rule's outputs: hard links (no copy on disk; deleting an output
    leaves the record whole), or copies where the file system has no hard links."""
    outputs = {run_dir / FINISHED / "model.pt": run_dir / "model.pt"}
    outputs.update({_finished_snapshot(run_dir, epoch): snapshot_path(run_dir, epoch) for epoch in snapshot_epochs})
    for source, target in outputs.items():
        with atomic_path(target) as tmp:
            tmp.unlink()
            try:
                os.link(source, tmp)
            except OSError:
                shutil.copyfile(source, tmp)


def _final_metrics(
    model: nn.Module,
    train_split: tuple[torch.Tensor, torch.Tensor],
    test_split: tuple[torch.Tensor, torch.Tensor],
    batch_size: int,
) -> dict[str, Any]:
    """Loss and accuracy of the final model on both splits, and its per-image test correctness (packed bits)."""
    train_loss, train_correct = evaluate(model, *train_split, batch_size)
    test_loss, test_correct = evaluate(model, *test_split, batch_size)
    return {
        "train_acc": float(train_correct.mean()),
        "train_loss": _finite_or_none(train_loss),
        "test_acc": float(test_correct.mean()),
        "test_loss": _finite_or_none(test_loss),
        "n_test": len(test_correct),
        "test_correct": pack_correct(test_correct),
    }


def _pending_snapshot(run_dir: Path, epoch: int) -> Path:
    return run_dir / PENDING_SNAPSHOTS / f"epoch_{epoch:03d}.pt"


def _finished_snapshot(run_dir: Path, epoch: int) -> Path:
    return run_dir / FINISHED / f"epoch_{epoch:03d}.pt"


def _resume(path: Path, key: str, trainer: Trainer) -> TrainingState | None:
    """Load the checkpoint at ``path`` into ``trainer`` if it was made for ``key``; its state, else None."""
    if not path.exists():
        return None
    model, optimizer, scheduler, generator = trainer
    stored = torch.load(path, map_location=generator.device, weights_only=False)
    if stored["fingerprint"] != key:
        log.info("ignoring a checkpoint made for other settings: %s", path)
        return None
    model.load_state_dict(stored["model"])
    optimizer.load_state_dict(stored["optimizer"])
    scheduler.load_state_dict(stored["scheduler"])
    _restore_rng(stored["rng"], generator)
    state = TrainingState(**stored["state"])
    log.info("resumed from %s at epoch %d", path, state.epoch)
    return state


def _save_checkpoint(path: Path, key: str, trainer: Trainer, state: TrainingState) -> None:
    model, optimizer, scheduler, generator = trainer
    _save_torch(
        path,
        {
            "fingerprint": key,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_states(generator),
            "state": asdict(state),
        },
    )


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a diverged run's losses are recorded as null."""
    return value if np.isfinite(value) else None


def _save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
