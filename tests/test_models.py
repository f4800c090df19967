import pytest
import torch

from intraclass.activations import extract_preactivations, site_names
from intraclass.models import ModelSpec, PreActivation, build_model


@pytest.mark.parametrize(
    ("arch", "width", "depth", "neurons", "layers"),
    [
        ("vgg", 1.0, 1.0, 960, 8),
        ("vgg", 1.5, 1.0, 1440, 8),
        ("vgg", 1.0, 1.5, 1440, 12),
        ("resnet", 1.0, 1.0, 1920, 16),
        ("resnet", 1.5, 1.0, 2880, 16),
        ("resnet", 1.0, 1.5, 2880, 24),
    ],
)
def test_neuron_and_layer_counts_match_the_paper(arch, width, depth, neurons, layers):
    model = build_model(ModelSpec(arch, num_classes=10, width=width, depth=depth))
    assert model.neuron_count() == neurons
    assert len(model.preactivation_sites()) == layers


@pytest.mark.parametrize("arch", ["vgg", "resnet"])
@pytest.mark.parametrize("size", [8, 32, 13])
def test_any_input_size_gives_logits(arch, size):
    model = build_model(ModelSpec(arch, num_classes=7, in_channels=1 if size == 8 else 3))
    x = torch.randn(3, model.spec.in_channels, size, size)
    assert model(x).shape == (3, 7)


def test_resnet_sites_in_dag_order_with_block_sum_as_second_site():
    model = build_model(ModelSpec("resnet", num_classes=10))
    names = site_names(model)
    assert names[:4] == ["stages.0.branch.2", "stages.0.preactivation", "stages.1.branch.2", "stages.1.preactivation"]
    assert [site.channels for site in model.preactivation_sites()] == [32] * 4 + [64] * 4 + [128] * 4 + [256] * 4


def test_vgg_sites_follow_batchnorm_in_order():
    model = build_model(ModelSpec("vgg", num_classes=10, depth=1.5))
    modules = list(model.stages)
    sites = model.preactivation_sites()
    for site in sites:
        index = next(i for i, m in enumerate(modules) if m is site)
        assert isinstance(modules[index - 1], torch.nn.BatchNorm2d)
        assert isinstance(modules[index + 1], torch.nn.ReLU)
    assert [s.channels for s in sites] == [32] * 3 + [64] * 3 + [128] * 3 + [256] * 3


def test_preactivations_are_spatial_max_of_the_site_output():
    torch.manual_seed(0)
    model = build_model(ModelSpec("resnet", num_classes=5, in_channels=1)).eval()
    with torch.no_grad():  # push the first block's sum below zero: only a pre-ReLU read can see negatives
        model.stages[0].branch[6].bias.fill_(-100.0)
    x = torch.randn(6, 1, 8, 8)
    site = model.preactivation_sites()[1]  # the first block's sum, followed by an in-place ReLU
    seen = {}

    def keep_copy(_module, _inputs, output):
        seen["out"] = output.clone()  # returns None, so the model's own tensor flows on into the in-place ReLU

    handle = site.register_forward_hook(keep_copy)
    model(x)
    handle.remove()
    layers = extract_preactivations(model, x, batch_size=4)
    assert [a.shape for a in layers][:2] == [(6, 32), (6, 32)]
    torch.testing.assert_close(torch.from_numpy(layers[1]), seen["out"].amax(dim=(2, 3)))
    assert (layers[1] < 0).any(), "pre-activations must be taken before the ReLU"


def test_model_spec_rejects_unknown_values():
    with pytest.raises(ValueError, match="'lenet'"):
        ModelSpec("lenet", 10)
    with pytest.raises(ValueError, match="width factor must be 1 or 1.5, got 2"):
        ModelSpec("vgg", 10, width=2)
    assert isinstance(build_model(ModelSpec("vgg", 10)).preactivation_sites()[0], PreActivation)
