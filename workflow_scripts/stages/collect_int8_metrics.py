"""Rule collect_int8_metrics: every block's int8 test scores into one tidy table."""

import pandas as pd

from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.stage import run_stage
from workflow_scripts.study.columns import INT8_COLUMNS
from workflow_scripts.study.grid import BLOCK_KEY


def main(snakemake):
    parts = [read_csv(path, columns=INT8_COLUMNS)[INT8_COLUMNS] for path in snakemake.input.metrics]
    table = pd.concat(parts, ignore_index=True).sort_values([*BLOCK_KEY, "n_train", "seed"], ignore_index=True)
    write_csv(table.assign(config_hash=snakemake.params.config_hash), snakemake.output.metrics)


run_stage(main, snakemake)  # noqa: F821
