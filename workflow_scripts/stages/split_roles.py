"""Rule split_roles: the validation split and the training pool (no label is read)."""

import logging

from workflow_scripts.atomic import write_csv
from workflow_scripts.data.faces import load_labels
from workflow_scripts.data.splits import assign_roles
from workflow_scripts.stage import run_stage

log = logging.getLogger("split_roles")


def main(snakemake):
    p = snakemake.params
    roles = assign_roles(load_labels(snakemake.input.table), p.validation_fraction, p.split_seed)
    log.info("roles: %s", roles["role"].value_counts().to_dict())
    write_csv(roles, snakemake.output.roles)


run_stage(main, snakemake)  # noqa: F821
