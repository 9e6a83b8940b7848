"""Rule draw_subsets: the nested labelled subsets of the pool, per task and fine-tuning seed."""

import logging

from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.data.faces import load_labels
from workflow_scripts.data.splits import labelled_subsets
from workflow_scripts.stage import run_stage

log = logging.getLogger("draw_subsets")


def main(snakemake):
    p = snakemake.params
    subsets = labelled_subsets(load_labels(snakemake.input.table), read_csv(snakemake.input.roles, columns=["face", "role"]), p.train_sizes, p.seeds)
    log.info("%d labelled subsets", subsets.groupby(["task", "seed", "n_train"]).ngroups)
    write_csv(subsets, snakemake.output.subsets)


run_stage(main, snakemake)  # noqa: F821
