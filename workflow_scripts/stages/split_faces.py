"""Rule split_faces: validation split, training pool and nested labelled subsets."""

import logging

from workflow_scripts.atomic import write_csv
from workflow_scripts.faces import load_labels
from workflow_scripts.splits import assign_roles, labelled_subsets
from workflow_scripts.stage import run_stage

log = logging.getLogger("split_faces")


def main(snakemake):
    p = snakemake.params
    table = load_labels(snakemake.input.table)
    roles = assign_roles(table, p.validation_fraction, p.split_seed)
    subsets = labelled_subsets(table, roles, p.train_sizes, p.seeds)
    log.info("roles: %s", roles["role"].value_counts().to_dict())
    write_csv(roles, snakemake.output.roles)
    write_csv(subsets, snakemake.output.subsets)


run_stage(main, snakemake)  # noqa: F821
