"""Rule power_table: one experiment's power report (CSV, Markdown, LaTeX) from runs.csv and the kept runs'
per-image test correctness; no measure is read."""

from pathlib import Path

import numpy as np
import pandas as pd

from intraclass.correctness import correctness_matrix
from intraclass.logs import log_to_file
from intraclass.power import power_table, write_power_tables
from intraclass.selection import split_runs
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
runs = pd.read_csv(snakemake.input.runs)
kept = split_runs(runs, snakemake.params.run_ids).kept  # runs.csv says which runs count
metrics = {m["run_id"]: m for m in map(read_json, snakemake.input.metrics)}
table = power_table(
    kept,
    # rows aligned with kept; a study whose every run was excluded still gets its (empty) report
    correctness_matrix([metrics[run_id] for run_id in kept.run_id]) if len(kept) else np.zeros((0, 0), dtype=bool),
    n_resamples=snakemake.params.n_resamples,
    seed=snakemake.params.seed,
    confidence=snakemake.params.confidence,
    ties=snakemake.params.ties,
    pairs=snakemake.params.pairs,
)
write_power_tables(table, Path(snakemake.output.table).with_suffix(""))
