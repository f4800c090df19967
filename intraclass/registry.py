"""The measure registry: every measure the workflow computes, ranks and plots is declared here, once.

A :class:`Measure` says what a column of ``measures.csv`` is (its name, Markdown and LaTeX labels), how it is
ranked (orientation: +1 when larger predicts higher test accuracy, -1 for a complexity, negated before ranking),
what it looks at (``level``: neurons, layers or the whole model), whether it needs subclass labels, and how it is
computed. Measures of the ``preactivations`` stage are computed from a model's stored pre-activations by
``compute(inputs)``, where ``inputs`` is a :class:`PreactivationInputs`; measures of the ``sharpness`` stage come
out of :func:`intraclass.sharpness.sharpness_measures` (one bisection per measure, torch), named here only.

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

__all__ = [
    "MEASURES",
    "Measure",
    "PreactivationInputs",
    "compute_measures",
    "label",
    "measure",
    "measures_for",
    "register",
]

Level = Literal["neuron", "layer", "model"]
Stage = Literal["preactivations", "sharpness"]


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
    compute: Callable[[PreactivationInputs], float] | None = None  # preactivations stage only

    def __post_init__(self) -> None:
        if self.orientation not in (1, -1):
            raise ValueError(f"measure {self.name!r}: orientation must be +1 or -1, got {self.orientation!r}")
        if (self.stage == "preactivations") != (self.compute is not None):
            raise ValueError(f"measure {self.name!r}: a compute function belongs to the preactivations stage only")

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


def compute_measures(inputs: PreactivationInputs) -> dict[str, float]:
    """Every registered ``preactivations``-stage measure of one model (those needing subclasses only when
    ``inputs.sublabels`` is given), in declaration order."""
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
    )
)  # fmt: skip
register(
    Measure(
        "c2", "c2", "$c_2$", +1, "layer", True, "preactivations",
        "median over subclasses of the top-k mean over layers of the subclass's cosine silhouette (paper eq. 2)",
        _from_summary("c2"),
    )
)  # fmt: skip
register(
    Measure(
        "c3", "c3", "$c_3$", +1, "neuron", False, "preactivations",
        "mean over classes of the top-k mean over neurons of the class/all std ratio (paper eq. 3)",
        _from_summary("c3"),
    )
)  # fmt: skip
register(
    Measure(
        "c4", "c4", "$c_4$", +1, "layer", False, "preactivations",
        "mean over classes of the top-k mean over layers of the class/all pairwise-distance spread ratio (eq. 4)",
        _from_summary("c4"),
    )
)  # fmt: skip
register(
    Measure(
        "inv_sigma_p", "1/σ'", "$1/\\sigma'$", -1, "model", False, "sharpness",
        "1/sigma': largest Gaussian weight noise keeping the training-accuracy drop at 0.1 (Jiang et al. 2020)",
    )
)  # fmt: skip
register(
    Measure(
        "inv_sigma_pp", "1/σ''", "$1/\\sigma''$", -1, "model", False, "sharpness",
        "1/sigma'': as 1/sigma' with only conv/linear kernels perturbed, BN in batch-statistics mode",
    )
)  # fmt: skip
register(
    Measure(
        "inv_alpha_p", "1/α'", "$1/\\alpha'$", -1, "model", False, "sharpness",
        "1/alpha': largest worst-case (gradient-ascent) weight perturbation keeping the drop at 0.1",
    )
)  # fmt: skip
register(
    Measure(
        "inv_alpha_pp", "1/α''", "$1/\\alpha''$", -1, "model", False, "sharpness",
        "1/alpha'': as 1/alpha' with only conv/linear kernels perturbed, BN in batch-statistics mode",
    )
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Beyond the paper (SPEC §13)
# ---------------------------------------------------------------------------------------------------------------


register(
    Measure(
        "c5", "c5", "$c_5$", +1, "neuron", False, "preactivations",
        "mean over classes of the top-k mean over neurons of the bimodality coefficient of the class's pre-activations",
        _from_summary("c5"),
    )
)  # fmt: skip
