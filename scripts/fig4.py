"""Rule fig4: the granulated Kendall total of c1 and c3 against k, the number of neurons they average."""

import pandas as pd

from intraclass.figure_data import kendall_over_k, log_k_grid, subclasses_per_class
from intraclass.logs import log_to_file
from intraclass.plots import fig4_kendall_vs_k, save_figure
from intraclass.selection import split_runs
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
measures = pd.read_csv(snakemake.input.measures)
kept = split_runs(measures, snakemake.params.run_ids).kept
paths = zip(snakemake.params.run_ids, snakemake.input.summaries, strict=True)
summaries = {run_id: read_json(path) for run_id, path in paths}
ks = log_k_grid(min(s["n_neurons"] for s in summaries.values()), snakemake.params.points)
curves = {m: kendall_over_k(kept, summaries, m, ks) for m in ("c1", "c3") if m in kept.columns}
per_class = subclasses_per_class(summaries) if "c1" in curves else None
figure = fig4_kendall_vs_k(curves, per_class, title=snakemake.wildcards.experiment)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
