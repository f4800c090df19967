"""Tests of the sharpness baselines (SPEC §7): restoration, search, analytic values, orderings, determinism."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import intraclass.sharpness as sh
from intraclass.models import ModelSpec, build_model
from intraclass.sharpness import (
    SharpnessConfig,
    accuracy_under_noise,
    accuracy_under_worst_case,
    bisect_scale,
    perturbed_parameter_names,
    preserved_state,
    search_scale,
    set_measurement_mode,
    sharpness_measures,
)

REPO = Path(__file__).resolve().parent.parent

EPS = 1e-3  # SharpnessConfig.magnitude_eps

# A small config for conv nets: few draws, a short search and ascent.
SMALL = SharpnessConfig(
    mc_draws=2,
    max_bracket_steps=2,
    bisection_iterations=4,
    ascent_steps=4,
    ascent_check_every=2,
    ascent_lr_decay_step=3,
    eval_batch_size=20,
    ascent_batch_size=16,
)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# ---------------------------------------------------------------------------------------------------------------
# An analytic model: block one-hot inputs and a bias-free linear layer
# ---------------------------------------------------------------------------------------------------------------
#
# Sample i (label 0) is the indicator of its own block of D features, and only the weights of that block act on it:
# W[0, block_i] = +w_i, W[1, block_i] = -w_i. Its logit gap is 2*D*w_i and no other sample shares its weights, so
# perturbations act independently per sample and everything is computable in closed form. Writing
# a_i = w_i / (w_i + eps) (the magnitude-aware scale |w| + eps leaves only eps to set it):
#   * worst case inside |u| <= alpha*(|w| + eps): the corner u0 = -alpha(w_i+eps), u1 = +alpha(w_i+eps) on every
#     weight of the block gives the gap 2D(w_i - alpha(w_i + eps)), so sample i is lost iff alpha > a_i. Sign ascent
#     reaches that corner (the CE gradient keeps its sign), so the worst-case accuracy is #{a_i >= alpha} / n.
#   * Gaussian noise with std sigma(|w| + eps): the gap is N(2D w_i, 2D sigma^2 (w_i + eps)^2), so sample i survives
#     with probability Phi(sqrt(2D) a_i / sigma).

BLOCK = 16


def _block_model(a: torch.Tensor, scale: float = 1.0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    n = a.numel()
    w = scale * EPS * a / (1 - a)  # a_i = w_i / (w_i + eps) at scale 1
    model = nn.Linear(n * BLOCK, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.stack([w, -w]).repeat_interleave(BLOCK, dim=1))
    x = torch.zeros(n, n * BLOCK)
    x[torch.arange(n).repeat_interleave(BLOCK), torch.arange(n * BLOCK)] = 1.0
    return model, x, torch.zeros(n, dtype=torch.long)


def _expected_accuracy(a: torch.Tensor, sigma: float) -> float:
    """mean_i Phi(sqrt(2D) a_i / sigma): the expected accuracy under noise of scale sigma."""
    k = math.sqrt(2 * BLOCK)
    return sum(_phi(k * float(ai) / sigma) for ai in a) / len(a)


def _expected_sigma(a: torch.Tensor, target_accuracy: float) -> float:
    """Solve _expected_accuracy(a, sigma) = target_accuracy (decreasing in sigma)."""
    low, high = 1e-4, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if _expected_accuracy(a, mid) > target_accuracy else (low, mid)
    return (low + high) / 2


A_VALUES = torch.linspace(0.05, 0.65, 600)  # flip thresholds; the 10% quantile is 0.11, inside alpha's [0, 0.25]
ANALYTIC = SharpnessConfig(
    mc_draws=20,
    eval_batch_size=600,
    ascent_method="sign",
    ascent_sign_step=0.25,  # four steps reach the corner of the box
    ascent_steps=8,
    ascent_batch_size=600,  # full batch: every block gets its gradient at every step
    ascent_lr_decay_step=1000,
    ascent_stop_drop=None,
)


@pytest.fixture(scope="module")
def analytic_results() -> dict[float, dict]:
    out = {}
    for scale in (1.0, 0.25):
        model, x, y = _block_model(A_VALUES, scale)
        out[scale] = sharpness_measures(model, x, y, ANALYTIC)
    return out


def _thresholds(scale: float) -> torch.Tensor:
    w = scale * EPS * A_VALUES / (1 - A_VALUES)
    return w / (w + EPS)


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_alpha_matches_the_closed_form(analytic_results: dict, scale: float) -> None:
    result = analytic_results[scale]
    assert result["clean_accuracy"] == 1.0
    expected = float(torch.quantile(_thresholds(scale), 0.1))  # accuracy 0.9 once 10% of thresholds are passed
    for measure in ("alpha_p", "alpha_pp"):
        detail = result["details"][measure]
        assert detail["converged"]
        assert abs(detail["drop"] - 0.1) < ANALYTIC.accuracy_tolerance
        # drop tolerance 5e-3 over a threshold density of n / (range of a) -> alpha within ~0.004
        assert detail["scale"] == pytest.approx(expected, abs=0.005)
        assert 1.0 / result[f"inv_{measure}"] == pytest.approx(detail["scale"])


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_sigma_matches_the_closed_form(analytic_results: dict, scale: float) -> None:
    result = analytic_results[scale]
    thresholds = _thresholds(scale)
    expected = _expected_sigma(thresholds, 0.9)
    for measure in ("sigma_p", "sigma_pp"):
        detail = result["details"][measure]
        assert detail["converged"]
        # The Monte Carlo accuracy (600 independent samples x 20 draws: standard error ~0.002) matches the expected
        # accuracy at the sigma found, which is 0.9 up to the 5e-3 tolerance plus that error ...
        assert detail["accuracy"] == pytest.approx(_expected_accuracy(thresholds, detail["scale"]), abs=0.008)
        assert _expected_accuracy(thresholds, detail["scale"]) == pytest.approx(0.9, abs=0.013)
        # ... and the accuracy curve is flat there, so sigma itself is known to a few percent.
        assert detail["scale"] == pytest.approx(expected, rel=0.06)
    # No bias and no BN: both variants perturb the same tensor with the same draws.
    assert result["inv_sigma_p"] == result["inv_sigma_pp"]
    assert result["inv_alpha_p"] == result["inv_alpha_pp"]


def test_shrunken_weights_are_sharper(analytic_results: dict) -> None:
    """The same function (all logits x 0.25, identical predictions) with smaller weights is sharper.

    Magnitude-aware perturbations are invariant to rescaling the weights except through eps: shrinking w makes eps a
    larger share of |w| + eps, so a_i = w_i / (w_i + eps) shrinks and every sample flips at a smaller scale.
    """
    flat, sharp = analytic_results[1.0], analytic_results[0.25]
    for key in ("inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp"):
        assert sharp[key] > 1.5 * flat[key], key


def test_the_search_leaves_a_start_far_below_or_above_the_answer(analytic_results: dict) -> None:
    """alpha is ~0.11 and sigma ~1.17: starting 11x below and 43x above, the search brackets them and finds the
    closed-form values, as from the default starts."""
    model, x, y = _block_model(A_VALUES)
    far = sharpness_measures(
        model, x, y, dataclasses.replace(ANALYTIC, alpha_start=0.01, sigma_start=50.0), measures=("sigma_p", "alpha_p")
    )
    near = analytic_results[1.0]  # from the default starts
    alpha, sigma = far["details"]["alpha_p"], far["details"]["sigma_p"]
    assert alpha["bracket_steps"] == 4 and alpha["bracket"] == pytest.approx((0.08, 0.16))  # 0.01 -> 0.02 -> ...
    assert sigma["bracket_steps"] == 6 and sigma["bracket"] == (50 / 64, 50 / 32)  # 50 -> 25 -> ... -> 0.78
    for measure, detail in far["details"].items():
        assert detail["converged"] and detail["at_bound"] is None and far[f"inv_{measure}_at_bound"] is None
        low, high = detail["bracket"]
        assert low <= detail["interval"][0] <= detail["scale"] <= detail["interval"][1] <= high
    assert alpha["scale"] == pytest.approx(float(torch.quantile(_thresholds(1.0), 0.1)), abs=0.005)
    assert sigma["scale"] == pytest.approx(_expected_sigma(_thresholds(1.0), 0.9), rel=0.06)
    assert near["inv_alpha_p_at_bound"] is None and near["inv_sigma_p_at_bound"] is None


def test_a_search_that_cannot_reach_the_target_is_flagged() -> None:
    """No room to move (max_bracket_steps 0) from a start below the answer: the value is the start, flagged upper."""
    model, x, y = _block_model(A_VALUES)
    cfg = dataclasses.replace(ANALYTIC, alpha_start=0.02, max_bracket_steps=0)
    result = sharpness_measures(model, x, y, cfg, measures=("alpha_p",))
    detail = result["details"]["alpha_p"]
    assert result["inv_alpha_p"] == 1 / 0.02 and result["inv_alpha_p_at_bound"] == "upper"
    assert detail["stop_reason"] == "unbracketed" and detail["bracket"] == (0.02, None) and detail["iterations"] == 0
    assert detail["drop"] == pytest.approx(float((A_VALUES < 0.02).float().mean()))  # = 0: nothing flips yet


@pytest.mark.parametrize("scale", [0.05, 0.1, 0.2, 0.4])
def test_worst_case_hurts_at_least_as_much_as_noise(scale: float) -> None:
    """At equal scale, the box's worst case loses every sample with a_i < scale; Gaussian noise loses each sample
    with probability Phi(-sqrt(2D) a_i / scale), at most Phi(-sqrt(32)) < 1e-8 for the samples the worst case keeps.
    """
    model, x, y = _block_model(A_VALUES)
    worst = accuracy_under_worst_case(model, x, y, scale, ANALYTIC)
    noise = accuracy_under_noise(model, x, y, scale, ANALYTIC)
    assert worst == pytest.approx(float((A_VALUES >= scale).float().mean()), abs=2 / len(A_VALUES))
    assert worst <= noise
    if 0.05 < scale < 0.65:
        assert worst < noise - 0.01


def test_parallel_draws_give_the_same_accuracy() -> None:
    model, x, y = _block_model(A_VALUES[::4])
    cfg = SharpnessConfig(mc_draws=6, eval_batch_size=50)
    one = accuracy_under_noise(model, x, y, 0.3, cfg)
    vmapped = accuracy_under_noise(model, x, y, 0.3, SharpnessConfig(mc_draws=6, eval_batch_size=50, parallel_draws=4))
    assert vmapped == pytest.approx(one, abs=1e-12)
    assert 0.5 < one < 1.0


# ---------------------------------------------------------------------------------------------------------------
# The bisection helper
# ---------------------------------------------------------------------------------------------------------------


def test_bisection_reaches_a_known_root() -> None:
    result = bisect_scale(
        lambda s: s**2, lower=0.0, upper=2.0, target=0.1, tolerance=1e-4, min_width=1e-9, max_iterations=60
    )
    assert result.converged and result.stop_reason == "tolerance"
    assert abs(result.value - 0.1) < 1e-4
    assert result.lower <= math.sqrt(0.1) <= result.upper
    assert result.scale == pytest.approx(math.sqrt(0.1), abs=1e-3)


def test_bisection_reports_an_unreachable_target() -> None:
    result = bisect_scale(
        lambda s: 0.5 * s, lower=0.0, upper=1.0, target=0.9, tolerance=1e-3, min_width=1e-5, max_iterations=40
    )
    assert not result.converged and result.stop_reason == "width"
    assert result.upper == 1.0 and result.scale > 0.9999


def test_bisection_follows_the_reference_loop_exactly() -> None:
    """Same midpoints as [A]'s loop: stop on tolerance, then on width, else halve."""
    seen: list[float] = []
    bisect_scale(
        lambda s: seen.append(s) or s,
        lower=0.0,
        upper=2.0,
        target=0.3,
        tolerance=1e-9,
        min_width=1e-12,
        max_iterations=4,
    )
    assert seen == [1.0, 0.5, 0.25, 0.375]


