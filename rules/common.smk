# Config validation and the helpers that turn the config into target lists and params.

import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod

from workflow_scripts.code_digest import stage_digest
from workflow_scripts.finetune import paper_endpoint
from workflow_scripts.study import config as study_config, datasets, depths, grid as study_grid, scenarios
from workflow_scripts.study.protocol import Protocol

if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    # the conda environments do not install this project's package (the venv does,
    # editable): their jobs find it on the path they inherit
    os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])))

try:
    # what a file leaves out of a section comes from the section's default; values given
    # with --config are read as a file would read them; then one line naming the key for
    # the first violation and where its value came from (--config or the file); then
    # Snakemake's own validation fills the defaults of single keys
    command_line = study_config.plain_dict(workflow.config_settings.config)
    config_name = study_config.ConfigSources(workflow.configfiles, command_line)
    study_config.prepare_config(config, config_name, command_line)
except study_config.ConfigError as error:
    raise WorkflowError(str(error)) from None


# the tasks of the configured dataset (datasets.py) -> their class names
DATASET_TASKS = datasets.dataset_tasks(config)


wildcard_constraints:
    task="|".join(DATASET_TASKS),
    scenario="|".join(scenarios.SCENARIOS),
    source="|".join(scenarios.sources(DATASET_TASKS)),
    depth=f"{scenarios.NONE}|{depths.PATTERN.pattern}",
    network=scenarios.network_pattern(DATASET_TASKS),
    pretrain_seed=r"\d+",
    hardware=r"[A-Za-z0-9_\-]+",


# with device: cuda a training job asks a scheduler for one GPU (gpu) and takes one of the
# machine's GPU slots (gpu_slots): --resources gpu_slots=4 lets four share one GPU
TRAIN_GPUS = 1 if config["device"] == "cuda" else 0
FINETUNE = config["finetune"]
CLAIM = study_grid.claim(config)
PRETRAIN_SEEDS = study_grid.pretrain_seeds(config)
SOURCE_NETWORKS = study_grid.source_networks(config)
TRAINED_SOURCE_NETWORKS = study_grid.trained_source_networks(config)  # those with a curve and a stopping record
HARDWARE = list(config["energy"]["hardware"])
PROTOCOL_TEXT = Protocol.from_config(FINETUNE).describe()
# a block of the grid (study_grid.BLOCK_KEY), as its wildcards
BLOCK = "results/finetune/{task}/{scenario}/{source}/{depth}"
BLOCK_LOG = "results/logs/finetune/{task}/{scenario}/{source}/{depth}"
# a block of the claim's comparison trained again under objective: plain (paper_endpoint)
ENDPOINT_BLOCK = "results/paper_endpoint/{task}/{scenario}/{source}/{depth}"
SOURCE_MODEL = "results/pretrain/{network}/seed{pretrain_seed}/model.pt"
SOURCE_CURVE = "results/pretrain/{network}/seed{pretrain_seed}/curve.csv"
FEATURES = "results/features/{network}/seed{pretrain_seed}/{depth}.pt"
INT8_PREFIX = "results/int8/prefix/{network}/seed{pretrain_seed}/{depth}.pt"
FRONT_PAGE = "results/analysis/report_front_page.rst"


def refuse_unusable_device():
    """For onstart (after the DAG, before any job; not in dry runs): device: cuda where the
    jobs run on this machine and torch sees no GPU fails now, not at the first training job.
    A cluster's jobs (a remote executor) run where the GPUs are."""
    if workflow.local_exec:
        try:
            study_config.check_device(config, config_name)
        except study_config.ConfigError as error:
            raise WorkflowError(str(error)) from None


def face_settings():
    """The keys of data that shape the faces (the dataset entry's data_keys: data.dataset,
    data.image_size, and for a folder without a split column data.split_seed): the split's
    other keys rerun split_roles, not prepare_faces."""
    return {key: config["data"][key] for key in datasets.DATASETS[config["data"]["dataset"]].data_keys}


def dataset_settings():
    """Only the settings of the dataset in use that shape the faces, so neither the other
    dataset's nor where the archive comes from trigger a rerun."""
    return study_config.dataset_settings(config)


def dataset_inputs():
    """The files the dataset's entry prepares the faces from."""
    return datasets.dataset(config).inputs(config)


def task_classes():
    """The study's tasks (finetune.tasks) -> their class names, a param of the rules that
    count or name classes."""
    return {task: list(names) for task, names in datasets.study_tasks(config).items()}


def n_classes(wildcards):
    """The class count of a job's task (its {task} wildcard, or the task of a cnn_{task} network)."""
    return len(DATASET_TASKS[wildcards.task])


def mtfl_download_needed():
    """True when the study reads MTFL, nothing is at mtfl.path and mtfl.url names a source.
    Looks at the local disk only: the network is the fetch_mtfl job's alone."""
    mtfl = config["mtfl"]
    return config["data"]["dataset"] == "mtfl" and not Path(mtfl["path"]).exists() and bool(mtfl["url"])


def block_pretrain_seeds(wildcards):
    """Pretraining seed of each fine-tuning seed, for blocks that transfer (none: nothing)."""
    return study_grid.pretrain_seed_of(config) if scenarios.transfers(wildcards.scenario) else {}


def finetune_inputs(wildcards):
    """Cached features of every pretraining seed for frozen scenarios; images (and the
    source models) otherwise."""
    inputs = {"table": "results/data/faces.csv", "roles": "results/data/roles.csv", "subsets": "results/data/subsets.csv"}
    network = scenarios.source_network(wildcards.scenario, wildcards.source)
    seeds = study_grid.distinct_pretrain_seeds(block_pretrain_seeds(wildcards))
    if scenarios.is_frozen(wildcards.scenario):
        inputs["features"] = [FEATURES.format(network=network, pretrain_seed=s, depth=wildcards.depth) for s in seeds]
    else:
        inputs["images"] = "results/data/faces.pt"
        if network is not None:
            inputs["models"] = [SOURCE_MODEL.format(network=network, pretrain_seed=s) for s in seeds]
    return inputs


