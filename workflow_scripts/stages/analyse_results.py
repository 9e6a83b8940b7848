"""Rule analyse_results: seed statistics, paired gains, the pre-declared claim test, the
exploratory headline, checkpoint sensitivity and int8 scores, the Pareto front, summary.md
and the report's first page. The paper's endpoint (results/paper_endpoint.csv) is read
where the rule lists it: when analysis.paper_endpoint is on; so are the random trunk's
scaling tables (input ``feature_stats``, one per pretraining seed: its per-layer output
statistics beside the CAE's), shown beside the controls."""

import pandas as pd

from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.finetune.paper_endpoint import ENDPOINT_COLUMNS, endpoint_gains
from workflow_scripts.report.claim import claim_test, control_levels
from workflow_scripts.report.exploratory import headline, tradeoff
from workflow_scripts.report.front_page import write_front_page
from workflow_scripts.report.sensitivity import checkpoint_changes, checkpoint_claim, int8_cost, precision_claim
from workflow_scripts.report.statistics import paired_gains, summarise
from workflow_scripts.report.summary_page import write_summary
from workflow_scripts.stage import run_stage
from workflow_scripts.study.columns import CHECKPOINT_SCORE_COLUMNS, INT8_COLUMNS, METRIC_COLUMNS, STOPPING_KEYS


# what the analysis reads of the all-tasks energy table (energy.multitask_inference's)
INFERENCE_COLUMNS = ["scenario", "depth", "energy_pj", "reduction_vs_none", "ceiling_reduction", "hardware", "n_tasks"]


def main(snakemake):
    i, p = snakemake.input, snakemake.params
    metrics = read_csv(i.metrics, columns=[*METRIC_COLUMNS, "config_hash"])
    inference = read_csv(i.inference, columns=INFERENCE_COLUMNS)
    sources = read_csv(i.sources, columns=["network", "seed", *STOPPING_KEYS])
    summary = summarise(metrics)
    gains = paired_gains(metrics)
    claim_table = claim_test(metrics, inference, p.claim, summary)
    top = headline(gains, summary, inference, p.claim)
    checkpoints = checkpoint_claim(read_csv(i.checkpoints, columns=CHECKPOINT_SCORE_COLUMNS), p.claim)
    changes = checkpoint_changes(checkpoints, claim_table)
    endpoint = (endpoint_gains(read_csv(i.paper_endpoint, columns=ENDPOINT_COLUMNS)) if hasattr(i, "paper_endpoint")
                else None)
    int8 = read_csv(i.int8_metrics, columns=INT8_COLUMNS)
    precision_table = precision_claim(metrics, int8, inference, p.claim)
    cost_table = int8_cost(metrics, int8)
    write_csv(summary, snakemake.output.summary)
    write_csv(gains, snakemake.output.gains)
    write_csv(claim_table, snakemake.output.claim)
    write_csv(top, snakemake.output.headline)
    write_csv(tradeoff(summary, inference, int8_summary=summarise(int8)), snakemake.output.tradeoff)
    write_csv(checkpoints, snakemake.output.checkpoint_claim)
    write_csv(precision_table, snakemake.output.int8_claim)
    write_csv(cost_table, snakemake.output.int8_cost)
    context = {"claim_table": claim_table, "gains": gains, "claim": p.claim, "config_hash": metrics["config_hash"].iloc[0],
               "dataset": p.dataset, "protocol_text": p.protocol_text, "pretraining_text": p.pretraining_text,
               "endpoint": endpoint}
    feature_stats = (pd.concat([read_csv(path) for path in i.feature_stats], ignore_index=True)
                     if hasattr(i, "feature_stats") else None)
    write_summary(snakemake.output.markdown, headline=top, summary=summary, inference=inference, sources=sources,
                  checkpoint_table=checkpoints, changes=changes, precision_table=precision_table, cost_table=cost_table,
                  controls=control_levels(summary, p.claim), feature_stats=feature_stats, **context)
    write_front_page(snakemake.output.front_page, sources=sources, **context)


run_stage(main, snakemake)  # noqa: F821
