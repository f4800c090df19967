"""Rule fig8: the histogram of test accuracies of every experiment."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig8_accuracy_histogram, save_figure

log_to_file(snakemake.log[0])
figure = fig8_accuracy_histogram(pd.read_csv(snakemake.input.runs))
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
