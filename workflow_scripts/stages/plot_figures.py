"""Rule plot_figures: the study's figures, PNG and vector."""

from workflow_scripts.atomic import read_csv
from workflow_scripts.report import plots
from workflow_scripts.stage import run_stage


def main(snakemake):
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    summary = read_csv(i.summary)
    plots.claim_comparison(summary, p.claim, o.claim, o.claim_vector)
    for metric, png, vector in (("balanced_accuracy", o.balanced_accuracy, o.balanced_accuracy_vector),
                                ("accuracy", o.accuracy, o.accuracy_vector)):
        plots.accuracy_vs_labels(summary, png, vector, metric, p.claim["depth"], tasks=p.claim["classes"])
    plots.gain_heatmaps(read_csv(i.gains), o.gains, o.gains_vector, tasks=p.claim["classes"])
    plots.energy_bars(read_csv(i.inference), o.energy, o.energy_vector)
    plots.tradeoff_scatter(read_csv(i.tradeoff), o.tradeoff, o.tradeoff_vector, p.claim["hardware"], tasks=p.claim["classes"])
    curves = {label: read_csv(path) for label, path in zip(p.curve_labels, i.curves)}
    plots.training_curves(curves, o.curves, o.curves_vector)


run_stage(main, snakemake)  # noqa: F821
