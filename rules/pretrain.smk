# Pretraining of the source networks: the CAE (no labels) and one CNN per task.


rule pretrain_cae:
    input:
        images="results/data/faces.pt",
        table="results/data/faces.csv",
        roles="results/data/roles.csv",
    output:
        model="results/pretrain/cae/model.pt",
        curve="results/pretrain/cae/curve.csv",
        reconstructions=report(
            "results/pretrain/reconstructions.png",
            category="Pretraining",
            caption="../workflow_scripts/captions/reconstructions.rst",
        ),
    params:
        network=config["network"],
        settings=config["pretrain"]["cae"],
        seed=config["pretrain"]["seed"],
        device=config["device"],
    log:
        "results/logs/pretrain/cae.log",
    benchmark:
        "results/benchmarks/pretrain/cae.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=TRAIN_GPUS,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/pretrain_cae.py"


rule pretrain_cnn:
    input:
        images="results/data/faces.pt",
        table="results/data/faces.csv",
        roles="results/data/roles.csv",
    output:
        model="results/pretrain/cnn_{task}/model.pt",
        curve="results/pretrain/cnn_{task}/curve.csv",
    params:
        network=config["network"],
        settings=config["pretrain"]["cnn"],
        seed=config["pretrain"]["seed"],
        device=config["device"],
    log:
        "results/logs/pretrain/cnn_{task}.log",
    benchmark:
        "results/benchmarks/pretrain/cnn_{task}.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=TRAIN_GPUS,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/pretrain_cnn.py"
