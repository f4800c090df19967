"""Rule sharpness: the four sharpness measures of one run on its training split (seeded: same run, same values).
A diverged run is skipped with a note: its values are null."""

import logging

import torch

from intraclass.data import DatasetArrays
from intraclass.logs import log_to_file
from intraclass.sharpness import SharpnessConfig, sharpness_measures
from intraclass.storage import read_json, write_json
from intraclass.training import load_model, normalized_tensor, pick_device

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = SharpnessConfig(**snakemake.params.options)
if read_json(snakemake.input.metrics)["diverged"]:
    logging.warning("skipped: the run diverged, its sharpness is undefined")
    result = {"skipped": "diverged", "config": config.__dict__}
else:
    device = pick_device(snakemake.params.device)
    model, (mean, std) = load_model(snakemake.input.model, device)
    data = DatasetArrays.load(snakemake.input.dataset)
    x = normalized_tensor(data.x_train, mean, std, device)
    result = sharpness_measures(model, x, torch.as_tensor(data.y_train, device=device), config)
    logging.info("%s", {k: result[k] for k in ("inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp")})
write_json(snakemake.output.sharpness, result)
