"""Rule subset_dataset: a prepared data set with its training split cut to a run's train_size images (stratified,
seeded: the same images for every run of that size)."""

import logging

from intraclass.data import DatasetArrays, stratified_subset
from intraclass.logs import log_to_file

log_to_file(snakemake.log[0])
data = stratified_subset(DatasetArrays.load(snakemake.input.dataset), snakemake.params.train_size, option="train_size")
data.save(snakemake.output.dataset)
logging.info("%s: %d of its training images", data.name, len(data.x_train))
