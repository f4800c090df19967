"""Rule fig3: every measure against test accuracy, one panel per experiment and measure (kept runs)."""

import logging

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig3_measure_vs_accuracy, save_figure
from intraclass.registry import measures_for
from intraclass.selection import select_runs

log_to_file(snakemake.log[0])
kept = select_runs(pd.read_csv(snakemake.input.measures), snakemake.params.min_train_acc).kept
panels = [m.name for m in measures_for(kept.columns)]
logging.info("measures plotted: %s", panels)
figure = fig3_measure_vs_accuracy(kept, panels)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
