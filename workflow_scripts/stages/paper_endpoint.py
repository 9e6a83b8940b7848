"""Rule collect_paper_endpoint: the plain-objective members of the claim's comparison in
one table, with each task's test majority-class rate."""

import pandas as pd

from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.data.faces import load_labels
from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.finetune.paper_endpoint import endpoint_table, majority_accuracies
from workflow_scripts.stage import run_stage
from workflow_scripts.study.columns import METRIC_COLUMNS


def main(snakemake):
    metrics = pd.concat([read_csv(path, columns=METRIC_COLUMNS) for path in snakemake.input.metrics], ignore_index=True)
    test_faces = faces_with_role(read_csv(snakemake.input.roles, columns=["face", "role"]), "test")
    majority = majority_accuracies(load_labels(snakemake.input.table), test_faces, metrics["task"].unique())
    table = endpoint_table(metrics.assign(config_hash=snakemake.params.config_hash), majority)
    write_csv(table, snakemake.output.endpoint)


run_stage(main, snakemake)  # noqa: F821
