"""Rule collect_runs: one row per run (hyperparameters, seed and final metrics) in runs.csv, with whether it is kept
and why not (the study's one decision of which runs count, from kendall.min_train_acc)."""

from intraclass.logs import log_to_file
from intraclass.results import runs_table
from intraclass.selection import mark_runs
from intraclass.storage import read_json, write_csv

log_to_file(snakemake.log[0])
runs = runs_table([read_json(path) for path in snakemake.input.metrics])
write_csv(snakemake.output.table, mark_runs(runs, snakemake.params.min_train_acc))
