"""Rule prepare_faces: prepare the configured dataset (its entry's reader); write the face set."""

import importlib
import logging

from workflow_scripts.atomic import write_csv
from workflow_scripts.data.faces import save_face_set
from workflow_scripts.stage import run_stage
from workflow_scripts.study.datasets import DATASETS

log = logging.getLogger("prepare_faces")


def main(snakemake):
    data, settings = snakemake.params.data, snakemake.params.dataset
    module, function = DATASETS[data["dataset"]].reader.split(":")
    faces, skipped = getattr(importlib.import_module(module), function)(data, settings, snakemake.input, snakemake.threads)
    if len(skipped):
        log.warning("skipped %d bad records (listed in %s):", len(skipped), snakemake.output.skipped)
        for row in skipped.itertuples():
            log.warning("  %s: %s", row.where, row.reason)
    log.info("%d faces (%s), images %s", len(faces.table), faces.table["split"].value_counts().to_dict(), tuple(faces.images.shape))
    write_csv(skipped, snakemake.output.skipped)
    save_face_set(faces, snakemake.output.images, snakemake.output.table)


run_stage(main, snakemake)  # noqa: F821 - injected by Snakemake