def _search(evaluate, **kwargs):
    args = dict(start=1.0, growth=2.0, max_steps=10, target=0.1, tolerance=1e-4, min_width=1e-12, max_iterations=60)
    return search_scale(evaluate, **(args | kwargs))


def test_search_grows_until_the_target_is_bracketed() -> None:
    seen: list[float] = []
    result = _search(lambda s: seen.append(s) or s / 100, target=0.05)  # root at 5
    assert seen[:4] == [1.0, 2.0, 4.0, 8.0] and result.bracket == (4.0, 8.0) and result.bracket_steps == 3
    assert result.converged and result.at_bound is None and result.scale == pytest.approx(5.0, abs=0.01)


def test_search_shrinks_until_the_target_is_bracketed() -> None:
    result = _search(lambda s: 100 * s, target=0.001, tolerance=1e-7)  # root at 1e-5, below 1 / 2**16
    # Ten halvings (to 1 / 1024) still overshoot; the bisection of [0, 1/1024] carries on down and brackets it.
    assert result.bracket == (0.0, 2.0**-10) and result.bracket_steps == 10
    assert 2.0**-17 <= result.interval[0] <= result.interval[1] <= 2.0**-16
    assert result.at_bound is None and result.scale == pytest.approx(1e-5, rel=1e-3)


