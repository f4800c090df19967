"""intraclass.selection: which runs count (with reasons, written once as runs.csv's kept/reason columns), which runs
Fig. 2/6/7 follow, whether anything can be ranked or drawn, which tables and figures a study can have; and that
planning the DAG, measures, tables and figures import no torch."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from intraclass.grid import HYPERPARAMETERS, paper_grid
from intraclass.kendall import granulated_kendall
from intraclass.selection import (
    KINDS,
    StudyFacts,
    enough_to_draw,
    followed_runs,
    mark_runs,
    plan_products,
    rankable,
    select_runs,
    split_runs,
)


def paper_runs() -> pd.DataFrame:
    runs = pd.DataFrame([{"run_id": r.run_id, **r.as_dict()} for r in paper_grid("cifar10", "resnet")])
    return runs.assign(train_acc=1.0, test_acc=np.linspace(0.5, 0.9, len(runs)), diverged=False)


def test_select_runs_lists_exclusions_with_reasons():
    df = paper_runs()
    df.loc[0, "diverged"] = True
    df.loc[0, "train_acc"] = 0.1
    df.loc[1, "train_acc"] = 0.95
    df.loc[2, "test_acc"] = np.nan
    df.loc[3, "train_acc"] = 0.99  # exactly the threshold: kept
    kept, excluded = select_runs(df)
    assert len(kept) == 189 and len(excluded) == 3
    assert set(kept.index).isdisjoint(excluded.index)
    assert excluded.loc[0, "reason"] == "diverged; train_acc 0.1000 < 0.99 (not fitted)"
    assert excluded.loc[1, "reason"] == "train_acc 0.9500 < 0.99 (not fitted)"
    assert excluded.loc[2, "reason"] == "test_acc missing"
    assert "reason" not in kept.columns
    # a looser threshold keeps run 1; string booleans (a CSV round trip) are understood
    kept, excluded = select_runs(df.assign(diverged=df["diverged"].map({True: "True", False: "False"})), 0.9)
    assert list(excluded.index) == [0, 2]
    with pytest.raises(ValueError, match="min_train_acc"):
        select_runs(df, min_train_acc=99)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['diverged'\]"):
        select_runs(df.drop(columns="diverged"))


def test_followed_runs_high_mid_low():
    df = pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "test_acc": [0.50, 0.90, 0.70, 0.95, 0.70, 0.99, 0.10, 0.60],
            "train_acc": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.50],
            "diverged": [False, False, False, True, False, "True", False, False],
        }
    )
    # kept: a .50, b .90, c .70, e .70, g .10 (d, f diverged; h unfitted) -> sorted g, a, c, e, b
    assert followed_runs(mark_runs(df)) == {"high": "b", "mid": "c", "low": "g"}
    # ties broken by run id: c and e tie at the top; sorted g, a, b, c, e -> "high" is e, the last
    tied = df.assign(test_acc=[0.50, 0.60, 0.90, 0.95, 0.90, 0.99, 0.10, 0.60])
    assert followed_runs(mark_runs(tied)) == {"high": "e", "mid": "b", "low": "g"}
    assert followed_runs(mark_runs(df, 0.4))["mid"] == "h"  # a, b, c, e, g, h -> g a h c e b
    assert followed_runs(mark_runs(df.iloc[:3].assign(train_acc=[1.0, 1.0, 0.2]))) == {}  # 2 kept: none followed
    with pytest.raises(ValueError, match="several experiments"):
        followed_runs(mark_runs(df.assign(dataset=["x", "y"] * 4, arch="vgg")))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['kept'\]"):
        followed_runs(df)  # the decision is runs.csv's, never taken again here


def test_mark_runs_writes_the_decision_that_split_runs_reads_back(tmp_path):
    df = paper_runs().iloc[:4].copy()
    df.loc[1, "diverged"] = True
    df.loc[2, "train_acc"] = 0.5
    marked = mark_runs(df, 0.99)
    assert list(marked.kept) == [True, False, False, True]
    assert list(marked.reason) == ["", "diverged", "train_acc 0.5000 < 0.99 (not fitted)", ""]
    marked.to_csv(tmp_path / "runs.csv", index=False)  # as runs.csv is written and read back
    kept, excluded = split_runs(pd.read_csv(tmp_path / "runs.csv"))
    assert list(kept.run_id) == [df.run_id[0], df.run_id[3]]
    assert list(excluded.reason) == ["diverged", "train_acc 0.5000 < 0.99 (not fitted)"]
    kept, excluded = split_runs(marked, [df.run_id[1], df.run_id[3]])
    assert list(kept.run_id) == [df.run_id[3]] and list(excluded.run_id) == [df.run_id[1]]
    with pytest.raises(ValueError, match=r"missing column\(s\) \['kept', 'reason'\]"):
        split_runs(df)


def test_rankable_says_exactly_when_granulated_kendall_has_a_cell():
    # brute force against the statistic itself, on random subsets of the paper's grid with replicates
    grid = paper_runs()
    runs = pd.concat([grid, grid.assign(replicate=1, run_id=grid.run_id + "_r1")], ignore_index=True)
    rng = np.random.default_rng(0)
    answers = []
    for size in (1, 2, 2, 3, 3, 4, 5, 8) * 10:
        kept = runs.iloc[rng.choice(len(runs), size, replace=False)]
        with_cell = granulated_kendall(kept.assign(m=rng.normal(size=size)), "m", orientation=1)["total"] is not None
        assert rankable(kept) == with_cell, kept[list(HYPERPARAMETERS)]
        answers.append(with_cell)
    assert 5 < sum(answers) < len(answers) - 5  # both answers were exercised


def test_rankable_and_enough_to_draw():
    runs = paper_runs()
    assert rankable(runs) and enough_to_draw(runs)
    # one run per value of nothing: two runs that differ in two axes share no group
    two = runs.iloc[[0]].copy()
    other = two.assign(lr=0.5, batch_size=999, run_id="other")
    assert not rankable(pd.concat([two, other]))
    assert rankable(pd.concat([two, two.assign(lr=0.5, run_id="other")]))
    assert not enough_to_draw(runs.iloc[:1]) and not rankable(runs.iloc[:1])
    assert set(HYPERPARAMETERS) <= set(runs.columns)


def test_planning_measures_tables_and_figures_import_no_torch():
    modules = [
        "intraclass.registry", "intraclass.selection", "intraclass.grid", "intraclass.paths", "intraclass.data",
        "intraclass.storage", "intraclass.results", "intraclass.controls", "intraclass.kendall", "intraclass.measures",
        "intraclass.plots", "intraclass.preactivations",
    ]  # fmt: skip
    code = "import importlib, sys\n"
    code += "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "from intraclass.registry import PreactivationInputs, compute_measures\n"
    code += "print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def study_runs(kept: list[bool], depth: list[float] | None = None) -> pd.DataFrame:
    """An experiment digits_vgg of len(kept) runs varying the learning rate (and depth when given)."""
    n = len(kept)
    runs = pd.DataFrame([paper_runs().iloc[2].to_dict()] * n).assign(
        run_id=[f"r{i}" for i in range(n)], dataset="digits", arch="vgg", lr=[0.01 * (i + 1) for i in range(n)]
    )
    runs["weight_decay"], runs["width"], runs["depth"] = 0.0, 1.0, 1.0 if depth is None else depth
    return runs.assign(kept=kept, reason=["" if k else "diverged" for k in kept])


def test_plan_products_gives_every_kind_with_the_reason_it_cannot_be_made():
    facts = StudyFacts(("digits_vgg",), followed_epochs=True)
    everything = plan_products(study_runs([True] * 4), facts)
    assert [p.kind for p in everything] == list(KINDS)  # one experiment, one depth: one product per kind
    assert all(p.reason == "" for p in everything)
    assert everything[3].target == "figures/digits_vgg/fig5_depth1.png"

    one = {p.kind: p.reason for p in plan_products(study_runs([True]), facts)}
    assert one["fig8"] == "no experiment has 2 kept runs (at most 1)"
    assert one["fig5"] == "1 kept run(s); it needs 2"
    assert one["fig4"] == one["cmi"] == "no hyperparameter axis has 2 kept runs that differ only in it (1 kept run(s))"
    assert one["fig6"] == "1 kept run(s); it follows 3"

    none_kept = plan_products(study_runs([False, False]), StudyFacts((), followed_epochs=False))
    reasons = {p.kind: p.reason for p in none_kept}
    assert reasons["fig3"] == "no experiment has 2 kept runs (at most 0)"
    assert reasons["fig11"] == reasons["fig7"] == "the data set has no subclasses"
    assert reasons["fig6"] == "no snapshot epoch is configured (training.snapshot_epochs)"
    assert all(p.reason for p in none_kept)

    # two depths: a fig5 per depth, each on its own kept runs; 3 kept in all are followed
    two_depths = plan_products(study_runs([True, True, True, False], depth=[1.0, 1.0, 1.5, 1.5]), facts)
    fig5 = {p.target: p.reason for p in two_depths if p.kind == "fig5"}
    assert fig5 == {
        "figures/digits_vgg/fig5_depth1.png": "",
        "figures/digits_vgg/fig5_depth1.5.png": "1 kept run(s); it needs 2",
    }
    assert {p.kind: p.reason for p in two_depths}["fig2"] == ""
