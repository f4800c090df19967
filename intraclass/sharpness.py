"""Sharpness baselines of §3.2: magnitude-aware 1/sigma', 1/sigma'', 1/alpha', 1/alpha'' (SPEC §7).

Each measure is the largest perturbation scale at which the training accuracy, on a fixed seeded subset of the
training set, drops by ``target_drop`` (0.1) from the model's clean accuracy on that subset:

* **sigma** (random perturbation): every perturbed weight gets Gaussian noise with standard deviation
  ``sigma * (|w| + eps)``; the accuracy is the mean over ``mc_draws`` Monte Carlo draws.
* **alpha** (worst-case perturbation): the perturbation ``u`` is confined to the box
  ``|u| <= alpha * (|w| + eps)`` and found by projected gradient ascent on the training cross-entropy (clipped back
  into the box after every step); the accuracy is measured at the end of the ascent.

Variants (paper §3.2): **primed** (') perturbs every parameter (conv/linear weights and biases, BN weight and bias)
with batch normalisation in inference mode (running statistics); **double-primed** ('') perturbs only the kernels
(the ``weight`` of Conv/Linear modules) with batch normalisation using batch statistics, *without* updating its
running statistics. The reported values are ``1/sigma`` and ``1/alpha``: larger means sharper, i.e. a complexity.

The search (:func:`search_scale`) brackets the target, then bisects. Scale 0 is the unperturbed model (drop 0). The
drop is evaluated at ``sigma_start`` / ``alpha_start`` ([A]'s upper end ``h``); while it is below the target the
scale is multiplied by ``bracket_growth``, while it is above the scale is divided by it, at most
``max_bracket_steps`` times; the bisection then runs inside the last two scales (or inside ``[0, scale]``). With
the default growth of 2 and a target inside ``[0, h]`` the midpoints are exactly those of [A]'s bisection on
``[0, h]``; the bracket moves only where a fixed interval would have bound the value. A measure that still ends at
the end of its search is flagged (``at_bound``: ``"upper"`` when even the largest scale tried drops less than the
target, ``"lower"`` when every scale tried drops more) and its value is then a bound, not an estimate.

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

The ranges of the constants are written once, in the ``sharpness`` block of the config schema
(``intraclass/schemas/config.schema.yaml``, package data; :func:`intraclass.config.config_schema`), with the
same defaults as the dataclass (a test checks that they agree); :class:`SharpnessConfig` validates itself against
that block.

Deliberate differences from [A] (each one a config value or stated here):

* The search interval is not fixed: it moves geometrically until it brackets the target (above). Set
  ``max_bracket_steps`` to 0 for [A]'s fixed ``[0, h]`` (plus one evaluation at ``h``).
* The subset is fixed and seeded (one subset for every estimate), not redrawn per estimate; the ascent also draws
  its minibatches from that subset.
* The target is *relative*: a drop of 0.1 from the clean accuracy on the subset in the same BN mode ([A] uses an
  absolute 0.9, i.e. assumes 100% clean accuracy; [J] and [D] are relative). The drop is signed (an accuracy *gain*
  is no drop), where [J]/[D] take an absolute deviation.
* alpha': the ascent runs with BN in inference mode too ([A] ran Keras ``fit``, whose BN uses batch statistics
  during the ascent and updates the moving averages).
* Common random numbers (``common_random_numbers``): the same standard-normal draws are rescaled at every search
  step (and the same ascent minibatch sequence is replayed), so accuracy is a smooth function of the scale and the
  bisection does not chase Monte Carlo noise. [A]/[J]/[D] redraw at every step (set the flag to False).

Speed: the cost is forward passes over the subset. Perturbed parameters are fed through
:func:`torch.func.functional_call` (the model is never copied and its parameters are never written), several
Monte Carlo draws can share one forward with :func:`torch.func.vmap` (``parallel_draws``; the default picks it on
CUDA, where it amortises kernel launches, and one draw at a time on CPU, where vmap turns convolutions into grouped
convolutions that are slower than separate ones), and with ``early_decision`` each search step stops evaluating
as soon as the data left cannot change which side of the target it is on (exact: the same search path and the
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
from functools import cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn.modules.batchnorm import _BatchNorm

from .config import SCHEMA_RESOURCE, config_schema
from .registry import measures_for

MEASURES: tuple[str, ...] = tuple(m.name.removeprefix("inv_") for m in measures_for(stage="sharpness"))
"""The registry's ``sharpness`` measures without their ``inv_``: ``sigma_p``, ``sigma_pp``, ``alpha_p``,
``alpha_pp`` (``_p`` primed ('), ``_pp`` double-primed ('')); each reported as ``inv_<name>``."""

VARIANTS: tuple[str, ...] = ("p", "pp")
KERNEL_MODULES: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

# Offsets that give each random stream its own seed (subset selection, noise draws, ascent minibatches).
_SUBSET_STREAM, _NOISE_STREAM, _ASCENT_STREAM = 0, 1, 2
# Early decisions leave this much room so float rounding can never make them disagree with a full evaluation.
_DECISION_MARGIN = 1e-9


def sharpness_measures(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    config: SharpnessConfig | None = None,
    measures: Sequence[str] = MEASURES,
) -> dict[str, Any]:
    """The magnitude-aware sharpness measures 1/sigma', 1/sigma'', 1/alpha', 1/alpha'' of a trained model.

    The model's parameters, buffers and train/eval flags are left exactly as they were.

    Parameters
    ----------
    model : nn.Module
        A classifier ``x -> logits``; it runs on the device of its parameters (the subset is moved there).
    x : Tensor of shape (N, ...)
        Training inputs (float); only a fixed seeded subset of ``config.subset_size`` is used.
    y : Tensor of shape (N,)
        Training labels (integer).
    config : SharpnessConfig, optional
        Constants; the defaults if None.
    measures : sequence of str
        Which of :data:`MEASURES` to compute (all by default).

    Returns
    -------
    dict
        ``inv_sigma_p``, ``inv_sigma_pp``, ``inv_alpha_p``, ``inv_alpha_pp`` (for the measures asked for; each > 0,
        larger = sharper) and, beside each, ``inv_<measure>_at_bound``: ``"lower"``, ``"upper"`` or None (see
        :func:`search_scale`; a value at a bound is a bound on the measure, not an estimate); ``clean_accuracy`` (BN
        inference mode) and ``clean_accuracy_batch_stats`` on the subset; ``subset_size``; ``wall_time_s``;
        ``device``; ``config`` (as a dict); ``state_untouched`` (True when no parameter or buffer,
        ``num_batches_tracked`` included, changed while measuring); and ``details[measure]`` with the ``scale``
        found, the ``bracket`` the search settled on and the ``bracket_steps`` it took, the final bisection
        ``interval``, ``at_bound``, the ``accuracy`` reached at the scale and its ``drop``, bisection
        ``iterations``, ``stop_reason`` (``"tolerance"``, ``"width"``, ``"max_iterations"`` or ``"unbracketed"``),
        ``images_forwarded`` (work: images passed through the network, one count per parameter set; ascent steps
        count their minibatch) and the measure's wall time. The top-level ``images_forwarded`` adds the
        clean-accuracy passes.

    References
    ----------
    .. [1] Jiang et al., "Fantastic generalization measures and where to find them", ICLR 2020 (magnitude-aware
       sharpness); Carbonnelle & De Vleeschouwer, ICLR 2021, §3.2 (the ' and '' variants).
    """
    config = SharpnessConfig() if config is None else config
    unknown = [m for m in measures if m not in MEASURES]
    if unknown or not measures:
        raise ValueError(f"measures must be a non-empty subset of {MEASURES}, got {list(measures)!r}")
    started = time.perf_counter()
    with preserved_state(model) as changed:
        ctx = _prepare(model, x, y, config)
        clean = {"p": _clean_accuracy(ctx, batch_stats=False), "pp": _clean_accuracy(ctx, batch_stats=True)}
        out: dict[str, Any] = {}
        details: dict[str, dict[str, Any]] = {}
        for measure in (m for m in MEASURES if m in measures):
            kind, variant = measure.split("_")
            set_measurement_mode(model, batch_stats=variant == "pp")
            details[measure] = _measure(ctx, kind, variant, clean[variant])
            out[f"inv_{measure}"] = 1.0 / details[measure]["scale"]
            out[f"inv_{measure}_at_bound"] = details[measure]["at_bound"]
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

    Parameters
    ----------
    model, x, y, config
        As :func:`sharpness_measures`.
    sigma : float
        The noise scale, >= 0.
    variant : {"p", "pp"}
        Whose subset, draws, perturbed parameters and BN mode to use: those of sigma' or sigma''.

    Returns
    -------
    float
        The accuracy, in [0, 1].
    """
    config = SharpnessConfig() if config is None else config
    _check_scale("sigma", sigma)
    with preserved_state(model):
        ctx = _prepare(model, x, y, config)
        names = _perturbed_names(ctx, variant)
        set_measurement_mode(model, batch_stats=variant == "pp")
        normals = standard_normal_draws(ctx.weights, names, config.mc_draws, _noise_generator(ctx))
        return _noise_accuracy(ctx, names, ctx.base(names), float(sigma), normals, None)[0]


def accuracy_under_worst_case(
    model: nn.Module, x: Tensor, y: Tensor, alpha: float, config: SharpnessConfig | None = None, variant: str = "p"
) -> float:
    """Subset accuracy after the projected ascent inside ``|u| <= alpha * (|w| + eps)`` (full eval).

    Parameters
    ----------
    model, x, y, config
        As :func:`sharpness_measures`.
    alpha : float
        The box's scale, >= 0.
    variant : {"p", "pp"}
        Whose subset, minibatch stream, perturbed parameters and BN mode to use: those of alpha' or alpha''.

    Returns
    -------
    float
        The accuracy, in [0, 1].
    """
    config = SharpnessConfig() if config is None else config
    _check_scale("alpha", alpha)
    with preserved_state(model):
        ctx = _prepare(model, x, y, config)
        names = _perturbed_names(ctx, variant)
        clean = _clean_accuracy(ctx, batch_stats=variant == "pp")
        set_measurement_mode(model, batch_stats=variant == "pp")
        stream = _MinibatchStream(ctx, config.seed + _ASCENT_STREAM)
        return _worst_case_accuracy(ctx, names, ctx.base(names), float(alpha), stream, clean, None)[0]


def perturbed_parameter_names(model: nn.Module, variant: str) -> list[str]:
    """Names of the parameters a variant perturbs.

    Parameters
    ----------
    model : nn.Module
        The model.
    variant : {"p", "pp"}
        ``"p"`` (primed): every parameter. ``"pp"`` (double-primed): the ``weight`` of every Conv1d/2d/3d and
        Linear module (the kernels; [A] ``kernel_only``), no biases and no BN parameters.

    Returns
    -------
    list of str
        Names as ``model.named_parameters()`` gives them, in its order.
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


def standard_normal_draws(
    weights: Mapping[str, Tensor], names: Sequence[str], draws: int, generator: torch.Generator
) -> dict[str, Tensor]:
    """``draws`` standard-normal tensors per name, stacked on a leading axis.

    Generated draw by draw, and within a draw name by name, with ``torch.randn(shape, generator=...)``: a loop that
    draws in that order reproduces them exactly.

    Parameters
    ----------
    weights : mapping of str to Tensor
        The parameters (shape, dtype and device of the draws).
    names : sequence of str
        The parameters to draw for, in drawing order.
    draws : int
        Draws per parameter.
    generator : torch.Generator
        On the parameters' device.

    Returns
    -------
    dict of str to Tensor
        ``{name: (draws, *weights[name].shape)}``.
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


# ---------------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharpnessConfig:
    """Every constant of the sharpness measures, with its default and where the default comes from.

    [A] = authors' ``measures.py`` (``sharpness_random`` / ``sharpness_worstcase``), [J] = Jiang et al. 2020
    reference listing, [D] = Dziugaite et al. 2020 ``_pacbayes_sigma``; see the module docstring. The allowed range
    of each field is the ``sharpness`` block of the config schema (:func:`intraclass.config.config_schema`), checked on
    construction; the schema repeats these defaults.
    """

    target_drop: float = 0.1
    """Accuracy drop the search aims at. [A] ``target_accuracy = 0.9``; [J] target deviation 0.1; [D]
    ``accuracy_displacement=0.1``."""
    magnitude_eps: float = 1e-3
    """eps in the magnitude-aware scale ``|w| + eps``. [A] ``epsilon_weight_scale=1e-3``; [J] eps = 1e-3; [D]
    ``mag_eps = 1e-3``."""
    sigma_start: float = 2.0
    """First sigma tried; the search moves from it geometrically. [A] upper end ``h = 2.0`` (lower end 0); [D]
    ``upper = 2`` ([J]: 5)."""
    alpha_start: float = 0.25
    """First alpha tried. [A] upper end ``h = .25`` in ``sharpness_worstcase`` (lower end 0)."""
    bracket_growth: float = 2.0
    """Factor by which the search multiplies (divides) the scale while the drop is below (above) the target. 2
    reproduces [A]'s bisection path whenever the target lies in ``[0, h]``. This project's choice."""
    max_bracket_steps: int = 10
    """Most geometric moves before bisecting: the search covers ``start * growth**[-10, 10]`` (1/1024 to 1024 times
    [A]'s ``h``) plus the bisection's own depth below. 0 gives [A]'s fixed ``[0, h]``. This project's choice."""
    bisection_iterations: int = 20
    """Maximum bisection steps inside the bracket (search depth). [A] ``range(20)``; [J] ``search_depth=20`` ([D]:
    15)."""
    accuracy_tolerance: float = 5e-3
    """Stop when ``|drop - target_drop|`` is below this. [A] ``abs(accuracy - target_accuracy) < 5e-3`` ([J], [D]:
    1e-2)."""
    min_interval_width: float = 1e-5
    """Stop when the bisection interval is narrower than this. [A] ``h - l < 1e-5`` ([J]: ``bound_eps=5e-3``)."""
    mc_draws: int = 10
    """Monte Carlo draws per sigma estimate. [A] ``nb_samplings = 10``; [D] ``montecarlo_samples=10`` ([J]: 15)."""
    common_random_numbers: bool = True
    """Reuse the same standard-normal draws (and ascent minibatch order) at every search step. This project's
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
    """Stop evaluating a search step once the remaining data cannot change its decision (exact). This project's
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
        values = asdict(self)
        for error in _schema_validator().iter_errors(values):
            name = error.path[0] if error.path else "?"
            raise ValueError(
                f"SharpnessConfig.{name} must satisfy {error.validator}: {error.validator_value!r} (the sharpness "
                f"block of intraclass/{SCHEMA_RESOURCE}), got {values.get(name)!r}"
            )
        # JSON Schema has no word for "finite": NaN passes every comparison, so it is refused here.
        for name, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"SharpnessConfig.{name} must be finite, got {value!r}")

    def start(self, kind: str) -> float:
        """The first scale the search tries for ``kind`` = ``"sigma"`` or ``"alpha"``."""
        if kind == "sigma":
            return float(self.sigma_start)
        if kind == "alpha":
            return float(self.alpha_start)
        raise ValueError(f"kind must be 'sigma' or 'alpha', got {kind!r}")


def sharpness_schema() -> dict[str, Any]:
    """The ``sharpness`` block of the config schema.

    Returns
    -------
    dict
        The JSON Schema of the block (ranges and defaults of :class:`SharpnessConfig`), from
        :func:`intraclass.config.config_schema`.
    """
    return config_schema()["properties"]["sharpness"]


# ---------------------------------------------------------------------------------------------------------------
# Model state: saved and restored around every measurement; BN modes
# ---------------------------------------------------------------------------------------------------------------


@contextmanager
def preserved_state(model: nn.Module) -> Iterator[Callable[[], list[str]]]:
    """Restore parameters, buffers, train/eval flags and BN ``track_running_stats`` on exit, also on error.

    Parameters
    ----------
    model : nn.Module
        The model to preserve.

    Yields
    ------
    callable
        Lists the ``state_dict`` entries that currently differ from the saved ones (the measures never write the
        model, so it should return ``[]``; restoring is the safety net).
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

    Call inside :func:`preserved_state`.

    Parameters
    ----------
    model : nn.Module
        The model, changed in place.
    batch_stats : bool
        Put BN modules in training mode with ``track_running_stats = False``: BN then normalises with the batch's
        own statistics and neither its running statistics nor ``num_batches_tracked`` are touched (PyTorch passes
        no running buffers to ``F.batch_norm`` in that case).
    """
    model.eval()
    if batch_stats:
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.train()
                module.track_running_stats = False


# ---------------------------------------------------------------------------------------------------------------
# The search: geometric bracketing, then bisection
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleSearch:
    """Outcome of :func:`search_scale`.

    ``scale`` is the last scale evaluated and ``value`` the function's value there. ``bracket`` is the interval the
    bisection searched, found by ``bracket_steps`` geometric moves (its lower end 0 when no scale tried fell short of
    the target); ``interval`` is the bisection's final interval (the bracket when no bisection ran). ``stop_reason``
    is ``"tolerance"`` (value within tolerance of the target), ``"width"``, ``"max_iterations"``, or
    ``"unbracketed"`` (even the largest scale fell short of the target; the bracket's upper end is then None).
    ``at_bound`` is ``"upper"`` in that case, ``"lower"`` when every scale evaluated overshot the target (the scale is
    then only an upper limit), else None.
    """

    scale: float
    value: float
    bracket: tuple[float, float | None]
    bracket_steps: int
    interval: tuple[float, float | None]
    iterations: int
    stop_reason: str
    at_bound: str | None

    @property
    def converged(self) -> bool:
        """Whether the target was reached within tolerance."""
        return self.stop_reason == "tolerance"


def search_scale(
    evaluate: Callable[[float], float],
    *,
    start: float,
    growth: float,
    max_steps: int,
    target: float,
    tolerance: float,
    min_width: float,
    max_iterations: int,
) -> ScaleSearch:
    """The scale at which a non-decreasing ``evaluate`` with ``evaluate(0) = 0`` reaches ``target``.

    1. Bracket: evaluate ``start``. While the value is at most ``target - tolerance`` the scale is multiplied by
       ``growth``; while it is at least ``target + tolerance`` it is divided by ``growth``; at most ``max_steps``
       moves. A value within tolerance ends the search there.
    2. Bisect (:func:`bisect_scale`) between the largest scale known to fall short of the target (0 if none) and
       the smallest known to overshoot it. If no scale overshot, the search ends ``"unbracketed"`` at the largest.

    With ``growth = 2`` and the target inside ``[0, start]``, the scales evaluated after ``start`` are exactly the
    midpoints of :func:`bisect_scale` on ``[0, start]``.

    Parameters
    ----------
    evaluate : callable
        ``scale -> value`` (the accuracy drop), non-decreasing, 0 at scale 0.
    start : float
        The first scale, > 0.
    growth : float
        The bracketing factor, > 1.
    max_steps : int
        Most bracketing moves, >= 0.
    target, tolerance : float
        The value sought and how close is enough.
    min_width, max_iterations
        As :func:`bisect_scale`.

    Returns
    -------
    ScaleSearch
        The scale found, its value, the bracket, the bisection's interval and why the search stopped.
    """
    for name, value in (("start", start), ("growth", growth), ("target", target)):
        if not math.isfinite(value):
            raise ValueError(f"search_scale: {name} must be finite, got {value!r}")
    if start <= 0 or growth <= 1:
        raise ValueError(f"search_scale: start ({start!r}) must be > 0 and growth ({growth!r}) > 1")
    if max_steps < 0:
        raise ValueError(f"search_scale: max_steps must be >= 0, got {max_steps!r}")
    scale, steps = float(start), 0
    value = float(evaluate(scale))
    if value <= target - tolerance:  # short of the target: grow
        low = scale
        while value <= target - tolerance and steps < max_steps:
            scale, steps = scale * growth, steps + 1
            value = float(evaluate(scale))
            if value <= target - tolerance:
                low = scale
        if value <= target - tolerance:
            return ScaleSearch(scale, value, (low, None), steps, (low, None), 0, "unbracketed", "upper")
        high = scale
    else:  # at or past the target: shrink (scale 0 is the unperturbed model, short of any target)
        low, high = 0.0, scale
        while value >= target + tolerance and steps < max_steps:
            scale, steps = high / growth, steps + 1
            value = float(evaluate(scale))
            if value >= target + tolerance:
                high = scale
            elif value <= target - tolerance:
                low = scale
    if abs(value - target) < tolerance:
        return ScaleSearch(scale, value, (low, high), steps, (low, high), 0, "tolerance", None)
    bisection = bisect_scale(
        evaluate,
        lower=low,
        upper=high,
        target=target,
        tolerance=tolerance,
        min_width=min_width,
        max_iterations=max_iterations,
    )
    at_bound = "lower" if bisection.lower == 0.0 and not bisection.converged else None
    return ScaleSearch(
        bisection.scale,
        bisection.value,
        (low, high),
        steps,
        (bisection.lower, bisection.upper),
        bisection.iterations,
        bisection.stop_reason,
        at_bound,
    )


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

    Parameters
    ----------
    evaluate : callable
        ``scale -> value``, non-decreasing.
    lower, upper : float
        The interval, ``lower < upper``.
    target, tolerance : float
        The value sought and how close is enough (> 0).
    min_width : float
        Stop once the interval is narrower (> 0).
    max_iterations : int
        Most midpoints evaluated (>= 1).

    Returns
    -------
    BisectionResult
        The last midpoint, its value, the final interval and why the bisection stopped.
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


# ---------------------------------------------------------------------------------------------------------------
# Private helpers: validation, the training subset ready for perturbed evaluations
# ---------------------------------------------------------------------------------------------------------------


def _check_scale(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@cache
def _schema_validator() -> Any:
    import jsonschema

    schema = sharpness_schema()
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return validator(schema)


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


def _device_of(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for param in model.parameters():
        return param.device, param.dtype
    raise ValueError(f"model {type(model).__name__} has no parameters to perturb")


def _subset_indices(n: int, config: SharpnessConfig) -> Tensor:
    """The fixed seeded subset: the first ``subset_size`` entries of a seeded permutation (CPU, so device-free)."""
    generator = torch.Generator().manual_seed(config.seed + _SUBSET_STREAM)
    return torch.randperm(n, generator=generator)[: min(n, config.subset_size)]


def _clean_accuracy(ctx: _Context, batch_stats: bool) -> float:
    set_measurement_mode(ctx.model, batch_stats)
    with torch.inference_mode():
        _check_labels(ctx, _forward(ctx, {}, ctx.batches[0][0]))
    accuracy, _ = _accuracy(ctx, lambda start, stop: {}, 1, 1, None)
    return accuracy


def _check_labels(ctx: _Context, logits: Tensor) -> None:
    classes = logits.shape[-1]
    if int(ctx.y.max()) >= classes:
        raise ValueError(f"y holds label {int(ctx.y.max())} but the model outputs only {classes} classes")


# ---------------------------------------------------------------------------------------------------------------
# Private helpers: one measure, a probe (drop as a function of the scale) searched for the target drop
# ---------------------------------------------------------------------------------------------------------------


def _measure(ctx: _Context, kind: str, variant: str, clean: float) -> dict[str, Any]:
    """Search for one measure's scale; BN mode must already be set."""
    cfg = ctx.config
    names = _perturbed_names(ctx, variant)
    probe = (_NoiseProbe if kind == "sigma" else _WorstCaseProbe)(ctx, names, clean)
    started, work = time.perf_counter(), ctx.images_forwarded
    result = search_scale(
        probe.drop,
        start=cfg.start(kind),
        growth=cfg.bracket_growth,
        max_steps=cfg.max_bracket_steps,
        target=cfg.target_drop,
        tolerance=cfg.accuracy_tolerance,
        min_width=cfg.min_interval_width,
        max_iterations=cfg.bisection_iterations,
    )
    accuracy = probe.full_accuracy()  # at result.scale, the last scale evaluated
    return {
        "scale": result.scale,
        "at_bound": result.at_bound,
        "bracket": result.bracket,
        "bracket_steps": result.bracket_steps,
        "interval": result.interval,
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


def _perturbed_names(ctx: _Context, variant: str) -> list[str]:
    names = perturbed_parameter_names(ctx.model, variant)
    if not names:
        raise ValueError(
            f"variant {variant!r} perturbs nothing in {type(ctx.model).__name__}: it has no Conv/Linear kernels"
        )
    return names


class _Probe:
    """``drop(scale)``: clean accuracy minus the accuracy under perturbations of ``scale``, for one variant.

    It remembers its last evaluation, so that the accuracy reported at the scale found is a full evaluation even
    when an early decision cut that evaluation short (:meth:`full_accuracy` replays it without the cut).
    """

    def __init__(self, ctx: _Context, names: Sequence[str], clean: float) -> None:
        cfg = ctx.config
        self.ctx, self.names, self.clean = ctx, names, clean
        self.base = ctx.base(names)
        self.band = (clean, cfg.target_drop, cfg.accuracy_tolerance) if cfg.early_decision else None
        self.last_accuracy, self.last_exact = math.nan, True

    def drop(self, scale: float) -> float:
        self.last_accuracy, self.last_exact = self.evaluate(scale)
        return self.clean - self.last_accuracy

    def full_accuracy(self) -> float:
        """The accuracy of the last :meth:`drop` call, evaluated on the whole subset."""
        return self.last_accuracy if self.last_exact else self.replay()

    def evaluate(self, scale: float) -> tuple[float, bool]:  # pragma: no cover - abstract
        raise NotImplementedError

    def replay(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class _NoiseProbe(_Probe):
    """Mean accuracy over ``mc_draws`` Gaussian draws; the same draws at every scale (common random numbers) or
    fresh ones from one seeded generator."""

    def __init__(self, ctx: _Context, names: Sequence[str], clean: float) -> None:
        super().__init__(ctx, names, clean)
        self.generator = _noise_generator(ctx)
        self.shared = self._draws() if ctx.config.common_random_numbers else None
        self.last_scale, self.last_normals = math.nan, self.shared

    def evaluate(self, scale: float) -> tuple[float, bool]:
        self.last_scale = scale
        self.last_normals = self.shared if self.shared is not None else self._draws()
        return _noise_accuracy(self.ctx, self.names, self.base, scale, self.last_normals, self.band)

    def replay(self) -> float:
        return _noise_accuracy(self.ctx, self.names, self.base, self.last_scale, self.last_normals, None)[0]

    def _draws(self) -> dict[str, Tensor]:
        return standard_normal_draws(self.ctx.weights, self.names, self.ctx.config.mc_draws, self.generator)


class _WorstCaseProbe(_Probe):
    """Accuracy after the projected ascent; the ascent replays the same minibatches at every scale (common random
    numbers) or continues one seeded minibatch stream."""

    def __init__(self, ctx: _Context, names: Sequence[str], clean: float) -> None:
        super().__init__(ctx, names, clean)
        self.stream = _MinibatchStream(ctx, ctx.config.seed + _ASCENT_STREAM)
        self.last_scale, self.last_stream_state = math.nan, self.stream.state()

    def evaluate(self, scale: float) -> tuple[float, bool]:
        if self.ctx.config.common_random_numbers:
            self.stream = _MinibatchStream(self.ctx, self.ctx.config.seed + _ASCENT_STREAM)
        self.last_scale, self.last_stream_state = scale, self.stream.state()
        return _worst_case_accuracy(self.ctx, self.names, self.base, scale, self.stream, self.clean, self.band)

    def replay(self) -> float:
        stream = _MinibatchStream(self.ctx, self.ctx.config.seed + _ASCENT_STREAM)
        stream.restore(self.last_stream_state)
        return _worst_case_accuracy(self.ctx, self.names, self.base, self.last_scale, stream, self.clean, None)[0]


# ---------------------------------------------------------------------------------------------------------------
# Private helpers: accuracy under perturbation (batched evaluation with early decisions, noise draws, projected ascent)
# ---------------------------------------------------------------------------------------------------------------


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
    search step then takes the same decision as with the full evaluation.
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


def _forward(ctx: _Context, params: Mapping[str, Tensor], xb: Tensor) -> Tensor:
    return functional_call(ctx.model, dict(params), (xb,))


def _noise_generator(ctx: _Context) -> torch.Generator:
    return torch.Generator(device=ctx.device).manual_seed(ctx.config.seed + _NOISE_STREAM)


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

    def state(self) -> tuple[Tensor, Tensor, int]:
        """What :meth:`restore` needs to replay the stream from here (``order`` is replaced, never modified)."""
        return self.generator.get_state(), self.order, self.position

    def restore(self, state: tuple[Tensor, Tensor, int]) -> None:
        generator_state, self.order, self.position = state
        self.generator.set_state(generator_state)


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
