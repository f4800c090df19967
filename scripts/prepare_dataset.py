"""Rule prepare_dataset: one data set (CIFAR, Fashion-MNIST, digits or a custom .npz) as one .npz, its training
split cut to the configured subset and its images pooled to the configured resolution."""

import logging

from intraclass.data import DatasetInfo, build_dataset
from intraclass.logs import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params.dataset
data = build_dataset(
    DatasetInfo(**params["info"]),
    snakemake.input.get("source") or None,
    params["train_subset"],
    params["resolution"],
)
data.save(snakemake.output.dataset)
logging.info(
    "%s: %d train and %d test images of shape %s",
    data.name,
    len(data.x_train),
    len(data.x_test),
    data.x_train.shape[1:],
)
