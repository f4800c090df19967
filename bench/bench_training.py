"""Images per second of the project's training loop (intraclass.training) against a plain PyTorch DataLoader loop of
the same model, on the current device, printed side by side with their ratio.

    python bench/bench_training.py                      # the CPU check, about a minute
    python bench/bench_training.py --n-train 50000 --n-test 10000 --size 32 --batch-sizes 100 300 --repeats 2
                                                        # a GPU: CIFAR-shaped, ResNet x1, the paper's batch sizes

The data are random CIFAR-shaped uint8 images with random labels (nothing is downloaded); throughput does not depend
on what the images show. Every row trains the same freshly initialised model with SGD (lr 0.1, momentum 0.9), no
augmentation, after a few untimed warm-up steps; each row is measured ``--repeats`` times, interleaved with the
others, and its fastest measurement printed (the CPU here is shared); rows:

* ``plain DataLoader``: ``TensorDataset`` + ``DataLoader(shuffle=True)`` of normalized float32 images held on the
  host, each batch copied to the device (pinned memory on CUDA), float32, default memory layout, no host sync per
  batch: the loop a PyTorch tutorial writes;
* ``train_epoch``: ``intraclass.training.train_epoch`` as ``train`` calls it: the split on the device as one tensor,
  batches by index, the configured precision (``auto``: bfloat16 autocast on CUDA) and channels_last on CUDA;
* ``train()``: the whole ``intraclass.training.train`` over ``--epochs`` epochs (its ``wall_s``: the epoch loop
  including each epoch's test evaluation), counting training images only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from intraclass.data import DatasetArrays  # noqa: E402
from intraclass.grid import RunConfig, TrainingSettings  # noqa: E402
from intraclass.models import build_model  # noqa: E402
from intraclass.training import (  # noqa: E402
    make_optimizer,
    memory_format,
    model_spec,
    normalized_tensor,
    pick_device,
    resolve_precision,
    train,
    train_epoch,
)

WARMUP_STEPS = 5  # untimed optimizer steps before each timed row (cuDNN autotuning, allocator, caches)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    data = random_dataset(args)
    dtype = resolve_precision(args.precision, device)
    print(f"device: {device_name(device)}; torch {torch.__version__}; {torch.get_num_threads()} CPU threads")
    print(
        f"data: {args.n_train} train / {args.n_test} test images of {args.channels}x{args.size}x{args.size}, "
        f"{args.classes} classes; model: {args.arch} width x{args.width:g}; {args.epochs} timed epoch(s); "
        f"project precision {args.precision} -> {str(dtype).removeprefix('torch.')}, "
        f"layout {'channels_last' if memory_format(device) == torch.channels_last else 'contiguous'}"
    )
    print(f"{'batch':>5}  {'loop':<18} {'images/s':>10} {'x plain':>8}   (best of {args.repeats}, rows interleaved)")
    for batch_size in args.batch_sizes:
        run = RunConfig("cifar10", args.arch, 0.1, 0.0, batch_size, "sgd", 0.0, False, args.width, 1.0)
        loops = {
            "plain DataLoader": lambda: plain_loop(run, data, device, args.epochs, args.workers),
            "train_epoch": lambda: project_epochs(run, data, device, args.epochs, dtype),
        }
        if not args.skip_train:
            loops["train()"] = lambda: project_train(run, data, device, args.epochs, args.precision)
        best = dict.fromkeys(loops, 0.0)
        for _ in range(args.repeats):  # interleaved, so that a busy moment of a shared machine hits every row
            for name, measure in loops.items():
                best[name] = max(best[name], measure())
        for name, rate in best.items():
            print(f"{batch_size:>5}  {name:<18} {rate:>10.1f} {rate / best['plain DataLoader']:>8.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1, ...")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="the project's loop")
    parser.add_argument("--arch", default="resnet", choices=["resnet", "vgg"])
    parser.add_argument("--width", type=float, default=1.0, choices=[1.0, 1.5])
    parser.add_argument("--n-train", type=int, default=2000, help="training images")
    parser.add_argument("--n-test", type=int, default=500, help="test images (train() evaluates them every epoch)")
    parser.add_argument("--size", type=int, default=16, help="image height and width in pixels (CIFAR: 32)")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100])
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per row; the fastest is printed")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes of the plain loop")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    parser.add_argument("--skip-train", action="store_true", help="leave out the train() row")
    return parser.parse_args()


def random_dataset(args: argparse.Namespace) -> DatasetArrays:
    rng = np.random.default_rng(0)
    shape = (args.channels, args.size, args.size)
    return DatasetArrays(
        "cifar10",
        rng.integers(0, 256, (args.n_train, *shape), dtype=np.uint8),
        rng.integers(0, args.classes, args.n_train),
        rng.integers(0, 256, (args.n_test, *shape), dtype=np.uint8),
        rng.integers(0, args.classes, args.n_test),
    )


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def plain_loop(run: RunConfig, data: DatasetArrays, device: torch.device, epochs: int, workers: int) -> float:
    """Images/s of a DataLoader loop: float32, default layout, host-side batches copied to the device."""
    mean, std = data.normalization()
    x = normalized_tensor(data.x_train, mean, std, torch.device("cpu"))
    dataset = TensorDataset(x, torch.as_tensor(data.y_train))
    cuda = device.type == "cuda"
    loader = DataLoader(dataset, batch_size=run.batch_size, shuffle=True, num_workers=workers, pin_memory=cuda)
    model, optimizer = fresh_model(run, data, device, torch.contiguous_format)

    def step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    for _, (xb, yb) in zip(range(WARMUP_STEPS), loader, strict=False):
        step(xb, yb)
    started = synchronized_clock(device)
    for _ in range(epochs):
        for xb, yb in loader:
            step(xb, yb)
    return epochs * len(dataset) / (synchronized_clock(device) - started)


def project_epochs(run: RunConfig, data: DatasetArrays, device: torch.device, epochs: int, dtype: torch.dtype) -> float:
    """Images/s of intraclass.training.train_epoch, set up as train() sets it up."""
    layout = memory_format(device)
    mean, std = data.normalization()
    x = normalized_tensor(data.x_train, mean, std, device).contiguous(memory_format=layout)
    y = torch.as_tensor(data.y_train, device=device)
    model, optimizer = fresh_model(run, data, device, layout)
    generator = torch.Generator(device=device).manual_seed(run.seed)
    warmup = WARMUP_STEPS * run.batch_size
    train_epoch(model, optimizer, x[:warmup], y[:warmup], run.batch_size, generator, dtype=dtype)
    started = synchronized_clock(device)
    for _ in range(epochs):
        train_epoch(model, optimizer, x, y, run.batch_size, generator, dtype=dtype)
    return epochs * len(x) / (synchronized_clock(device) - started)


def project_train(run: RunConfig, data: DatasetArrays, device: torch.device, epochs: int, precision: str) -> float:
    """Training images/s of intraclass.training.train over its epoch loop (test evaluation included)."""
    settings = TrainingSettings(epochs=epochs, min_loss=0.0, checkpoint_every=epochs + 1, precision=precision)
    with tempfile.TemporaryDirectory() as run_dir:
        metrics = train(run, data, settings, run_dir, device)
    return epochs * len(data.x_train) / metrics["wall_s"]


def fresh_model(
    run: RunConfig, data: DatasetArrays, device: torch.device, layout: torch.memory_format
) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(run.seed)
    model = build_model(model_spec(run, data)).to(device, memory_format=layout)
    return model, make_optimizer(model, run)


def synchronized_clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


if __name__ == "__main__":
    main()
