"""Rule cmi: one experiment's conditional mutual information table (CSV, Markdown, LaTeX; Jiang et al. 2020)."""

import logging
from pathlib import Path

import pandas as pd

from intraclass.criteria import cmi_table, write_cmi_tables
from intraclass.logs import log_to_file
from intraclass.registry import MEASURES
from intraclass.selection import select_runs

log_to_file(snakemake.log[0])
measures = pd.read_csv(snakemake.input.measures)
measures = measures[measures.run_id.isin(snakemake.params.run_ids)]
kept, excluded = select_runs(measures, snakemake.params.min_train_acc)
for row in excluded.itertuples():
    logging.warning("left out %s: %s", row.run_id, row.reason)
table = cmi_table(kept, [m for m in MEASURES if m in measures.columns])
write_cmi_tables(table, Path(snakemake.output.table).with_suffix(""))
