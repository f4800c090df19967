"""Rule fig11: the distribution of per-subclass selectivity at k = 1 over the experiment's kept runs."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig11_selectivity_distribution, save_figure
from intraclass.selection import split_runs
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
runs = pd.read_csv(snakemake.input.runs)
kept = set(split_runs(runs, snakemake.params.run_ids).kept.run_id)
paths = zip(snakemake.params.run_ids, snakemake.input.summaries, strict=True)
figure = fig11_selectivity_distribution([read_json(path) for run_id, path in paths if run_id in kept])
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
