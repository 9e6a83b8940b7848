# Config validation and the helpers that turn the config into target lists and params.

import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from workflow_scripts import depths, study_config  # noqa: E402

try:
    # one line naming the key first; then Snakemake's own validation fills the defaults
    config_name = ", ".join(map(str, workflow.configfiles)) or "config"
    study_config.validate_with_schema(config, config_name)
    validate(config, str(study_config.SCHEMA_PATH))
    study_config.check_config(config, config_name)
except study_config.ConfigError as error:
    raise WorkflowError(str(error)) from None


wildcard_constraints:
    task="gender|smile|glasses|pose",
    scenario="none|cae|cnn|cae_tuned|cnn_tuned",
    source="none|cae|gender|smile|glasses|pose",
    depth="none|" + depths.PATTERN.pattern,
    network=r"cae|cnn_(gender|smile|glasses|pose)",
    hardware=r"[A-Za-z0-9_\-]+",


TRAIN_GPUS = 1 if config["device"] == "cuda" else 0
FINETUNE = config["finetune"]
BLOCK = "results/finetune/{task}/{scenario}/{source}/{depth}"
BLOCK_LOG = "results/logs/finetune/{task}/{scenario}/{source}/{depth}"


def data_source_settings():
    """Only the settings of the data source in use, so the other's never trigger a rerun."""
    return config[config["data"]["source"]]


def data_source_inputs():
    return {"archive": config["mtfl"]["path"]} if config["data"]["source"] == "mtfl" else {}


def source_model(network):
    return f"results/pretrain/{network}/model.pt"


def finetune_inputs(wildcards):
    """Cached features for frozen scenarios; images (and the source model) otherwise."""
    inputs = {"table": "results/data/faces.csv", "roles": "results/data/roles.csv", "subsets": "results/data/subsets.csv"}
    network = study_config.source_network(wildcards.scenario, wildcards.source)
    if wildcards.scenario in ("cae", "cnn"):
        inputs["features"] = f"results/features/{network}/{wildcards.depth}.pt"
    else:
        inputs["images"] = "results/data/faces.pt"
        if network is not None:
            inputs["model"] = source_model(network)
    return inputs


CLASS_COUNTS = sorted({study_config.N_CLASSES[task] for task in FINETUNE["tasks"]})


def hardware_file(name, kind):
    """A hardware or mapping file named in config energy.hardware (``zigzag:`` = shipped with ZigZag)."""
    return study_config.resolve_hardware_path(config["energy"]["hardware"][name][kind])


def study_scenarios():
    return study_config.study_scenarios(config)


def block_outputs(name):
    return [f"{BLOCK.format(**block)}/{name}" for block in study_config.finetune_blocks(config)]


def study_targets():
    return [
        "results/data/label_balance.csv",
        "results/data/preview.png",
        "results/metrics.csv",
        "results/energy/inference.csv",
        "results/energy/training_compute.csv",
        "results/summary.md",
        "results/figures/balanced_accuracy_vs_labels.png",
        "results/pretrain/reconstructions.png" if "cae" in FINETUNE["scenarios"] else [],
    ]
