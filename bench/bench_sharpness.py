"""Benchmark the sigma sharpness measures: the library against a straightforward one-draw-at-a-time loop.

For each model it times, with the same config (same subset, same noise draws, same search):

* ``library``          : ``sharpness_measures`` as configured by default (``parallel_draws=0`` = auto: vmapped draws
                          on CUDA, one draw per forward on CPU; ``early_decision`` on),
* ``library vmap``     : the same with all Monte Carlo draws in one vmapped forward (``parallel_draws=mc_draws``),
* ``library no-early`` : the same as ``library`` without early decisions (every step evaluates the whole subset),
* ``reference loop``   : the simple path: for each draw, write ``w + sigma*(|w|+eps)*z`` into the model's
                          parameters in place, run ``model(x)`` over the subset batch by batch, restore.

It checks that every path returns the same 1/sigma' and 1/sigma'' as the reference, and prints wall and process-CPU
times (minimum over ``--*-repeats`` interleaved runs, as the machine may be shared) and the reference / path ratios.
Each timed call includes its clean-accuracy pass(es). The ``images`` column counts images passed through the network
(one per noise draw), a measure of work that, unlike the times, does not depend on other load on the machine.

Models: (a) digits: ``ModelSpec("resnet", 5, 1)`` trained briefly with SGD on scikit-learn's ``load_digits``
(superclass = digit // 2, stratified 75/25 split -> 1,347 training images of 8x8); (b) CIFAR-shaped:
``ModelSpec("resnet", 10, 3)`` with its random initial weights on random 32x32 inputs, labelled with its own
inference-mode predictions (so its clean accuracy is 1 and the search has a real target).

Run: ``python bench/bench_sharpness.py [--cifar-subset 1000 --cifar-draws 3 --cifar-iterations 5]``.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from intraclass.models import ModelSpec, build_model
from intraclass.sharpness import SharpnessConfig, perturbed_parameter_names, search_scale, sharpness_measures

# ---------------------------------------------------------------------------------------------------------------
# Reference: one draw at a time, parameters written in place, plain module forward
# ---------------------------------------------------------------------------------------------------------------


def reference_sigma(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: SharpnessConfig, variant: str) -> dict:
    """1/sigma' (variant "p") or 1/sigma'' ("pp") the straightforward way (common random numbers, as the default)."""
    ref = copy.deepcopy(model)
    device = next(ref.parameters()).device
    if variant == "p":
        ref.eval()
    else:  # batch statistics: training mode (running stats of this throw-away copy may drift), dropout off
        ref.train()
        for module in ref.modules():
            if isinstance(module, nn.Dropout):
                module.eval()
    # The same fixed seeded subset and near-equal evaluation batches as the library.
    index = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.subset_size]
    xs, ys = x[index].to(device), y[index].to(device)
    n_batches = -(-len(index) // cfg.eval_batch_size)
    batches = list(zip(torch.tensor_split(xs, n_batches), torch.tensor_split(ys, n_batches), strict=False))
    names = perturbed_parameter_names(ref, variant)
    params = dict(ref.named_parameters())
    saved = {k: p.detach().clone() for k, p in params.items()}
    base = {k: saved[k].abs() + cfg.magnitude_eps for k in names}

    forwarded = 0

    @torch.no_grad()
    def correct() -> int:
        nonlocal forwarded
        forwarded += len(index)
        return sum(int((ref(xb).argmax(dim=1) == yb).sum()) for xb, yb in batches)

    clean = correct() / len(index)

    @torch.no_grad()
    def accuracy(sigma: float) -> float:
        generator = torch.Generator(device=device).manual_seed(cfg.seed + 1)  # same draws at every step
        hits = 0
        for _ in range(cfg.mc_draws):
            for k in names:
                z = torch.randn(saved[k].shape, generator=generator, dtype=saved[k].dtype, device=device)
                params[k].copy_(saved[k] + sigma * base[k] * z)
            hits += correct()
        for k in names:
            params[k].copy_(saved[k])
        return hits / (cfg.mc_draws * len(index))

    result = search_scale(
        lambda s: clean - accuracy(s),
        start=cfg.sigma_start,
        growth=cfg.bracket_growth,
        max_steps=cfg.max_bracket_steps,
        target=cfg.target_drop,
        tolerance=cfg.accuracy_tolerance,
        min_width=cfg.min_interval_width,
        max_iterations=cfg.bisection_iterations,
    )
    return {
        "inv": 1.0 / result.scale,
        "evaluations": 1 + result.bracket_steps + result.iterations,
        "clean": clean,
        "accuracy": clean - result.value,
        "images": forwarded,
    }


# ---------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------


def digits_model(steps: int, seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor, str]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    labels = digits.target // 2  # 5 superclasses
    x_train, _, y_train, _ = train_test_split(images, labels, test_size=0.25, stratify=labels, random_state=seed)
    x = torch.from_numpy(x_train)
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(y_train).long()
    torch.manual_seed(seed)
    model = build_model(ModelSpec("resnet", 5, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(x), (100,), generator=generator)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((model(x).argmax(1) == y).float().mean())
    return model, x, y, f"resnet-18, 5 classes, trained {steps} SGD steps (batch 100), train accuracy {accuracy:.3f}"


def cifar_model(n: int, seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor, str]:
    torch.manual_seed(seed)
    model = build_model(ModelSpec("resnet", 10, 3)).eval()
    x = torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        y = torch.cat([model(chunk).argmax(1) for chunk in x.split(250)])
    return model, x, y, f"resnet-18, 10 classes, random init, {n} random 32x32 inputs labelled by its own predictions"


# ---------------------------------------------------------------------------------------------------------------
# Bench
# ---------------------------------------------------------------------------------------------------------------


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def bench(
    name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: SharpnessConfig, about: str, repeats: int
) -> None:
    """Time every path and measure ``repeats`` times, round-robin, and print the minimum wall and CPU times.

    The machine may be shared: round-robin spreads load spikes over the paths, the minimum discards most of them,
    and process CPU time (all threads) is not inflated by waiting for a core the way wall time is.
    """
    print(f"\n=== ({name}) {about}")
    print(
        f"    subset {min(len(x), cfg.subset_size)}, mc_draws {cfg.mc_draws}, bisection_iterations "
        f"{cfg.bisection_iterations}, eval_batch_size {cfg.eval_batch_size}, sigma from {cfg.sigma_start} "
        f"(x/{cfg.bracket_growth} up to {cfg.max_bracket_steps} times), tolerance {cfg.accuracy_tolerance}; "
        f"min over {repeats} interleaved runs"
    )

    def library(path_cfg: SharpnessConfig, variant: str):
        def run():
            out = sharpness_measures(model, x, y, path_cfg, measures=(f"sigma_{variant}",))
            detail = out["details"][f"sigma_{variant}"]
            clean = out["clean_accuracy"] if variant == "p" else out["clean_accuracy_batch_stats"]
            return {
                "inv": out[f"inv_sigma_{variant}"],
                "evaluations": 1 + detail["bracket_steps"] + detail["iterations"],
                "accuracy": detail["accuracy"],
                "clean": clean,
                "images": out["images_forwarded"],
            }

        return run

    paths = {
        "reference loop": lambda v: lambda: reference_sigma(model, x, y, cfg, v),
        "library (default)": lambda v: library(cfg, v),
        f"library vmap x{cfg.mc_draws}": lambda v: library(replace(cfg, parallel_draws=cfg.mc_draws), v),
        "library no-early": lambda v: library(replace(cfg, early_decision=False), v),
    }
    best: dict[tuple[str, str], tuple[dict, float, float]] = {}
    for _ in range(repeats):
        for v in ("p", "pp"):
            for label, make in paths.items():
                value, wall, cpu = _timed(make(v))
                old = best.get((label, v))
                best[(label, v)] = (value, min(wall, old[1]) if old else wall, min(cpu, old[2]) if old else cpu)
    print(
        f"    {'path':<22}{'measure':<10}{'1/sigma':>9}{'evals':>6}{'acc':>8}{'images':>9}{'wall s':>9}{'cpu s':>9}"
        f"{'ref/path: images':>18}{'cpu':>6}{'wall':>6}  same as ref"
    )
    for v in ("p", "pp"):
        ref, ref_wall, ref_cpu = best[("reference loop", v)]
        for label in paths:
            value, wall, cpu = best[(label, v)]
            same = "yes" if value["inv"] == ref["inv"] else f"no (diff {value['inv'] - ref['inv']:+.2e})"
            print(
                f"    {label:<22}{'sigma_' + v:<10}{value['inv']:>9.4f}{value['evaluations']:>6}"
                f"{value['accuracy']:>8.4f}{value['images']:>9}{wall:>9.2f}{cpu:>9.2f}"
                f"{ref['images'] / value['images']:>18.2f}{ref_cpu / cpu:>6.2f}{ref_wall / wall:>6.2f}  {same}"
            )
    print(
        f"    clean accuracy on the subset: inference BN {best[('reference loop', 'p')][0]['clean']:.4f}, "
        f"batch-stat BN {best[('reference loop', 'pp')][0]['clean']:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits-steps", type=int, default=150, help="SGD steps of the brief digits training")
    parser.add_argument("--cifar-subset", type=int, default=1000)
    parser.add_argument("--cifar-draws", type=int, default=3)
    parser.add_argument("--cifar-iterations", type=int, default=5)
    parser.add_argument("--skip-cifar", action="store_true")
    parser.add_argument("--digits-repeats", type=int, default=3, help="timings are the minimum over repeats")
    parser.add_argument("--cifar-repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, device cpu, {torch.get_num_threads()} threads")

    model, x, y, about = digits_model(args.digits_steps)
    bench("a: digits", model, x, y, SharpnessConfig(), about + " | SharpnessConfig() defaults", args.digits_repeats)

    if not args.skip_cifar:
        model, x, y, about = cifar_model(args.cifar_subset)
        cfg = SharpnessConfig(
            subset_size=args.cifar_subset, mc_draws=args.cifar_draws, bisection_iterations=args.cifar_iterations
        )
        about += " | defaults except subset, draws, iterations (CPU time)"
        bench("b: CIFAR-shaped", model, x, y, cfg, about, args.cifar_repeats)


if __name__ == "__main__":
    main()
