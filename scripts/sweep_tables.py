"""Rule sweep_tables: one experiment's granulated Kendall total (with its interval) over each swept constant, as a
table (CSV, Markdown, LaTeX) and a figure."""

from pathlib import Path

import pandas as pd

from intraclass.correctness import correctness_matrix
from intraclass.logs import log_to_file
from intraclass.plots import fig_sweeps, save_figure
from intraclass.selection import split_runs
from intraclass.storage import read_json
from intraclass.sweeps import sweep_kendall, write_sweep_tables

log_to_file(snakemake.log[0])
runs = pd.read_csv(snakemake.input.runs)
kept = split_runs(runs, snakemake.params.run_ids).kept
sweeps = dict(zip(snakemake.params.run_ids, map(read_json, snakemake.input.sweeps), strict=True))
metrics = {m["run_id"]: m for m in map(read_json, snakemake.input.metrics)}
table = sweep_kendall(
    kept,
    sweeps,
    correctness_matrix([metrics[run_id] for run_id in kept.run_id]),
    n_resamples=snakemake.params.n_resamples,
    seed=snakemake.params.seed,
    confidence=snakemake.params.confidence,
    ties=snakemake.params.ties,
)
write_sweep_tables(table, Path(snakemake.output.table).with_suffix(""))
figure = fig_sweeps(table, f"{snakemake.wildcards.experiment}: granulated Kendall over each measure's constant")
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
