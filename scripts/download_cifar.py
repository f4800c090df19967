"""Rule download_cifar: fetch an official CIFAR archive and check its md5."""

from intraclass.data import ARCHIVES, download_archive
from intraclass.logs import log_to_file

log_to_file(snakemake.log[0])
download_archive(ARCHIVES[snakemake.params.archive], snakemake.output.archive)
