# Config validation and the helpers that turn the config into target lists and params.

import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from workflow_scripts import study_config  # noqa: E402

try:
    # one line naming the key first; then Snakemake's own validation fills the defaults
    study_config.validate_with_schema(config)
    validate(config, str(study_config.SCHEMA_PATH))
    study_config.check_config(config)
except study_config.ConfigError as error:
    raise WorkflowError(str(error)) from None


wildcard_constraints:
    task="gender|smile|glasses|pose",
    scenario="none|cae|cnn|cae_tuned|cnn_tuned",
    source="none|cae|gender|smile|glasses|pose",
    depth=r"none|conv\d+(\+fc1)?",
    network=r"cae|cnn_(gender|smile|glasses|pose)",


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


def block_outputs(name):
    return [f"{BLOCK.format(**block)}/{name}" for block in study_config.finetune_blocks(config)]


def study_targets():
    return [
        "results/data/label_balance.csv",
        "results/data/preview.png",
        "results/metrics.csv",
        "results/pretrain/reconstructions.png" if "cae" in FINETUNE["scenarios"] else [],
    ]
