"""Rule init_random: the random trunk of one pretraining seed, scaled on the unlabelled pool
to the CAE's per-layer output statistics (workflow_scripts/pretrain/random_trunk.py)."""

import logging

import pandas as pd

from workflow_scripts.atomic import read_torch, save_torch, write_csv
from workflow_scripts.pretrain.random_trunk import SCALING_COLUMNS, init_random_trunk
from workflow_scripts.stage import run_stage, study_inputs

log = logging.getLogger("init_random")


def main(snakemake):
    seed = int(snakemake.wildcards.pretrain_seed)
    device, faces, roles, architecture = study_inputs(snakemake)
    target = read_torch(snakemake.input.target, expect=dict)
    saved_network, scaling = init_random_trunk(faces.images, roles, target, architecture, seed, device=device)
    for row in scaling:
        log.info("%s: output mean %.4f, SD %.4f at default init -> %.4f, %.4f (CAE %.4f, %.4f); weights x %.4g, "
                 "bias shift %.4g, %d round(s)", row["layer"], row["default_mean"], row["default_sd"], row["mean"],
                 row["sd"], row["target_mean"], row["target_sd"], row["scale"], row["shift"], row["rounds"])
    write_csv(pd.DataFrame(scaling, columns=SCALING_COLUMNS), snakemake.output.scaling)
    save_torch(saved_network, snakemake.output.model)


run_stage(main, snakemake)  # noqa: F821
