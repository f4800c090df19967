"""Rule paper_compare: one experiment's granulated Kendall table beside the paper's (CSV, Markdown, LaTeX)."""

from pathlib import Path

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.paper import paper_table, side_by_side, write_side_by_side

log_to_file(snakemake.log[0])
experiment = snakemake.wildcards.experiment
paper = paper_table(experiment)
if paper is None:
    raise ValueError(f"the paper has no table for experiment {experiment!r}")
# the Kendall CSV is long (a row per measure and cell); the comparison takes the point estimates, a column per cell
ours = pd.read_csv(snakemake.input.table).pivot(index="measure", columns="cell", values="value")
write_side_by_side(side_by_side(ours, paper), Path(snakemake.output.table).with_suffix(""), experiment)
