"""The hyperparameter grid (SPEC §3): the paper's full product, a star design, or explicit value lists.

A configuration is a :class:`RunConfig`; its run id is built from its values only, so the same configuration has
the same id (and seed) on every machine.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .columns import as_bool

HYPERPARAMETERS = ("lr", "weight_decay", "batch_size", "optimizer", "dropout", "augment", "width", "depth")


# The granulated-Kendall axes (intraclass.kendall): here so that planning (intraclass.selection) needs no statistics.
@dataclass(frozen=True)
class Axis:
    """One granulated axis: the hyperparameter column that varies, and the filter ``filter_column == filter_value``
    restricting the coupled axis (``None``: no filter)."""

    name: str
    column: str
    label: str
    filter_column: str | None = None
    filter_value: Any = None

    def mask(self, df: pd.DataFrame) -> pd.Series:
        """The rows of ``df`` on which this axis is varied."""
        if self.filter_column is None:
            return pd.Series(True, index=df.index)
        values = df[self.filter_column]
        if isinstance(self.filter_value, bool):
            return as_bool(values) == self.filter_value
        return pd.Series(
            np.isclose(values.astype(float), float(self.filter_value), rtol=1e-9, atol=0.0), index=df.index
        )


AXES: tuple[Axis, ...] = (
    Axis("learning_rate", "lr", "learning rate", "weight_decay", 0.0),
    Axis("weight_decay", "weight_decay", "weight decay", "lr", 0.1),
    Axis("batch_size", "batch_size", "batch size"),
    Axis("optimizer", "optimizer", "optimizer"),
    Axis("dropout", "dropout", "dropout", "augment", False),
    Axis("augment", "augment", "data augm.", "dropout", 0.0),
    Axis("width", "width", "width", "depth", 1.0),
    Axis("depth", "depth", "depth", "width", 1.0),
)
# The paper's coupled axes (A.1): weight decay only at the highest rate; dropout only without augmentation;
# width and depth never both enlarged. (The paper prints lr 0.32, a typo for 0.032: SPEC §3.)
PAPER_LR_WD = ((0.01, 0.0), (0.032, 0.0), (0.1, 0.0), (0.1, 4e-5))
PAPER_BATCH_SIZES = (100, 300)
PAPER_OPTIMIZERS = ("sgd", "adam")
PAPER_DROPOUT_AUGMENT = ((0.0, True), (0.0, False), (0.2, False), (0.4, False))
PAPER_WIDTH_DEPTH = ((1.0, 1.0), (1.5, 1.0), (1.0, 1.5))

# Each axis of the star design, with the values the paper varies it over (the other axes held at the base).
PAPER_AXIS_VALUES: dict[str, tuple[Any, ...]] = {
    "lr": (0.01, 0.032, 0.1),
    "weight_decay": (0.0, 4e-5),
    "batch_size": PAPER_BATCH_SIZES,
    "optimizer": PAPER_OPTIMIZERS,
    "dropout": (0.0, 0.2, 0.4),
    "augment": (True, False),
    "width": (1.0, 1.5),
    "depth": (1.0, 1.5),
}
VGG_MAX_DROPOUT = 0.2  # the paper drops dropout 0.4 for VGGs


def experiment_name(dataset: str, arch: str) -> str:
    """The name of an experiment, a dataset-architecture pair, e.g. ``"cifar10_vgg"``: the unit of the Kendall
    tables, the figure folders and the paper's Tables 1-3, and the start of each of its runs' ids."""
    return f"{dataset}_{arch}"


@dataclass(frozen=True)
class RunConfig:
    """One model to train: dataset, architecture, the 8 hyperparameters and a replicate index."""

    dataset: str
    arch: str
    lr: float
    weight_decay: float
    batch_size: int
    optimizer: str
    dropout: float
    augment: bool
    width: float
    depth: float
    replicate: int = 0

    def __post_init__(self) -> None:
        # Normalise types so that YAML's 1 and 1.0 give one configuration and one id.
        for name in ("lr", "weight_decay", "dropout", "width", "depth"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "batch_size", int(self.batch_size))
        object.__setattr__(self, "augment", bool(self.augment))

    @property
    def experiment(self) -> str:
        """The run's experiment, :func:`experiment_name` of its dataset and architecture."""
        return experiment_name(self.dataset, self.arch)

    @property
    def run_id(self) -> str:
        """Readable and stable, e.g. ``digits-coarse_resnet_lr0.1_wd0_bs100_sgd_do0_aug1_w1_d1_r0``: the
        experiment, then the hyperparameters and the replicate."""
        return (
            f"{self.experiment}_lr{self.lr:g}_wd{self.weight_decay:g}_bs{self.batch_size}"
            f"_{self.optimizer}_do{self.dropout:g}_aug{int(self.augment)}_w{self.width:g}_d{self.depth:g}"
            f"_r{self.replicate}"
        )

    @property
    def seed(self) -> int:
        """A seed derived from the run id: stable everywhere, different for every configuration."""
        return zlib.crc32(self.run_id.encode()) & 0x7FFFFFFF

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, **asdict(self), "seed": self.seed}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunConfig:
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def paper_grid(dataset: str, arch: str) -> list[RunConfig]:
    """The paper's full product: 192 configurations, 144 for VGG (no dropout 0.4)."""
    runs = []
    for (lr, wd), bs, opt, (do, aug), (w, d) in itertools.product(
        PAPER_LR_WD, PAPER_BATCH_SIZES, PAPER_OPTIMIZERS, PAPER_DROPOUT_AUGMENT, PAPER_WIDTH_DEPTH
    ):
        if arch == "vgg" and do > VGG_MAX_DROPOUT:
            continue
        runs.append(RunConfig(dataset, arch, lr, wd, bs, opt, do, aug, w, d))
    return runs


