"""The field's measures (intraclass.complexity) against brute force: numpy SVD for spectral norms, explicit sums over
paths for the path norm, hand-computed margins and histories."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from intraclass import complexity as cx
from intraclass.models import ModelSpec, build_model
from intraclass.registry import ModelInputs, compute_measures, measures_for


def _matrices(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((4, 6)), rng.standard_normal((5, 4)), rng.standard_normal((3, 5))]


def _svd_norm(w):
    return np.linalg.svd(w, compute_uv=False)[0]


def test_norm_measures_equal_their_definitions_with_numpy_svd():
    weights, initial = _matrices(0), _matrices(1)
    spectral = np.array([_svd_norm(w) for w in weights])
    frobenius = np.array([np.linalg.norm(w, "fro") for w in weights])
    assert cx.param_norm(weights) == pytest.approx(np.sum(frobenius**2), rel=1e-12)
    assert cx.frobenius_distance(weights, initial) == pytest.approx(
        sum(np.linalg.norm(w - w0, "fro") ** 2 for w, w0 in zip(weights, initial, strict=True)), rel=1e-12
    )
    assert cx.log_product_of_spectral_norms(weights) == pytest.approx(np.log(np.prod(spectral**2)), rel=1e-10)
    assert cx.log_sum_of_spectral_norms(weights) == pytest.approx(np.log(3 * np.prod(spectral**2) ** (1 / 3)))
    assert cx.log_product_of_frobenius_norms(weights) == pytest.approx(np.log(np.prod(frobenius**2)), rel=1e-10)
    assert cx.log_sum_of_frobenius_norms(weights) == pytest.approx(np.log(3 * np.prod(frobenius**2) ** (1 / 3)))
    assert cx.spectral_distance(weights, initial) == pytest.approx(
        sum(_svd_norm(w - w0) ** 2 for w, w0 in zip(weights, initial, strict=True)), rel=1e-10
    )
    assert cx.frobenius_distance(weights, weights) == 0.0
    # a rank-one matrix: spectral norm = Frobenius norm = |u| |v|
    rank_one = np.outer([1.0, 2.0], [3.0, 0.0, 4.0])
    assert cx.log_product_of_spectral_norms([rank_one]) == pytest.approx(np.log(5.0 * 25.0))


def test_bad_weights_are_named():
    with pytest.raises(ValueError, match="2-D matrices"):
        cx.param_norm([np.ones(3)])
    with pytest.raises(ValueError, match="differ from weights"):
        cx.frobenius_distance([np.ones((2, 2))], [np.ones((2, 3))])
    with pytest.raises(cx.UndefinedMeasure, match="diverged"):
        cx.param_norm([np.array([[np.nan]])])


def test_margin_is_the_hand_computed_tenth_percentile():
    # 20 samples, 3 classes: margins are (true logit - largest other) = 0.1 * index - 0.5 for sample index
    outputs = np.zeros((20, 3))
    labels = np.arange(20) % 3
    margins = 0.1 * np.arange(20) - 0.5
    outputs[np.arange(20), labels] = margins
    outputs[np.arange(20), (labels + 1) % 3] = 0.0
    outputs[np.arange(20), (labels + 2) % 3] = -7.0
    np.testing.assert_allclose(cx.output_margins(outputs, labels), margins)
    assert cx.output_margin(outputs, labels) == pytest.approx(-0.4)  # k = 20 // 10 = 2nd smallest
    assert cx.output_margin(outputs[12:], labels[12:]) == pytest.approx(0.7)  # 8 samples: k = 1, the smallest
    with pytest.raises(ValueError, match="labels must be in"):
        cx.output_margin(outputs, labels + 1)


def test_margin_bounds_equal_their_formulas_and_need_a_positive_margin():
    weights = _matrices(2)
    spectral = np.array([_svd_norm(w) for w in weights])
    frobenius = np.array([np.linalg.norm(w, "fro") for w in weights])
    gamma = 0.3
    over = np.log(np.prod(spectral**2) / gamma**2)
    assert cx.log_spectral_over_margin(weights, gamma) == pytest.approx(over, rel=1e-10)
    assert cx.log_spectral_bound(weights, gamma) == pytest.approx(
        np.log(np.prod(spectral**2) / gamma**2 * np.sum(frobenius**2 / spectral**2)), rel=1e-10
    )
    with pytest.raises(cx.UndefinedMeasure, match="-0.2, not positive"):
        cx.log_spectral_bound(weights, -0.2)


def test_path_norm_of_a_linear_network_with_batch_norm_is_the_explicit_sum_over_paths():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    bn = net[1]
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0), bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2.0)
    w1, w2, b2 = (t.detach().double().numpy() for t in (net[0].weight, net[3].weight, net[3].bias))
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double().numpy()
    shift = bn.bias.detach().double().numpy() - scale * bn.running_mean.double().numpy()
    total = 0.0
    for k in range(2):
        total += b2[k] ** 2  # the output bias's own path
        for j in range(4):
            total += shift[j] ** 2 * w2[k, j] ** 2  # paths from the folded BN bias
            for i in range(3):
                total += (scale[j] * w1[j, i]) ** 2 * w2[k, j] ** 2
    assert cx.path_norm(net, (3,)) == pytest.approx(total, rel=1e-5)
    assert net[0].weight.detach().double().numpy() == pytest.approx(w1)  # the model is left unchanged


def test_path_norm_of_a_convolution_counts_the_paths_that_padding_leaves():
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(2, 3, bias=False),
    )  # fmt: skip
    w, v = net[0].weight.detach().double().numpy(), net[4].weight.detach().double().numpy()
    total = 0.0
    for k in range(3):
        for o in range(2):
            for y in range(3):
                for x in range(3):
                    for dy in range(3):
                        for dx in range(3):
                            if 0 <= y + dy - 1 < 3 and 0 <= x + dx - 1 < 3:
                                total += v[k, o] ** 2 * w[o, 0, dy, dx] ** 2 / 9  # the average pool's 1/9
    assert cx.path_norm(net, (1, 3, 3)) == pytest.approx(total, rel=1e-5)


def test_folding_batch_norm_keeps_the_function_and_scales_the_kernels():
    torch.manual_seed(2)
    model = build_model(ModelSpec("resnet", num_classes=3, in_channels=1)).eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 2), m.bias.uniform_(-1, 1)
                m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)
    x = torch.randn(4, 1, 8, 8)
    folded = cx.fold_batch_norm(model).eval()
    torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-4)
    layers = cx.weight_layers(model, model)
    conv, bn = model.stem[0], model.stem[1]
    expected = (conv.weight * (bn.weight / torch.sqrt(bn.running_var + bn.eps)).view(-1, 1, 1, 1)).detach()
    np.testing.assert_allclose(layers.final[0], expected.reshape(32, -1).double().numpy(), rtol=1e-6)
    kernels = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(layers.final) == len(kernels) and layers.names[-1] == "head"
    assert [w.shape for w in layers.final][:2] == [(32, 9), (32, 288)]


def test_steps_to_cross_entropy_reads_the_first_epoch_at_or_below_the_threshold():
    history = [
        {"epoch": 1, "train_loss": 0.5, "steps": 10},
        {"epoch": 2, "train_loss": 0.1, "steps": 20},
        {"epoch": 3, "train_loss": 0.05, "steps": 30},
    ]
    assert cx.steps_to_cross_entropy(history) == 20.0
    assert cx.steps_to_cross_entropy(history, count="epoch") == 2.0
    assert cx.steps_to_cross_entropy(history, threshold=0.06) == 30.0
    with pytest.raises(cx.UndefinedMeasure, match="never reached 0.01 in 3 epochs"):
        cx.steps_to_cross_entropy(history, threshold=0.01)
    old = [{k: v for k, v in h.items() if k != "steps"} for h in history]
    with pytest.raises(cx.UndefinedMeasure, match=r"does not record \['steps'\]"):
        cx.steps_to_cross_entropy(old)
    assert cx.steps_to_cross_entropy(old, count="epoch") == 2.0


def test_compute_measures_gives_every_model_measure_with_nan_and_a_reason_where_undefined():
    torch.manual_seed(3)
    spec = ModelSpec("vgg", num_classes=3, in_channels=1)
    model, initial = build_model(spec).eval(), build_model(spec).eval()
    x = torch.randn(30, 1, 8, 8)
    with torch.no_grad():
        logits = model(x).numpy()
    labels = logits.argmax(1)  # every sample right: a positive margin
    history = [{"epoch": 1, "train_loss": 0.05}]  # no "steps": an old metrics.json
    inputs = ModelInputs(model, initial, logits, labels, history, (1, 8, 8))
    values = compute_measures(inputs)
    assert list(values) == [m.name for m in measures_for(stage="model")] and len(values) >= 10
    assert math.isnan(values["steps_to_ce"]) and "steps" in inputs.reasons["steps_to_ce"]
    assert values["epochs_to_ce"] == 1.0
    assert values["margin"] == pytest.approx(cx.output_margin(logits, labels)) and values["margin"] > 0
    layers = cx.weight_layers(model, initial)
    assert values["fro_dist"] == pytest.approx(cx.frobenius_distance(layers.final, layers.initial))
    assert values["log_spec_bound"] == pytest.approx(cx.log_spectral_bound(layers.final, values["margin"]))
    assert values["path_norm"] == pytest.approx(cx.path_norm(model, (1, 8, 8)))
    assert all(m.orientation == (1 if m.name == "margin" else -1) for m in measures_for(stage="model"))
