"""Rule kendall: one experiment's granulated Kendall table with bootstrap intervals (CSV, Markdown, LaTeX) and
the runs left out, with their reasons."""

from pathlib import Path

import pandas as pd

from intraclass.correctness import correctness_matrix
from intraclass.kendall import kendall_interval_table, write_kendall_interval_tables
from intraclass.logs import log_to_file
from intraclass.registry import MEASURES, measures_for
from intraclass.results import at_bound_column
from intraclass.selection import split_runs
from intraclass.storage import read_json, write_csv

log_to_file(snakemake.log[0])
measures = pd.read_csv(snakemake.input.measures)
kept, excluded = split_runs(measures, snakemake.params.run_ids)
metrics = {m["run_id"]: m for m in map(read_json, snakemake.input.metrics)}
# rows aligned with kept; no kept run leaves nothing to resample (every cell n/a, "no fitted model")
correct = correctness_matrix([metrics[run_id] for run_id in kept.run_id]) if len(kept) else None
names = [m.name for m in measures_for(measures.columns)] or list(MEASURES)  # none measured (all diverged): all n/a
table = kendall_interval_table(
    kept,
    names,
    correct=correct,
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
