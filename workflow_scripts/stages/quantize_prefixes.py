"""Rule quantize_prefixes: a source network's frozen prefix at every transfer depth,
quantised to int8 once, calibrated on unlabelled pool faces, with its int8 output for
every face the blocks score. It reads the images and the roles, never the labels."""

import logging

import numpy as np

from workflow_scripts.atomic import read_csv, read_torch, save_torch
from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.deploy.quantization import calibration_faces, prefix_record, read_images
from workflow_scripts.nn.architecture import Architecture, prefix_length
from workflow_scripts.nn.networks import source_trunk
from workflow_scripts.stage import run_stage

log = logging.getLogger("quantize_prefixes")


def main(snakemake):
    w, inputs = snakemake.wildcards, snakemake.input
    images = read_images(inputs.images)
    roles = read_csv(inputs.roles, columns=["face", "role"])
    architecture = Architecture.from_config(snakemake.params.network, images.shape[-1])
    trunk = source_trunk(read_torch(inputs.model, expect=dict), architecture)
    try:
        calibration = calibration_faces(roles)
    except ValueError as error:
        raise ValueError(f"{inputs.roles}: {error}") from None
    scored = np.union1d(calibration, faces_with_role(roles, "test"))
    for depth, path in zip(snakemake.params.depths, snakemake.output.prefixes, strict=True):
        record = prefix_record(trunk[:prefix_length(depth, architecture)], images, calibration, scored)
        features = record["features"]
        log.info("%s seed %s up to %s: calibrated on %d pool faces; int8 output %s, scale %.6g, zero point %d",
                 w.network, w.pretrain_seed, depth, len(calibration), tuple(features["values"].shape), features["scale"],
                 features["zero_point"])
        save_torch({"network": w.network, "seed": int(w.pretrain_seed), "depth": depth, **record}, path)


run_stage(main, snakemake)  # noqa: F821
