"""Rule collect_metrics: every block's metrics, curves and checkpoint scores into one tidy
table each, and the pretrained source networks' scores and stopping."""

import pandas as pd

from workflow_scripts.atomic import IntermediateError, read_csv, read_torch, write_csv
from workflow_scripts.stage import run_stage
from workflow_scripts.study import scenarios
from workflow_scripts.study.columns import CHECKPOINT_SCORE_COLUMNS, METRIC_COLUMNS, STOPPING_KEYS
from workflow_scripts.study.grid import BLOCK_KEY


def main(snakemake):
    metrics = pd.concat([read_csv(path, columns=METRIC_COLUMNS) for path in snakemake.input.metrics], ignore_index=True)
    metrics = metrics.sort_values([*BLOCK_KEY, "n_train", "seed"], ignore_index=True)
    write_csv(metrics.assign(config_hash=snakemake.params.config_hash), snakemake.output.metrics)
    curves = pd.concat([read_csv(path, columns=["task", "epoch", "train_loss"]) for path in snakemake.input.curves],
                       ignore_index=True)
    write_csv(curves, snakemake.output.curves)
    scores = pd.concat([read_csv(path, columns=CHECKPOINT_SCORE_COLUMNS) for path in snakemake.input.checkpoints],
                       ignore_index=True)
    scores = scores[CHECKPOINT_SCORE_COLUMNS].sort_values([*BLOCK_KEY, "n_train", "seed", "epochs"], ignore_index=True)
    write_csv(scores, snakemake.output.checkpoints)
    sources = []
    for path in snakemake.input.sources:
        saved_network = read_torch(path)
        missing = [key for key in STOPPING_KEYS if key not in saved_network]
        if missing:
            raise IntermediateError(path, f"no {', '.join(missing)}: saved before pretraining recorded how it stopped")
        sources.append({
            "network": scenarios.network_name(saved_network["kind"], saved_network.get("task")),
            "seed": saved_network["seed"],
            **{key: saved_network[key] for key in STOPPING_KEYS},
            "test_accuracy": saved_network.get("test_accuracy"),
            "test_balanced_accuracy": saved_network.get("test_balanced_accuracy"),
            "test_reconstruction_mse": saved_network.get("test_reconstruction_mse"),
        })
    write_csv(pd.DataFrame(sources), snakemake.output.sources)


run_stage(main, snakemake)  # noqa: F821
