"""The measure registry: every measure the workflow computes, ranks and plots is declared here, once.

A :class:`Measure` says what a column of ``measures.csv`` is (its name, Markdown and LaTeX labels), how it is
ranked (orientation: +1 when larger predicts higher test accuracy, -1 for a complexity, negated before ranking),
what it looks at (``level``: neurons, layers or the whole model), whether it needs subclass labels, what it is
computed from (``needs``, a subset of :data:`NEEDS`), and how. The ``stage`` is the job that computes it: measures
of the ``preactivations`` stage are computed from a model's stored pre-activations by ``compute(inputs)``, where
``inputs`` is a :class:`PreactivationInputs`; measures of the ``model`` stage (the field's norm-, margin- and
optimization-based measures, :mod:`intraclass.complexity`) by ``compute(inputs)`` on a :class:`ModelInputs` in the
job that loads the model anyway (extract); measures of the ``sharpness`` stage come out of
:func:`intraclass.sharpness.sharpness_measures` (one bisection per measure, torch), named here only.

Tables, figures, the report and the scripts iterate :data:`MEASURES` (declaration order is display order). Adding
a measure is one :func:`register` call next to its function; nothing else needs editing. This module imports
neither torch nor matplotlib, so the DAG, the tables and the figures can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from . import complexity
from .complexity import UndefinedMeasure

__all__ = [
    "MEASURES",
    "NEEDS",
    "Measure",
    "ModelInputs",
    "PreactivationInputs",
    "compute_measures",
    "label",
    "measure",
    "measures_for",
    "register",
]

Level = Literal["neuron", "layer", "model"]
Stage = Literal["preactivations", "model", "sharpness"]
# What a measure can be computed from: a model's stored pre-activations; its final weights; its initial (epoch-0)
# weights; its training history (metrics.json); its outputs on the un-augmented training set; the training set itself
# (a measure that runs the perturbed model on it).
NEEDS = ("preactivations", "weights", "initial_weights", "history", "training_outputs", "training_set")


@dataclass
class PreactivationInputs:
    """What a ``preactivations``-stage measure is computed from: one model's stored pre-activations.

    ``layers`` are ``(n_samples, d_l)`` arrays (float16 as stored), ``labels`` the classes trained on, ``sublabels``
    the subclasses or None, ``options`` the study's ``measures`` options for this model (``k_neurons``,
    ``k_layers``, ...). :attr:`summary` is :func:`intraclass.measures.measure_summary` of them, computed once and
    shared by every measure that reads it.
    """

    layers: Sequence[np.ndarray]
    layer_names: Sequence[str]
    labels: np.ndarray
    sublabels: np.ndarray | None
    options: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def summary(self) -> dict[str, Any]:
        from .measures import measure_summary

        return measure_summary(self.layers, self.layer_names, self.labels, self.sublabels, **self.options)


@dataclass
class ModelInputs:
    """What a ``model``-stage measure is computed from: one trained model, its initial network and its run's record.

    ``model`` and ``initial`` are the final and the epoch-0 torch modules (same architecture), ``outputs`` the final
    model's logits on the un-augmented training set (inference mode) with their ``labels``, ``history`` the run's
    per-epoch training record (metrics.json ``history``), ``input_shape`` one image's (channels, height, width).
    :attr:`layers` are the weight matrices of :func:`intraclass.complexity.weight_layers`, computed once and shared
    by every measure that reads them; :attr:`margin` likewise. A measure undefined for this model leaves its reason
    in ``reasons``.
    """

    model: Any
    initial: Any
    outputs: np.ndarray
    labels: np.ndarray
    history: Sequence[dict[str, Any]]
    input_shape: tuple[int, ...]
    reasons: dict[str, str] = field(default_factory=dict)  # why a measure is NaN, filled by the measures

    @cached_property
    def layers(self) -> complexity.WeightLayers:
        return complexity.weight_layers(self.model, self.initial)

    @cached_property
    def margin(self) -> float:
        return complexity.output_margin(self.outputs, self.labels)


@dataclass(frozen=True)
class Measure:
    """One measure's single declaration."""

    name: str  # its column in measures.csv
    markdown: str
    latex: str
    orientation: Literal[1, -1]
    level: Level
    needs_subclasses: bool
    stage: Stage
    description: str
    compute: Callable[[Any], float] | None = None  # every stage but sharpness
    needs: tuple[str, ...] = ()  # a non-empty subset of NEEDS

    def __post_init__(self) -> None:
        if self.orientation not in (1, -1):
            raise ValueError(f"measure {self.name!r}: orientation must be +1 or -1, got {self.orientation!r}")
        if (self.stage != "sharpness") != (self.compute is not None):
            raise ValueError(f"measure {self.name!r}: a compute function belongs to every stage but sharpness")
        unknown = [n for n in self.needs if n not in NEEDS]
        if not self.needs or unknown:
            raise ValueError(f"measure {self.name!r}: needs must be a non-empty subset of {NEEDS}, got {self.needs!r}")
        if (self.stage == "preactivations") != (self.needs == ("preactivations",)):
            raise ValueError(f"measure {self.name!r}: the preactivations stage needs the pre-activations only")

    @property
    def oriented_latex(self) -> str:
        """The LaTeX label of the measure as ranked (complexities negated)."""
        return self.latex if self.orientation > 0 else "$-$" + self.latex


