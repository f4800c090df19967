"""intraclass.selection: which runs count (with reasons), which runs Fig. 6/7 follow, whether anything can be
ranked or drawn; and that planning the DAG, measures, tables and figures import no torch."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from intraclass.grid import HYPERPARAMETERS, paper_grid
from intraclass.selection import enough_to_draw, followed_runs, rankable, select_runs


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
    assert followed_runs(df) == {"high": "b", "mid": "c", "low": "g"}
    # ties broken by run id: c and e tie at the top; sorted g, a, b, c, e -> "high" is e, the last
    tied = df.assign(test_acc=[0.50, 0.60, 0.90, 0.95, 0.90, 0.99, 0.10, 0.60])
    assert followed_runs(tied) == {"high": "e", "mid": "b", "low": "g"}
    assert followed_runs(df, min_train_acc=0.4)["mid"] == "h"  # a, b, c, e, g, h -> g a h c e b
    assert followed_runs(df.iloc[:3].assign(train_acc=[1.0, 1.0, 0.2])) == {}  # 2 kept: nothing to follow
    with pytest.raises(ValueError, match="several experiments"):
        followed_runs(df.assign(dataset=["x", "y"] * 4, arch="vgg"))


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
