"""The field's generalization measures beside c1-c5 (SPEC §14): norm-, margin- and optimization-based, as Jiang et al.
2020 ("Fantastic generalization measures and where to find them", ICLR 2020, appendix C) define them and as Dziugaite
et al. 2020's public implementation of those definitions computes them.

Conventions shared by every weight measure, from the reference implementation:

- **Batch normalization** is folded into the convolution or linear layer it follows, with its running statistics
  (inference mode): the kernel's output channel ``o`` is scaled by ``gamma_o / sqrt(var_o + eps)``, the shift goes
  to a bias (:func:`fold_batch_norm`). The same folding is applied to the initial (epoch-0) network.
- **Weights** are then the kernels of every convolution and linear layer (biases and BN parameters excluded), each
  **reshaped** to a matrix ``(out_channels, in_channels * kh * kw)``: the spectral norm of a convolution is that of
  its reshaped kernel, not of the convolution operator (Jiang et al.'s choice; the operator norm differs by a factor
  that depends on the input size and the stride).
- Products are reported as **logarithms** (``log_prod_*``, as Jiang et al.), and no measure is divided by the
  training-set size (their final ``sqrt(value / m)``): within one data set that changes no ranking.

Every measure is a complexity (orientation -1: larger predicts lower test accuracy) except the margin (+1). A measure
undefined for a model (a non-positive margin, a history without the needed record) raises :class:`UndefinedMeasure`
with the reason; :func:`intraclass.registry.compute_measures` turns it into NaN and records the reason. Numpy only at
import; torch is imported by the functions that run a network.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "MARGIN_PERCENTILE",
    "TARGET_CROSS_ENTROPY",
    "UndefinedMeasure",
    "WeightLayers",
    "fold_batch_norm",
    "frobenius_distance",
    "log_product_of_frobenius_norms",
    "log_product_of_spectral_norms",
    "log_spectral_bound",
    "log_spectral_over_margin",
    "log_sum_of_frobenius_norms",
    "log_sum_of_spectral_norms",
    "output_margin",
    "output_margins",
    "param_norm",
    "path_norm",
    "spectral_distance",
    "steps_to_cross_entropy",
    "weight_layers",
]

MARGIN_PERCENTILE = 10
TARGET_CROSS_ENTROPY = 0.1


class UndefinedMeasure(ValueError):
    """A measure that has no value for this model; the message says why."""


@dataclass
class WeightLayers:
    """The reshaped, BN-folded kernels (module paths ``names``) of a network and of its initial network."""

    names: list[str]
    final: list[np.ndarray]
    initial: list[np.ndarray]


# ---------------------------------------------------------------------------------------------------------------
# Norm-based measures
# ---------------------------------------------------------------------------------------------------------------


def param_norm(weights: Sequence[np.ndarray]) -> float:
    """Sum of squared Frobenius norms of the weight matrices (Jiang et al. 2020, eq. 42, "param_norm").

    ``sum_i ||W_i||_F^2`` over the reshaped, BN-folded kernels (see the module docstring). Range ``[0, inf)``;
    a complexity (orientation -1).

    Parameters
    ----------
    weights : sequence of ndarray
        The 2-D weight matrices (:attr:`WeightLayers.final`).
    """
    return float(sum(np.sum(np.square(w)) for w in _matrices(weights)))


def frobenius_distance(weights: Sequence[np.ndarray], initial: Sequence[np.ndarray]) -> float:
    """Squared Frobenius distance to initialization (Jiang et al. 2020, eq. 40, "fro_dist").

    ``sum_i ||W_i - W_i^0||_F^2``, ``W^0`` the epoch-0 network's matrices, both BN-folded with their own running
    statistics. Range ``[0, inf)``; a complexity (orientation -1).
    """
    return param_norm(_differences(weights, initial))


def log_product_of_spectral_norms(weights: Sequence[np.ndarray]) -> float:
    """Log product of squared spectral norms (Jiang et al. 2020, eq. 32, "log_prod_of_spec").

    ``sum_i log ||W_i||_2^2``, the spectral norm of each reshaped kernel (largest singular value). Range
    ``(-inf, inf)``; a complexity (orientation -1).
    """
    return float(np.sum(np.log(np.square(_spectral_norms(weights)))))


def log_sum_of_spectral_norms(weights: Sequence[np.ndarray]) -> float:
    """Log sum of spectral norms in Jiang et al.'s balanced form (eq. 35, "log_sum_of_spec").

    ``log d + (1/d) sum_i log ||W_i||_2^2``, ``d`` the number of layers: the log of ``d (prod_i ||W_i||_2^2)^(1/d)``,
    the smallest sum of squared spectral norms over the rescalings of the layers that leave a ReLU network's function
    unchanged. Range ``(-inf, inf)``; a complexity (orientation -1).
    """
    d = len(_matrices(weights))
    return float(np.log(d) + log_product_of_spectral_norms(weights) / d)


def log_product_of_frobenius_norms(weights: Sequence[np.ndarray]) -> float:
    """Log product of squared Frobenius norms (Jiang et al. 2020, eq. 37, "log_prod_of_fro").

    ``sum_i log ||W_i||_F^2``. Range ``(-inf, inf)``; a complexity (orientation -1).
    """
    return float(sum(np.log(np.sum(np.square(w))) for w in _matrices(weights)))


def log_sum_of_frobenius_norms(weights: Sequence[np.ndarray]) -> float:
    """Log sum of Frobenius norms in Jiang et al.'s balanced form (eq. 39, "log_sum_of_fro").

    ``log d + (1/d) sum_i log ||W_i||_F^2``. Range ``(-inf, inf)``; a complexity (orientation -1).
    """
    d = len(_matrices(weights))
    return float(np.log(d) + log_product_of_frobenius_norms(weights) / d)


def spectral_distance(weights: Sequence[np.ndarray], initial: Sequence[np.ndarray]) -> float:
    """Sum of squared spectral distances to initialization (Jiang et al. 2020, eq. 41, "dist_spec_init").

    ``sum_i ||W_i - W_i^0||_2^2``. Range ``[0, inf)``; a complexity (orientation -1).
    """
    return float(np.sum(np.square(_spectral_norms(_differences(weights, initial)))))


def path_norm(model: Any, input_shape: Sequence[int]) -> float:
    """Path norm (Jiang et al. 2020, eq. 44, "path_norm"; Neyshabur et al. 2015).

    ``sum over input-output paths of prod of the squared weights on the path``, computed as ``sum_k f_{w^2}(1)_k``:
    the network with BN folded (see :func:`fold_batch_norm`), every parameter squared (the folded biases too, as the
    reference implementation does: a bias starts paths of its own) and dropout off, run on one all-ones input of
    ``input_shape``, its outputs summed. With squared weights every activation is non-negative, so ReLUs pass
    everything; convolutions sum over the paths through each kernel position (zero padding ends paths at the
    border) and average pooling weighs each path by ``1/area``, exactly the sum over paths; a max-pooling layer keeps
    the largest of its inputs' path sums, as in the reference implementation. Range ``[0, inf)``; a complexity
    (orientation -1).

    Parameters
    ----------
    model : torch.nn.Module
        The trained network (left unchanged).
    input_shape : sequence of int
        One input's shape, e.g. ``(channels, height, width)``.
    """
    import torch

    squared = fold_batch_norm(model).eval()
    with torch.no_grad():
        for parameter in squared.parameters():
            parameter.square_()
        device = next(squared.parameters()).device
        value = float(squared(torch.ones((1, *input_shape), device=device)).double().sum())
    if not np.isfinite(value):
        raise UndefinedMeasure(f"the path norm is {value} (non-finite weights: the run diverged)")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Margin-based measures
# ---------------------------------------------------------------------------------------------------------------


def output_margins(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each sample's output margin: its true class's logit minus the largest other logit (negative if misclassified).

    Parameters
    ----------
    outputs : ndarray of shape (n_samples, n_classes)
        Logits (the network in inference mode on the un-augmented training set).
    labels : ndarray of shape (n_samples,)
        True classes, integers in ``[0, n_classes)``.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    labels = np.asarray(labels)
    if outputs.ndim != 2 or outputs.shape[1] < 2 or labels.shape != (len(outputs),) or not len(outputs):
        raise ValueError(f"output_margins needs (n, >=2) logits and n labels, got {outputs.shape} and {labels.shape}")
    if labels.min() < 0 or labels.max() >= outputs.shape[1]:
        raise ValueError(f"labels must be in [0, {outputs.shape[1]}), got {labels.min()}..{labels.max()}")
    if not np.isfinite(outputs).all():
        raise UndefinedMeasure("non-finite outputs (the run diverged)")
    rows = np.arange(len(labels))
    true = outputs[rows, labels]
    others = outputs.copy()
    others[rows, labels] = -np.inf
    return true - others.max(axis=1)


def output_margin(outputs: np.ndarray, labels: np.ndarray) -> float:
    """The 10th-percentile output margin on the training set (Jiang et al. 2020, §C.2, the ``gamma`` of eq. 22, 31).

    ``gamma`` = the ``k``-th smallest of the samples' margins (:func:`output_margins`), ``k = max(1, floor(m/10))``
    for ``m`` samples, as the reference implementation's ``kthvalue(m // 10)``. Not made absolute: a network that
    misclassifies more than 10% of its training set has a negative margin. Range ``(-inf, inf)``; a score
    (orientation +1; Jiang et al. rank the complexity ``1/gamma^2``, the same order for positive margins).
    """
    margins = np.sort(output_margins(outputs, labels))
    return float(margins[max(1, len(margins) * MARGIN_PERCENTILE // 100) - 1])


def log_spectral_over_margin(weights: Sequence[np.ndarray], margin: float) -> float:
    """Log product of squared spectral norms over the squared margin (Jiang et al. 2020, eq. 31,
    "log_prod_of_spec_over_margin").

    ``sum_i log ||W_i||_2^2 - 2 log gamma``, ``gamma`` from :func:`output_margin`. Undefined (raises
    :class:`UndefinedMeasure`) when ``gamma <= 0``. Range ``(-inf, inf)``; a complexity (orientation -1).
    """
    return log_product_of_spectral_norms(weights) - 2 * _log_margin(margin)


def log_spectral_bound(weights: Sequence[np.ndarray], margin: float) -> float:
    """The spectral margin bound as Jiang et al. 2020 state it (eq. 30, "log_spec_orig_main"; Bartlett et al. 2017).

    ``log( prod_i ||W_i||_2^2 / gamma^2 * sum_i ||W_i||_F^2 / ||W_i||_2^2 )``. Undefined when ``gamma <= 0``.
    Range ``(-inf, inf)``; a complexity (orientation -1).
    """
    spectral = _spectral_norms(weights)
    frobenius = np.array([np.sum(np.square(w)) for w in _matrices(weights)])
    return log_spectral_over_margin(weights, margin) + float(np.log(np.sum(frobenius / np.square(spectral))))


# ---------------------------------------------------------------------------------------------------------------
# Optimization-based measures
# ---------------------------------------------------------------------------------------------------------------


def steps_to_cross_entropy(
    history: Sequence[Mapping[str, Any]],
    threshold: float = TARGET_CROSS_ENTROPY,
    count: Literal["steps", "epoch"] = "steps",
) -> float:
    """Optimizer steps (or epochs) until the training cross-entropy first reaches ``threshold`` (Jiang et al. 2020,
    §C.6, "#steps to reach cross-entropy 0.1").

    Read from the run's per-epoch history: the first epoch whose mean training cross-entropy (``train_loss``) is
    ``<= threshold``, and its cumulative ``steps`` (or its ``epoch``), so the resolution is one epoch. Undefined
    (raises :class:`UndefinedMeasure`) when the history lacks the record or the threshold was never reached. Range
    ``[1, inf)``; a complexity (orientation -1: slower optimization, lower test accuracy).
    """
    if count not in ("steps", "epoch"):
        raise ValueError(f"count must be 'steps' or 'epoch', got {count!r}")
    if not history:
        raise UndefinedMeasure("the run's history is empty")
    lacking = [key for key in ("train_loss", count) if key not in history[0]]
    if lacking:
        raise UndefinedMeasure(f"the run's history does not record {lacking} (metrics.json written by older code)")
    for record in history:
        if record["train_loss"] is not None and record["train_loss"] <= threshold:
            return float(record[count])
    raise UndefinedMeasure(f"training cross-entropy never reached {threshold:g} in {len(history)} epochs")


# ---------------------------------------------------------------------------------------------------------------
# Weights of a torch network
# ---------------------------------------------------------------------------------------------------------------


def fold_batch_norm(model: Any) -> Any:
    """A copy of ``model`` with every batch normalization folded into the convolution or linear layer before it.

    The kernel's output channel ``o`` is multiplied by ``s_o = gamma_o / sqrt(var_o + eps)`` (running statistics);
    the BN is left computing ``x + beta_o + s_o (b_o - mean_o)`` (``b`` the layer's bias, then zeroed): the copy
    computes the same function in inference mode. "Before" is the module registration order, which is the data
    flow for the models of :mod:`intraclass.models` (each BN right after its convolution).
    """
    from torch import nn

    folded = copy.deepcopy(model)
    kernel: nn.Module | None = None
    for name, module in folded.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            kernel = module
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            if kernel is None or kernel.weight.shape[0] != module.num_features:
                raise ValueError(f"batch normalization {name!r} does not follow a layer with its channel count")
            _fold(kernel, module)
            kernel = None
    return folded


def weight_layers(model: Any, initial: Any) -> WeightLayers:
    """The BN-folded kernels of ``model`` and of its initial network ``initial``, reshaped to (out, fan-in) float64
    matrices, in module order; the two networks must have the same layers."""
    from torch import nn

    def matrices(network: Any) -> tuple[list[str], list[np.ndarray]]:
        pairs = [
            (name, m.weight.detach().double().cpu().reshape(m.weight.shape[0], -1).numpy())
            for name, m in fold_batch_norm(network).named_modules()
            if isinstance(m, nn.Conv2d | nn.Linear)
        ]
        return [n for n, _ in pairs], [w for _, w in pairs]

    names, final = matrices(model)
    initial_names, start = matrices(initial)
    shapes, initial_shapes = [w.shape for w in final], [w.shape for w in start]
    if names != initial_names or shapes != initial_shapes:
        raise ValueError(f"the initial network's layers {initial_shapes} differ from the model's {shapes}")
    return WeightLayers(names, final, start)


def _fold(kernel: Any, bn: Any) -> None:
    import torch

    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = kernel.bias if kernel.bias is not None else torch.zeros_like(bn.running_mean)
        kernel.weight.mul_(scale.reshape(-1, *([1] * (kernel.weight.dim() - 1))))
        bn.bias.copy_(bn.bias + scale * (bias - bn.running_mean))
        if kernel.bias is not None:
            kernel.bias.zero_()
        bn.weight.fill_(1.0)
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)  # sqrt(var + eps) = 1: the BN adds its bias and nothing else


def _matrices(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    matrices = [np.asarray(w, dtype=np.float64) for w in weights]
    if not matrices or any(w.ndim != 2 or not w.size for w in matrices):
        raise ValueError(f"weights must be non-empty 2-D matrices, got shapes {[w.shape for w in matrices]}")
    if not all(np.isfinite(w).all() for w in matrices):
        raise UndefinedMeasure("non-finite weights (the run diverged)")
    return matrices


def _differences(weights: Sequence[np.ndarray], initial: Sequence[np.ndarray]) -> list[np.ndarray]:
    final, start = _matrices(weights), _matrices(initial)
    if [w.shape for w in final] != [w.shape for w in start]:
        raise ValueError(f"initial weights {[w.shape for w in start]} differ from weights {[w.shape for w in final]}")
    return [w - w0 for w, w0 in zip(final, start, strict=True)]


def _spectral_norms(weights: Sequence[np.ndarray]) -> np.ndarray:
    # the largest singular value from the smaller Gram matrix: eigvalsh of (out x out) is ~10x faster than an SVD of
    # (out x fan-in), and its float64 precision is ample for a norm
    grams = [w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w for w in _matrices(weights)]
    return np.sqrt(np.array([max(np.linalg.eigvalsh(g)[-1], 0.0) for g in grams]))


def _log_margin(margin: float) -> float:
    if not np.isfinite(margin) or margin <= 0:
        raise UndefinedMeasure(f"the 10th-percentile training margin is {margin:.4g}, not positive: no margin bound")
    return float(np.log(margin))
