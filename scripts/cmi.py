"""Rule cmi: one experiment's conditional mutual information table (CSV, Markdown, LaTeX; Jiang et al. 2020)."""

from pathlib import Path

import pandas as pd

from intraclass.criteria import cmi_table, write_cmi_tables
from intraclass.logs import log_to_file
from intraclass.registry import MEASURES
from intraclass.selection import split_runs

log_to_file(snakemake.log[0])
measures = pd.read_csv(snakemake.input.measures)
kept = split_runs(measures, snakemake.params.run_ids).kept
table = cmi_table(kept, [m for m in MEASURES if m in measures.columns])
write_cmi_tables(table, Path(snakemake.output.table).with_suffix(""))
