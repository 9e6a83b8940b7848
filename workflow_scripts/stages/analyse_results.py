"""Rule analyse_results: seed statistics, paired gains, headline, Pareto front, summary.md."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # noqa: F821 - the repository root

import pandas as pd

from workflow_scripts.analysis import headline, paired_gains, summarise, tradeoff
from workflow_scripts.atomic import write_csv
from workflow_scripts.stage import run_stage
from workflow_scripts.summary_markdown import write_summary


def main(snakemake):
    metrics = pd.read_csv(snakemake.input.metrics)
    inference = pd.read_csv(snakemake.input.inference)
    summary = summarise(metrics)
    gains = paired_gains(metrics)
    top = headline(gains, inference)
    write_csv(summary, snakemake.output.summary)
    write_csv(gains, snakemake.output.gains)
    write_csv(top, snakemake.output.headline)
    write_csv(tradeoff(summary, inference), snakemake.output.tradeoff)
    write_summary(
        snakemake.output.markdown, headline=top, summary=summary, inference=inference,
        sources=pd.read_csv(snakemake.input.sources), config_hash=metrics["config_hash"].iloc[0],
        data_source=snakemake.params.data_source,
    )


run_stage(main, snakemake)  # noqa: F821
