"""Rule extract: the pre-activations of one model on its un-augmented training split, as float16 per layer."""

import logging

import torch

from intraclass.activations import extract_preactivations, save_preactivations, site_names
from intraclass.data import DatasetArrays
from intraclass.logs import log_to_file
from intraclass.training import load_model, normalized_tensor, pick_device

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
device = pick_device(snakemake.params.device)
model, (mean, std) = load_model(snakemake.input.model, device)
data = DatasetArrays.load(snakemake.input.dataset)
layers = extract_preactivations(
    model, normalized_tensor(data.x_train, mean, std, device), batch_size=snakemake.params.batch_size
)
save_preactivations(snakemake.output.preactivations, layers, site_names(model), data.y_train, data.sub_train)
logging.info("%d samples, %d neurons over %d layers", len(data.x_train), sum(a.shape[1] for a in layers), len(layers))
