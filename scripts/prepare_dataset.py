"""Rule prepare_dataset: one dataset (CIFAR from its archive or folder, digits from scikit-learn) as one .npz."""

import logging

from intraclass.data import dataset_info, load_dataset
from intraclass.logs import log_to_file

log_to_file(snakemake.log[0])
name = snakemake.params.dataset
info = dataset_info(name)
source = snakemake.input.get("source") or None
# An archive file must be the official one; an extracted folder is read as it is.
data = load_dataset(name, source, md5=info.archive.md5 if info.archive else None)
data.save(snakemake.output.dataset)
logging.info(
    "%s: %d train and %d test images of shape %s", name, len(data.x_train), len(data.x_test), data.x_train.shape[1:]
)
