"""The study's scenarios and where their layers come from, by name. Torch-free: the
config check, the Snakemake rules (wildcards, inputs), the stages, energy, analysis and
plots all read scenario names from here.

- ``none``: every classifier trained from scratch;
- ``cae`` / ``cnn``: the prefix up to a transfer depth copied from the CAE, or from a CNN
  trained on another task, and frozen, so the four tasks can share it at inference;
- ``cae_tuned`` / ``cnn_tuned``: the same copy, fine-tuned (no longer shareable).

A source network is named ``cae`` or ``cnn_<task>``; with ``pretrain.per_seed`` there is
one of each per pretraining seed.
"""

from .tasks import TASKS

NONE = "none"
FROZEN = ("cae", "cnn")
TUNED = ("cae_tuned", "cnn_tuned")
SCENARIOS = (NONE, *FROZEN, *TUNED)
CONFIGURABLE = (NONE, *FROZEN)  # what finetune.scenarios lists; tuned variants follow tune_transferred

# a classifier is the trunk (conv1 .. convK, fc1) and this task-specific head
HEAD_BLOCKS = ("fc2", "out")
OUTPUT_BLOCK = "out"

NETWORK_PATTERN = r"cae|cnn_(" + "|".join(TASKS) + ")"


def is_frozen(scenario: str) -> bool:
    """Transferred layers stay frozen (and can be shared by the tasks at inference)."""
    return scenario in FROZEN


def is_tuned(scenario: str) -> bool:
    return scenario in TUNED


def transfers(scenario: str) -> bool:
    return scenario != NONE


def tuned_variant(scenario: str) -> str:
    return f"{scenario}_tuned"


def base_scenario(scenario: str) -> str:
    """cae_tuned -> cae; cnn -> cnn; none -> none."""
    return scenario.removesuffix("_tuned")


def from_cae(scenario: str) -> bool:
    return base_scenario(scenario) == "cae"


def cnn_network(task: str) -> str:
    return f"cnn_{task}"


def source_network(scenario: str, source: str) -> str | None:
    """The pretrained network a scenario's layers come from: cae, cnn_<task> or None."""
    if not transfers(scenario):
        return None
    return "cae" if from_cae(scenario) else cnn_network(source)


def network_task(network: str) -> str | None:
    """cnn_smile -> smile; cae -> None."""
    return network.removeprefix("cnn_") if network.startswith("cnn_") else None
