"""The report's front page: counts, exclusions with reasons, the Kendall cells, and the control verdicts, as RST that
docutils renders without a warning and as Markdown."""

import docutils.core
import pandas as pd

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
