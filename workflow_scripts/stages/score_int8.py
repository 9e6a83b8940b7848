"""Rule score_int8: every classifier of one block quantised to int8 (on a shared int8 prefix
where the block's prefix is frozen, else whole) and scored on the test faces."""

import logging

from workflow_scripts.atomic import read_csv, read_torch, write_csv
from workflow_scripts.data.faces import load_labels
from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.deploy.quantization import PrefixFeatures, calibration_faces, read_images, score_block_int8
from workflow_scripts.finetune.blocks import Block
from workflow_scripts.nn.architecture import Architecture
from workflow_scripts.stage import run_stage
from workflow_scripts.study import scenarios
from workflow_scripts.study.grid import distinct_pretrain_seeds

log = logging.getLogger("score_int8")
MEMBER_COLUMNS = ["n_train", "seed", "pretrain_seed", "accuracy"]


def main(snakemake):
    p, w, inputs = snakemake.params, snakemake.wildcards, snakemake.input
    block = Block(w.task, w.scenario, w.source, w.depth)
    architecture = Architecture.from_config(p.network, p.image_size)
    labels = load_labels(inputs.table)[block.task].to_numpy()
    roles = read_csv(inputs.roles, columns=["face", "role"])
    members = read_csv(inputs.metrics, columns=MEMBER_COLUMNS)
    states = read_torch(inputs.models, expect=dict)
    test_faces = faces_with_role(roles, "test")
    frozen = {}
    if scenarios.is_frozen(block.scenario):
        seeds = distinct_pretrain_seeds(p.pretrain_seed_of)  # the order of the input lists
        frozen["prefixes"] = {seed: PrefixFeatures(read_torch(path, expect=dict), path)
                              for seed, path in zip(seeds, inputs.prefixes)}
        frozen["float_features"] = {seed: read_torch(path, expect=dict) for seed, path in zip(seeds, inputs.features)}
    else:
        try:
            frozen["calibration"] = calibration_faces(roles)
        except ValueError as error:
            raise ValueError(f"{inputs.roles}: {error}") from None
        frozen["images"] = read_images(inputs.images)
    table, _ = score_block_int8(block, architecture, p.n_classes, members, states, labels, test_faces, **frozen)
    recorded = members.set_index(["n_train", "seed"])["accuracy"]
    for row in table.itertuples():
        log.info("n=%d seed=%d: int8 test accuracy %.4f (float32 %.4f), balanced %.4f; agrees with float32 on %.1f %% "
                 "of test faces", row.n_train, row.seed, row.accuracy, recorded[(row.n_train, row.seed)],
                 row.balanced_accuracy, 100 * row.agreement)
    write_csv(table, snakemake.output.metrics)


run_stage(main, snakemake)  # noqa: F821
