# The transfer grid: frozen-prefix features, one fine-tuning job per
# (task, scenario, source, depth) block over all sizes and seeds, and the tidy tables.


localrules:
    collect_metrics,


rule extract_features:
    input:
        model=SOURCE_MODEL,
        images="results/data/faces.pt",
        table="results/data/faces.csv",
        roles="results/data/roles.csv",  # the whole pool: the labelled subsets (and seeds and sizes) do not matter
    output:
        features=FEATURES,
    params:
        code=stage_digest("extract_features"),
        network=config["network"],
        # one inference pass of seconds: it asks the scheduler for no GPU, and uses one
        # only where the job sees one (so grouped extraction jobs never sum GPU requests)
        device="auto" if config["device"] == "cuda" else config["device"],
    log:
        "results/logs/features/{network}/seed{pretrain_seed}/{depth}.log",
    benchmark:
        "results/benchmarks/features/{network}/seed{pretrain_seed}/{depth}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/extract_features.py"


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        metrics=f"{BLOCK}/metrics.csv",
        curves=f"{BLOCK}/curves.csv",
        checkpoints=f"{BLOCK}/checkpoints.csv",
        models=f"{BLOCK}/models.pt",
    params:
        code=stage_digest("finetune"),
        network=config["network"],
        image_size=config["data"]["image_size"],
        settings=FINETUNE["training"],
        protocol=protocol_settings(),
        train_sizes=FINETUNE["train_sizes"],
        seeds=FINETUNE["seeds"],
        pretrain_seed_of=block_pretrain_seeds,
        checkpoints=scored_checkpoints(),
        n_classes=n_classes,
        device=config["device"],
    log:
        f"{BLOCK_LOG}.log",
    benchmark:
        "results/benchmarks/finetune/{task}/{scenario}/{source}/{depth}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=TRAIN_GPUS,
        gpu_slots=TRAIN_GPUS,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/finetune.py"


rule collect_metrics:
    input:
        metrics=block_outputs("metrics.csv"),
        curves=block_outputs("curves.csv"),
        checkpoints=block_outputs("checkpoints.csv"),
        sources=source_files("model.pt"),
    output:
        metrics=report(
            "results/metrics.csv",
            category="Accuracy",
            caption="../workflow_scripts/captions/metrics.rst",
        ),
        curves="results/curves.csv",
        checkpoints="results/checkpoints.csv",
        sources=report(
            "results/pretrain/sources.csv",
            category="Pretraining",
            caption="../workflow_scripts/captions/sources.rst",
        ),
    params:
        code=stage_digest("collect_metrics"),
        config_hash=study_config.config_hash(config),
    log:
        "results/logs/collect_metrics.log",
    benchmark:
        "results/benchmarks/collect_metrics.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/collect_metrics.py"
