"""Rule sharpness: the four sharpness measures of one run on its training split (seeded: same run, same values).

Beside each measure ``inv_<measure>`` the JSON holds ``inv_<measure>_at_bound`` ("lower", "upper" or null): a value
the search could not bracket is a bound on the measure, not an estimate. A diverged run is skipped with a note: its
values are null."""

import logging
from dataclasses import asdict

import torch

from intraclass.data import DatasetArrays
from intraclass.logs import log_to_file
from intraclass.sharpness import MEASURES, SharpnessConfig, sharpness_measures
from intraclass.storage import read_json, write_json
from intraclass.training import load_model, normalized_tensor, pick_device

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = SharpnessConfig(**snakemake.params.options)
if read_json(snakemake.input.metrics)["diverged"]:
    logging.warning("skipped: the run diverged, its sharpness is undefined")
    result = {"skipped": "diverged", "config": asdict(config)}
else:
    device = pick_device(snakemake.params.device)
    model, (mean, std) = load_model(snakemake.input.model, device)
    data = DatasetArrays.load(snakemake.input.dataset)
    x = normalized_tensor(data.x_train, mean, std, device)
    result = sharpness_measures(model, x, torch.as_tensor(data.y_train, device=device), config)
    for measure in MEASURES:
        value, bound = result[f"inv_{measure}"], result[f"inv_{measure}_at_bound"]
        logging.info("inv_%s = %.6g%s", measure, value, f" (at the {bound} end of its search)" if bound else "")
write_json(snakemake.output.sharpness, result)
