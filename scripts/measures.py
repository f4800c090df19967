"""Rules measures and measures_snapshots: every registered measure of each model folder of one run, with the
figure variants (per layer, over k, per subclass) as JSON; for a run's final model also the shuffled-subclass
control (SPEC §11)."""

import logging

import numpy as np
from threadpoolctl import threadpool_limits

from intraclass.controls import shuffle_within_superclass
from intraclass.logs import log_to_file
from intraclass.preactivations import load_preactivations
from intraclass.registry import PreactivationInputs, compute_measures, measures_for
from intraclass.storage import write_json

log_to_file(snakemake.log[0])
seed = snakemake.params.shuffle_seed
final_model = snakemake.input.preactivations[0]  # the run's own folder comes first; the untrained snapshot next
with threadpool_limits(snakemake.threads):  # BLAS threads beyond the job's cores slow the Gram products down
    for source, target in zip(snakemake.input.preactivations, snakemake.output.measures, strict=True):
        layers, names, labels, sublabels = load_preactivations(source)
        if not all(np.isfinite(layer).all() for layer in layers):  # a diverged run: excluded, nothing to measure
            write_json(target, {"layer_names": names, "measures": {}, "not_measured": "non-finite pre-activations"})
            logging.warning("%s: non-finite pre-activations (the run diverged); no measure computed", source)
            continue
        inputs = PreactivationInputs(layers, names, labels, sublabels, snakemake.params.options)
        summary = {**inputs.summary, "measures": compute_measures(inputs)}
        if seed is not None and source == final_model and sublabels is not None:
            shuffled = PreactivationInputs(
                layers, names, labels, shuffle_within_superclass(labels, sublabels, seed), snakemake.params.options
            )
            needing = {m.name for m in measures_for(stage="preactivations", subclasses=True) if m.needs_subclasses}
            summary["controls"] = {
                "shuffled": {k: v for k, v in compute_measures(shuffled).items() if k in needing},
                "shuffle_seed": seed,
            }
        write_json(target, summary)
        logging.info("%s: %s", source, summary["measures"])
