"""Rule fig3: the intraclass measures against test accuracy, a row per experiment (kept runs filled, excluded
hollow), each panel titled with its total from the experiment's Kendall table."""

import logging

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig3_measure_vs_accuracy, save_figure
from intraclass.registry import measures_for
from intraclass.selection import split_runs

log_to_file(snakemake.log[0])
selection = split_runs(pd.read_csv(snakemake.input.measures))
paths = zip(snakemake.params.experiments, snakemake.input.kendall, strict=True)
logging.info("measures plotted: %s", [m.name for m in measures_for(selection.kept.columns, stage="preactivations")])
figure = fig3_measure_vs_accuracy(selection, {experiment: pd.read_csv(path) for experiment, path in paths})
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
