"""Rule fig8: the histogram of test accuracies of every experiment's kept runs (the excluded ones counted)."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig8_accuracy_histogram, save_figure
from intraclass.selection import split_runs

log_to_file(snakemake.log[0])
figure = fig8_accuracy_histogram(split_runs(pd.read_csv(snakemake.input.runs)))
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
