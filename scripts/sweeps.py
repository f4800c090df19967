"""Rule sweeps: c1 and c3 over k and c4 over its activation percentile for one run's final model."""

import logging

from threadpoolctl import threadpool_limits

from intraclass.logs import log_to_file
from intraclass.measures import measure_sweeps
from intraclass.preactivations import load_preactivations
from intraclass.storage import write_json

log_to_file(snakemake.log[0])
options = snakemake.params.options
layers, _, labels, sublabels = load_preactivations(snakemake.input.preactivations)
with threadpool_limits(snakemake.threads):
    sweeps = measure_sweeps(
        layers,
        labels,
        sublabels,
        k_values=snakemake.params.k_values,
        percentiles=snakemake.params.percentiles,
        k_layers=options["k_layers"],
        min_active_neurons=options["min_active_neurons"],
        c4_pairs=options["c4_pairs"],
    )
# JSON keys are strings; the swept values are kept as lists beside them so nothing is parsed back from keys
write_json(snakemake.output.sweeps, {m: {"values": list(v), "measure": list(v.values())} for m, v in sweeps.items()})
logging.info("%s", sweeps)
