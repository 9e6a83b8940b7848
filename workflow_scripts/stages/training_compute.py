"""Rule training_compute: MACs of learning every classifier of the grid on the device."""

import pandas as pd

from workflow_scripts import scenarios
from workflow_scripts.atomic import write_csv
from workflow_scripts.energy import count_layers, training_macs
from workflow_scripts.networks import Architecture, build_classifier, prefix_blocks
from workflow_scripts.stage import run_stage
from workflow_scripts.tasks import N_CLASSES


def main(snakemake):
    p = snakemake.params
    architecture = Architecture.from_config(p.network, p.image_size)
    side = architecture.image_size
    forward_macs = {}
    for n_classes in sorted({N_CLASSES[t] for t in p.tasks}):
        for row in count_layers(build_classifier(architecture, n_classes), (1, side, side)).itertuples():
            forward_macs[(row.block, n_classes if row.block == scenarios.OUTPUT_BLOCK else 0)] = row.macs
    frozen_blocks = {d: prefix_blocks(d, architecture) for d in p.depths}
    table = training_macs(
        pd.read_csv(snakemake.input.metrics), forward_macs, frozen_blocks,
        architecture.classifier_names(), p.min_epoch_samples, {t: N_CLASSES[t] for t in p.tasks},
    )
    write_csv(table, snakemake.output.training)


run_stage(main, snakemake)  # noqa: F821
