# Pretraining of the source networks: the CAE (no labels), one CNN per task and the random
# trunk (scenarios.TRUNK_TABLE), once per
# pretraining seed (pretrain.seed, or with pretrain.per_seed every group of pretrain.shared_by
# fine-tuning seeds).


rule pretrain_cae:
    input:
        images="results/data/faces.pt",
        table="results/data/faces.csv",
        roles="results/data/roles.csv",
    output:
        model="results/pretrain/cae/seed{pretrain_seed}/model.pt",
        curve="results/pretrain/cae/seed{pretrain_seed}/curve.csv",
        reconstructions=report(
            "results/pretrain/cae/seed{pretrain_seed}/reconstructions.png",
            category="Pretraining",
            caption="../workflow_scripts/captions/reconstructions.rst",
        ),
    params:
        code=stage_digest("pretrain_cae"),
        network=config["network"],
        settings=config["pretrain"]["cae"],
        device=config["device"],
    log:
        "results/logs/pretrain/cae/seed{pretrain_seed}.log",
    benchmark:
        "results/benchmarks/pretrain/cae/seed{pretrain_seed}.tsv"
    threads: 1  # with 2, on a 2-core machine it waited behind every 1-thread job (a core frees one at a time)
    priority: 10  # heads the longest chain (features, frozen blocks, int8): started first, it overlaps the none blocks
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=TRAIN_GPUS,
        gpu_slots=TRAIN_GPUS,
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
        model="results/pretrain/cnn_{task}/seed{pretrain_seed}/model.pt",
        curve="results/pretrain/cnn_{task}/seed{pretrain_seed}/curve.csv",
    params:
        code=stage_digest("pretrain_cnn"),
        network=config["network"],
        settings=config["pretrain"]["cnn"],
        n_classes=n_classes,
        device=config["device"],
    log:
        "results/logs/pretrain/cnn_{task}/seed{pretrain_seed}.log",
    benchmark:
        "results/benchmarks/pretrain/cnn_{task}/seed{pretrain_seed}.tsv"
    threads: 1  # with 2, on a 2-core machine it waited behind every 1-thread job (a core frees one at a time)
    priority: 10  # heads the longest chain (features, frozen blocks, int8): started first, it overlaps the none blocks
    resources:
        mem_mb=6000,
        runtime=120,
        gpu=TRAIN_GPUS,
        gpu_slots=TRAIN_GPUS,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/pretrain_cnn.py"


# the random scenario's trunk (workflow_scripts/pretrain/random_trunk.py): trained on nothing, its
# seeded initialisation scaled on the unlabelled pool to the same seed's CAE, layer by layer
rule init_random:
    input:
        images="results/data/faces.pt",
        table="results/data/faces.csv",
        roles="results/data/roles.csv",
        target="results/pretrain/cae/seed{pretrain_seed}/model.pt",
    output:
        model="results/pretrain/random/seed{pretrain_seed}/model.pt",
        scaling="results/pretrain/random/seed{pretrain_seed}/scaling.csv",
    params:
        code=stage_digest("init_random"),
        network=config["network"],
        # seconds of inference: no GPU asked of a scheduler, one used only where the job sees one
        device="auto" if config["device"] == "cuda" else config["device"],
    log:
        "results/logs/pretrain/random/seed{pretrain_seed}.log",
    benchmark:
        "results/benchmarks/pretrain/random/seed{pretrain_seed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/init_random.py"
