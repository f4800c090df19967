"""Pre-activation extraction (SPEC §5): the model in inference mode on un-augmented images, each convolutional
neuron reduced to one value per image by global max pooling (max pooling and ReLU commute, so the activations are
the ReLU of these values)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def extract_preactivations(
    model: nn.Module,
    x: torch.Tensor,
    sites: Sequence[nn.Module] | None = None,
    batch_size: int = 1000,
) -> list[np.ndarray]:
    """Pre-activations at ``sites`` (default: ``model.preactivation_sites()``), one (samples, neurons) float32
    array per site in DAG order. Works on any PyTorch model: pass the modules whose outputs are the
    pre-activations (e.g. the BatchNorm layers that feed a ReLU)."""
    if sites is None:
        sites = model.preactivation_sites()  # type: ignore[operator]
    if not sites:
        raise ValueError("no pre-activation sites given")
    device = next(model.parameters()).device
    collected: list[list[torch.Tensor]] = [[] for _ in sites]

    def hook_for(index: int):
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            # Pool or copy at once: a following in-place ReLU overwrites ``output`` itself, and ``.float().cpu()``
            # of a float32 tensor on the CPU would still be that tensor.
            pooled = output.amax(dim=tuple(range(2, output.dim()))) if output.dim() > 2 else output.clone()
            collected[index].append(pooled.float().cpu())

        return hook

    handles = [site.register_forward_hook(hook_for(i)) for i, site in enumerate(sites)]
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            model(x[start : start + batch_size].to(device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [torch.cat(parts).numpy() for parts in collected]


@contextmanager
def recorded_outputs(model: nn.Module) -> Iterator[list[np.ndarray]]:
    """A list that collects ``model``'s outputs (float32, on the CPU, one array per forward call) while the context
    lasts: the training-set logits of the extraction's own forward passes, with no second pass."""
    outputs: list[np.ndarray] = []

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        outputs.append(output.detach().float().cpu().numpy())

    handle = model.register_forward_hook(hook)
    try:
        yield outputs
    finally:
        handle.remove()


def site_names(model: nn.Module) -> list[str]:
    """Module paths of the model's pre-activation sites, in DAG order."""
    names = {module: name for name, module in model.named_modules()}
    return [names[site] for site in model.preactivation_sites()]  # type: ignore[operator]
