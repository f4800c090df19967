"""Rule fig5 (Fig. 5, 9, 10): each measure per layer, averaged over the experiment's models of one depth."""

from intraclass.logs import log_to_file
from intraclass.plots import fig5_measures_per_layer, save_figure
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
label = f"{snakemake.wildcards.experiment}, depth x{snakemake.wildcards.depth}"
figure = fig5_measures_per_layer([read_json(path) for path in snakemake.input.summaries], label)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
