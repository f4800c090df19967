"""Rule download_fashion: fetch the four official Fashion-MNIST files and check their md5."""

from intraclass.data import download_fashion
from intraclass.logs import log_to_file

log_to_file(snakemake.log[0])
download_fashion(snakemake.output.folder)
