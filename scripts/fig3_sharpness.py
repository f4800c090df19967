"""Rule fig3_sharpness: the sharpness measures (negated) against test accuracy, a row per experiment (kept runs
filled, excluded hollow), each panel titled with its total from the experiment's Kendall table."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig3_sharpness_vs_accuracy, save_figure
from intraclass.selection import split_runs

log_to_file(snakemake.log[0])
selection = split_runs(pd.read_csv(snakemake.input.measures))
paths = zip(snakemake.params.experiments, snakemake.input.kendall, strict=True)
figure = fig3_sharpness_vs_accuracy(selection, {experiment: pd.read_csv(path) for experiment, path in paths})
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
