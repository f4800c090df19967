"""Rule collect_measures: runs.csv joined with each run's measures, sharpness, model-stage measures and controls."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.results import measures_table
from intraclass.storage import read_json, write_csv

log_to_file(snakemake.log[0])
pixels = {control["dataset"]: control["measures"] for control in map(read_json, snakemake.input.pixels)}
table = measures_table(
    pd.read_csv(snakemake.input.runs),
    snakemake.params.run_ids,
    [read_json(path) for path in snakemake.input.measures],
    [read_json(path) for path in snakemake.input.untrained],
    [read_json(path) for path in snakemake.input.sharpness],
    [read_json(path) for path in snakemake.input.complexity],
    pixels,
)
write_csv(snakemake.output.table, table)
