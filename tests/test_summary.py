"""The report's front page: counts, exclusions with reasons, the Kendall cells, and the control verdicts, as RST that
docutils renders without a warning and as Markdown."""

import docutils.core
import numpy as np
import pandas as pd

from intraclass.leaderboard import leaderboard, write_leaderboard
from intraclass.selection import Product
from intraclass.summary import front_page

RUNS = pd.DataFrame({"run_id": ["a", "b", "c"], "train_acc": [1.0, 1.0, 0.5], "test_acc": [0.9, 0.8, 0.4]})
EXCLUDED = pd.DataFrame({"run_id": ["c"], "reason": ["train_acc 0.5000 < 0.99 (not fitted)"]})
CELLS = {"learning_rate": ["0.33 [0.10, 0.60]"], "total": ["0.33 [0.10, 0.60] (1/8 axes)"]}
TABLES = {"digits_vgg": pd.DataFrame(CELLS, index=["c3"])}
SKIPPED = [Product("fig6", "figures/digits_vgg/fig6.png", "2 kept run(s); it follows 3")]
VERDICTS = {
    "digits_vgg": pd.DataFrame(
        [
            {
                "measure": "c3",
                "control": "untrained",
                "n_runs": 2,
                "trained_median": 1.2,
                "control_median": 1.1,
                "beaten_fraction": 0.5,
                "verdict": "does not beat",
            }
        ]
    )  # fmt: skip
}


POWER = {"digits_vgg": (["axis", "range / SD", "verdict"], [["learning rate", "6.6", "can rank"]])}


def test_front_page_says_what_was_kept_and_why_and_renders_cleanly():
    rst = front_page("demo", RUNS, EXCLUDED, TABLES, VERDICTS, SKIPPED, POWER)
    assert "**3 runs trained, 2 kept, 1 excluded**" in rst
    assert "     - train_acc 0.5000 < 0.99 (not fitted)" in rst
    assert "     - 0.33 [0.10, 0.60] (1/8 axes)" in rst
    assert "   * - figures/digits_vgg/fig6.png\n     - 2 kept run(s); it follows 3" in rst
    assert "- **c3** does not beat the untrained control (50% of 2 runs; median 1.2 vs 1.1)." in rst
    html = docutils.core.publish_parts(rst, writer="html", settings_overrides={"halt_level": 2})["html_body"]
    assert "<table" in html and "Excluded runs" in html
    md = front_page("demo", RUNS, EXCLUDED, TABLES, VERDICTS, SKIPPED, POWER, markup="md")
    assert "| figures/digits_vgg/fig6.png | 2 kept run(s); it follows 3 |" in md
    # the page begins with the power table, before the runs and the Kendall cells
    assert md.index("| learning rate | 6.6 | can rank |") < md.index("**3 runs trained") < md.index("| c3 |")
    assert rst.index("     - can rank") < rst.index("**3 runs trained")
    assert "# Study demo" in md and "| c3 | 0.33 [0.10, 0.60] | 0.33 [0.10, 0.60] (1/8 axes) |" in md
    assert "| measure | learning rate | total |" in md  # the axes' labels, as in kendall/<experiment>.md


def test_front_page_shows_the_top_five_of_each_leaderboard(tmp_path):
    totals = {"c1": 0.1, "c3": 0.7, "path_norm": 0.5, "margin": 0.3, "c4": -0.2, "param_norm": 0.6, "c5": np.nan}
    kendall = pd.DataFrame(
        [
            {"measure": m, "cell": "total", "value": t, "lo": t - 0.1, "hi": t + 0.1, "n_pairs": 12}
            for m, t in totals.items()
        ]
    ).set_index(["measure", "cell"])
    cmi = pd.DataFrame({"measure": list(totals), "cmi_2": [0.001, 0.0123, 0.2, 0.05, 0.0, 0.03, 0.4]})
    sign_error = pd.DataFrame({"measure": list(totals), "statistic": "mean", "all": np.linspace(0.2, 0.5, 7)})
    csv, _, _ = write_leaderboard(leaderboard(kendall, cmi, sign_error), tmp_path / "leaderboard" / "digits_vgg")
    boards = {"digits_vgg": pd.read_csv(csv, index_col="measure")}  # as the summary rule reads it
    md = front_page("demo", RUNS, EXCLUDED, TABLES, VERDICTS, SKIPPED, POWER, markup="md", leaderboards=boards)
    top = md.split("**digits_vgg (top 5 of 7; all in leaderboard/digits_vgg.md)**\n\n")[1].split("\n\n")[0]
    assert top.splitlines() == [
        "| rank | measure | Kendall total | CMI K | mean sign-error |",
        "|---|---|---|---|---|",
        "| 1 | c3 | 0.70 [0.60, 0.80] | 0.012 | 0.25 |",
        "| 2 | param norm | 0.60 [0.50, 0.70] | 0.030 | 0.45 |",
        "| 3 | path norm | 0.50 [0.40, 0.60] | 0.200 | 0.30 |",
        "| 4 | margin | 0.30 [0.20, 0.40] | 0.050 | 0.35 |",
        "| 5 | c1 | 0.10 [0.00, 0.20] | 0.001 | 0.20 |",
    ]
    assert md.index("## Leaderboards") > md.index("| c3 | 0.33 [0.10, 0.60]") and md.index("## Controls") > md.index(
        "| 5 | c1 |"
    )
    rst = front_page("demo", RUNS, EXCLUDED, TABLES, VERDICTS, SKIPPED, POWER, leaderboards=boards)
    assert "   * - 1\n     - c3\n     - 0.70 [0.60, 0.80]\n     - 0.012\n     - 0.25" in rst
    html = docutils.core.publish_parts(rst, writer="html", settings_overrides={"halt_level": 2})["html_body"]
    assert "Leaderboards" in html and "c4" not in html.split("Leaderboards")[1].split("Controls")[0]
    assert "Leaderboards" not in front_page("demo", RUNS, EXCLUDED, TABLES, VERDICTS, SKIPPED, POWER)
