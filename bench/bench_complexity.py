"""Time every model-stage measure of the registry (intraclass.complexity) together, per VGG x1 model of the default
data set, as the extract job computes them: BN folding and weight matrices of the final and the epoch-0 network,
every norm, the path norm's forward pass, the margins of the training-set logits (already computed by the
extraction's forward passes, so not timed as a pass) and the history.

    python bench/bench_complexity.py [--shape 1 8 8] [--n-train 1347] [--classes 5] [--repeats 5] [--threads 2]

The defaults are the default study's data set, digits-coarse (8x8 grayscale, 1347 training images, 5 superclasses);
``--shape 1 28 28 --n-train 60000 --classes 5`` is fashion-coarse.

Goal (SPEC §14): <= 2 s per model on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from intraclass.models import ModelSpec, build_model
from intraclass.registry import ModelInputs, compute_measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[1, 8, 8])
    parser.add_argument("--n-train", type=int, default=1347)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shape = tuple(args.shape)
    spec = ModelSpec("vgg", num_classes=args.classes, in_channels=shape[0])
    torch.manual_seed(0)
    model, initial = build_model(spec).eval(), build_model(spec).eval()
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((args.n_train, args.classes)).astype(np.float32)
    labels = rng.integers(0, args.classes, args.n_train)
    history = [{"epoch": e, "train_loss": 1.0 / e, "steps": 10 * e} for e in range(1, 251)]
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        with threadpool_limits(args.threads):  # as the extract job limits BLAS to its threads
            values = compute_measures(ModelInputs(model, initial, logits, labels, history, shape))
        times.append(time.perf_counter() - started)
    print(
        f"{len(values)} model-stage measures, VGG x1, input {shape}, {args.n_train} training samples, "
        f"{args.threads} threads: median {statistics.median(times):.3f} s per model "
        f"(min {min(times):.3f}, max {max(times):.3f}; goal <= 2 s)"
    )


if __name__ == "__main__":
    main()
