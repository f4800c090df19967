"""Rule collect_runs: one row per run (hyperparameters, seed and final metrics) in runs.csv."""

from intraclass.logs import log_to_file
from intraclass.results import runs_table
from intraclass.storage import read_json, write_csv

log_to_file(snakemake.log[0])
write_csv(snakemake.output.table, runs_table([read_json(path) for path in snakemake.input.metrics]))
