"""The leaderboard: measures sorted by Kendall total, with the criteria tables' CMI K and mean sign-error."""

import numpy as np
import pandas as pd
import pytest

from intraclass.leaderboard import leaderboard, write_leaderboard


def _kendall(totals):
    rows = []
    for name, (value, lo, hi, pairs) in totals.items():
        rows.append({"measure": name, "cell": "learning_rate", "value": 1.0, "lo": 0.0, "hi": 1.0, "n_pairs": 3})
        rows.append({"measure": name, "cell": "total", "value": value, "lo": lo, "hi": hi, "n_pairs": pairs})
    return pd.DataFrame(rows).set_index(["measure", "cell"])


def _criteria():
    cmi = pd.DataFrame({"measure": ["c3", "param_norm", "margin"], "cmi_2": [0.01, 0.2, 0.05]})
    sign_error = pd.DataFrame(
        {
            "measure": ["c3", "c3", "param_norm", "param_norm"],
            "statistic": ["mean", "max", "mean", "max"],
            "all": [0.4, 0.9, 0.25, 0.5],
        }
    )
    return cmi, sign_error


def test_leaderboard_sorts_by_total_and_joins_the_criteria(tmp_path):
    kendall = _kendall({"c3": (0.2, -0.1, 0.5, 40), "param_norm": (0.6, 0.3, 0.8, 40), "margin": (np.nan,) * 3 + (0,)})
    table = leaderboard(kendall, *_criteria())
    assert list(table.index) == ["param_norm", "c3", "margin"]  # the missing total last
    assert table.loc["param_norm", ["total", "lo", "hi", "cmi_k", "sign_error"]].tolist() == [0.6, 0.3, 0.8, 0.2, 0.25]
    assert np.isnan(table.loc["margin", "sign_error"]) and table.loc["margin", "cmi_k"] == 0.05
    csv, md, tex = write_leaderboard(table, tmp_path / "leaderboard/exp")
    assert pd.read_csv(csv)["measure"].tolist() == ["param_norm", "c3", "margin"]
    lines = md.read_text().splitlines()
    assert lines[2] == "| 1. param norm | 0.60 | [0.30, 0.80] | 40 | 0.200 | 0.25 |"
    assert lines[4] == "| 3. margin | n/a | n/a | 0 | 0.050 | n/a |"
    assert "2. $c_3$ & 0.20 & [-0.10, 0.50] & 40 & 0.010 & 0.40" in tex.read_text()
    assert "1. $-$param norm" in tex.read_text()  # a complexity is ranked negated


def test_leaderboard_names_a_missing_column():
    cmi, sign_error = _criteria()
    with pytest.raises(ValueError, match=r"the cmi table lacks column\(s\) \['cmi_2'\]"):
        leaderboard(_kendall({"c3": (0.2, 0.1, 0.3, 4)}), cmi.drop(columns="cmi_2"), sign_error)
    with pytest.raises(ValueError, match="no 'total' cell"):
        leaderboard(_kendall({"c3": (0.2, 0.1, 0.3, 4)}).drop(index="total", level="cell"), cmi, sign_error)
