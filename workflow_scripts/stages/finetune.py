"""Rule finetune: one (task, scenario, source, depth) block at every size and seed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # noqa: F821 - the repository root

import logging

import pandas as pd
import torch

from workflow_scripts.atomic import save_torch, write_csv
from workflow_scripts.faces import load_face_set, load_labels
from workflow_scripts.finetuning import run_block
from workflow_scripts.networks import Architecture, source_trunk
from workflow_scripts.stage import run_stage
from workflow_scripts.training import FitSettings, choose_device

log = logging.getLogger("finetune")


def main(snakemake):
    p, w, inputs = snakemake.params, snakemake.wildcards, snakemake.input
    device = choose_device(p.device)
    images, features, trunk = None, None, None
    if "features" in inputs.keys():
        features = torch.load(inputs.features, weights_only=True)
        table = load_labels(inputs.table)
    else:
        faces = load_face_set(inputs.images, inputs.table)
        images, table = faces.images, faces.table
    architecture = Architecture.from_config(p.network, p.image_size)
    if "model" in inputs.keys():
        trunk = source_trunk(torch.load(inputs.model, weights_only=True), architecture)
    log.info("block %s/%s/%s/%s on %s", w.task, w.scenario, w.source, w.depth, device)
    metrics, curves, states = run_block(
        task=w.task, scenario=w.scenario, source=w.source, depth=w.depth, architecture=architecture,
        table=table, roles=pd.read_csv(inputs.roles), subsets=pd.read_csv(inputs.subsets),
        settings=FitSettings.from_config(p.settings), train_sizes=p.train_sizes, seeds=p.seeds, device=device,
        images=images, features=features, trunk=trunk, batch_seeds=p.batch_seeds,
    )
    for row in metrics.itertuples():
        log.info("n=%d seed=%d: accuracy %.4f, balanced %.4f, macro-F1 %.4f, %d epochs",
                 row.n_train, row.seed, row.accuracy, row.balanced_accuracy, row.macro_f1, row.epochs_run)
    write_csv(curves, snakemake.output.curves)
    save_torch(states, snakemake.output.models)
    write_csv(metrics, snakemake.output.metrics)


run_stage(main, snakemake)  # noqa: F821
