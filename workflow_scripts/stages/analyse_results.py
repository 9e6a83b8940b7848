"""Rule analyse_results: seed statistics, paired gains, the pre-declared claim test, the
exploratory headline, the Pareto front, summary.md and the report's first page."""

from workflow_scripts.analysis import claim_test, headline, paired_gains, summarise, tradeoff
from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.stage import run_stage
from workflow_scripts.summary_pages import write_front_page, write_summary


def main(snakemake):
    p = snakemake.params
    metrics = read_csv(snakemake.input.metrics)
    inference = read_csv(snakemake.input.inference)
    summary = summarise(metrics)
    gains = paired_gains(metrics)
    claim_table = claim_test(gains, inference, p.claim, summary)
    top = headline(gains, summary, inference, p.claim)
    write_csv(summary, snakemake.output.summary)
    write_csv(gains, snakemake.output.gains)
    write_csv(claim_table, snakemake.output.claim)
    write_csv(top, snakemake.output.headline)
    write_csv(tradeoff(summary, inference), snakemake.output.tradeoff)
    context = {"claim_table": claim_table, "gains": gains, "claim": p.claim, "config_hash": metrics["config_hash"].iloc[0],
               "dataset": p.dataset, "protocol_text": p.protocol_text, "pretraining_text": p.pretraining_text}
    write_summary(snakemake.output.markdown, headline=top, summary=summary, inference=inference,
                  sources=read_csv(snakemake.input.sources), **context)
    write_front_page(snakemake.output.front_page, **context)


run_stage(main, snakemake)  # noqa: F821
