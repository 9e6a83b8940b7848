"""Rule pretrain_cnn: train one task's source CNN on every pool label, with one seed."""

import logging

from workflow_scripts.atomic import save_torch, write_csv
from workflow_scripts.nn.training import FitSettings
from workflow_scripts.pretrain.sources import describe_stopping, train_source_cnn
from workflow_scripts.stage import run_stage, study_inputs

log = logging.getLogger("pretrain_cnn")


def main(snakemake):
    p = snakemake.params
    task, seed = snakemake.wildcards.task, int(snakemake.wildcards.pretrain_seed)
    device, faces, roles, architecture = study_inputs(snakemake)
    saved_network, curve = train_source_cnn(
        faces.images, faces.table, roles, task, p.n_classes, architecture, FitSettings.from_config(p.settings), seed, device
    )
    log.info("%s seed %d: test accuracy %.4f, balanced %.4f", task, seed, saved_network["test_accuracy"],
             saved_network["test_balanced_accuracy"])
    # a source stopped at its cap may have had more to learn: say so where it shows
    level = logging.INFO if saved_network["stopped_early"] else logging.WARNING
    log.log(level, "%s seed %d %s", task, seed, describe_stopping(saved_network))
    write_csv(curve, snakemake.output.curve)
    save_torch(saved_network, snakemake.output.model)


run_stage(main, snakemake)  # noqa: F821
