# Analysis and figures: the study's answer, for `snakemake --report` and results/summary.md.


localrules:
    analyse_results,
    plot_figures,


rule analyse_results:
    input:
        unpack(analysis_inputs),
        metrics="results/metrics.csv",
        checkpoints="results/checkpoints.csv",
        inference="results/energy/inference.csv",
        sources="results/pretrain/sources.csv",
    output:
        summary="results/analysis/summary.csv",
        gains=report(
            "results/analysis/gains.csv",
            category="Analysis",
            caption="../workflow_scripts/captions/gains.rst",
        ),
        claim=report(
            "results/analysis/claim.csv",
            category="Analysis",
            caption="../workflow_scripts/captions/claim.rst",
        ),
        headline=report(
            "results/analysis/headline.csv",
            category="Analysis",
            caption="../workflow_scripts/captions/headline.rst",
        ),
        tradeoff="results/analysis/tradeoff.csv",
        checkpoint_claim="results/analysis/checkpoint_claim.csv",
        markdown=report(
            "results/summary.md",
            category="Analysis",
            caption="../workflow_scripts/captions/summary.rst",
        ),
        front_page=FRONT_PAGE,
    params:
        dataset=config["data"]["source"],
        claim=CLAIM,
        protocol_text=PROTOCOL_TEXT,
        pretraining_text=study_grid.pretraining_description(config),
    log:
        "results/logs/report/analyse_results.log",
    benchmark:
        "results/benchmarks/report/analyse_results.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/stages/analyse_results.py"


rule plot_figures:
    input:
        summary="results/analysis/summary.csv",
        gains="results/analysis/gains.csv",
        tradeoff="results/analysis/tradeoff.csv",
        inference="results/energy/inference.csv",
        curves=source_files("curve.csv"),
    output:
        claim=report(
            "results/figures/claim_comparison.png",
            category="Figures",
            caption="../workflow_scripts/captions/claim_comparison.rst",
        ),
        claim_vector="results/figures/claim_comparison.pdf",
        balanced_accuracy=report(
            "results/figures/balanced_accuracy_vs_labels.png",
            category="Figures",
            caption="../workflow_scripts/captions/accuracy_vs_labels.rst",
        ),
        balanced_accuracy_vector="results/figures/balanced_accuracy_vs_labels.pdf",
        accuracy=report(
            "results/figures/accuracy_vs_labels.png",
            category="Figures",
            caption="../workflow_scripts/captions/accuracy_vs_labels.rst",
        ),
        accuracy_vector="results/figures/accuracy_vs_labels.pdf",
        gains=report(
            "results/figures/gain_heatmaps.png",
            category="Figures",
            caption="../workflow_scripts/captions/gain_heatmaps.rst",
        ),
        gains_vector="results/figures/gain_heatmaps.pdf",
        energy=report(
            "results/figures/inference_energy.png",
            category="Figures",
            caption="../workflow_scripts/captions/inference_energy_figure.rst",
        ),
        energy_vector="results/figures/inference_energy.pdf",
        tradeoff=report(
            "results/figures/accuracy_energy_tradeoff.png",
            category="Figures",
            caption="../workflow_scripts/captions/tradeoff.rst",
        ),
        tradeoff_vector="results/figures/accuracy_energy_tradeoff.pdf",
        curves=report(
            "results/figures/pretraining_curves.png",
            category="Figures",
            caption="../workflow_scripts/captions/pretraining_curves.rst",
        ),
        curves_vector="results/figures/pretraining_curves.pdf",
    params:
        claim=CLAIM,
        curve_labels=[(network, seed) for network in SOURCE_NETWORKS for seed in PRETRAIN_SEEDS],
    log:
        "results/logs/report/plot_figures.log",
    benchmark:
        "results/benchmarks/report/plot_figures.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/stages/plot_figures.py"
