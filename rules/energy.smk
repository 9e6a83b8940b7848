# Accelerator energy: ZigZag per layer and hardware, the inference sums over all tasks, and
# the compute of learning each classifier.


localrules:
    all_tasks_energy,
    training_compute,


rule estimate_layer_energy:
    input:
        hardware=lambda wildcards: hardware_file(wildcards.hardware, "hardware"),
        mapping=lambda wildcards: hardware_file(wildcards.hardware, "mapping"),
    output:
        layers="results/energy/{hardware}/layers.csv",
    params:
        code=stage_digest("estimate_layer_energy"),
        network=config["network"],
        image_size=config["data"]["image_size"],
        class_counts=CLASS_COUNTS,
        work_folder=lambda wildcards: f"results/energy/{wildcards.hardware}/zigzag",
        **energy_precision(),
    log:
        "results/logs/energy/{hardware}.log",
    benchmark:
        "results/benchmarks/energy/{hardware}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/estimate_layer_energy.py"


rule all_tasks_energy:
    input:
        layers=expand("results/energy/{hardware}/layers.csv", hardware=HARDWARE),
    output:
        inference=report(
            "results/energy/inference.csv",
            category="Energy",
            caption="../workflow_scripts/captions/inference_energy.rst",
        ),
    params:
        code=stage_digest("all_tasks_energy"),
        hardware=HARDWARE,  # the names of the layers files, in their order
        network=config["network"],
        image_size=config["data"]["image_size"],
        depths=FINETUNE["depths"],
        scenarios=study_scenarios(),
        classes=task_classes(),  # the tasks, in their order, and their class names
        precision={"precision_bits": study_grid.precision_bits(config)},  # the word width the layers were priced at (a dict: see energy_precision)
    log:
        "results/logs/energy/all_tasks_energy.log",
    benchmark:
        "results/benchmarks/energy/all_tasks_energy.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/all_tasks_energy.py"


rule training_compute:
    input:
        metrics="results/metrics.csv",
    output:
        training=report(
            "results/energy/training_compute.csv",
            category="Energy",
            caption="../workflow_scripts/captions/training_compute.rst",
        ),
    params:
        code=stage_digest("training_compute"),
        network=config["network"],
        image_size=config["data"]["image_size"],
        depths=FINETUNE["depths"],
        classes=task_classes(),
        min_epoch_samples=FINETUNE["training"]["min_epoch_samples"],
        batch_size=FINETUNE["training"]["batch_size"],
    log:
        "results/logs/energy/training_compute.log",
    benchmark:
        "results/benchmarks/energy/training_compute.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/training_compute.py"
