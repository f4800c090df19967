"""Rule fig3: every measure against test accuracy, one panel per experiment and measure (fitted models)."""

import pandas as pd

from intraclass.kendall import ORIENTATION, select_models
from intraclass.logs import log_to_file
from intraclass.plots import fig3_measure_vs_accuracy, save_figure

log_to_file(snakemake.log[0])
kept, _ = select_models(pd.read_csv(snakemake.input.measures), snakemake.params.min_train_acc)
figure = fig3_measure_vs_accuracy(kept, [m for m in ORIENTATION if m in kept.columns])
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
