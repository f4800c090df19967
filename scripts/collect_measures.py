"""Rule collect_measures: runs.csv joined with each run's measures and sharpness."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.results import measures_table
from intraclass.storage import read_json, write_csv

log_to_file(snakemake.log[0])
measures = [read_json(path) for path in snakemake.input.measures]
sharpness = [read_json(path) for path in snakemake.input.sharpness]
write_csv(
    snakemake.output.table,
    measures_table(pd.read_csv(snakemake.input.runs), snakemake.params.run_ids, measures, sharpness),
)