def star_grid(dataset: str, arch: str, base: Mapping[str, Any], values: Mapping[str, Iterable[Any]]) -> list[RunConfig]:
    """The base configuration, then each axis varied alone over its values (duplicates of the base dropped)."""
    origin = RunConfig(dataset, arch, **base)
    runs = {origin.run_id: origin}
    for axis, axis_values in values.items():
        for value in axis_values:
            run = replace(origin, **{axis: value})
            runs.setdefault(run.run_id, run)
    return list(runs.values())


def list_grid(dataset: str, arch: str, base: Mapping[str, Any], values: Mapping[str, Iterable[Any]]) -> list[RunConfig]:
    """The product of explicit value lists per axis; axes without a list keep the base value."""
    axes = {name: list(values.get(name, [base[name]])) for name in HYPERPARAMETERS}
    combos = itertools.product(*axes.values())
    return [RunConfig(dataset, arch, **dict(zip(axes, combo, strict=True))) for combo in combos]


def experiment_runs(experiment: Mapping[str, Any]) -> list[RunConfig]:
    """The runs of one experiment of the config (keys: dataset, arch, design, base, values, replicates)."""
    dataset, arch, design = experiment["dataset"], experiment["arch"], experiment["design"]
    if design == "paper":
        runs = paper_grid(dataset, arch)
    else:
        base = experiment["base"]
        default_values = {
            axis: [
                v for v in PAPER_AXIS_VALUES[axis] if not (axis == "dropout" and arch == "vgg" and v > VGG_MAX_DROPOUT)
            ]
            for axis in HYPERPARAMETERS
        }
        values = experiment.get("values") or (default_values if design == "star" else {})
        runs = (star_grid if design == "star" else list_grid)(dataset, arch, base, values)
    return [replace(run, replicate=r) for run in runs for r in range(experiment.get("replicates", 1))]


def study_runs(experiments: Iterable[Mapping[str, Any]]) -> dict[str, RunConfig]:
    """All runs of a study by run id; a configuration listed by two experiments is trained once."""
    runs: dict[str, RunConfig] = {}
    for experiment in experiments:
        for run in experiment_runs(experiment):
            runs.setdefault(run.run_id, run)
    return runs


# The paper's schedule (A.2): x0.2 at epochs 150, 230 and 240 of 250, kept as fractions of smaller budgets.
LR_MILESTONE_FRACTIONS = (150 / 250, 230 / 250, 240 / 250)
LR_GAMMA = 0.2
SGD_MOMENTUM = 0.9
ADAM_LR_DIVISOR = 100  # Adam runs with the learning rate divided by 100 (A.2)


PRECISIONS = ("auto", "fp32", "bf16")  # auto: what was measured faster per device type (training.AUTO_PRECISION)


@dataclass(frozen=True)
class TrainingSettings:
    """Everything about training that is not a hyperparameter of the grid (units after each field)."""

    epochs: int = 250  # passes over the training split
    min_loss: float = 1e-4  # nats per image: stop once the epoch's mean training loss is below this
    checkpoint_every: int = 5  # epochs
    snapshot_epochs: tuple[int, ...] = ()  # epochs after which the weights are kept; 0 = the untrained network
    eval_batch_size: int = 1000  # images per forward pass when evaluating
    precision: str = "auto"  # one of PRECISIONS: the arithmetic of training's forward and backward passes
    test_every: int = 1  # epochs between evaluations on the test split (snapshot epochs and the last always are)

    def __post_init__(self) -> None:
        object.__setattr__(self, "snapshot_epochs", tuple(sorted(set(self.snapshot_epochs))))
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.test_every < 1:
            raise ValueError(f"test_every must be >= 1, got {self.test_every}")
        outside = [e for e in self.snapshot_epochs if not 0 <= e <= self.epochs]
        if outside:
            raise ValueError(f"snapshot epochs {outside} are outside 0..{self.epochs}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")

    def milestones(self) -> list[int]:
        return sorted({max(1, round(f * self.epochs)) for f in LR_MILESTONE_FRACTIONS})
