"""VGG and ResNet ("Wide ResNet") models of the paper (§3.1, A.2), with their pre-activation sites exposed.

Both families have four stages separated by three downsamplings, BN before every ReLU, stage-1 width 32 (x1) or
48 (x1.5) doubled after each downsampling, and a global average pool before the linear head, so they accept any
input size.

A *neuron* is a channel at a BN-then-ReLU site inside the four stages. Every such site is marked by a
:class:`PreActivation` module placed exactly where the pre-activation is (after the BN, or after the residual sum),
so hooks on ``model.preactivation_sites()`` see them in DAG order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

ARCHITECTURES = ("vgg", "resnet")
BASE_WIDTH = 32
STAGES = 4


class PreActivation(nn.Identity):
    """Marks a pre-activation site (the input of a ReLU); a no-op in the forward pass."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels


@dataclass(frozen=True)
class ModelSpec:
    """What defines a model's shape: architecture, width and depth factors, dropout, input and output sizes."""

    arch: str
    num_classes: int
    in_channels: int = 3
    width: float = 1.0
    depth: float = 1.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.arch!r}; expected one of {ARCHITECTURES}")
        if self.width not in (1.0, 1.5):
            raise ValueError(f"width factor must be 1 or 1.5, got {self.width!r}")
        if self.depth not in (1.0, 1.5):
            raise ValueError(f"depth factor must be 1 or 1.5, got {self.depth!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def stage_widths(self) -> list[int]:
        first = int(BASE_WIDTH * self.width)
        return [first * 2**stage for stage in range(STAGES)]

    @property
    def blocks_per_stage(self) -> int:
        """Conv blocks (VGG) or basic blocks (ResNet) per stage: 2 at depth x1, 3 at depth x1.5."""
        return 3 if self.depth == 1.5 else 2


class _Network(nn.Module):
    """Common head and site bookkeeping for both families."""

    def preactivation_sites(self) -> list[PreActivation]:
        """The pre-activation sites inside the four stages, in DAG order (the stem's site is excluded)."""
        return [m for m in self.stages.modules() if isinstance(m, PreActivation)]

    def neuron_count(self) -> int:
        return sum(site.channels for site in self.preactivation_sites())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _conv_bn(in_ch: int, out_ch: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(out_ch)]


class VGG(_Network):
    """VGG-9 (depth x1: 4 stages x 2 conv blocks + linear) or VGG-13 (4 x 3 + linear).

    A conv block is conv3x3-BN-ReLU followed by dropout; stages are separated by 2x2 max-pooling.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.stem = nn.Identity()
        layers: list[nn.Module] = []
        in_ch = spec.in_channels
        for stage, width in enumerate(spec.stage_widths):
            if stage > 0:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            for _ in range(spec.blocks_per_stage):
                layers += [*_conv_bn(in_ch, width), PreActivation(width), nn.ReLU(inplace=True)]
                layers.append(nn.Dropout(spec.dropout))
                in_ch = width
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(in_ch, spec.num_classes)


class BasicBlock(nn.Module):
    """Post-activation basic block: conv-BN-ReLU-dropout-conv-BN, add the shortcut, ReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            *_conv_bn(in_ch, out_ch, stride),
            PreActivation(out_ch),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            *_conv_bn(out_ch, out_ch),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )
        # The block's second pre-activation is the sum with the shortcut, just before the final ReLU.
        self.preactivation = PreActivation(out_ch)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.preactivation(self.branch(x) + self.shortcut(x)))


class ResNet(_Network):
    """ResNet-18 (stem conv + 4 stages x 2 basic blocks + linear) or ResNet-26 (4 x 3 blocks)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        widths = spec.stage_widths
        self.stem = nn.Sequential(*_conv_bn(spec.in_channels, widths[0]), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        in_ch = widths[0]
        for stage, width in enumerate(widths):
            for block in range(spec.blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(BasicBlock(in_ch, width, stride, spec.dropout))
                in_ch = width
        self.stages = nn.Sequential(*blocks)
        self.head = nn.Linear(in_ch, spec.num_classes)


def build_model(spec: ModelSpec) -> _Network:
    """The model described by ``spec``, freshly initialised (seed torch beforehand for reproducibility)."""
    return VGG(spec) if spec.arch == "vgg" else ResNet(spec)
