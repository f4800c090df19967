"""Rule sign_error_cdf: the empirical CDF of one experiment's environments' sign-errors, per measure."""

import pandas as pd

from intraclass.criteria_plots import fig_sign_error_cdf
from intraclass.logs import log_to_file
from intraclass.plots import save_figure
from intraclass.registry import MEASURES

log_to_file(snakemake.log[0])
environments = pd.read_csv(snakemake.input.environments)
names = [m for m in MEASURES if m in set(environments.measure)]
errors = {name: environments.loc[environments.measure == name, "sign_error"] for name in names}
figure = fig_sign_error_cdf(errors, title=snakemake.wildcards.experiment)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
