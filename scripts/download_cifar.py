"""Rule download_cifar: fetch an official CIFAR archive and check its md5."""

from intraclass.data import ARCHIVES, download_checked
from intraclass.logs import log_to_file

log_to_file(snakemake.log[0])
archive = ARCHIVES[snakemake.params.archive]
download_checked(archive.url, archive.md5, snakemake.output.archive)
