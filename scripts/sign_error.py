"""Rule sign_error: one experiment's robust sign-error table (CSV, Markdown, LaTeX) and its environments (Dziugaite
et al. 2020)."""

from pathlib import Path

import pandas as pd

from intraclass.criteria import sign_error_environments, sign_error_table, write_sign_error_tables
from intraclass.logs import log_to_file
from intraclass.registry import MEASURES
from intraclass.selection import split_runs
from intraclass.storage import write_csv

log_to_file(snakemake.log[0])
measures = pd.read_csv(snakemake.input.measures)
kept = split_runs(measures, snakemake.params.run_ids).kept
names = [m for m in MEASURES if m in measures.columns]
environments = sign_error_environments(kept, names)
write_csv(snakemake.output.environments, environments)
write_sign_error_tables(sign_error_table(environments, names), Path(snakemake.output.table).with_suffix(""))
