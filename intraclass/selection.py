"""Which runs count, and which tables and figures a study can have (SPEC §8: "models that diverged or did not fit
the training set are listed and left out, never silently").

- :func:`select_runs` decides which runs are kept and why the others are excluded; :func:`mark_runs` writes that
  decision into runs.csv (rule collect_runs, the only reader of ``kendall.min_train_acc``) as ``kept`` and
  ``reason`` columns, and :func:`split_runs` is how every later stage reads it;
- :func:`plan_products` decides, from runs.csv alone, which tables and figures of :data:`KINDS` the study can have
  and why it cannot have the others (rules/common.smk requests the first, the summary lists the second);
- :func:`followed_runs` picks the runs Fig. 2, 6 and 7 follow over training (highest, median, lowest test accuracy);
- :func:`rankable` and :func:`enough_to_draw` are the counts those decisions rest on.

Pure pandas, no statistics: the DAG (rules/common.smk) calls these while it is built, so they import neither
torch, matplotlib nor the Kendall module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from .columns import as_bool, require_columns
from .grid import AXES, HYPERPARAMETERS, experiment_name

__all__ = [
    "FOLLOWED_LABELS",
    "FOLLOWED_MIN",
    "KEPT",
    "KINDS",
    "MIN_MODELS",
    "REASON",
    "Kind",
    "Product",
    "Selection",
    "StudyFacts",
    "as_bool",
    "enough_to_draw",
    "followed_runs",
    "mark_runs",
    "plan_products",
    "rankable",
    "select_runs",
    "split_runs",
]

log = logging.getLogger(__name__)

ACCURACY = "test_acc"
FOLLOWED_LABELS = ("high", "mid", "low")
MIN_MODELS = 2  # no figure or statistic is drawn from fewer kept models
FOLLOWED_MIN = len(FOLLOWED_LABELS)
KEPT, REASON = "kept", "reason"  # runs.csv's columns of the decision


class Selection(NamedTuple):
    """``kept`` rows, and ``excluded`` rows with a ``reason`` column (several reasons joined by "; ")."""

    kept: pd.DataFrame
    excluded: pd.DataFrame


def select_runs(runs: pd.DataFrame, min_train_acc: float = 0.99) -> Selection:
    """Split runs into kept and excluded.

    A run is excluded if it diverged, if ``train_acc < min_train_acc`` (it did not fit the training set;
    accuracies are fractions), or if its train or test accuracy is missing or not finite.
    """
    require_columns(runs, ("diverged", "train_acc", ACCURACY), "select_runs")
    if not (isinstance(min_train_acc, (int, float)) and 0.0 <= float(min_train_acc) <= 1.0):
        raise ValueError(f"min_train_acc must be a fraction in [0, 1], got {min_train_acc!r}")
    diverged = as_bool(runs["diverged"])
    train = pd.to_numeric(runs["train_acc"], errors="coerce")
    test = pd.to_numeric(runs[ACCURACY], errors="coerce")
    reasons = []
    for idx in runs.index:
        why = []
        if diverged[idx]:
            why.append("diverged")
        if not np.isfinite(train[idx]):
            why.append("train_acc missing")
        elif train[idx] < min_train_acc:
            why.append(f"train_acc {train[idx]:.4f} < {min_train_acc:g} (not fitted)")
        if not np.isfinite(test[idx]):
            why.append("test_acc missing")
        reasons.append("; ".join(why))
    reason = pd.Series(reasons, index=runs.index, dtype=object)
    out = reason != ""
    excluded = runs.loc[out].copy()
    excluded[REASON] = reason[out]
    return Selection(runs.loc[~out].copy(), excluded)


def mark_runs(runs: pd.DataFrame, min_train_acc: float = 0.99) -> pd.DataFrame:
    """``runs`` with a boolean ``kept`` column and a ``reason`` column ("" for a kept run): :func:`select_runs`'s
    decision written into runs.csv once (rule collect_runs), for every later stage to read with
    :func:`split_runs`."""
    excluded = select_runs(runs, min_train_acc).excluded
    marked = runs.copy()
    marked[KEPT] = ~marked.index.isin(excluded.index)
    marked[REASON] = excluded[REASON].reindex(marked.index).fillna("")
    return marked


def split_runs(table: pd.DataFrame, run_ids: Iterable[str] | None = None) -> Selection:
    """The kept and excluded rows of a table marked by :func:`mark_runs` (runs.csv, or measures.csv which carries
    its columns), restricted to ``run_ids`` (an experiment's) when given; each exclusion is logged with its
    reason."""
    require_columns(table, ("run_id", KEPT, REASON), "split_runs")
    rows = table if run_ids is None else table[table["run_id"].isin(list(run_ids))]
    kept = as_bool(rows[KEPT])
    excluded = rows.loc[~kept].copy()
    excluded[REASON] = excluded[REASON].fillna("").astype(str)
    for row in excluded.itertuples():
        log.warning("left out %s: %s", row.run_id, row.reason)
    return Selection(rows.loc[kept].copy(), excluded)


def followed_runs(runs: pd.DataFrame) -> dict[str, str]:
    """The run ids of the kept runs (runs.csv's ``kept`` column) with the highest, median and lowest test accuracy:
    ``{"high", "mid", "low"}``, or ``{}`` when fewer than :data:`FOLLOWED_MIN` runs are kept (Fig. 2, 6 and 7 are
    then not drawn).

    Runs are sorted by (test_acc, run_id): "low" is the first, "high" the last, "mid" the one at (n - 1) // 2, so
    ties are broken by run id and the three are distinct. ``runs`` must hold one experiment (accuracies of different
    data sets are not comparable).
    """
    require_columns(runs, ("run_id", KEPT), "followed_runs")
    context = [c for c in ("dataset", "arch") if c in runs.columns]
    experiments = runs[context].drop_duplicates() if context else runs.iloc[:0]
    if len(experiments) > 1:
        raise ValueError(f"followed_runs: several experiments {experiments.values.tolist()}; pass one")
    kept = runs[as_bool(runs[KEPT])]
    if len(kept) < FOLLOWED_MIN:
        return {}
    order = kept.assign(_id=kept["run_id"].astype(str)).sort_values([ACCURACY, "_id"])
    ids = order["_id"].tolist()
    return dict(zip(FOLLOWED_LABELS, (ids[-1], ids[(len(ids) - 1) // 2], ids[0]), strict=True))


def enough_to_draw(kept: pd.DataFrame) -> bool:
    """Whether a figure over models can be drawn from these kept runs (at least :data:`MIN_MODELS`)."""
    return len(kept) >= MIN_MODELS


def rankable(kept: pd.DataFrame) -> bool:
    """Whether granulated Kendall has a cell for these kept runs: some axis of :data:`intraclass.grid.AXES` has a
    group of >= 2 runs (within the axis's filter, agreeing on dataset, architecture and every other hyperparameter)
    taking >= 2 values of the axis. Counts only: no coefficient is computed."""
    require_columns(kept, HYPERPARAMETERS, "rankable")
    context = [c for c in ("dataset", "arch") if c in kept.columns]
    for axis in AXES:
        rows = kept[axis.mask(kept)]
        others = context + [c for c in HYPERPARAMETERS if c != axis.column]
        if len(rows) > 1 and (rows.groupby(others, dropna=False)[axis.column].nunique() >= 2).any():
            return True
    return False


class Product(NamedTuple):
    """A table or figure the study may have: its ``kind`` (a key of :data:`KINDS`), where it goes under the study's
    results folder (``target``), and ``reason``, why the study cannot have it ("" when it can)."""

    kind: str
    target: str
    reason: str


class Kind(NamedTuple):
    """A kind of table or figure: ``scope`` "study" (one), "experiment" (one each) or "depth" (one per experiment and
    depth factor); ``target`` its file under the results folder, formatted with ``experiment`` and ``depth``;
    ``needs`` the requirements it must meet, each called with the scope's kept runs, its experiment (None for the
    study) and the :class:`StudyFacts`, and giving why it is not met ("" when it is)."""

    scope: Literal["study", "experiment", "depth"]
    target: str
    needs: tuple[Callable[[pd.DataFrame, str | None, StudyFacts], str], ...]


class StudyFacts(NamedTuple):
    """What the config says beside runs.csv: the experiments whose data set has subclasses, and whether snapshot
    epochs are followed over training."""

    with_subclasses: tuple[str, ...]  # sorted: a rule parameter, compared between runs of Snakemake
    followed_epochs: bool


def plan_products(runs: pd.DataFrame, facts: StudyFacts) -> list[Product]:
    """Every table and figure of :data:`KINDS` a study with these runs could have, each with why it cannot ("" when
    it can): the one decision of what the workflow requests once training is done (rules/common.smk) and of what
    the summary says is missing.

    ``runs`` is runs.csv, marked by :func:`mark_runs`. A "study" kind sees every kept run, an "experiment" kind the
    kept runs of one experiment (``facts.with_subclasses`` names those that have subclasses), a "depth" kind those
    of one depth factor. Products come in :data:`KINDS` order, then experiment and depth order.
    """
    require_columns(runs, ("run_id", "dataset", "arch", "depth", KEPT), "plan_products")
    names = [experiment_name(d, a) for d, a in zip(runs["dataset"], runs["arch"], strict=True)]
    runs = runs.assign(experiment=names)
    kept = runs[as_bool(runs[KEPT])]
    products = []
    for kind, spec in KINDS.items():
        for scope, rows in _scopes(spec.scope, runs, kept):
            needs = (need(rows, scope.get("experiment"), facts) for need in spec.needs)
            reason = next((why for why in needs if why), "")
            products.append(Product(kind, spec.target.format(**scope), reason))
    return products


def _scopes(scope: str, runs: pd.DataFrame, kept: pd.DataFrame) -> Iterator[tuple[dict[str, str], pd.DataFrame]]:
    """(wildcards, kept rows) of each instance of a scope; every experiment and depth of ``runs``, kept or not."""
    if scope == "study":
        yield {}, kept
        return
    for experiment in dict.fromkeys(runs["experiment"]):
        rows = kept[kept["experiment"] == experiment]
        if scope == "experiment":
            yield {"experiment": experiment}, rows
            continue
        for depth in sorted(set(runs.loc[runs["experiment"] == experiment, "depth"].astype(float))):
            yield {"experiment": experiment, "depth": f"{depth:g}"}, rows[rows["depth"].astype(float) == depth]


def _some_experiment_can_draw(kept: pd.DataFrame, experiment: str | None, facts: StudyFacts) -> str:
    largest = int(kept.groupby("experiment").size().max()) if len(kept) else 0
    return "" if largest >= MIN_MODELS else f"no experiment has {MIN_MODELS} kept runs (at most {largest})"


def _can_draw(kept: pd.DataFrame, experiment: str | None, facts: StudyFacts) -> str:
    return "" if enough_to_draw(kept) else f"{len(kept)} kept run(s); it needs {MIN_MODELS}"


def _can_rank(kept: pd.DataFrame, experiment: str | None, facts: StudyFacts) -> str:
    if rankable(kept):
        return ""
    return f"no hyperparameter axis has {MIN_MODELS} kept runs that differ only in it ({len(kept)} kept run(s))"


def _can_follow(kept: pd.DataFrame, experiment: str | None, facts: StudyFacts) -> str:
    return "" if len(kept) >= FOLLOWED_MIN else f"{len(kept)} kept run(s); it follows {FOLLOWED_MIN}"


def _has_subclasses(kept: pd.DataFrame, experiment: str | None, facts: StudyFacts) -> str:
    return "" if experiment in facts.with_subclasses else "the data set has no subclasses"


def _has_snapshots(kept: pd.DataFrame, experiment: str | None, facts: StudyFacts) -> str:
    return "" if facts.followed_epochs else "no snapshot epoch is configured (training.snapshot_epochs)"


KINDS: dict[str, Kind] = {
    "fig3": Kind("study", "figures/fig3.png", (_some_experiment_can_draw,)),
    "fig3_sharpness": Kind("study", "figures/fig3_sharpness.png", (_some_experiment_can_draw,)),
    "fig8": Kind("study", "figures/fig8.png", (_some_experiment_can_draw,)),
    "fig5": Kind("depth", "figures/{experiment}/fig5_depth{depth}.png", (_can_draw,)),
    "fig11": Kind("experiment", "figures/{experiment}/fig11.png", (_has_subclasses, _can_draw)),
    "fig4": Kind("experiment", "figures/{experiment}/fig4.png", (_can_rank,)),
    "cmi": Kind("experiment", "criteria/{experiment}_cmi.md", (_can_rank,)),
    "sign_error": Kind("experiment", "criteria/{experiment}_sign_error.md", (_can_rank,)),
    "sweeps": Kind("experiment", "figures/{experiment}/sweeps.png", (_can_rank,)),
    "leaderboard": Kind("experiment", "leaderboard/{experiment}.md", (_can_rank,)),
    "fig2": Kind("experiment", "figures/{experiment}/fig2.png", (_can_follow,)),
    "fig6": Kind("experiment", "figures/{experiment}/fig6.png", (_has_snapshots, _can_follow)),
    "fig7": Kind("experiment", "figures/{experiment}/fig7.png", (_has_subclasses, _has_snapshots, _can_follow)),
}
