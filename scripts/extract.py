"""Rules extract and extract_snapshots: the pre-activations of each model folder of one run on its un-augmented
training split, as float16 per layer (one process for all of the run's models: torch is imported once)."""

import logging

import torch

from intraclass.activations import extract_preactivations, site_names
from intraclass.data import DatasetArrays
from intraclass.logs import log_to_file
from intraclass.preactivations import save_preactivations
from intraclass.training import load_model, normalized_tensor, pick_device

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
device = pick_device(snakemake.params.device)
data = DatasetArrays.load(snakemake.input.dataset)
for model_path, target in zip(snakemake.input.models, snakemake.output.preactivations, strict=True):
    model, (mean, std) = load_model(model_path, device)
    x = normalized_tensor(data.x_train, mean, std, device)
    layers = extract_preactivations(model, x, batch_size=snakemake.params.batch_size)
    save_preactivations(target, layers, site_names(model), data.y_train, data.sub_train)
    logging.info(
        "%s: %d samples, %d neurons over %d layers", model_path, len(x), sum(a.shape[1] for a in layers), len(layers)
    )
