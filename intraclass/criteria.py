"""The field's other criteria beside granulated Kendall (SPEC §12): conditional mutual information (Jiang et al.
2020) and robust sign-error (Dziugaite et al. 2020), over the models of one or more experiments.

Both compare a measure with test accuracy over pairs of models. The measure is *oriented* first
(``MEASURES[name].orientation``: complexities are negated), so that "larger" always predicts higher accuracy. Pairs
are only ever formed between models of the same experiment (same ``dataset`` and ``arch`` when those columns are
present). The hyperparameter axes are :data:`intraclass.grid.HYPERPARAMETERS`.

Conditional mutual information (CMI)
------------------------------------
Jiang et al., "Fantastic generalization measures and where to find them" (ICLR 2020), §6, and the scoring program
of the PGDL competition they ran (NeurIPS 2020; google-research ``pgdl``, Codalab scoring program
``conditional_mutual_information``). Over the ordered pairs (i, j) of distinct models::

    V_mu(i, j) = +1 if m_i >= m_j else -1          (m: the oriented measure)
    V_g(i, j)  = +1 if a_i >= a_j else -1          (a: test accuracy)
    U_S(i, j)  = (values of the axes S for model i, values of the axes S for model j)

    CMI_S = I(V_mu; V_g | U_S) / H(V_g | U_S)
    I(V_mu; V_g | U) = sum_u p(u) sum_{v, w} p(v, w | u) log[ p(v, w | u) / (p(v | u) p(w | u)) ]
    H(V_g | U)       = -sum_u p(u) sum_w p(w | u) log p(w | u)

with plug-in probabilities (counts of pairs). CMI_S lies in [0, 1]; 0 means the measure's ranking carries no
information about the accuracy ranking once S is known, 1 that it determines it. Reported: CMI for S = {} and the
minimum over the sets of 1 and of 2 axes (with the minimising set); ``K = min_{|S| = 2} CMI_S`` is Jiang et al.'s
score. Conventions, taken from the published scoring code:

- *pairs*: every ordered pair of models, both orders; the pair's condition is the pair of values (u_i, u_j), so
  pairs that differ on S are kept, each in the cell of its two values (a cell per value pair, not "pairs that agree
  on S" as SPEC §12 first put it);
- *ties*: ``>=``, so a tie counts as +1 in both signs (the code's ``gen_gap_i > gen_gap_j`` and
  ``prediction_i > prediction_j`` put a tie in the same class, once mapped to accuracy and oriented measure);
- *sets*: only axes that vary among the models count (the competition lists only the varied hyperparameters);
- *log base*: the code uses log2; the ratio does not depend on the base, natural logs here.

Deviations, on purpose: (1) a model is not paired with itself (the code's double loop pairs it, and each such pair
always lands in the agreeing cell: ~1/N of all pairs, negligible at the competition's scale, 6% on a 17-model
study); (2) cells are weighted by p(u) as in the paper's formula, where the code averages the per-cell I and H
uniformly over the cells of the full grid of value pairs; the two agree on a balanced full product, and the
uniform average is undefined on a star design (empty cells); (3) V_g uses test accuracy (SPEC §8), the code the
generalisation gap train - test accuracy (the same ranking when training accuracy is constant). A set whose
H(V_g | U_S) is 0 (accuracy ranking fixed by S) has no CMI and is skipped in the minimum. Note that the mutual
information is blind to direction: a measure that ranks every pair the wrong way scores 1, like a perfect one.

Robust sign-error
-----------------
Dziugaite et al., "In search of robust measures of generalization" (NeurIPS 2020), and their code
(``nitarshan/robust-generalization-measures``, ``experiments/coupled_networks``: ``common.sign_error``,
``create_environments.py``, ``figure_cdf_all_measures.py``). An *environment*
is an unordered pair of configurations (the values of every axis) that differ in exactly one axis; its
sign-error is the mean over the |A| x |B| pairs of models (replicate x replicate, i in A, j in B)::

    SE(A, B) = 1 / (|A| |B|) * sum_{i in A, j in B} (1 - sign(m_i - m_j) * sign(a_i - a_j)) / 2

with sign(0) = 0, so a pair tied in the measure or in accuracy counts 1/2. SE lies in [0, 1]: 0 ranks every pair
right, 1 every pair wrong, 1/2 is chance. Per measure the table reports the mean, the 90th percentile (numpy's
linear interpolation, as their figures) and the maximum (the *robust* sign-error) over the environments of each
axis and over all of them. Their code lists each environment twice, (A, B) and (B, A), with the same value; here
each is listed once (mean and max are the same; a linear-interpolated percentile can differ slightly). Their
Monte-Carlo noise filter (Hoeffding weights on the accuracy difference, minimum effective sample size 12) is not
applied: with one or a few replicates per configuration it would discard every environment; each environment's
number of pairs is reported instead.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .grid import HYPERPARAMETERS, with_train_size
from .kendall import ACCURACY, AXES, GROUP_CONTEXT
from .registry import MEASURES, label, measure
from .tables import MISSING_LATEX, MISSING_MARKDOWN, latex_table, markdown_table, number, write_table

__all__ = [
    "ALL_AXES",
    "CMI_COLUMNS",
    "SIGN_ERROR_STATISTICS",
    "cmi_by_set",
    "cmi_table",
    "conditional_mutual_information",
    "normalized_conditional_mutual_information",
    "sign_error",
    "sign_error_environments",
    "sign_error_table",
    "write_cmi_tables",
    "write_sign_error_tables",
]

MAX_SET_SIZE = 2  # Jiang et al. condition on at most 2 hyperparameters
# cmi_table's columns: CMI for S = {}, the minimum over |S| = 1 and its set, K = the minimum over |S| = 2 and its
# set, and the number of ordered model pairs.
CMI_COLUMNS = ("cmi_0", "cmi_1", "set_1", "cmi_2", "set_2", "pairs")
ALL_AXES = "all"  # the sign-error column over the environments of every axis
SIGN_ERROR_STATISTICS = ("mean", "p90", "max", "environments")
SIGN_ERROR_PERCENTILE = 90
SET_SEPARATOR = "+"  # "lr+batch_size": a conditioning set in the CSV

AXIS_LABELS = {axis.column: axis.label for axis in AXES}
# Column headers; a pipe inside a Markdown cell must be escaped.
CMI_HEADERS_MARKDOWN = {
    "cmi_0": "\\|S\\|=0",
    "cmi_1": "min \\|S\\|=1",
    "set_1": "argmin",
    "cmi_2": "K = min \\|S\\|=2",
    "set_2": "argmin",
    "pairs": "pairs",
}
CMI_HEADERS_LATEX = {
    "cmi_0": "$|S|=0$",
    "cmi_1": "min $|S|=1$",
    "set_1": "argmin",
    "cmi_2": "$K$ = min $|S|=2$",
    "set_2": "argmin",
    "pairs": "pairs",
}
STATISTIC_LABELS = {"mean": "mean", "p90": "90th pct.", "max": "max", "environments": "environments"}


# --------------------------------------------------------------------------------------------------------------
# conditional mutual information


def conditional_mutual_information(
    v_mu: npt.ArrayLike, v_g: npt.ArrayLike, condition: npt.ArrayLike | None = None
) -> float:
    """Plug-in conditional mutual information ``I(V_mu; V_g | U)`` of discrete samples, in nats.

    ``I = sum_u p(u) sum_{v,w} p(v,w|u) log(p(v,w|u) / (p(v|u) p(w|u)))`` with empirical probabilities.

    Parameters
    ----------
    v_mu, v_g : array-like of shape (n,)
        Labels, n >= 1.
    condition : array-like of shape (n,) or (n, k), optional
        The values of U (the distinct rows of a 2-D array); None: the mutual information,
        ``sklearn.metrics.mutual_info_score(v_mu, v_g)``.

    Returns
    -------
    float
        In [0, min(H(V_mu | U), H(V_g | U))].

    References
    ----------
    .. [1] Cover & Thomas, "Elements of Information Theory", 2nd ed. (2006), §2.5.
    """
    joint = _joint_counts(v_mu, v_g, condition, "conditional_mutual_information")
    return _information(joint)[0]


def normalized_conditional_mutual_information(
    v_mu: npt.ArrayLike, v_g: npt.ArrayLike, condition: npt.ArrayLike | None = None
) -> float:
    """``I(V_mu; V_g | U) / H(V_g | U)``: the share of V_g's conditional entropy that V_mu explains.

    Parameters
    ----------
    v_mu, v_g, condition
        As :func:`conditional_mutual_information`.

    Returns
    -------
    float
        In [0, 1]; NaN when ``H(V_g | U) = 0`` (V_g is fixed by U: nothing left to explain).

    References
    ----------
    .. [1] Jiang et al., "Fantastic generalization measures and where to find them", ICLR 2020, §6.
    """
    joint = _joint_counts(v_mu, v_g, condition, "normalized_conditional_mutual_information")
    information, entropy = _information(joint)
    return information / entropy if entropy > 0 else float("nan")


def cmi_by_set(df: pd.DataFrame, measure_name: str, max_size: int = MAX_SET_SIZE) -> pd.DataFrame:
    """The normalized CMI of a measure against test accuracy for every conditioning set of varying axes.

    Pairs, conditions and ties as Jiang et al.'s scoring code (module docstring).

    Parameters
    ----------
    df : DataFrame
        The models kept by :func:`intraclass.selection.select_runs`: the measure, ``test_acc``, the 8
        hyperparameters (``dataset``, ``arch`` when present). Rows whose measure is NaN are left out with a warning;
        a measure absent or NaN throughout gives no pair and NaN everywhere.
    measure_name : str
        A registered measure (oriented before ranking).
    max_size : int
        The largest conditioning set (Jiang et al.: 2).

    Returns
    -------
    DataFrame
        One row per set, by size then axis order: ``set`` (axes joined by "+", "" for the empty set), ``size``,
        ``cmi`` (in [0, 1]; NaN where H(V_g | U_S) = 0) and ``pairs`` (ordered pairs of distinct models of one
        experiment).
    """
    if not isinstance(max_size, int) or max_size < 0:
        raise ValueError(f"max_size must be a non-negative integer, got {max_size!r}")
    data, oriented = _oriented_rows(df, measure_name, "cmi_by_set")
    accuracy = data[ACCURACY].to_numpy(dtype=float)
    context = _context_codes(data)
    first, second = _ordered_pairs(context)
    v_mu = np.where(oriented[first] >= oriented[second], 1, -1)
    v_g = np.where(accuracy[first] >= accuracy[second], 1, -1)
    varying = [axis for axis in HYPERPARAMETERS if data[axis].nunique(dropna=False) >= 2]
    codes = {axis: pd.factorize(data[axis], use_na_sentinel=False)[0] for axis in varying}
    rows = []
    for size in range(max_size + 1):
        for axes in itertools.combinations(varying, size):
            # U_S of a pair: its experiment, then each axis's value for the first and for the second model
            condition = np.column_stack([context[first]] + [codes[a][end] for a in axes for end in (first, second)])
            value = normalized_conditional_mutual_information(v_mu, v_g, condition) if len(first) else np.nan
            rows.append({"set": SET_SEPARATOR.join(axes), "size": size, "cmi": value, "pairs": len(first)})
    return pd.DataFrame(rows, columns=["set", "size", "cmi", "pairs"])


def cmi_table(df: pd.DataFrame, measures: Iterable[str]) -> pd.DataFrame:
    """CMI table of several measures (:func:`cmi_by_set` summarised).

    Parameters
    ----------
    df : DataFrame
        As :func:`cmi_by_set`.
    measures : iterable of str
        Registered measures; one absent from ``df`` gets NaN.

    Returns
    -------
    DataFrame
        Index ``measure`` (registry order), columns :data:`CMI_COLUMNS`: ``cmi_0`` the CMI without conditioning,
        ``cmi_1``/``cmi_2`` the minimum over the sets of 1/2 varying axes (``cmi_2`` is Jiang et al.'s K),
        ``set_1``/``set_2`` the minimising set ("" where none has a CMI), ``pairs`` the ordered model pairs.
    """
    names = _registry_order(measures, "cmi_table")
    rows = {}
    for name in names:
        if name not in df.columns:
            rows[name] = [np.nan, np.nan, "", np.nan, "", 0]
            continue
        by_set = cmi_by_set(df, name)
        row: list[Any] = []
        for size in range(MAX_SET_SIZE + 1):
            sets = by_set[(by_set["size"] == size) & by_set["cmi"].notna()]
            best = sets.loc[sets["cmi"].idxmin()] if len(sets) else None
            row += [np.nan if best is None else float(best["cmi"])]
            if size > 0:
                row += ["" if best is None else best["set"]]
        rows[name] = [*row, int(by_set["pairs"].iloc[0]) if len(by_set) else 0]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(CMI_COLUMNS))
    table.index.name = "measure"
    return table


def write_cmi_tables(table: pd.DataFrame, stem: str | os.PathLike[str], digits: int = 3) -> list[Path]:
    """Write a :func:`cmi_table` through :func:`intraclass.tables.write_table`.

    Parameters
    ----------
    table : DataFrame
        From :func:`cmi_table`.
    stem : path-like
        ``<stem>.csv`` (full precision, missing empty), ``<stem>.md`` (missing "n/a") and ``<stem>.tex``
        (booktabs, missing "--") are written, each atomically.
    digits : int
        Decimals of the CMIs.

    Returns
    -------
    list of Path
        The CSV, Markdown and LaTeX paths.
    """
    _check_table(table, CMI_COLUMNS, "write_cmi_tables", "cmi_table")
    markdown = markdown_table(
        ["measure", *(CMI_HEADERS_MARKDOWN[c] for c in CMI_COLUMNS)], _cmi_cells(table, digits, latex=False)
    )
    latex = latex_table(
        ["Measure", *(CMI_HEADERS_LATEX[c] for c in CMI_COLUMNS)],
        _cmi_cells(table, digits, latex=True),
        groups=[measure(name).stage for name in table.index],
        spec="lrrlrlr",
    )
    return write_table(stem, table.rename_axis("measure"), markdown, latex)


# --------------------------------------------------------------------------------------------------------------
# robust sign-error


def sign_error(
    measure_a: npt.ArrayLike, accuracy_a: npt.ArrayLike, measure_b: npt.ArrayLike, accuracy_b: npt.ArrayLike
) -> float:
    """Sign-error of one environment: ``1/(|A||B|) sum_{i in A, j in B} (1 - sign(m_i - m_j) sign(a_i - a_j)) / 2``.

    Parameters
    ----------
    measure_a, accuracy_a : array-like of shape (n_a,)
        The oriented measure and the test accuracy of configuration A's models (finite, n_a >= 1).
    measure_b, accuracy_b : array-like of shape (n_b,)
        The same for configuration B.

    Returns
    -------
    float
        In [0, 1]: 0 ranks every pair right, 1 every pair wrong, 1/2 chance; a pair tied in the measure or in
        accuracy counts 1/2.

    References
    ----------
    .. [1] Dziugaite et al., "In search of robust measures of generalization", NeurIPS 2020 (``common.sign_error``).
    """
    arrays = []
    for name, values in (
        ("measure_a", measure_a),
        ("accuracy_a", accuracy_a),
        ("measure_b", measure_b),
        ("accuracy_b", accuracy_b),
    ):
        array = np.asarray(values, dtype=float)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"sign_error: {name} must be a non-empty 1-D array, got shape {array.shape}")
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise ValueError(f"sign_error: {name}[{bad[0]}] = {array[bad[0]]} is not finite")
        arrays.append(array)
    m_a, a_a, m_b, a_b = arrays
    if m_a.size != a_a.size or m_b.size != a_b.size:
        raise ValueError(
            f"sign_error: measure and accuracy lengths differ: A {m_a.size} and {a_a.size}, B {m_b.size} and {a_b.size}"
        )
    agreement = np.sign(m_a[:, None] - m_b[None, :]) * np.sign(a_a[:, None] - a_b[None, :])
    return float(np.mean((1.0 - agreement) / 2.0))


def sign_error_environments(df: pd.DataFrame, measures: Iterable[str]) -> pd.DataFrame:
    """Every environment of every measure with its sign-error (module docstring): the long table the robust
    statistics and the empirical CDF are computed from.

    Parameters
    ----------
    df : DataFrame
        The kept models, as :func:`cmi_by_set`. Environments are formed per measure among the models whose measure
        is finite (NaN rows left out with a warning); a measure absent from ``df`` has none.
    measures : iterable of str
        Registered measures.

    Returns
    -------
    DataFrame
        One row per environment: ``measure``, the context columns present (``dataset``, ``arch``), ``axis`` (the
        one that differs), ``value_a`` and ``value_b`` (its values in configurations A and B), the other axes'
        shared values (under their own names; the varied axis's column holds ``value_a``), ``models_a``,
        ``models_b``, ``pairs`` (= models_a * models_b) and ``sign_error``.
    """
    names = _registry_order(measures, "sign_error_environments")
    context = [c for c in GROUP_CONTEXT if c in df.columns]
    frames = []
    for name in names:
        if name not in df.columns:
            continue
        data, oriented = _oriented_rows(df, name, "sign_error_environments")
        frames.append(_environments(data.assign(_oriented=oriented), context).assign(measure=name))
    columns = ["measure", *context, "axis", "value_a", "value_b", *HYPERPARAMETERS, "models_a", "models_b", "pairs"]
    if not frames:
        return pd.DataFrame(columns=[*columns, "sign_error"])
    return pd.concat(frames, ignore_index=True)[[*columns, "sign_error"]]


def sign_error_table(environments: pd.DataFrame, measures: Iterable[str]) -> pd.DataFrame:
    """Robust sign-error table: each axis's environments summarised.

    Parameters
    ----------
    environments : DataFrame
        From :func:`sign_error_environments`.
    measures : iterable of str
        Registered measures.

    Returns
    -------
    DataFrame
        Index (``measure`` in registry order, ``statistic`` in :data:`SIGN_ERROR_STATISTICS`: mean, 90th
        percentile, maximum, number of environments), columns the axes of :data:`intraclass.grid.HYPERPARAMETERS`
        and :data:`ALL_AXES`. A cell with no environment is NaN (count 0).
    """
    names = _registry_order(measures, "sign_error_table")
    if not isinstance(environments, pd.DataFrame):
        raise TypeError(
            f"sign_error_table needs the DataFrame of sign_error_environments, got {type(environments).__name__}"
        )
    missing = [c for c in ("measure", "axis", "sign_error") if c not in environments.columns]
    if missing:
        raise ValueError(f"sign_error_table: missing column(s) {missing}; pass sign_error_environments' output")
    columns = [*HYPERPARAMETERS, ALL_AXES]
    index = pd.MultiIndex.from_product([names, SIGN_ERROR_STATISTICS], names=["measure", "statistic"])
    table = pd.DataFrame(np.nan, index=index, columns=columns)
    for name in names:
        rows = environments[environments["measure"] == name]
        for column in columns:
            errors = (rows if column == ALL_AXES else rows[rows["axis"] == column])["sign_error"].to_numpy(dtype=float)
            table.loc[(name, "environments"), column] = errors.size
            if errors.size:
                table.loc[(name, "mean"), column] = errors.mean()
                table.loc[(name, "p90"), column] = np.percentile(errors, SIGN_ERROR_PERCENTILE)
                table.loc[(name, "max"), column] = errors.max()
    return table


def write_sign_error_tables(table: pd.DataFrame, stem: str | os.PathLike[str], digits: int = 2) -> list[Path]:
    """Write a :func:`sign_error_table` through :func:`intraclass.tables.write_table`.

    Parameters
    ----------
    table : DataFrame
        From :func:`sign_error_table`.
    stem : path-like
        ``<stem>.csv`` (full precision, missing empty), ``<stem>.md`` (missing "n/a") and ``<stem>.tex``
        (booktabs, a rule between measures, missing "--") are written, each atomically. The Markdown and LaTeX
        tables leave out the axes without any environment and name them under the table; the CSV has every axis.
    digits : int
        Decimals of the sign-errors.

    Returns
    -------
    list of Path
        The CSV, Markdown and LaTeX paths.
    """
    _check_table(table, [*HYPERPARAMETERS, ALL_AXES], "write_sign_error_tables", "sign_error_table")
    if list(table.index.names) != ["measure", "statistic"]:
        raise ValueError(f"write_sign_error_tables: index levels must be (measure, statistic), got {table.index.names}")
    # An axis no environment varies (no two configurations differ in it alone) would be a column of n/a.
    environments = table.xs("environments", level="statistic")
    shown = table[[c for c in table.columns if c == ALL_AXES or (environments[c] > 0).any()]]
    left_out = [AXIS_LABELS[c] for c in table.columns if c not in shown.columns]
    legend = [
        f"Axes not shown (no environment: no two configurations differ in the axis alone): {', '.join(left_out)}."
    ]
    legend = legend if left_out else []
    axes = [AXIS_LABELS.get(c, c) for c in shown.columns]
    markdown = markdown_table(["measure", "statistic", *axes], _sign_error_cells(shown, digits, latex=False), legend)
    latex = latex_table(
        ["Measure", "statistic", *axes],
        _sign_error_cells(shown, digits, latex=True),
        groups=list(table.index.get_level_values("measure")),
        legend=legend,
        spec="ll" + "r" * len(shown.columns),
    )
    return write_table(stem, table, markdown, latex)


# --------------------------------------------------------------------------------------------------------------
# helpers


def _labels(values: npt.ArrayLike, name: str, what: str) -> tuple[np.ndarray, int]:
    """Integer codes 0..k-1 of a 1-D label array, or of the distinct rows of a 2-D one, and k."""
    array = np.asarray(values)
    if array.ndim not in (1, 2):
        raise ValueError(f"{what}: {name} must be 1-D (or 2-D for condition), got shape {array.shape}")
    columns = [array] if array.ndim == 1 else [array[:, k] for k in range(array.shape[1])]
    key, count = np.zeros(array.shape[0], dtype=np.int64), 1
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        # the row so far and this column as one integer, re-coded to 0..count-1 (hashing: no sort, no overflow)
        key, distinct = pd.factorize(key * len(uniques) + codes)
        count = len(distinct)
    return key, count


def _joint_counts(v_mu: npt.ArrayLike, v_g: npt.ArrayLike, condition: npt.ArrayLike | None, what: str) -> np.ndarray:
    """Counts n[u, v, w] of (condition, V_mu, V_g) triples."""
    mu = np.asarray(v_mu)
    g = np.asarray(v_g)
    for name, array in (("v_mu", mu), ("v_g", g)):
        if array.ndim != 1:
            raise ValueError(f"{what}: {name} must be 1-D, got shape {array.shape}")
    if mu.size != g.size:
        raise ValueError(f"{what}: v_mu and v_g must have equal lengths, got {mu.size} and {g.size}")
    if mu.size == 0:
        raise ValueError(f"{what}: needs at least one sample, got none")
    if condition is None:
        u, n_u = np.zeros(mu.size, dtype=np.int64), 1
    else:
        if len(np.asarray(condition)) != mu.size:
            raise ValueError(f"{what}: condition has {len(np.asarray(condition))} rows, v_mu and v_g have {mu.size}")
        u, n_u = _labels(condition, "condition", what)
    (a, n_a), (b, n_b) = _labels(mu, "v_mu", what), _labels(g, "v_g", what)
    counts = np.bincount((u * n_a + a) * n_b + b, minlength=n_u * n_a * n_b)
    return counts.reshape(n_u, n_a, n_b).astype(float)


def _information(joint: np.ndarray) -> tuple[float, float]:
    """``(I(V_mu; V_g | U), H(V_g | U))`` in nats from counts n[u, v, w]."""
    p = joint / joint.sum()
    p_u = p.sum(axis=(1, 2), keepdims=True)
    p_uv = p.sum(axis=2, keepdims=True)
    p_uw = p.sum(axis=1, keepdims=True)
    nonzero = p > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # empty cells are masked out below
        ratio = (p * p_u) / (p_uv * p_uw)
    information = float(np.sum(p[nonzero] * np.log(ratio[nonzero])))
    p_w_given_u = np.divide(p_uw, p_u, out=np.zeros_like(p_uw), where=p_u > 0)
    seen = p_uw > 0
    entropy = float(-np.sum(p_uw[seen] * np.log(p_w_given_u[seen])))
    # I <= H(V_g | U) exactly; clip the rounding either side (as sklearn clips mutual_info_score at 0)
    return min(max(information, 0.0), entropy), entropy


def _registry_order(measures: Iterable[str], what: str) -> list[str]:
    """The named measures in registry (display) order; an unknown name is an error naming it."""
    names = list(dict.fromkeys(measures))
    for name in names:
        measure(name)  # raises, naming the unknown measure and the registered ones
    if not names:
        raise ValueError(f"{what} needs at least one measure")
    order = list(MEASURES)
    return sorted(names, key=order.index)


def _oriented_rows(df: pd.DataFrame, name: str, what: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``df`` where the measure is finite, and the oriented measure on them (NaN rows left out with a
    warning; a measure absent or NaN throughout gives no row, silently)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} needs a pandas DataFrame, got {type(df).__name__}")
    df = with_train_size(df)
    missing = [c for c in (ACCURACY, *HYPERPARAMETERS) if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; have {list(df.columns)}")
    accuracy = pd.to_numeric(df[ACCURACY], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(accuracy))
    if bad.size:
        raise ValueError(
            f"{what}: test_acc of row {df.index[bad[0]]!r} is {df[ACCURACY].iloc[bad[0]]!r}; run select_runs first"
        )
    values = pd.to_numeric(df[name], errors="coerce") if name in df.columns else pd.Series(np.nan, index=df.index)
    finite = np.isfinite(values.to_numpy(dtype=float))
    if finite.any() and not finite.all():
        ids = list(df.loc[~finite, "run_id"]) if "run_id" in df.columns else list(df.index[~finite])
        warnings.warn(f"{what}: {name} is missing for {len(ids)} model(s), left out: {ids[:10]}", stacklevel=3)
    data = df.loc[finite].assign(**{ACCURACY: accuracy[finite]})
    return data, measure(name).orientation * values[finite].to_numpy(dtype=float)


def _context_codes(data: pd.DataFrame) -> np.ndarray:
    """One code per experiment (dataset, arch when present): models of different codes are never paired."""
    context = [c for c in GROUP_CONTEXT if c in data.columns]
    if not context or data.empty:
        return np.zeros(len(data), dtype=int)
    return data.groupby(context, dropna=False, sort=False).ngroup().to_numpy()


def _ordered_pairs(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of every ordered pair of distinct rows with the same group code."""
    same = groups[:, None] == groups[None, :]
    np.fill_diagonal(same, False)
    return np.nonzero(same)


def _environments(data: pd.DataFrame, context: Sequence[str]) -> pd.DataFrame:
    """The environments of one measure's rows (column ``_oriented``), each unordered pair of configurations once."""
    keys = [*context, *HYPERPARAMETERS]
    rows = []
    for _, experiment in data.groupby(context, dropna=False, sort=False) if context else [(None, data)]:
        configs = list(experiment.groupby(list(HYPERPARAMETERS), dropna=False, sort=True))
        values = pd.DataFrame([key for key, _ in configs], columns=list(HYPERPARAMETERS))
        codes = np.column_stack([pd.factorize(values[c], use_na_sentinel=False)[0] for c in HYPERPARAMETERS])
        differs = codes[:, None, :] != codes[None, :, :]
        for a, b in zip(*np.nonzero(np.triu(differs.sum(axis=2) == 1, k=1)), strict=True):
            axis = HYPERPARAMETERS[int(np.flatnonzero(differs[a, b])[0])]
            (_, models_a), (_, models_b) = configs[a], configs[b]
            first = models_a.iloc[0]
            rows.append(
                {
                    **{k: first[k] for k in keys},
                    "axis": axis,
                    "value_a": first[axis],
                    "value_b": models_b.iloc[0][axis],
                    "models_a": len(models_a),
                    "models_b": len(models_b),
                    "pairs": len(models_a) * len(models_b),
                    "sign_error": sign_error(
                        models_a["_oriented"], models_a[ACCURACY], models_b["_oriented"], models_b[ACCURACY]
                    ),
                }
            )
    return pd.DataFrame(
        rows, columns=[*keys, "axis", "value_a", "value_b", "models_a", "models_b", "pairs", "sign_error"]
    )


def _check_table(table: pd.DataFrame, columns: Sequence[str], what: str, source: str) -> None:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError(f"{what} needs a non-empty DataFrame from {source}")
    if list(table.columns) != list(columns):
        raise ValueError(f"{what}: columns must be {list(columns)}, got {list(table.columns)}")


def _cmi_cells(table: pd.DataFrame, digits: int, latex: bool) -> list[list[str]]:
    """The formatted rows of a CMI table: the measure's label, the CMIs, the minimising sets, the pairs."""
    missing = MISSING_LATEX if latex else MISSING_MARKDOWN
    rows = []
    for name, values in table.iterrows():
        cells = [label(name, "latex" if latex else "markdown")]
        for column in CMI_COLUMNS:
            if column.startswith("set_"):
                cells.append(_set_label(values[column], missing))
            elif column == "pairs":
                cells.append(f"{int(values[column])}")
            else:
                cells.append(number(values[column], digits, missing))
        rows.append(cells)
    return rows


def _sign_error_cells(table: pd.DataFrame, digits: int, latex: bool) -> list[list[str]]:
    """The formatted rows of a sign-error table; a measure's label on its first row only."""
    missing = MISSING_LATEX if latex else MISSING_MARKDOWN
    rows = []
    previous = None
    for (name, statistic), values in table.iterrows():
        measure_label = label(name, "latex" if latex else "markdown") if name != previous else ""
        previous = name
        if statistic == "environments":
            cells = [f"{int(v)}" for v in values]
        else:
            cells = [number(v, digits, missing) for v in values]
        rows.append([measure_label, STATISTIC_LABELS.get(statistic, statistic), *cells])
    return rows


def _set_label(value: Any, missing: str) -> str:
    """A conditioning set by its axes' labels, e.g. "learning rate, batch size"."""
    if pd.isna(value) or value == "":
        return missing
    return ", ".join(AXIS_LABELS.get(axis, axis) for axis in str(value).split(SET_SEPARATOR))
