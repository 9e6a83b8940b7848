"""Rule plot_figures: the study's figures, PNG and vector."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1]))  # noqa: F821 - the repository root

import pandas as pd

from workflow_scripts import plots
from workflow_scripts.stage import run_stage


def main(snakemake):
    i, o = snakemake.input, snakemake.output
    summary = pd.read_csv(i.summary)
    plots.accuracy_vs_labels(summary, o.balanced_accuracy, o.balanced_accuracy_vector, "balanced_accuracy")
    plots.accuracy_vs_labels(summary, o.accuracy, o.accuracy_vector, "accuracy")
    plots.gain_heatmaps(pd.read_csv(i.gains), o.gains, o.gains_vector)
    plots.energy_bars(pd.read_csv(i.inference), o.energy, o.energy_vector)
    plots.tradeoff_scatter(pd.read_csv(i.tradeoff), o.tradeoff, o.tradeoff_vector)
    curves = {Path(path).parent.name.replace("cnn_", "CNN ").replace("cae", "CAE"): pd.read_csv(path) for path in i.curves}
    plots.training_curves(curves, o.curves, o.curves_vector)


run_stage(main, snakemake)  # noqa: F821
