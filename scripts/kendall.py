"""Rule kendall: one experiment's granulated Kendall table (CSV, Markdown, LaTeX) and the models left out."""

import logging
from pathlib import Path

import pandas as pd

from intraclass.kendall import kendall_table, write_kendall_tables
from intraclass.logs import log_to_file
from intraclass.registry import measures_for
from intraclass.selection import select_runs
from intraclass.storage import write_csv

log_to_file(snakemake.log[0])
measures = pd.read_csv(snakemake.input.measures)
measures = measures[measures.run_id.isin(snakemake.params.run_ids)]
kept, excluded = select_runs(measures, snakemake.params.min_train_acc)
for row in excluded.itertuples():
    logging.warning("left out %s: %s", row.run_id, row.reason)
table = kendall_table(kept, [m.name for m in measures_for(measures.columns)])
write_kendall_tables(table, Path(snakemake.output.table).with_suffix(""))
write_csv(snakemake.output.excluded, excluded[["run_id", "reason"]])
