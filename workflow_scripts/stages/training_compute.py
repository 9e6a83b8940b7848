"""Rule training_compute: MACs of learning every classifier of the grid on the device."""

from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.deploy.training_compute import forward_macs, frozen_layers, training_macs
from workflow_scripts.nn.architecture import Architecture
from workflow_scripts.stage import run_stage


def main(snakemake):
    p = snakemake.params
    architecture = Architecture.from_config(p.network, p.image_size)
    task_classes = {task: len(names) for task, names in p.classes.items()}
    table = training_macs(
        read_csv(snakemake.input.metrics), forward_macs(architecture, task_classes.values()),
        frozen_layers(architecture, p.depths), architecture.classifier_names(), p.min_epoch_samples, task_classes,
        batch_size=p.batch_size,
    )
    write_csv(table, snakemake.output.training)


run_stage(main, snakemake)  # noqa: F821
