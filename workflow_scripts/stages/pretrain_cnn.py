"""Rule pretrain_cnn: train one task's source CNN on every pool label, with one seed."""

import logging

from workflow_scripts.atomic import save_torch, write_csv
from workflow_scripts.pretraining import describe_stopping, train_source_cnn
from workflow_scripts.stage import run_stage, study_inputs
from workflow_scripts.training import FitSettings

log = logging.getLogger("pretrain_cnn")


def main(snakemake):
    p = snakemake.params
    task, seed = snakemake.wildcards.task, int(snakemake.wildcards.seed)
    device, faces, roles, architecture = study_inputs(snakemake)
    checkpoint, curve = train_source_cnn(
        faces.images, faces.table, roles, task, p.n_classes, architecture, FitSettings.from_config(p.settings), seed, device
    )
    log.info("%s seed %d: test accuracy %.4f, balanced %.4f", task, seed, checkpoint["test_accuracy"],
             checkpoint["test_balanced_accuracy"])
    # a source stopped at its cap may have had more to learn: say so where it shows
    level = logging.INFO if checkpoint["stopped_early"] else logging.WARNING
    log.log(level, "%s seed %d %s", task, seed, describe_stopping(checkpoint))
    write_csv(curve, snakemake.output.curve)
    save_torch(checkpoint, snakemake.output.model)


run_stage(main, snakemake)  # noqa: F821
