"""Rule extract_features: a source network's frozen prefix, run once over every needed face."""

import logging

from workflow_scripts.atomic import read_torch, save_torch
from workflow_scripts.finetune.blocks import extract_features, needed_faces
from workflow_scripts.nn.architecture import prefix_length
from workflow_scripts.nn.networks import source_trunk
from workflow_scripts.stage import run_stage, study_inputs

log = logging.getLogger("extract_features")


def main(snakemake):
    device, faces, roles, architecture = study_inputs(snakemake)
    trunk = source_trunk(read_torch(snakemake.input.model), architecture)
    length = prefix_length(snakemake.wildcards.depth, architecture)
    wanted = needed_faces(roles)
    features = extract_features(trunk, length, faces.images, wanted, device)
    w = snakemake.wildcards
    log.info("%s seed %s up to %s: features %s", w.network, w.pretrain_seed, w.depth, tuple(features["features"].shape))
    save_torch(features, snakemake.output.features)


run_stage(main, snakemake)  # noqa: F821
