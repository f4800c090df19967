"""Rule leaderboard: one experiment's measures ranked by granulated Kendall total, with CMI K and sign-error."""

import logging
from pathlib import Path

import pandas as pd

from intraclass.kendall import read_kendall_interval_table
from intraclass.leaderboard import leaderboard, write_leaderboard
from intraclass.logs import log_to_file

log_to_file(snakemake.log[0])
table = leaderboard(
    read_kendall_interval_table(snakemake.input.kendall),
    pd.read_csv(snakemake.input.cmi),
    pd.read_csv(snakemake.input.sign_error),
)
write_leaderboard(table, Path(snakemake.output.table).with_suffix(""))
logging.info("%s: %d measures, first %s", snakemake.params.experiment, len(table), list(table.index[:3]))
