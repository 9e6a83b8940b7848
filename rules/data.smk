# Data preparation: the face set (the dataset's entry in workflow_scripts/study/datasets.py), its
# splits, and what it looks like.


localrules:
    describe_faces,


if mtfl_download_needed():

    # no input: the job itself downloads, so parsing and dry runs never ask the server
    rule fetch_mtfl:
        output:
            archive=config["mtfl"]["path"],
        params:
            code=stage_digest("fetch_mtfl"),
            url=config["mtfl"]["url"],
            sha256=config["mtfl"]["sha256"],
        log:
            "results/logs/data/fetch_mtfl.log",
        benchmark:
            "results/benchmarks/data/fetch_mtfl.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=60,
        conda:
            "../envs/torch.yaml"
        script:
            "../workflow_scripts/stages/fetch_mtfl.py"


rule prepare_faces:
    input:
        **dataset_inputs(),
    output:
        images="results/data/faces.pt",
        table="results/data/faces.csv",
        skipped="results/data/skipped_records.csv",
    params:
        code=stage_digest("prepare_faces", datasets.dataset(config).reader),
        data=face_settings(),
        dataset=dataset_settings(),
    log:
        "results/logs/data/prepare_faces.log",
    benchmark:
        "results/benchmarks/data/prepare_faces.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/prepare_faces.py"


# two rules, so that the pretraining (which reads the roles) does not rerun when the
# labelled subsets change with finetune.train_sizes or finetune.seeds
rule split_roles:
    input:
        table="results/data/faces.csv",
    output:
        roles="results/data/roles.csv",
    params:
        code=stage_digest("split_roles"),
        validation_fraction=config["data"]["validation_fraction"],
        split_seed=config["data"]["split_seed"],
    log:
        "results/logs/data/split_roles.log",
    benchmark:
        "results/benchmarks/data/split_roles.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/split_roles.py"


rule draw_subsets:
    input:
        table="results/data/faces.csv",
        roles="results/data/roles.csv",
    output:
        subsets="results/data/subsets.csv",
    params:
        code=stage_digest("draw_subsets"),
        train_sizes=FINETUNE["train_sizes"],
        seeds=FINETUNE["seeds"],
    log:
        "results/logs/data/draw_subsets.log",
    benchmark:
        "results/benchmarks/data/draw_subsets.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/draw_subsets.py"


rule describe_faces:
    input:
        images="results/data/faces.pt",
        table="results/data/faces.csv",
        roles="results/data/roles.csv",
    output:
        balance=report(
            "results/data/label_balance.csv",
            category="Data",
            caption="../workflow_scripts/captions/label_balance.rst",
        ),
        preview=report(
            "results/data/preview.png",
            category="Data",
            caption="../workflow_scripts/captions/preview.rst",
        ),
    params:
        code=stage_digest("describe_faces"),
        classes={task: list(names) for task, names in DATASET_TASKS.items()},  # every task of the dataset
    log:
        "results/logs/data/describe_faces.log",
    benchmark:
        "results/benchmarks/data/describe_faces.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/stages/describe_faces.py"
