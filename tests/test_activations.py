import numpy as np
import torch
from torch import nn

from intraclass.activations import extract_preactivations


def _with_running_statistics(model: nn.Module) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, so that inference-mode BN is not the identity."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            shape = module.running_mean.shape
            module.running_mean.copy_(torch.randn(shape, generator=generator))
            module.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(shape, generator=generator))
            module.bias.data.copy_(torch.randn(shape, generator=generator))
    return model


def test_2d_site_before_an_inplace_relu_keeps_its_negative_preactivations():
    torch.manual_seed(0)
    model = _with_running_statistics(
        nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(inplace=True), nn.Linear(8, 3))
    )
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(2))

    (stored,) = extract_preactivations(model, x, sites=[model[1]], batch_size=16)

    with torch.no_grad():
        model.eval()
        expected = model[1](model[0](x)).numpy()  # the layers by hand, no ReLU
    assert expected.min() < -0.5  # the ReLU would have changed these values
    np.testing.assert_allclose(stored, expected, rtol=1e-6, atol=1e-6)  # batching may change the last bit


def test_conv_site_before_an_inplace_relu_is_its_global_max():
    torch.manual_seed(0)
    model = _with_running_statistics(
        nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(inplace=True), nn.Conv2d(5, 2, 1))
    )
    x = torch.randn(20, 2, 6, 6, generator=torch.Generator().manual_seed(3))

    (stored,) = extract_preactivations(model, x, sites=[model[1]], batch_size=7)

    with torch.no_grad():
        model.eval()
        expected = model[1](model[0](x)).amax(dim=(2, 3)).numpy()
    assert expected.min() < 0  # some neurons' maxima are negative: pooled before the ReLU
    np.testing.assert_allclose(stored, expected, rtol=1e-6, atol=1e-6)  # batching may change the last bit
