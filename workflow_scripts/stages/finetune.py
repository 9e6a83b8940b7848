"""Rule finetune: one (task, scenario, source, depth) block at every size and seed."""

import logging

from workflow_scripts.atomic import read_csv, read_torch, save_torch, write_csv
from workflow_scripts.data.faces import load_face_set, load_labels
from workflow_scripts.data.splits import SUBSET_COLUMNS
from workflow_scripts.finetune.blocks import Block, FinetuneDesign, LabelledFaces, run_block
from workflow_scripts.nn.architecture import Architecture
from workflow_scripts.nn.networks import source_trunk
from workflow_scripts.nn.training import FitSettings, choose_device
from workflow_scripts.stage import run_stage
from workflow_scripts.study.grid import distinct_pretrain_seeds
from workflow_scripts.study.protocol import Protocol

log = logging.getLogger("finetune")


def main(snakemake):
    p, w, inputs = snakemake.params, snakemake.wildcards, snakemake.input
    device = choose_device(p.device)
    block = Block(w.task, w.scenario, w.source, w.depth)
    architecture = Architecture.from_config(p.network, p.image_size)
    pretrain_seeds = distinct_pretrain_seeds(p.pretrain_seed_of)  # the order of the input lists
    images, features, trunks = None, None, None
    if "features" in inputs.keys():
        features = {seed: read_torch(path) for seed, path in zip(pretrain_seeds, inputs.features)}
        table = load_labels(inputs.table)
    else:
        face_set = load_face_set(inputs.images, inputs.table)
        images, table = face_set.images, face_set.table
    if "models" in inputs.keys():
        trunks = {seed: source_trunk(read_torch(path), architecture) for seed, path in zip(pretrain_seeds, inputs.models)}
    design = FinetuneDesign(architecture, FitSettings.from_config(p.settings), Protocol.from_config(p.protocol),
                            tuple(p.train_sizes), tuple(p.seeds), dict(p.pretrain_seed_of), tuple(p.checkpoints),
                            class_counts={block.task: p.n_classes})
    faces = LabelledFaces(table, read_csv(inputs.roles), read_csv(inputs.subsets, columns=SUBSET_COLUMNS))
    log.info("block %s on %s; %s", block, device, design.protocol.describe())
    metrics, curves, states, checkpoints = run_block(block, design, faces, device, images=images, features=features,
                                                     trunks=trunks)
    for row in metrics.itertuples():
        log.info("n=%d seed=%d: test accuracy %.4f, balanced %.4f; early-stopping balanced %.4f on %d faces; "
                 "kept epoch %d of %d run", row.n_train, row.seed, row.accuracy, row.balanced_accuracy,
                 row.stop_balanced_accuracy, row.n_stop, row.best_epoch, row.epochs_run)
    for row in checkpoints.itertuples():
        log.info("n=%d seed=%d at checkpoint %d epochs: test balanced accuracy %.4f", row.n_train, row.seed,
                 row.epochs, row.balanced_accuracy)
    write_csv(curves, snakemake.output.curves)
    write_csv(checkpoints, snakemake.output.checkpoints)
    save_torch(states, snakemake.output.models)
    write_csv(metrics, snakemake.output.metrics)


run_stage(main, snakemake)  # noqa: F821
