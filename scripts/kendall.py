"""Rule kendall: one experiment's granulated Kendall table with bootstrap intervals (CSV, Markdown, LaTeX) and
the runs left out, with their reasons."""

from pathlib import Path

import pandas as pd

from intraclass.correctness import correctness_matrix
from intraclass.kendall import kendall_interval_table, write_kendall_interval_tables
from intraclass.logs import log_to_file
from intraclass.registry import MEASURES, measures_for
from intraclass.results import at_bound_column
from intraclass.selection import select_experiment
from intraclass.storage import read_json, write_csv

log_to_file(snakemake.log[0])
measures = pd.read_csv(snakemake.input.measures)
kept, excluded = select_experiment(measures, snakemake.params.run_ids, snakemake.params.min_train_acc)
metrics = {m["run_id"]: m for m in map(read_json, snakemake.input.metrics)}
table = kendall_interval_table(
    kept,
    [m.name for m in measures_for(measures.columns)],
    correct=correctness_matrix([metrics[run_id] for run_id in kept.run_id]),  # rows aligned with kept
    n_resamples=snakemake.params.n_resamples,
    seed=snakemake.params.seed,
    confidence=snakemake.params.confidence,
    ties=snakemake.params.ties,
    pairs=snakemake.params.pairs,
)
bounded = [
    f"{MEASURES[m].markdown}: {int(kept[at_bound_column(m)].notna().sum())} of {len(kept)} values at a search bound."
    for m in MEASURES
    if at_bound_column(m) in kept.columns
]
table.attrs["notes"] = bounded
write_kendall_interval_tables(table, Path(snakemake.output.table).with_suffix(""))
write_csv(snakemake.output.excluded, excluded[["run_id", "reason"]])
