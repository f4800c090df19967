"""Rule measures: c1-c4 of one model and their figure variants (per layer, over k, per subclass) as JSON."""

import logging

from threadpoolctl import threadpool_limits

from intraclass.activations import load_preactivations
from intraclass.logs import log_to_file
from intraclass.measures import measure_summary
from intraclass.storage import write_json

log_to_file(snakemake.log[0])
layers, names, labels, sublabels = load_preactivations(snakemake.input.preactivations)
with threadpool_limits(snakemake.threads):  # BLAS threads beyond the job's cores slow the Gram products down
    summary = measure_summary(layers, names, labels, sublabels, **snakemake.params.options)
write_json(snakemake.output.measures, summary)
logging.info("%s", {k: summary[k] for k in ("c1", "c2", "c3", "c4") if k in summary})