def test_search_with_growth_two_follows_the_bisection_of_zero_to_start() -> None:
    """With the target inside [0, start], only the first evaluation (at start) is new: the rest are [A]'s midpoints."""
    searched: list[float] = []
    bisected: list[float] = []
    result = _search(lambda s: searched.append(s) or s**2, start=2.0, max_steps=10)
    bisect_scale(
        lambda s: bisected.append(s) or s**2,
        lower=0.0,
        upper=2.0,
        target=0.1,
        tolerance=1e-4,
        min_width=1e-12,
        max_iterations=60,
    )
    assert searched[0] == 2.0 and searched[1:] == bisected
    assert result.bracket == (0.25, 0.5) and result.bracket_steps == 3  # 1 and 0.5 overshoot 0.1, 0.25 falls short


def test_search_flags_a_target_beyond_its_reach() -> None:
    upper = _search(lambda s: s / 1e6, max_steps=5)
    assert upper.at_bound == "upper" and upper.stop_reason == "unbracketed" and not upper.converged
    assert upper.scale == 32.0 and upper.bracket == (32.0, None) and upper.iterations == 0
    lower = _search(lambda s: 0.5 if s > 0 else 0.0, max_steps=3, max_iterations=5)  # jumps at 0
    assert lower.at_bound == "lower" and lower.bracket == (0.0, 0.125) and lower.interval[0] == 0.0
    assert lower.scale == 0.125 / 32 and lower.stop_reason == "max_iterations"
    inside = _search(lambda s: s, max_steps=0)  # [A]'s fixed [0, start], target inside
    assert inside.at_bound is None and inside.bracket == (0.0, 1.0) and inside.converged


