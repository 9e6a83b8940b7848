"""Rule fetch_mtfl: the downloaded MTFL archive, checked and put at mtfl.path."""

import logging

from workflow_scripts.archive import install_archive
from workflow_scripts.stage import run_stage

log = logging.getLogger("fetch_mtfl")


def main(snakemake):
    p = snakemake.params
    digest = install_archive(snakemake.input.download, snakemake.output.archive, p.url, p.sha256)
    log.info("%s -> %s, SHA-256 %s", p.url, snakemake.output.archive, digest)


run_stage(main, snakemake)  # noqa: F821
