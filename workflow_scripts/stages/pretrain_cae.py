"""Rule pretrain_cae: train the convolutional autoencoder on the unlabelled pool, with one seed."""

import logging

from torchvision.utils import make_grid, save_image

from workflow_scripts.atomic import atomic_path, save_torch, write_csv
from workflow_scripts.nn.training import FitSettings
from workflow_scripts.pretrain.sources import describe_stopping, train_cae
from workflow_scripts.stage import run_stage, study_inputs

log = logging.getLogger("pretrain_cae")


def main(snakemake):
    p = snakemake.params
    seed = int(snakemake.wildcards.pretrain_seed)
    device, faces, roles, architecture = study_inputs(snakemake)
    log.info("device %s, seed %d, architecture %s", device, seed, architecture)
    saved_network, curve, samples = train_cae(faces.images, roles, architecture, FitSettings.from_config(p.settings), seed, device)
    log.info("test reconstruction MSE %.5f after %d epochs", saved_network["test_reconstruction_mse"], saved_network["epochs_run"])
    # a source stopped at its cap may have had more to learn: say so where it shows
    level = logging.INFO if saved_network["stopped_early"] else logging.WARNING
    log.log(level, "CAE seed %d %s", seed, describe_stopping(saved_network))
    write_csv(curve, snakemake.output.curve)
    # two rows per sample group: originals above their reconstructions
    grid = make_grid(samples.transpose(0, 1).flatten(0, 1), nrow=len(samples), padding=2, pad_value=1.0)
    with atomic_path(snakemake.output.reconstructions) as temporary:
        save_image(grid, temporary, format="png")
    save_torch(saved_network, snakemake.output.model)


run_stage(main, snakemake)  # noqa: F821