def int8_inputs(wildcards):
    """What a block's int8 scoring reads: its trained classifiers and their metrics, the
    labels and roles; for frozen scenarios the shared int8 prefix and the float features of
    every pretraining seed; otherwise the images (calibration and test faces)."""
    block = BLOCK.format(task=wildcards.task, scenario=wildcards.scenario, source=wildcards.source, depth=wildcards.depth)
    inputs = {"models": f"{block}/models.pt", "metrics": f"{block}/metrics.csv", "table": "results/data/faces.csv",
              "roles": "results/data/roles.csv"}
    if scenarios.is_frozen(wildcards.scenario):
        network = scenarios.source_network(wildcards.scenario, wildcards.source)
        seeds = study_grid.distinct_pretrain_seeds(block_pretrain_seeds(wildcards))
        inputs["prefixes"] = [INT8_PREFIX.format(network=network, pretrain_seed=s, depth=wildcards.depth) for s in seeds]
        inputs["features"] = [FEATURES.format(network=network, pretrain_seed=s, depth=wildcards.depth) for s in seeds]
    else:
        inputs["images"] = "results/data/faces.pt"
    return inputs


def int8_prefix_outputs():
    """The quantised prefix of every transfer depth, for one source network and pretraining seed."""
    return expand(INT8_PREFIX, depth=FINETUNE["depths"], allow_missing=True)


def source_files(name):
    """One file of every trained source network and pretraining seed, network by network."""
    return [f"results/pretrain/{n}/seed{s}/{name}" for n in TRAINED_SOURCE_NETWORKS for s in PRETRAIN_SEEDS]


def source_figures():
    """The figures a source network's trunk shows in the report (scenarios.Trunk.figures), of the first pretraining seed."""
    return [f"results/pretrain/{n}/seed{PRETRAIN_SEEDS[0]}/{name}" for n in SOURCE_NETWORKS
            for name in scenarios.network_trunk(n).figures]


CLASS_COUNTS = sorted(set(datasets.class_counts(config).values()))


def hardware_file(name, kind):
    """A hardware or mapping file named in config energy.hardware (``zigzag:`` = shipped with ZigZag)."""
    return study_config.resolve_hardware_path(config["energy"]["hardware"][name][kind])


def energy_precision():
    """energy.precision_bits as a param of estimate_layer_energy, only where it differs from
    the default width: a config without it (or with 8) prices, and reruns, as before. The
    value is a dict naming the key: Snakemake compares a rule's params as a set of values,
    so a bare 16 beside image_size 16 would go unnoticed."""
    bits = study_grid.precision_bits(config)
    return {} if bits == study_grid.ENERGY_WORD_BITS else {"precision": {"precision_bits": bits}}


def study_scenarios():
    return study_grid.study_scenarios(config)


def block_outputs(name):
    return [f"{BLOCK.format(**block)}/{name}" for block in study_grid.finetune_blocks(config)]


def paper_endpoint_outputs(name):
    """A file of every block of the paper's endpoint (none of them when analysis.paper_endpoint is off)."""
    return [f"{ENDPOINT_BLOCK.format(**block)}/{name}" for block in paper_endpoint.endpoint_blocks(config)]


def analysis_inputs(wildcards):
    """The optional inputs of analyse_results: the paper's endpoint, where it is run, and the
    random trunk's scaling tables (its feature statistics beside the CAE's), where it is built."""
    inputs = {"paper_endpoint": "results/paper_endpoint.csv"} if paper_endpoint.endpoint_blocks(config) else {}
    if "random" in SOURCE_NETWORKS:
        inputs["feature_stats"] = [f"results/pretrain/random/seed{s}/scaling.csv" for s in PRETRAIN_SEEDS]
    return inputs


def protocol_settings():
    """The keys of finetune that say how a classifier learns and stops, less those its epoch
    choice does not read (folds and cv_criterion outside cross_validated, stop_fraction_of_n
    outside from_labels), so that changing one of those reruns no block."""
    settings = {key: FINETUNE[key] for key in Protocol.config_keys()}
    if settings["epoch_choice"] != "cross_validated":
        del settings["folds"]
        settings.pop("cv_criterion", None)
    if settings["epoch_choice"] != "from_labels":
        del settings["stop_fraction_of_n"]
    return settings


def scored_checkpoints():
    """analysis.checkpoints where the protocol scores members at them (Protocol.scores_checkpoints),
    else none: under from_labels or held_out a change of them reruns no block."""
    return config["analysis"]["checkpoints"] if Protocol.from_config(FINETUNE).scores_checkpoints() else []


def report_front_page():
    """The report's first page: the study's answer once analyse_results has written it."""
    written = Path(FRONT_PAGE).resolve()
    return str(written) if written.exists() else "workflow_scripts/captions/front_page_before_run.rst"


def study_targets():
    return [
        "results/data/label_balance.csv",
        "results/data/preview.png",
        "results/metrics.csv",
        "results/int8_metrics.csv",
        "results/energy/inference.csv",
        "results/energy/training_compute.csv",
        "results/summary.md",
        FRONT_PAGE,
        "results/paper_endpoint.csv" if paper_endpoint.endpoint_blocks(config) else [],
        "results/figures/balanced_accuracy_vs_labels.png",
        *source_figures(),
    ]
