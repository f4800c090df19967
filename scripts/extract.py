"""Rules extract and extract_snapshots: the pre-activations of each model folder of one run on its un-augmented
training split, as float16 per layer (one process for all of the run's models: torch is imported once). For a run's
final model (rule extract) also the field's model-stage measures (intraclass.complexity) as complexity.json: the
logits come from the same forward passes, the initial weights from the run's epoch-0 network loaded here anyway."""

import logging

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from intraclass.activations import extract_preactivations, recorded_outputs, site_names
from intraclass.data import DatasetArrays
from intraclass.logs import log_to_file
from intraclass.preactivations import save_preactivations
from intraclass.registry import ModelInputs, compute_measures
from intraclass.storage import read_json, write_json
from intraclass.training import load_model, normalized_tensor, pick_device

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
device = pick_device(snakemake.params.device)
data = DatasetArrays.load(snakemake.input.dataset)
loaded = {}
for model_path, target in zip(snakemake.input.models, snakemake.output.preactivations, strict=True):
    model, (mean, std) = load_model(model_path, device)
    x = normalized_tensor(data.x_train, mean, std, device)
    with recorded_outputs(model) as outputs:
        layers = extract_preactivations(model, x, batch_size=snakemake.params.batch_size)
    save_preactivations(target, layers, site_names(model), data.y_train, data.sub_train)
    loaded[model_path] = model, np.concatenate(outputs)
    logging.info(
        "%s: %d samples, %d neurons over %d layers", model_path, len(x), sum(a.shape[1] for a in layers), len(layers)
    )
if "complexity" in snakemake.output.keys():
    final, untrained = snakemake.input.models  # the run's own folder first, its epoch-0 network next
    (model, logits), (initial, _) = loaded[final], loaded[untrained]
    history = read_json(snakemake.input.metrics)["history"]
    inputs = ModelInputs(model, initial, logits, data.y_train, history, tuple(data.x_train.shape[1:]))
    with threadpool_limits(snakemake.threads):  # BLAS threads beyond the job's cores slow the norms down
        computed = compute_measures(inputs)
    values = {name: None if np.isnan(value) else value for name, value in computed.items()}
    write_json(snakemake.output.complexity, {"measures": values, "reasons": inputs.reasons})
    logging.info("model-stage measures: %s; undefined: %s", values, inputs.reasons)
