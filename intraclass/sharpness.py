"""Sharpness baselines of §3.2: magnitude-aware 1/sigma', 1/sigma'', 1/alpha', 1/alpha'' (SPEC §7).

Each measure is a bisection for the largest perturbation scale at which the training accuracy, on a fixed seeded
subset of the training set, drops by ``target_drop`` (0.1) from the model's clean accuracy on that subset:

* **sigma** (random perturbation): every perturbed weight gets Gaussian noise with standard deviation
  ``sigma * (|w| + eps)``; the accuracy is the mean over ``mc_draws`` Monte Carlo draws.
* **alpha** (worst-case perturbation): the perturbation ``u`` is confined to the box
  ``|u| <= alpha * (|w| + eps)`` and found by projected gradient ascent on the training cross-entropy (clipped back
  into the box after every step); the accuracy is measured at the end of the ascent.

Variants (paper §3.2): **primed** (') perturbs every parameter (conv/linear weights and biases, BN weight and bias)
with batch normalisation in inference mode (running statistics); **double-primed** ('') perturbs only the kernels
(the ``weight`` of Conv/Linear modules) with batch normalisation using batch statistics, *without* updating its
running statistics. The reported values are ``1/sigma`` and ``1/alpha``: larger means sharper, i.e. a complexity.

Sources of the default constants (every field of :class:`SharpnessConfig` names its own):

* **[A]** the paper authors' published code, ``Simoncarbo/Intraclass-clustering-measures``, ``measures.py``:
  ``sharpness_random`` and ``sharpness_worstcase`` ("code adapted from NeurIPS 'predicting generalization in deep
  learning' competition starting kit", https://competitions.codalab.org/competitions/25301). This is what the paper's
  Tables 1-3 used, so it is the default wherever it fixes a constant.
* **[J]** Jiang et al. 2020, "Fantastic generalization measures and where to find them" (ICLR): target deviation
  0.1, magnitude-aware eps = 1e-3, and the TensorFlow ``sharpness_sigma(..., upper=5., lower=0., search_depth=20,
  mtc_iter=15, ascent_step=20, num_batch=10, deviat_eps=1e-2, bound_eps=5e-3)`` of the Jiang et al. / PGDL
  competition code, as reproduced in public ports (``google-research/google-research/pgdl`` itself publishes only
  the competition data and a README; the starting kit is on the Codalab page above).
* **[D]** Dziugaite et al. 2020, "In search of robust measures of generalization" (NeurIPS),
  ``nitarshan/robust-generalization-measures``, ``data/generation/measures.py::_pacbayes_sigma``: ``lower, upper = 0,
  2``, ``search_depth=15``, ``montecarlo_samples=10``, ``accuracy_displacement=0.1``, ``displacement_tolerance=1e-2``,
  ``mag_eps=1e-3``.

Deliberate differences from [A] (each one a config value or stated here):

* The subset is fixed and seeded (one subset for every estimate), not redrawn per estimate; the ascent also draws
  its minibatches from that subset.
* The target is *relative*: a drop of 0.1 from the clean accuracy on the subset in the same BN mode ([A] uses an
  absolute 0.9, i.e. assumes 100% clean accuracy; [J] and [D] are relative). The drop is signed (an accuracy *gain*
  is no drop), where [J]/[D] take an absolute deviation.
* alpha': the ascent runs with BN in inference mode too ([A] ran Keras ``fit``, whose BN uses batch statistics
  during the ascent and updates the moving averages).
* Common random numbers (``common_random_numbers``): the same standard-normal draws are rescaled at every bisection
  step (and the same ascent minibatch sequence is replayed), so accuracy is a smooth function of the scale and the
  bisection does not chase Monte Carlo noise. [A]/[J]/[D] redraw at every step (set the flag to False).

Speed: the cost is forward passes over the subset. Perturbed parameters are fed through
:func:`torch.func.functional_call` (the model is never copied and its parameters are never written), several
Monte Carlo draws can share one forward with :func:`torch.func.vmap` (``parallel_draws``; the default picks it on
CUDA, where it amortises kernel launches, and one draw at a time on CPU, where vmap turns convolutions into grouped
convolutions that are slower than separate ones), and with ``early_decision`` each bisection step stops evaluating
as soon as the data left cannot change which half of the interval is kept (exact: the same bisection path and the
same reported values as a full evaluation).

Guarantees: dropout is off throughout; parameters, BN buffers (including ``num_batches_tracked``), every module's
train/eval flag and BN's ``track_running_stats`` are restored bit-for-bit afterwards, also when an exception is
raised; the global RNG is not used (explicit :class:`torch.Generator` objects only). Same inputs, config and
device give identical values (on CUDA, provided its kernels are deterministic).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn.modules.batchnorm import _BatchNorm

MEASURES: tuple[str, ...] = ("sigma_p", "sigma_pp", "alpha_p", "alpha_pp")
"""Measure names: ``_p`` is primed ('), ``_pp`` double-primed ('')."""

VARIANTS: tuple[str, ...] = ("p", "pp")
ASCENT_METHODS: tuple[str, ...] = ("gradient", "sign")
KERNEL_MODULES: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

# Offsets that give each random stream its own seed (subset selection, noise draws, ascent minibatches).
_SUBSET_STREAM, _NOISE_STREAM, _ASCENT_STREAM = 0, 1, 2
# Early decisions leave this much room so float rounding can never make them disagree with a full evaluation.
_DECISION_MARGIN = 1e-9


@dataclass(frozen=True)
class SharpnessConfig:
    """Every constant of the sharpness measures, with its default and where the default comes from.

    [A] = authors' ``measures.py`` (``sharpness_random`` / ``sharpness_worstcase``), [J] = Jiang et al. 2020
    reference listing, [D] = Dziugaite et al. 2020 ``_pacbayes_sigma``; see the module docstring.
    """

    target_drop: float = 0.1
    """Accuracy drop the bisection aims at. [A] ``target_accuracy = 0.9``; [J] target deviation 0.1; [D]
    ``accuracy_displacement=0.1``."""
    magnitude_eps: float = 1e-3
    """eps in the magnitude-aware scale ``|w| + eps``. [A] ``epsilon_weight_scale=1e-3``; [J] eps = 1e-3; [D]
    ``mag_eps = 1e-3``."""
    sigma_lower: float = 0.0
    """Lower end of the bisection interval for sigma. [A] ``l = 0``; [D] ``lower = 0``; [J] ``lower=0.``."""
    sigma_upper: float = 2.0
    """Upper end for sigma. [A] ``h = 2.0``; [D] ``upper = 2`` ([J]: 5)."""
    alpha_lower: float = 0.0
    """Lower end for alpha. [A] ``l = 0`` in ``sharpness_worstcase``."""
    alpha_upper: float = 0.25
    """Upper end for alpha. [A] ``h = .25`` in ``sharpness_worstcase``."""
    bisection_iterations: int = 20
    """Maximum bisection steps (search depth). [A] ``range(20)``; [J] ``search_depth=20`` ([D]: 15)."""
    accuracy_tolerance: float = 5e-3
    """Stop when ``|drop - target_drop|`` is below this. [A] ``abs(accuracy - target_accuracy) < 5e-3`` ([J], [D]:
    1e-2)."""
    min_interval_width: float = 1e-5
    """Stop when the bisection interval is narrower than this. [A] ``h - l < 1e-5`` ([J]: ``bound_eps=5e-3``)."""
    mc_draws: int = 10
    """Monte Carlo draws per sigma estimate. [A] ``nb_samplings = 10``; [D] ``montecarlo_samples=10`` ([J]: 15)."""
    common_random_numbers: bool = True
    """Reuse the same standard-normal draws (and ascent minibatch order) at every bisection step. This project's
    choice (variance reduction); [A]/[J]/[D] redraw at each step."""
    subset_size: int = 5000
    """Training images used (a fixed seeded subset; all of them if fewer). [A] ``data_subset = .1`` of the
    training set, i.e. 5,000 of CIFAR's 50,000."""
    eval_batch_size: int = 300
    """Images per forward when measuring accuracy; with batch statistics ('') it is also the BN batch. [A]
    ``batch_size = 300`` in ``sharpness_random``. Batches are near-equal splits of the subset (no tiny last batch)."""
    parallel_draws: int = 0
    """Monte Carlo draws evaluated in one vmapped forward; 0 = automatic (all draws on CUDA, 1 on CPU).
    Implementation detail, no source: memory grows linearly with it."""
    early_decision: bool = True
    """Stop evaluating a bisection step once the remaining data cannot change its decision (exact). This project's
    choice."""
    ascent_method: str = "gradient"
    """``"gradient"``: SGD steps ``u += lr * grad`` ([A]: Keras ``SGD(lr)`` on the negated cross-entropy);
    ``"sign"``: PGD steps ``u += ascent_sign_step * alpha * (|w| + eps) * sign(grad)`` (Madry et al. 2018)."""
    ascent_steps: int = 250
    """Projected ascent steps per alpha estimate. [A] ``epochs = 5`` x ``steps_per_epoch=50`` ([J]:
    ``ascent_step=20``)."""
    ascent_lr: float = 1.0
    """Learning rate of the gradient ascent. [A] ``lr = 1.``."""
    ascent_sign_step: float = 0.01
    """Sign-ascent step as a fraction of the box half-width. 2.5 / 250 steps, Madry et al.'s PGD rule
    (step = 2.5 * radius / steps); only used with ``ascent_method="sign"``."""
    ascent_lr_decay_step: int = 150
    """Step from which the ascent rate is multiplied by ``ascent_lr_decay_factor``. [A]
    ``LearningRateScheduler(lr_schedule(lr, 0.1, [3]))``: from epoch 3 of 5, i.e. step 150 of 250."""
    ascent_lr_decay_factor: float = 0.1
    """Ascent rate multiplier from ``ascent_lr_decay_step`` on. [A] ``lr_schedule(lr, 0.1, [3])``."""
    ascent_batch_size: int = 128
    """Minibatch size of the ascent (drawn from the subset, reshuffled every pass). [A] ``batch_size = 128``."""
    ascent_check_every: int = 50
    """Steps between checks of the ascent's early stop. [A] ``StoppingCriteria`` runs at each epoch end (50
    steps)."""
    ascent_stop_drop: float | None = 0.3
    """End the ascent early once its running minibatch accuracy is this far below the clean accuracy (the step is
    then certainly 'too much'); None disables it. [A] ``StoppingCriteria(0.7)`` = 0.3 below a perfect model."""
    seed: int = 0
    """Seed of the subset choice, the noise draws and the ascent minibatch order."""

    def __post_init__(self) -> None:
        def fail(name: str, requirement: str) -> None:
            raise ValueError(f"SharpnessConfig.{name} must be {requirement}, got {getattr(self, name)!r}")

        def is_int(name: str) -> bool:
            value = getattr(self, name)
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

        def is_real(name: str) -> bool:
            value = getattr(self, name)
            return (
                isinstance(value, (int, float, np.integer, np.floating))
                and not isinstance(value, bool)
                and math.isfinite(float(value))
            )

        for name in ("target_drop", "accuracy_tolerance"):
            if not is_real(name) or not 0.0 < getattr(self, name) < 1.0:
                fail(name, "a number in (0, 1)")
        for name in ("magnitude_eps", "min_interval_width", "ascent_lr", "ascent_sign_step", "ascent_lr_decay_factor"):
            if not is_real(name) or getattr(self, name) <= 0.0:
                fail(name, "a finite number > 0")
        for low, high in (("sigma_lower", "sigma_upper"), ("alpha_lower", "alpha_upper")):
            if not is_real(low) or getattr(self, low) < 0.0:
                fail(low, "a finite number >= 0")
            if not is_real(high) or getattr(self, high) <= getattr(self, low):
                fail(high, f"a finite number > {low} ({getattr(self, low)!r})")
        for name in (
            "bisection_iterations",
            "mc_draws",
            "subset_size",
            "eval_batch_size",
            "ascent_steps",
            "ascent_batch_size",
            "ascent_check_every",
        ):
            if not is_int(name) or getattr(self, name) < 1:
                fail(name, "an integer >= 1")
        if self.eval_batch_size < 2:
            fail("eval_batch_size", "an integer >= 2 (batch statistics need two samples)")
        if self.ascent_batch_size < 2:
            fail("ascent_batch_size", "an integer >= 2 (batch statistics need two samples)")
        if self.subset_size < 2:
            fail("subset_size", "an integer >= 2")
        for name in ("parallel_draws", "ascent_lr_decay_step", "seed"):
            if not is_int(name) or getattr(self, name) < 0:
                fail(name, "an integer >= 0")
        for name in ("common_random_numbers", "early_decision"):
            if not isinstance(getattr(self, name), bool):
                fail(name, "a bool")
        if self.ascent_method not in ASCENT_METHODS:
            fail("ascent_method", f"one of {ASCENT_METHODS}")
        if self.ascent_stop_drop is not None and (
            not is_real("ascent_stop_drop") or not 0.0 < self.ascent_stop_drop <= 1.0
        ):
            fail("ascent_stop_drop", "None or a number in (0, 1]")

    def bounds(self, kind: str) -> tuple[float, float]:
        """The bisection interval ``(lower, upper)`` for ``kind`` = ``"sigma"`` or ``"alpha"``."""
        if kind == "sigma":
            return float(self.sigma_lower), float(self.sigma_upper)
        if kind == "alpha":
            return float(self.alpha_lower), float(self.alpha_upper)
        raise ValueError(f"kind must be 'sigma' or 'alpha', got {kind!r}")


@dataclass(frozen=True)
class BisectionResult:
    """Outcome of :func:`bisect_scale`.

    ``scale`` is the last midpoint evaluated, ``value`` the function's value there, ``(lower, upper)`` the final
    interval, ``stop_reason`` one of ``"tolerance"`` (value within tolerance of the target), ``"width"`` (interval
    narrower than ``min_width``) or ``"max_iterations"``.
    """

    scale: float
    lower: float
    upper: float
    value: float
    iterations: int
    stop_reason: str

    @property
    def converged(self) -> bool:
        """Whether the target was reached within tolerance."""
        return self.stop_reason == "tolerance"


def bisect_scale(
    evaluate: Callable[[float], float],
    *,
    lower: float,
    upper: float,
    target: float,
    tolerance: float,
    min_width: float,
    max_iterations: int,
) -> BisectionResult:
    """Bisection for the scale at which a non-decreasing ``evaluate`` reaches ``target``.

    The loop of [A] ``sharpness_random`` / [J] ``sharpness_sigma``: evaluate at the midpoint ``m``; stop if the value
    is within ``tolerance`` of ``target`` or the interval is narrower than ``min_width``; otherwise keep the upper
    half if the value is below the target and the lower half if it is above.
    """
    for name, value in (("lower", lower), ("upper", upper), ("tolerance", tolerance), ("min_width", min_width)):
        if not math.isfinite(value):
            raise ValueError(f"bisect_scale: {name} must be finite, got {value!r}")
    if upper <= lower:
        raise ValueError(f"bisect_scale: upper ({upper!r}) must exceed lower ({lower!r})")
    if tolerance <= 0 or min_width <= 0:
        raise ValueError(f"bisect_scale: tolerance ({tolerance!r}) and min_width ({min_width!r}) must be > 0")
    if max_iterations < 1:
        raise ValueError(f"bisect_scale: max_iterations must be >= 1, got {max_iterations!r}")
    low, high = float(lower), float(upper)
    scale, value, reason = (low + high) / 2.0, math.nan, "max_iterations"
    for iteration in range(1, max_iterations + 1):  # noqa: B007 (the count is returned)
        scale = (low + high) / 2.0
        value = float(evaluate(scale))
        if abs(value - target) < tolerance:
            reason = "tolerance"
            break
        if high - low < min_width:
            reason = "width"
            break
        if value > target:
            high = scale
        else:
            low = scale
    return BisectionResult(scale, low, high, value, iteration, reason)


def perturbed_parameter_names(model: nn.Module, variant: str) -> list[str]:
    """Names of the parameters a variant perturbs.

    ``"p"`` (primed): every parameter. ``"pp"`` (double-primed): the ``weight`` of every Conv1d/2d/3d and Linear
    module (the kernels; [A] ``kernel_only``), no biases and no BN parameters.
    """
    if variant == "p":
        return [name for name, _ in model.named_parameters()]
    if variant == "pp":
        kernels = {
            id(module.weight)
            for module in model.modules()
            if isinstance(module, KERNEL_MODULES) and isinstance(getattr(module, "weight", None), nn.Parameter)
        }
        return [name for name, param in model.named_parameters() if id(param) in kernels]
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


# ---------------------------------------------------------------------------------------------------------------
# State handling
# ---------------------------------------------------------------------------------------------------------------


@contextmanager
def preserved_state(model: nn.Module) -> Iterator[Callable[[], list[str]]]:
    """Restore parameters, buffers, train/eval flags and BN ``track_running_stats`` on exit, also on error.

    Yields a function listing the ``state_dict`` entries that currently differ from the saved ones (the measures
    never write the model, so it should return ``[]``; restoring is the safety net).
    """
    flags = [(module, module.training) for module in model.modules()]
    tracking = [(module, module.track_running_stats) for module in model.modules() if isinstance(module, _BatchNorm)]
    saved = {key: value.detach().clone() for key, value in model.state_dict().items()}

    def changed() -> list[str]:
        current = model.state_dict()
        return [key for key, value in saved.items() if not torch.equal(current[key], value)]

    try:
        yield changed
    finally:
        for module, training in flags:
            module.training = training
        for module, track in tracking:
            module.track_running_stats = track
        with torch.no_grad():
            current = model.state_dict()
            for key, value in saved.items():
                current[key].copy_(value)


def set_measurement_mode(model: nn.Module, batch_stats: bool) -> None:
    """Dropout (and everything else) in eval mode; BN in inference mode, or in batch-statistics mode.

    Batch-statistics mode puts BN modules in training mode with ``track_running_stats = False``: BN then normalises
    with the batch's own statistics and neither its running statistics nor ``num_batches_tracked`` are touched
    (PyTorch passes no running buffers to ``F.batch_norm`` in that case). Call inside :func:`preserved_state`.
    """
    model.eval()
    if batch_stats:
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.train()
                module.track_running_stats = False


# ---------------------------------------------------------------------------------------------------------------
# Evaluation machinery
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Context:
    """A validated model and training subset, ready for perturbed evaluations."""

    model: nn.Module
    config: SharpnessConfig
    device: torch.device
    weights: dict[str, Tensor]  # detached views of the live parameters (never written)
    x: Tensor  # the subset, on the model's device
    y: Tensor
    batches: list[tuple[Tensor, Tensor]]  # near-equal evaluation batches (views of x, y)
    parallel_draws: int
    images_forwarded: int = 0  # work counter: images passed through the network (per parameter set)

    @property
    def size(self) -> int:
        return int(self.y.shape[0])

    def base(self, names: Sequence[str]) -> dict[str, Tensor]:
        """Magnitude-aware scale ``|w| + eps`` per perturbed tensor."""
        return {name: self.weights[name].abs() + self.config.magnitude_eps for name in names}


def _device_of(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for param in model.parameters():
        return param.device, param.dtype
    raise ValueError(f"model {type(model).__name__} has no parameters to perturb")


def _subset_indices(n: int, config: SharpnessConfig) -> Tensor:
    """The fixed seeded subset: the first ``subset_size`` entries of a seeded permutation (CPU, so device-free)."""
    generator = torch.Generator().manual_seed(config.seed + _SUBSET_STREAM)
    return torch.randperm(n, generator=generator)[: min(n, config.subset_size)]


def _prepare(model: nn.Module, x: Any, y: Any, config: SharpnessConfig) -> _Context:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(config, SharpnessConfig):
        raise TypeError(f"config must be a SharpnessConfig, got {type(config).__name__}")
    device, dtype = _device_of(model)
    x = torch.as_tensor(x)
    y = torch.as_tensor(y)
    if not x.is_floating_point():
        raise ValueError(f"x must hold floating-point inputs, got dtype {x.dtype}")
    if x.dim() < 2:
        raise ValueError(f"x must have a batch dimension and at least one more, got shape {tuple(x.shape)}")
    if y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"y must be a 1-D tensor of integer class labels, got shape {tuple(y.shape)} dtype {y.dtype}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y disagree on the number of samples: {x.shape[0]} != {y.shape[0]}")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 training samples, got {x.shape[0]}")
    if int(y.min()) < 0:
        raise ValueError(f"y must hold class indices >= 0, got a minimum of {int(y.min())}")
    index = _subset_indices(int(x.shape[0]), config)
    xs = x[index].to(device=device, dtype=dtype)
    ys = y[index].to(device=device, dtype=torch.long)
    n_batches = math.ceil(len(index) / config.eval_batch_size)
    batches = list(zip(torch.tensor_split(xs, n_batches), torch.tensor_split(ys, n_batches), strict=False))
    if n_batches > 1 and min(len(b[1]) for b in batches) < 2:  # pragma: no cover - impossible with near-equal splits
        raise ValueError("an evaluation batch holds fewer than 2 samples")
    weights = {name: param.detach() for name, param in model.named_parameters()}
    parallel = config.parallel_draws or (config.mc_draws if device.type == "cuda" else 1)
    return _Context(model, config, device, weights, xs, ys, batches, max(1, min(parallel, config.mc_draws)))


def _forward(ctx: _Context, params: Mapping[str, Tensor], xb: Tensor) -> Tensor:
    return functional_call(ctx.model, dict(params), (xb,))


def _check_labels(ctx: _Context, logits: Tensor) -> None:
    classes = logits.shape[-1]
    if int(ctx.y.max()) >= classes:
        raise ValueError(f"y holds label {int(ctx.y.max())} but the model outputs only {classes} classes")


def _accuracy(
    ctx: _Context,
    make_params: Callable[[int, int], dict[str, Tensor]],
    num_sets: int,
    parallel: int,
    band: tuple[float, float, float] | None,
) -> tuple[float, bool]:
    """Mean accuracy on the subset over ``num_sets`` parameter sets; ``(accuracy, exact)``.

    ``make_params(start, stop)`` returns the overrides for sets ``start..stop-1``: unbatched tensors when
    ``stop - start == 1`` and ``parallel == 1``, otherwise stacked along a leading dimension (evaluated with vmap).
    Evaluation is batch-major (every set sees batch b before any sees batch b+1), so partial counts are spread over
    the sets. With ``band = (clean, target, tolerance)`` it checks after every forward and stops as soon as the drop
    ``clean - accuracy`` is certainly at least ``target + tolerance`` or at most ``target - tolerance`` (whatever
    the unevaluated (sample, set) pairs turn out to be) and returns the bound nearest the band (``exact`` False): a
    bisection step then takes the same decision as with the full evaluation.
    """
    total, correct, done = ctx.size * num_sets, 0, 0  # done: (sample, set) pairs evaluated so far
    batched = vmap(lambda p, xb: _forward(ctx, p, xb), in_dims=(0, None)) if parallel > 1 else None
    with torch.inference_mode():
        for xb, yb in ctx.batches:
            for start in range(0, num_sets, parallel):
                stop = min(num_sets, start + parallel)
                if batched is None:
                    logits = _forward(ctx, make_params(start, stop), xb)
                else:
                    logits = batched(make_params(start, stop), xb)
                correct += int((logits.argmax(dim=-1) == yb).sum())
                done += int(yb.shape[0]) * (stop - start)
                ctx.images_forwarded += int(yb.shape[0]) * (stop - start)
                if band is not None and done < total:
                    # Every pair not yet evaluated could still be right or wrong.
                    clean, target, tolerance = band
                    low, high = correct / total, (correct + total - done) / total
                    if clean - high >= target + tolerance + _DECISION_MARGIN:
                        return high, False
                    if clean - low <= target - tolerance - _DECISION_MARGIN:
                        return low, False
    return correct / total, True


def _clean_accuracy(ctx: _Context, batch_stats: bool) -> float:
    set_measurement_mode(ctx.model, batch_stats)
    with torch.inference_mode():
        _check_labels(ctx, _forward(ctx, {}, ctx.batches[0][0]))
    accuracy, _ = _accuracy(ctx, lambda start, stop: {}, 1, 1, None)
    return accuracy


def standard_normal_draws(
    weights: Mapping[str, Tensor], names: Sequence[str], draws: int, generator: torch.Generator
) -> dict[str, Tensor]:
    """``draws`` standard-normal tensors per name, stacked on a leading axis.

    Generated draw by draw, and within a draw name by name, with ``torch.randn(shape, generator=...)``: a loop that
    draws in that order reproduces them exactly.
    """
    out = {
        name: torch.empty((draws, *weights[name].shape), dtype=weights[name].dtype, device=weights[name].device)
        for name in names
    }
    for draw in range(draws):
        for name in names:
            w = weights[name]
            out[name][draw] = torch.randn(w.shape, generator=generator, dtype=w.dtype, device=w.device)
    return out


def _noise_generator(ctx: _Context) -> torch.Generator:
    return torch.Generator(device=ctx.device).manual_seed(ctx.config.seed + _NOISE_STREAM)


def _noise_accuracy(
    ctx: _Context,
    names: Sequence[str],
    base: Mapping[str, Tensor],
    sigma: float,
    normals: Mapping[str, Tensor],
    band: tuple[float, float, float] | None,
) -> tuple[float, bool]:
    """Mean accuracy over the draws ``w + sigma * (|w| + eps) * z`` (one z per draw in ``normals``)."""
    draws = next(iter(normals.values())).shape[0] if normals else ctx.config.mc_draws
    parallel = min(ctx.parallel_draws, draws)

    def make_params(start: int, stop: int) -> dict[str, Tensor]:
        if parallel == 1 and stop - start == 1:
            return {k: ctx.weights[k] + sigma * base[k] * normals[k][start] for k in names}
        return {k: ctx.weights[k] + sigma * base[k] * normals[k][start:stop] for k in names}

    return _accuracy(ctx, make_params, draws, parallel, band)


class _MinibatchStream:
    """Seeded minibatches of the subset: reshuffled passes, fixed batch size, remainder dropped."""

    def __init__(self, ctx: _Context, seed: int) -> None:
        self.ctx = ctx
        self.size = min(ctx.config.ascent_batch_size, ctx.size)
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.empty(0, dtype=torch.long)
        self.position = 0

    def next(self) -> tuple[Tensor, Tensor]:
        if self.position + self.size > len(self.order):
            self.order = torch.randperm(self.ctx.size, generator=self.generator)
            self.position = 0
        index = self.order[self.position : self.position + self.size].to(self.ctx.device)
        self.position += self.size
        return self.ctx.x[index], self.ctx.y[index]


def _ascend(
    ctx: _Context,
    names: Sequence[str],
    base: Mapping[str, Tensor],
    alpha: float,
    stream: _MinibatchStream,
    clean: float,
) -> dict[str, Tensor]:
    """Projected ascent on the training cross-entropy inside ``|u| <= alpha * (|w| + eps)``; returns ``u``."""
    cfg = ctx.config
    bound = {k: alpha * base[k] for k in names}
    u = {k: torch.zeros_like(ctx.weights[k]) for k in names}
    window_hits, window_seen = 0, 0
    for step in range(cfg.ascent_steps):
        rate = cfg.ascent_lr if cfg.ascent_method == "gradient" else cfg.ascent_sign_step
        if step >= cfg.ascent_lr_decay_step:
            rate *= cfg.ascent_lr_decay_factor
        xb, yb = stream.next()
        with torch.enable_grad():
            leaves = {k: u[k].requires_grad_(True) for k in names}
            # Every parameter is passed (detached), so autograd only tracks the perturbation.
            logits = _forward(ctx, {**ctx.weights, **{k: ctx.weights[k] + leaves[k] for k in names}}, xb)
            loss = F.cross_entropy(logits, yb)
            grads = torch.autograd.grad(loss, [leaves[k] for k in names], allow_unused=True)
        with torch.no_grad():
            for k, grad in zip(names, grads, strict=False):
                step_u = u[k].detach()
                if grad is not None:
                    if cfg.ascent_method == "gradient":
                        step_u = step_u + rate * grad
                    else:
                        step_u = step_u + rate * bound[k] * grad.sign()
                u[k] = torch.clamp(step_u, min=-bound[k], max=bound[k])
            ctx.images_forwarded += int(yb.shape[0])
            window_hits += int((logits.detach().argmax(dim=-1) == yb).sum())
            window_seen += int(yb.shape[0])
        if (step + 1) % cfg.ascent_check_every == 0:
            if cfg.ascent_stop_drop is not None and clean - window_hits / window_seen >= cfg.ascent_stop_drop:
                break
            window_hits, window_seen = 0, 0
    return {k: v.detach() for k, v in u.items()}


def _worst_case_accuracy(
    ctx: _Context,
    names: Sequence[str],
    base: Mapping[str, Tensor],
    alpha: float,
    stream: _MinibatchStream,
    clean: float,
    band: tuple[float, float, float] | None,
) -> tuple[float, bool]:
    u = _ascend(ctx, names, base, alpha, stream, clean)
    params = {k: ctx.weights[k] + u[k] for k in names}
    return _accuracy(ctx, lambda start, stop: params, 1, 1, band)


# ---------------------------------------------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------------------------------------------


def _names_for(ctx: _Context, variant: str) -> list[str]:
    names = perturbed_parameter_names(ctx.model, variant)
    if not names:
        raise ValueError(
            f"variant {variant!r} perturbs nothing in {type(ctx.model).__name__}: it has no Conv/Linear kernels"
        )
    return names


def _measure(ctx: _Context, kind: str, variant: str, clean: float) -> dict[str, Any]:
    """Bisection for one measure; BN mode must already be set."""
    cfg = ctx.config
    names = _names_for(ctx, variant)
    base = ctx.base(names)
    band = (clean, cfg.target_drop, cfg.accuracy_tolerance) if cfg.early_decision else None
    last: dict[str, Any] = {}

    if kind == "sigma":
        generator = _noise_generator(ctx)
        shared = (
            standard_normal_draws(ctx.weights, names, cfg.mc_draws, generator) if cfg.common_random_numbers else None
        )

        def evaluate(scale: float, window: tuple[float, float, float] | None = band) -> float:
            normals = (
                shared if shared is not None else standard_normal_draws(ctx.weights, names, cfg.mc_draws, generator)
            )
            accuracy, exact = _noise_accuracy(ctx, names, base, scale, normals, window)
            last.update(scale=scale, accuracy=accuracy, exact=exact, normals=normals)
            return clean - accuracy

        def redo(scale: float) -> float:
            return _noise_accuracy(ctx, names, base, scale, last["normals"], None)[0]
    else:
        stream = _MinibatchStream(ctx, cfg.seed + _ASCENT_STREAM)

        def evaluate(scale: float, window: tuple[float, float, float] | None = band) -> float:
            nonlocal stream
            if cfg.common_random_numbers:
                stream = _MinibatchStream(ctx, cfg.seed + _ASCENT_STREAM)
            state = (stream.generator.get_state(), stream.order, stream.position)
            accuracy, exact = _worst_case_accuracy(ctx, names, base, scale, stream, clean, window)
            last.update(scale=scale, accuracy=accuracy, exact=exact, stream_state=state)
            return clean - accuracy

        def redo(scale: float) -> float:
            replay = _MinibatchStream(ctx, cfg.seed + _ASCENT_STREAM)
            generator_state, replay.order, replay.position = last["stream_state"]
            replay.generator.set_state(generator_state)
            return _worst_case_accuracy(ctx, names, base, scale, replay, clean, None)[0]

    lower, upper = cfg.bounds(kind)
    started, work = time.perf_counter(), ctx.images_forwarded
    result = bisect_scale(
        evaluate,
        lower=lower,
        upper=upper,
        target=cfg.target_drop,
        tolerance=cfg.accuracy_tolerance,
        min_width=cfg.min_interval_width,
        max_iterations=cfg.bisection_iterations,
    )
    accuracy = last["accuracy"] if last["exact"] else redo(result.scale)
    return {
        "scale": result.scale,
        "interval": (result.lower, result.upper),
        "accuracy": accuracy,
        "clean_accuracy": clean,
        "drop": clean - accuracy,
        "iterations": result.iterations,
        "stop_reason": result.stop_reason,
        "converged": result.converged,
        "perturbed_tensors": len(names),
        "perturbed_parameters": int(sum(ctx.weights[k].numel() for k in names)),
        "images_forwarded": ctx.images_forwarded - work,
        "wall_time_s": time.perf_counter() - started,
    }


def sharpness_measures(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    config: SharpnessConfig | None = None,
    measures: Sequence[str] = MEASURES,
) -> dict[str, Any]:
    """The magnitude-aware sharpness measures 1/sigma', 1/sigma'', 1/alpha', 1/alpha'' of a trained model.

    Args:
        model: a classifier ``x -> logits``; it runs on the device of its parameters (the subset is moved there).
        x: training inputs (N, ...) float; only a fixed seeded subset of ``config.subset_size`` is used.
        y: training labels (N,) integer.
        config: constants, :class:`SharpnessConfig` defaults if None.
        measures: which of ``MEASURES`` to compute (all by default).

    Returns:
        ``inv_sigma_p``, ``inv_sigma_pp``, ``inv_alpha_p``, ``inv_alpha_pp`` (for the measures asked for);
        ``clean_accuracy`` (BN inference mode) and ``clean_accuracy_batch_stats`` on the subset; ``subset_size``;
        ``wall_time_s``; ``device``; ``config`` (as a dict); ``state_untouched`` (True when no parameter or
        buffer, ``num_batches_tracked`` included, changed while measuring); and ``details[measure]`` with the scale
        found, the final
        bisection ``interval``, the ``accuracy`` reached there and its ``drop``, ``iterations``, ``stop_reason``
        (``"tolerance"``, ``"width"`` or ``"max_iterations"``; the latter two usually mean the target drop is not
        reachable inside the bounds, and the value is then a bound), ``images_forwarded`` (work: images passed
        through the network, one count per parameter set; ascent steps count their minibatch) and the measure's
        wall time. The top-level ``images_forwarded`` adds the clean-accuracy passes.

    The model's parameters, buffers and train/eval flags are left exactly as they were.
    """
    config = SharpnessConfig() if config is None else config
    unknown = [m for m in measures if m not in MEASURES]
    if unknown or not measures:
        raise ValueError(f"measures must be a non-empty subset of {MEASURES}, got {list(measures)!r}")
    started = time.perf_counter()
    with preserved_state(model) as changed:
        ctx = _prepare(model, x, y, config)
        out: dict[str, Any] = {}
        clean = {"p": _clean_accuracy(ctx, batch_stats=False), "pp": _clean_accuracy(ctx, batch_stats=True)}
        details: dict[str, dict[str, Any]] = {}
        for measure in MEASURES:
            if measure not in measures:
                continue
            kind, variant = measure.split("_")
            set_measurement_mode(model, batch_stats=variant == "pp")
            details[measure] = _measure(ctx, kind, variant, clean[variant])
            out[f"inv_{measure}"] = 1.0 / details[measure]["scale"]
        out.update(
            clean_accuracy=clean["p"],
            clean_accuracy_batch_stats=clean["pp"],
            subset_size=ctx.size,
            wall_time_s=time.perf_counter() - started,
            device=str(ctx.device),
            config=asdict(config),
            details=details,
            images_forwarded=ctx.images_forwarded,
            state_untouched=not changed(),
        )
    return out


def accuracy_under_noise(
    model: nn.Module, x: Tensor, y: Tensor, sigma: float, config: SharpnessConfig | None = None, variant: str = "p"
) -> float:
    """Mean subset accuracy over ``config.mc_draws`` draws of noise with std ``sigma * (|w| + eps)`` (full eval).

    Uses the same subset, draws and BN mode as the sigma measure of ``variant`` (``"p"`` or ``"pp"``).
    """
    config = SharpnessConfig() if config is None else config
    _check_scale("sigma", sigma)
    with preserved_state(model):
        ctx = _prepare(model, x, y, config)
        names = _names_for(ctx, variant)
        set_measurement_mode(model, batch_stats=variant == "pp")
        normals = standard_normal_draws(ctx.weights, names, config.mc_draws, _noise_generator(ctx))
        return _noise_accuracy(ctx, names, ctx.base(names), float(sigma), normals, None)[0]


def accuracy_under_worst_case(
    model: nn.Module, x: Tensor, y: Tensor, alpha: float, config: SharpnessConfig | None = None, variant: str = "p"
) -> float:
    """Subset accuracy after the projected ascent inside ``|u| <= alpha * (|w| + eps)`` (full eval).

    Uses the same subset, minibatch stream and BN mode as the alpha measure of ``variant`` (``"p"`` or ``"pp"``).
    """
    config = SharpnessConfig() if config is None else config
    _check_scale("alpha", alpha)
    with preserved_state(model):
        ctx = _prepare(model, x, y, config)
        names = _names_for(ctx, variant)
        clean = _clean_accuracy(ctx, batch_stats=variant == "pp")
        set_measurement_mode(model, batch_stats=variant == "pp")
        stream = _MinibatchStream(ctx, config.seed + _ASCENT_STREAM)
        return _worst_case_accuracy(ctx, names, ctx.base(names), float(alpha), stream, clean, None)[0]


def _check_scale(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