MEASURES: dict[str, Measure] = {}


def register(new: Measure) -> Measure:
    """Add a measure to :data:`MEASURES` (after those already there); a name can be declared only once."""
    if new.name in MEASURES:
        raise ValueError(f"measure {new.name!r} is already registered")
    MEASURES[new.name] = new
    return new


def measure(name: str) -> Measure:
    try:
        return MEASURES[name]
    except KeyError:
        raise ValueError(f"unknown measure {name!r}; registered: {sorted(MEASURES)}") from None


def label(name: str, style: Literal["markdown", "latex", "oriented_latex"] = "markdown") -> str:
    """A column's label in a table or figure: the registered measure's Markdown, LaTeX or oriented LaTeX label, or,
    for a column that is not a registered measure (a control, a swept variant), its name (escaped for LaTeX)."""
    if name not in MEASURES:
        from .tables import latex_text

        return name if style == "markdown" else latex_text(name)
    declared = MEASURES[name]
    return {"markdown": declared.markdown, "latex": declared.latex, "oriented_latex": declared.oriented_latex}[style]


def measures_for(
    columns: Iterable[str] | None = None, stage: Stage | None = None, subclasses: bool | None = None
) -> list[Measure]:
    """The registered measures, in declaration order, restricted to those present in ``columns``, of ``stage``, or
    computable with (``subclasses=True``) or without (``False``) subclass labels."""
    present = None if columns is None else set(columns)
    return [
        m
        for m in MEASURES.values()
        if (present is None or m.name in present)
        and (stage is None or m.stage == stage)
        and (subclasses is None or subclasses or not m.needs_subclasses)
    ]


def compute_measures(inputs: PreactivationInputs | ModelInputs) -> dict[str, float]:
    """Every registered measure of one model computed from ``inputs``: the ``preactivations``-stage measures from a
    :class:`PreactivationInputs` (those needing subclasses only when ``inputs.sublabels`` is given) or the
    ``model``-stage measures from a :class:`ModelInputs`, in declaration order."""
    if isinstance(inputs, ModelInputs):
        values = {}
        for m in measures_for(stage="model"):
            try:
                values[m.name] = float(m.compute(inputs))
            except UndefinedMeasure as why:
                values[m.name], inputs.reasons[m.name] = float("nan"), str(why)
        return values
    wanted = measures_for(stage="preactivations", subclasses=inputs.sublabels is not None)
    return {m.name: float(m.compute(inputs)) for m in wanted}


def _from_summary(name: str) -> Callable[[PreactivationInputs], float]:
    def compute(inputs: PreactivationInputs) -> float:
        return float(inputs.summary[name])

    compute.__name__ = f"{name}_from_summary"
    compute.__doc__ = f"``{name}`` as :func:`intraclass.measures.measure_summary` computes it (one pass, shared)."
    return compute


# ---------------------------------------------------------------------------------------------------------------
# The paper's measures (SPEC §6, §7). c1-c4 are computed together by measure_summary, which shares the per-group
# moments between them; each has its own public function in intraclass.measures too.
# ---------------------------------------------------------------------------------------------------------------

