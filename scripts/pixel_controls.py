"""Rule pixel_controls: every registered measure on a dataset's normalized input pixels as the only layer."""

import logging

from intraclass.controls import pixel_layer
from intraclass.data import DatasetArrays
from intraclass.logs import log_to_file
from intraclass.registry import PreactivationInputs, compute_measures
from intraclass.storage import write_json

log_to_file(snakemake.log[0])
data = DatasetArrays.load(snakemake.input.dataset)
mean, std = data.normalization()
inputs = PreactivationInputs(
    [pixel_layer(data.x_train, mean, std)], ["pixels"], data.y_train, data.sub_train, snakemake.params.options
)
values = compute_measures(inputs)
write_json(snakemake.output.measures, {"dataset": data.name, "measures": values})
logging.info("%s pixels: %s", data.name, values)
