"""Rule train: one configuration, resumable from its checkpoint; writes model.pt, snapshots and metrics.json."""

from pathlib import Path

import torch

from intraclass.data import DatasetArrays
from intraclass.grid import RunConfig
from intraclass.logs import log_to_file
from intraclass.storage import write_json
from intraclass.training import TrainingSettings, pick_device, train

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
metrics = train(
    RunConfig.from_dict(snakemake.params.run),
    DatasetArrays.load(snakemake.input.dataset),
    TrainingSettings(**snakemake.params.training),
    Path(snakemake.output.model).parent,
    pick_device(snakemake.params.device),
)
write_json(snakemake.output.metrics, metrics)
