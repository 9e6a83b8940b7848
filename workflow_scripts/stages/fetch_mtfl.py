"""Rule fetch_mtfl: mtfl.url downloaded (the only job that reaches the network), checked
and put at mtfl.path."""

import logging
import os
from pathlib import Path

from workflow_scripts.atomic import PARTIAL
from workflow_scripts.data.archive import download, install_archive
from workflow_scripts.stage import run_stage

log = logging.getLogger("fetch_mtfl")


def main(snakemake):
    p = snakemake.params
    target = Path(snakemake.output.archive)
    # a partial name of mtfl.path's, so the next attempt clears what a killed one left
    downloaded = target.with_name(PARTIAL.format(name=target.name, pid=os.getpid()) + ".download")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        download(p.url, downloaded)
        digest = install_archive(downloaded, target, p.url, p.sha256)
    finally:
        downloaded.unlink(missing_ok=True)
    log.info("%s -> %s, SHA-256 %s", p.url, target, digest)


run_stage(main, snakemake)  # noqa: F821
