"""The study's scenarios and where their layers come from, by name. Torch-free: the
config check, the Snakemake rules (wildcards, inputs), the stages, energy, analysis and
plots all read scenario names from here.

- ``none``: every classifier trained from scratch;
- ``cae`` / ``cnn``: the prefix up to a transfer depth copied from the CAE, or from a CNN
  trained on another task, and frozen, so the tasks can share it at inference;
- ``cae_tuned`` / ``cnn_tuned``: the same copy, fine-tuned (no longer shareable).

The source of a block is the network its layers come from: ``cae``, or the source task
of a CNN (its network is named ``cnn_<task>``); with ``pretrain.per_seed`` there is one
of each per pretraining seed. A block of ``none`` has source and depth ``none`` too.
"""

import re

NONE = "none"  # the no-transfer scenario, and the source and depth of its blocks
CAE = "cae"  # the scenario, and the name of its source network
CNN = "cnn"
FROZEN = (CAE, CNN)
TUNED = (f"{CAE}_tuned", f"{CNN}_tuned")
SCENARIOS = (NONE, *FROZEN, *TUNED)
CONFIGURABLE = (NONE, *FROZEN)  # what finetune.scenarios lists; tuned variants follow tune_transferred

# a classifier is the trunk (conv1 .. convK, fc1) and these task-specific layers
HEAD_LAYERS = ("fc2", "out")
OUTPUT_LAYER = "out"


def sources(tasks) -> tuple[str, ...]:
    """Every source a block can name, for the dataset's ``tasks``."""
    return (NONE, CAE, *tasks)


def network_pattern(tasks) -> str:
    """A regular expression matching the pretrained networks' names, for the dataset's ``tasks``."""
    return rf"{CAE}|{CNN}_(" + "|".join(map(re.escape, tasks)) + ")"


def is_frozen(scenario: str) -> bool:
    """Transferred layers stay frozen (and can be shared by the tasks at inference)."""
    return scenario in FROZEN


def transfers(scenario: str) -> bool:
    return scenario != NONE


def tuned_variant(scenario: str) -> str:
    return f"{scenario}_tuned"


def base_scenario(scenario: str) -> str:
    """cae_tuned -> cae; cnn -> cnn; none -> none."""
    return scenario.removesuffix("_tuned")


def from_cae(scenario: str) -> bool:
    return base_scenario(scenario) == CAE


def cnn_network(task: str) -> str:
    return f"{CNN}_{task}"


def source_network(scenario: str, source: str) -> str | None:
    """The pretrained network a scenario's layers come from: cae, cnn_<task> or None."""
    if not transfers(scenario):
        return None
    return CAE if from_cae(scenario) else cnn_network(source)


def network_task(network: str) -> str | None:
    """cnn_smile -> smile; cae -> None."""
    prefix = f"{CNN}_"
    return network.removeprefix(prefix) if network.startswith(prefix) else None
