"""Rule four_task_energy: one image, four task answers, per scenario, depth and hardware."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # noqa: F821 - the repository root

import pandas as pd

from workflow_scripts.atomic import write_csv
from workflow_scripts.energy import four_task_inference, scenario_prefixes
from workflow_scripts.networks import Architecture
from workflow_scripts.stage import run_stage
from workflow_scripts.tasks import N_CLASSES


def main(snakemake):
    p = snakemake.params
    architecture = Architecture.from_config(p.network, p.image_size)
    prefixes = scenario_prefixes(architecture, p.depths, p.scenarios)
    task_classes = {task: N_CLASSES[task] for task in p.tasks}
    tables = []
    for path in snakemake.input.layers:
        layers = pd.read_csv(path)
        table = four_task_inference(layers, architecture.trunk_names(), ["fc2", "out"], prefixes, task_classes)
        tables.append(table.assign(hardware=layers["hardware"].iloc[0]))
    write_csv(pd.concat(tables, ignore_index=True), snakemake.output.inference)


run_stage(main, snakemake)  # noqa: F821
