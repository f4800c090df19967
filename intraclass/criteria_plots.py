"""The robust sign-error's figure: the empirical CDF of the per-environment sign-errors of each measure, the
distribution Dziugaite et al. 2020 plot per measure with its mean, 90th percentile and maximum (their
``figure_cdf_all_measures.py`` draws it as a heat map; here one line per measure). Data in (the errors of
:func:`intraclass.criteria.sign_error_environments`), a matplotlib Figure out; matplotlib is imported here only, so
that :mod:`intraclass.criteria` stays free of it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from .plots import COLORS, LIGHT_COLORS
from .registry import MEASURES, measure, measures_for

__all__ = ["fig_sign_error_cdf"]

FIGURE_SIZE = (7.0, 3.6)  # inches
CHANCE = 0.5  # the sign-error of a measure that ranks at random
LINESTYLES = {"preactivations": "-", "sharpness": "--", "model": "-."}  # one per registry stage
LINE_COLORS = COLORS + LIGHT_COLORS  # by position within the stage: 16 measures of a stage before a colour repeats


def fig_sign_error_cdf(errors_by_measure: Mapping[str, npt.ArrayLike], title: str | None = None) -> Figure:
    """One line per measure: the fraction of environments whose sign-error is at most x, for x in [0, 1].

    ``errors_by_measure`` maps registered measure names to their per-environment sign-errors (values in [0, 1]);
    lines are drawn in registry order, solid for measures of pre-activations, dashed for sharpness measures,
    dash-dotted for the field's measures of the model (the registry's stages), each in the colour of its position
    within its stage (so no two lines look alike), labelled with its number of environments, mean and maximum (the
    robust sign-error). A line that rises early and reaches 1 early is a measure that is right in every environment;
    a measure with no environment is listed in the legend without a line. A dotted line marks chance (0.5).
    """
    if not isinstance(errors_by_measure, Mapping) or not errors_by_measure:
        raise ValueError("fig_sign_error_cdf needs a non-empty mapping of measure name -> sign-errors")
    order = {name: index for index, name in enumerate(MEASURES)}
    in_stage = {stage: [m.name for m in measures_for(stage=stage)] for stage in LINESTYLES}
    for name in errors_by_measure:
        measure(name)  # raises, naming an unknown measure
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    ax = figure.subplots()
    for name in sorted(errors_by_measure, key=order.__getitem__):
        errors = np.sort(np.asarray(errors_by_measure[name], dtype=float).ravel())
        bad = errors[~((errors >= 0) & (errors <= 1))]
        if bad.size:
            raise ValueError(f"fig_sign_error_cdf: sign-errors of {name!r} must lie in [0, 1], got {bad[0]}")
        declared = measure(name)
        label = declared.oriented_latex
        position = in_stage[declared.stage].index(name)
        style = {"color": LINE_COLORS[position % len(LINE_COLORS)], "linestyle": LINESTYLES[declared.stage]}
        if not errors.size:
            ax.plot([], [], label=f"{label}: no environment", **style)
            continue
        n = errors.size
        # the step function F(x) = #{e <= x} / n, from (0, 0) to (1, 1)
        x = np.concatenate([[0.0], errors, [1.0]])
        y = np.concatenate([[0.0], np.arange(1, n + 1) / n, [1.0]])
        ax.plot(
            x,
            y,
            drawstyle="steps-post",
            linewidth=1.4,
            label=f"{label}: {n} env., mean {errors.mean():.2f}, max {errors.max():.2f}",
            **style,
        )
    ax.axvline(CHANCE, color="0.5", linestyle=":", linewidth=0.8)
    ax.set_xlim(-0.02, 1.02)  # keep the jumps at 0 and 1 (one replicate: errors are 0, 1/2 or 1) off the spines
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("sign-error of an environment", fontsize=9)
    ax.set_ylabel("fraction of environments", fontsize=9)
    if title is not None:
        ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=8)
    figure.legend(fontsize=7, loc="outside right upper", frameon=False)
    return figure
