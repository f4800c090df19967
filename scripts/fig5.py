"""Rule fig5 (Fig. 5, 9, 10): each measure per layer, averaged over the experiment's kept runs of one depth, with
the same runs' untrained networks as a reference."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig5_measures_per_layer, save_figure
from intraclass.selection import split_runs
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
runs = pd.read_csv(snakemake.input.runs)
kept = set(split_runs(runs, snakemake.params.run_ids).kept.run_id)
paths = zip(snakemake.params.run_ids, snakemake.input.summaries, snakemake.input.untrained, strict=True)
chosen = [(trained, untrained) for run_id, trained, untrained in paths if run_id in kept]
figure = fig5_measures_per_layer(
    [read_json(trained) for trained, _ in chosen],
    f"{snakemake.wildcards.experiment}, depth x{snakemake.wildcards.depth}",
    untrained=[read_json(untrained) for _, untrained in chosen],
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
