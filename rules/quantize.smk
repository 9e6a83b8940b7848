# Accuracy at the precision the energy assumes: every classifier quantised to int8
# (PyTorch FX, x86 backend) after training, calibrated on unlabelled pool faces, and
# scored on the test faces. A frozen prefix is quantised once per source network,
# pretraining seed and depth (one job per source network and pretraining seed, a file per
# depth), and shared by the tasks' heads.


localrules:
    collect_int8_metrics,


rule quantize_prefixes:
    input:
        model=SOURCE_MODEL,
        images="results/data/faces.pt",
        roles="results/data/roles.csv",
    output:
        prefixes=int8_prefix_outputs(),
    params:
        code=stage_digest("quantize_prefixes"),
        network=config["network"],
        depths=FINETUNE["depths"],  # the order of the outputs
    log:
        "results/logs/int8/prefix/{network}/seed{pretrain_seed}.log",
    benchmark:
        "results/benchmarks/int8/prefix/{network}/seed{pretrain_seed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/quantize_prefixes.py"


rule score_int8:
    input:
        unpack(int8_inputs),
    output:
        metrics=f"{BLOCK}/int8_metrics.csv",
    params:
        code=stage_digest("score_int8"),
        network=config["network"],
        image_size=config["data"]["image_size"],
        pretrain_seed_of=block_pretrain_seeds,
        n_classes=n_classes,
    log:
        "results/logs/int8/{task}/{scenario}/{source}/{depth}.log",
    benchmark:
        "results/benchmarks/int8/{task}/{scenario}/{source}/{depth}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/score_int8.py"


rule collect_int8_metrics:
    input:
        metrics=block_outputs("int8_metrics.csv"),
    output:
        metrics=report(
            "results/int8_metrics.csv",
            category="Accuracy",
            caption="../workflow_scripts/captions/int8_metrics.rst",
        ),
    params:
        code=stage_digest("collect_int8_metrics"),
        config_hash=study_config.config_hash(config),
    log:
        "results/logs/collect_int8_metrics.log",
    benchmark:
        "results/benchmarks/collect_int8_metrics.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/collect_int8_metrics.py"