register(
    Measure(
        "c1", "c1", "$c_1$", +1, "neuron", True, "preactivations",
        "median over subclasses of the top-k mean over neurons of the subclass's selectivity (paper eq. 1)",
        _from_summary("c1"),
        needs=("preactivations",),
    )
)  # fmt: skip
register(
    Measure(
        "c2", "c2", "$c_2$", +1, "layer", True, "preactivations",
        "median over subclasses of the top-k mean over layers of the subclass's cosine silhouette (paper eq. 2)",
        _from_summary("c2"),
        needs=("preactivations",),
    )
)  # fmt: skip
register(
    Measure(
        "c3", "c3", "$c_3$", +1, "neuron", False, "preactivations",
        "mean over classes of the top-k mean over neurons of the class/all std ratio (paper eq. 3)",
        _from_summary("c3"),
        needs=("preactivations",),
    )
)  # fmt: skip
register(
    Measure(
        "c4", "c4", "$c_4$", +1, "layer", False, "preactivations",
        "mean over classes of the top-k mean over layers of the class/all pairwise-distance spread ratio (eq. 4)",
        _from_summary("c4"),
        needs=("preactivations",),
    )
)  # fmt: skip
register(
    Measure(
        "inv_sigma_p", "1/σ'", "$1/\\sigma'$", -1, "model", False, "sharpness",
        "1/sigma': PAC-Bayes magnitude-aware flatness (Jiang et al. 2020, pacbayes.mag.flatness): 1 / the largest "
        "relative Gaussian weight noise keeping the training-accuracy drop at 0.1",
        needs=("weights", "training_set"),
    )
)  # fmt: skip
register(
    Measure(
        "inv_sigma_pp", "1/σ''", "$1/\\sigma''$", -1, "model", False, "sharpness",
        "1/sigma'': as 1/sigma' with only conv/linear kernels perturbed, BN in batch-statistics mode",
        needs=("weights", "training_set"),
    )
)  # fmt: skip
register(
    Measure(
        "inv_alpha_p", "1/α'", "$1/\\alpha'$", -1, "model", False, "sharpness",
        "1/alpha': magnitude-aware sharpness flatness (Jiang et al. 2020, sharpness.mag.flatness): 1 / the "
        "largest relative worst-case (gradient-ascent) weight perturbation keeping the drop at 0.1",
        needs=("weights", "training_set"),
    )
)  # fmt: skip
register(
    Measure(
        "inv_alpha_pp", "1/α''", "$1/\\alpha''$", -1, "model", False, "sharpness",
        "1/alpha'': as 1/alpha' with only conv/linear kernels perturbed, BN in batch-statistics mode",
        needs=("weights", "training_set"),
    )
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Beyond the paper (SPEC §13)
# ---------------------------------------------------------------------------------------------------------------


register(
    Measure(
        "c5", "c5", "$c_5$", +1, "neuron", False, "preactivations",
        "mean over classes of the top-k mean over neurons of the bimodality coefficient of the class's pre-activations",
        _from_summary("c5"), needs=("preactivations",),
    )
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# The field's measures (SPEC §14; Jiang et al. 2020, appendix C, their equation numbers): intraclass.complexity,
# computed in the extract job, which loads the final and the epoch-0 model and runs the training set anyway.
# ---------------------------------------------------------------------------------------------------------------

_WEIGHTS = ("weights",)
_DISTANCE = ("weights", "initial_weights")
_MARGIN = ("weights", "training_outputs")

register(
    Measure(
        "param_norm", "param norm", "param norm", -1, "model", False, "model",
        "sum of squared Frobenius norms of the BN-folded, reshaped kernels (Jiang et al. eq. 42)",
        lambda inputs: complexity.param_norm(inputs.layers.final), needs=_WEIGHTS,
    )
)  # fmt: skip
register(
    Measure(
        "fro_dist", "Frobenius dist. to init.", "Frob. dist. init.", -1, "model", False, "model",
        "squared Frobenius distance of the kernels to the epoch-0 network's (Jiang et al. eq. 40)",
        lambda inputs: complexity.frobenius_distance(inputs.layers.final, inputs.layers.initial), needs=_DISTANCE,
    )
)  # fmt: skip
register(
    Measure(
        "log_prod_of_spec", "log prod. spec.", "log prod. spec.", -1, "model", False, "model",
        "log product of the kernels' squared spectral norms (Jiang et al. eq. 32)",
        lambda inputs: complexity.log_product_of_spectral_norms(inputs.layers.final), needs=_WEIGHTS,
    )
)  # fmt: skip
register(
    Measure(
        "log_sum_of_spec", "log sum spec.", "log sum spec.", -1, "model", False, "model",
        "log sum of squared spectral norms, balanced over layers (Jiang et al. eq. 35)",
        lambda inputs: complexity.log_sum_of_spectral_norms(inputs.layers.final), needs=_WEIGHTS,
    )
)  # fmt: skip
register(
    Measure(
        "log_prod_of_fro", "log prod. Frob.", "log prod. Frob.", -1, "model", False, "model",
        "log product of the kernels' squared Frobenius norms (Jiang et al. eq. 37)",
        lambda inputs: complexity.log_product_of_frobenius_norms(inputs.layers.final), needs=_WEIGHTS,
    )
)  # fmt: skip
register(
    Measure(
        "log_sum_of_fro", "log sum Frob.", "log sum Frob.", -1, "model", False, "model",
        "log sum of squared Frobenius norms, balanced over layers (Jiang et al. eq. 39)",
        lambda inputs: complexity.log_sum_of_frobenius_norms(inputs.layers.final), needs=_WEIGHTS,
    )
)  # fmt: skip
register(
    Measure(
        "dist_spec_init", "spectral dist. to init.", "spec. dist. init.", -1, "model", False, "model",
        "sum of squared spectral norms of the kernels' change since epoch 0 (Jiang et al. eq. 41)",
        lambda inputs: complexity.spectral_distance(inputs.layers.final, inputs.layers.initial), needs=_DISTANCE,
    )
)  # fmt: skip
register(
    Measure(
        "path_norm", "path norm", "path norm", -1, "model", False, "model",
        "sum over paths of the product of squared weights: the squared network on an all-ones input (eq. 44)",
        lambda inputs: complexity.path_norm(inputs.model, inputs.input_shape), needs=_WEIGHTS,
    )
)  # fmt: skip
register(
    Measure(
        "margin", "margin", "margin $\\gamma$", +1, "model", False, "model",
        "10th percentile over the training set of the true-class logit minus the largest other (Jiang et al. C.2)",
        lambda inputs: inputs.margin, needs=("training_outputs",),
    )
)  # fmt: skip
register(
    Measure(
        "log_spec_over_margin", "log prod. spec. / margin²", "log prod. spec./$\\gamma^2$", -1, "model", False,
        "model", "log product of squared spectral norms over the squared margin (Jiang et al. eq. 31)",
        lambda inputs: complexity.log_spectral_over_margin(inputs.layers.final, inputs.margin), needs=_MARGIN,
    )
)  # fmt: skip
register(
    Measure(
        "log_spec_bound", "spectral bound", "spec. bound", -1, "model", False, "model",
        "spectral margin bound, log(prod ||W||_2^2 / margin^2 * sum ||W||_F^2/||W||_2^2) (Jiang et al. eq. 30)",
        lambda inputs: complexity.log_spectral_bound(inputs.layers.final, inputs.margin), needs=_MARGIN,
    )
)  # fmt: skip
register(
    Measure(
        "steps_to_ce", "steps to CE 0.1", "steps to CE 0.1", -1, "model", False, "model",
        "optimizer steps until the epoch's mean training cross-entropy first reaches 0.1 (Jiang et al. C.6)",
        lambda inputs: complexity.steps_to_cross_entropy(inputs.history, count="steps"), needs=("history",),
    )
)  # fmt: skip
register(
    Measure(
        "epochs_to_ce", "epochs to CE 0.1", "epochs to CE 0.1", -1, "model", False, "model",
        "epochs until the epoch's mean training cross-entropy first reaches 0.1 (as steps_to_ce, in epochs)",
        lambda inputs: complexity.steps_to_cross_entropy(inputs.history, count="epoch"), needs=("history",),
    )
)  # fmt: skip