@pytest.mark.parametrize(
    "kwargs", [dict(start=0.0), dict(growth=1.0), dict(max_steps=-1), dict(start=math.inf), dict(target=math.nan)]
)
def test_search_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="search_scale"):
        _search(lambda s: s, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lower=1.0, upper=1.0),
        dict(tolerance=0.0),
        dict(min_width=-1.0),
        dict(max_iterations=0),
        dict(upper=math.inf),
    ],
)
def test_bisection_rejects_bad_arguments(kwargs: dict) -> None:
    args = dict(lower=0.0, upper=1.0, target=0.1, tolerance=1e-3, min_width=1e-6, max_iterations=10) | kwargs
    with pytest.raises(ValueError):
        bisect_scale(lambda s: s, **args)


# ---------------------------------------------------------------------------------------------------------------
# Conv nets with BN and dropout: restoration, BN modes, determinism
# ---------------------------------------------------------------------------------------------------------------


def _conv_net(arch: str = "vgg") -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A BN + dropout net with non-trivial running statistics, labelled by its own predictions (clean acc 1)."""
    torch.manual_seed(0)
    model = build_model(ModelSpec(arch, 3, 1, dropout=0.3))
    x = torch.randn(40, 1, 8, 8)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x + 0.5)  # running stats now differ from the batch statistics of x
        model.eval()
        y = model(x).argmax(dim=1)
    model.train()
    return model, x, y


def _snapshot(model: nn.Module) -> tuple[dict, list[bool], list[bool]]:
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    tracking = [m.track_running_stats for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    return state, flags, tracking


def _assert_restored(model: nn.Module, snapshot: tuple[dict, list[bool], list[bool]]) -> None:
    state, flags, tracking = snapshot
    now = model.state_dict()
    assert now.keys() == state.keys()
    for key, value in state.items():
        assert now[key].dtype == value.dtype and torch.equal(now[key], value), key
    assert any("num_batches_tracked" in k for k in state)
    assert [m.training for m in model.modules()] == flags
    assert [m.track_running_stats for m in model.modules() if isinstance(m, nn.BatchNorm2d)] == tracking


@pytest.mark.parametrize("training", [True, False])
def test_model_state_and_mode_are_restored_exactly(training: bool) -> None:
    model, x, y = _conv_net()
    model.train(training)
    snapshot = _snapshot(model)
    rng = torch.get_rng_state()
    result = sharpness_measures(model, x, y, SMALL)
    _assert_restored(model, snapshot)
    assert torch.equal(torch.get_rng_state(), rng)  # the global RNG is not used
    assert result["state_untouched"]
    for key in ("inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp"):
        assert math.isfinite(result[key]) and result[key] > 0


def test_model_is_restored_after_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    model, x, y = _conv_net()
    snapshot = _snapshot(model)
    real = sh._ascend

    def failing(*args, **kwargs):
        real(*args, **kwargs)
        set_measurement_mode(model, batch_stats=True)
        with torch.no_grad():
            next(model.parameters()).add_(1.0)  # simulate damage before the failure
        raise RuntimeError("boom")

    monkeypatch.setattr(sh, "_ascend", failing)
    with pytest.raises(RuntimeError, match="boom"):
        sharpness_measures(model, x, y, SMALL)
    _assert_restored(model, snapshot)


def test_batch_statistics_mode_uses_batch_stats_and_leaves_buffers_alone() -> None:
    model, x, _ = _conv_net()
    reference = build_model(ModelSpec("vgg", 3, 1, dropout=0.3))
    reference.load_state_dict(model.state_dict())
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    with preserved_state(model), torch.no_grad():
        set_measurement_mode(model, batch_stats=True)
        out1, out2 = model(x), model(x)
        for key, value in model.named_buffers():
            assert torch.equal(value, buffers[key]), key  # running stats and num_batches_tracked untouched
        set_measurement_mode(model, batch_stats=False)
        inference = model(x)
    assert torch.equal(out1, out2)  # dropout is off
    reference.train()
    for module in reference.modules():
        if isinstance(module, nn.Dropout):
            module.eval()
    with torch.no_grad():
        assert torch.allclose(out1, reference(x), atol=1e-5)  # batch statistics, as in training mode
        reference.load_state_dict(model.state_dict())
        reference.eval()
        assert torch.allclose(inference, reference(x), atol=1e-6)  # running statistics
    assert not torch.allclose(out1, inference, atol=1e-3)  # the two modes differ on this net


def test_variants_perturb_the_right_tensors() -> None:
    model, _, _ = _conv_net("resnet")
    everything = perturbed_parameter_names(model, "p")
    kernels = perturbed_parameter_names(model, "pp")
    assert everything == [name for name, _ in model.named_parameters()]
    assert set(kernels) == {
        f"{name}.weight" for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    }
    assert "head.bias" in everything and "head.bias" not in kernels
    assert not any(".1.weight" in k and "stem" in k for k in kernels)  # stem BN weight is not a kernel


def test_same_seed_same_values_and_early_decision_is_exact() -> None:
    model, x, y = _conv_net()
    first = sharpness_measures(model, x, y, SMALL)
    second = sharpness_measures(model, x, y, SMALL)
    full = sharpness_measures(model, x, y, SharpnessConfig(**{**first["config"], "early_decision": False}))
    for key in ("inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp", "clean_accuracy"):
        assert first[key] == second[key] == full[key], key
    for measure, detail in first["details"].items():
        for field in ("scale", "bracket", "interval", "at_bound", "accuracy", "iterations", "stop_reason"):
            assert detail[field] == second["details"][measure][field] == full["details"][measure][field]
    assert first["clean_accuracy"] == 1.0
    assert 0 < first["images_forwarded"] <= full["images_forwarded"]  # early decisions only save work


def test_redrawing_noise_each_step_is_also_deterministic() -> None:
    model, x, y = _conv_net()
    cfg = SharpnessConfig(**{**SMALL.__dict__, "common_random_numbers": False})
    a = sharpness_measures(model, x, y, cfg, measures=("sigma_p", "alpha_pp"))
    b = sharpness_measures(model, x, y, cfg, measures=("sigma_p", "alpha_pp"))
    assert set(a) >= {"inv_sigma_p", "inv_alpha_pp"} and "inv_sigma_pp" not in a
    assert a["inv_sigma_p"] == b["inv_sigma_p"] and a["inv_alpha_pp"] == b["inv_alpha_pp"]


def test_result_reports_intervals_and_accuracies() -> None:
    model, x, y = _conv_net()
    result = sharpness_measures(model, x, y, SMALL, measures=("sigma_p",))
    detail = result["details"]["sigma_p"]
    low, high = detail["interval"]
    assert detail["bracket"][0] <= low <= detail["scale"] <= high <= detail["bracket"][1]
    assert detail["bracket_steps"] <= SMALL.max_bracket_steps and detail["iterations"] <= SMALL.bisection_iterations
    assert result["inv_sigma_p_at_bound"] == detail["at_bound"]
    assert detail["drop"] == pytest.approx(result["clean_accuracy"] - detail["accuracy"])
    assert result["subset_size"] == 40 and result["wall_time_s"] > 0 and result["device"] == "cpu"


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_drop", 0.0),
        ("target_drop", 1.0),
        ("mc_draws", 0),
        ("mc_draws", 2.5),
        ("bisection_iterations", 0),
        ("sigma_start", 0.0),
        ("alpha_start", -1.0),
        ("bracket_growth", 1.0),
        ("max_bracket_steps", -1),
        ("accuracy_tolerance", -1e-3),
        ("magnitude_eps", 0.0),
        ("min_interval_width", 0.0),
        ("eval_batch_size", 1),
        ("subset_size", 0),
        ("ascent_steps", 0),
        ("ascent_lr", float("nan")),
        ("ascent_batch_size", 1),
        ("ascent_method", "adam"),
        ("ascent_stop_drop", 0.0),
        ("parallel_draws", -1),
        ("seed", -3),
        ("early_decision", 1),
    ],
)
def test_bad_config_values_are_rejected_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"SharpnessConfig\.{field} .*got {value!r}"):
        SharpnessConfig(**{field: value})


def test_the_schema_and_the_dataclass_agree() -> None:
    """The config schema's sharpness block (the one place of the ranges) lists exactly the dataclass's fields, with
    the same defaults; config.yaml's reduced constants pass it."""
    schema = sh.sharpness_schema()
    fields = {f.name: f.default for f in dataclasses.fields(SharpnessConfig)}
    assert list(schema["properties"]) == list(fields)
    for name, default in fields.items():
        assert "default" in schema["properties"][name], name
        schema_default = schema["properties"][name]["default"]
        assert schema_default == default and type(schema_default) is type(default), name
    study = yaml.safe_load((REPO / "config.yaml").read_text())["sharpness"]
    assert SharpnessConfig(**study).subset_size == study["subset_size"]


def test_bad_inputs_are_rejected() -> None:
    model, x, y = _block_model(A_VALUES[:10])
    with pytest.raises(ValueError, match="disagree"):
        sharpness_measures(model, x, y[:5], SMALL)
    with pytest.raises(ValueError, match="1-D tensor of integer"):
        sharpness_measures(model, x, y.float(), SMALL)
    with pytest.raises(ValueError, match="label 7"):
        sharpness_measures(model, x, torch.full_like(y, 7), SMALL)
    with pytest.raises(ValueError, match=">= 0"):
        sharpness_measures(model, x, y - 1, SMALL)
    with pytest.raises(ValueError, match="subset of"):
        sharpness_measures(model, x, y, SMALL, measures=("sigma",))
    with pytest.raises(ValueError, match="variant"):
        accuracy_under_noise(model, x, y, 0.1, SMALL, variant="ppp")
    with pytest.raises(ValueError, match="sigma must be"):
        accuracy_under_noise(model, x, y, -0.1, SMALL)
    with pytest.raises(ValueError, match="no Conv/Linear kernels"):
        sharpness_measures(nn.Sequential(nn.Flatten(), nn.BatchNorm1d(x.shape[1])), x, y, SMALL, measures=("sigma_pp",))
