"""Rule fig11: the distribution of per-subclass selectivity at k = 1 over the experiment's models."""

from intraclass.logs import log_to_file
from intraclass.plots import fig11_selectivity_distribution, save_figure
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
figure = fig11_selectivity_distribution([read_json(path) for path in snakemake.input.summaries])
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
