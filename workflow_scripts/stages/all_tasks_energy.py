"""Rule all_tasks_energy: one image, an answer for every task, per scenario, depth and hardware."""

import pandas as pd

from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.deploy.energy import multitask_inference, scenario_prefixes, sharing_ceiling
from workflow_scripts.nn.architecture import Architecture
from workflow_scripts.stage import run_stage


def main(snakemake):
    p = snakemake.params
    architecture = Architecture.from_config(p.network, p.image_size)
    prefixes = scenario_prefixes(architecture, p.depths, p.scenarios)
    task_classes = {task: len(names) for task, names in p.classes.items()}
    tables = []
    for hardware, path in zip(p.hardware, snakemake.input.layers, strict=True):
        layers = read_csv(path)
        table = multitask_inference(layers, architecture.classifier_names(), prefixes, task_classes,
                                    ceiling=sharing_ceiling(architecture))
        tables.append(table.assign(hardware=hardware, n_tasks=len(task_classes), precision_bits=p.precision["precision_bits"]))
    write_csv(pd.concat(tables, ignore_index=True), snakemake.output.inference)


run_stage(main, snakemake)  # noqa: F821
