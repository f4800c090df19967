"""Sweeps over cached pre-activations: each swept value's total is the granulated Kendall of that value's column."""

import numpy as np
import pandas as pd
import pytest

from intraclass.grid import star_grid
from intraclass.kendall import granulated_kendall_intervals
from intraclass.sweeps import sweep_kendall, write_sweep_tables

BASE = dict(lr=0.1, weight_decay=0.0, batch_size=100, optimizer="sgd", dropout=0.0, augment=False, width=1.0, depth=1.0)


def star_runs() -> pd.DataFrame:
    runs = [r for replicate in (0, 1) for r in star_grid("digits", "vgg", BASE, {"lr": [0.01, 0.1], "width": [1, 1.5]})]
    frame = pd.DataFrame([{**r.as_dict(), "run_id": f"{r.run_id}-{i}"} for i, r in enumerate(runs)])
    frame["replicate"] = [0] * (len(frame) // 2) + [1] * (len(frame) // 2)
    return frame.assign(test_acc=np.linspace(0.6, 0.9, len(frame)), train_acc=1.0, diverged=False)


def test_each_swept_value_is_the_granulated_kendall_of_its_column(tmp_path):
    kept = star_runs()
    rng = np.random.default_rng(0)
    sweeps = {
        run_id: {
            "c1": {"values": [1, 10], "measure": [float(acc), float(rng.standard_normal())]},
            "c4": {"values": [50.0], "measure": [float(-acc)]},
        }
        for run_id, acc in zip(kept.run_id, kept.test_acc, strict=True)
    }
    correct = np.arange(200)[None, :] < (100 + 5 * np.arange(len(kept)))[:, None]  # distinct accuracies
    kept = kept.assign(test_acc=correct.mean(axis=1))
    for run_id, acc in zip(kept.run_id, kept.test_acc, strict=True):  # the measures follow the recomputed accuracy
        sweeps[run_id]["c1"]["measure"][0] = float(acc)
        sweeps[run_id]["c4"]["measure"][0] = float(-acc)
    table = sweep_kendall(kept, sweeps, correct, n_resamples=50, seed=3)
    assert list(zip(table.measure, table.value, strict=True)) == [("c1", 1), ("c1", 10), ("c4", 50.0)]
    assert table.loc[0, "total"] == 1.0 and table.loc[2, "total"] == -1.0  # c1 at k=1 is accuracy; c4 its opposite
    direct = granulated_kendall_intervals(
        kept.assign(c1=[sweeps[i]["c1"]["measure"][1] for i in kept.run_id]), "c1", 1, correct, 50, 3
    ).loc["total"]
    assert table.loc[1, ["total", "lo", "hi"]].tolist() == pytest.approx([direct.value, direct.lo, direct.hi])
    md = write_sweep_tables(table, tmp_path / "sweeps")[1].read_text()
    assert table["n_axes"].tolist() == [2, 2, 2] and table["n_axes_compared"].tolist() == [2, 2, 2]
    assert "| c1 | k | 1 | 1.00 [1.00, 1.00] |" in md  # a total over both axes compared: no mark
    fewer = table.assign(n_axes=[1, 2, 2])  # c1 at k=1 with a value on one of the 2 axes
    md = write_sweep_tables(fewer, tmp_path / "fewer")[1].read_text()
    assert "| c1 | k | 1 | 1.00 [1.00, 1.00] (1/2 axes) |" in md and md.count("axes)") == 1


def test_runs_swept_over_different_values_or_missing_are_refused():
    kept = star_runs().iloc[:2]
    sweeps = {i: {"c3": {"values": [1, 2], "measure": [0.1, 0.2]}} for i in kept.run_id}
    sweeps[kept.run_id.iloc[1]]["c3"]["values"] = [1, 3]
    with pytest.raises(ValueError, match="different k values for c3"):
        sweep_kendall(kept, sweeps)
    with pytest.raises(ValueError, match="no sweeps for run"):
        sweep_kendall(kept, {})


def test_a_sweep_not_declared_in_swept_is_refused():
    kept = star_runs().iloc[:2]
    sweeps = {
        i: {"c3": {"values": [1], "measure": [0.1]}, "c9": {"values": [1], "measure": [0.2]}} for i in kept.run_id
    }
    with pytest.raises(ValueError, match=r"measure\(s\) \['c9'\] swept but not in SWEPT \['c1', 'c3', 'c4'\]"):
        sweep_kendall(kept, sweeps)
