# The paper's endpoint beside ours: the claim's comparison (per task, none and the CAE at
# the claim's depth, at the claim's N, every seed or analysis.paper_endpoint_per_unit of each unit)
# trained again under objective: plain, from the same cached features, and its table with
# each task's majority-class rate.


localrules:
    collect_paper_endpoint,


# the finetune rule (its inputs, script and resources: every pretraining unit stays) with
# the protocol (objective: plain), the sizes (the claim's N), its seeds
# (analysis.paper_endpoint_per_unit), no checkpoints of its own, and its own outputs, log
# and benchmark
use rule finetune as paper_endpoint with:
    output:
        metrics=f"{ENDPOINT_BLOCK}/metrics.csv",
        curves=f"{ENDPOINT_BLOCK}/curves.csv",
        checkpoints=f"{ENDPOINT_BLOCK}/checkpoints.csv",
        models=f"{ENDPOINT_BLOCK}/models.pt",
    params:
        protocol=paper_endpoint.endpoint_protocol(protocol_settings()),
        seeds=paper_endpoint.endpoint_seeds(config),
        train_sizes=paper_endpoint.endpoint_train_sizes(config),
        checkpoints=[],  # the sensitivity to the epoch count is the main protocol's; a refit here stops at its chosen count
    log:
        "results/logs/paper_endpoint/{task}/{scenario}/{source}/{depth}.log",
    benchmark:
        "results/benchmarks/paper_endpoint/{task}/{scenario}/{source}/{depth}.tsv"


rule collect_paper_endpoint:
    input:
        metrics=paper_endpoint_outputs("metrics.csv"),
        table="results/data/faces.csv",
        roles="results/data/roles.csv",
    output:
        endpoint=report(
            "results/paper_endpoint.csv",
            category="Accuracy",
            caption="../workflow_scripts/captions/paper_endpoint.rst",
        ),
    params:
        code=stage_digest("paper_endpoint"),
        config_hash=study_config.config_hash(config),
    log:
        "results/logs/collect_paper_endpoint.log",
    benchmark:
        "results/benchmarks/collect_paper_endpoint.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/stages/paper_endpoint.py"
