"""The study's scenarios, one entry each, and the trunks their layers come from. Torch-free:
the config check, the Snakemake rules (wildcards, inputs), the stages, energy sharing,
int8, the tables and the plots read both tables, and nothing else branches on a name.

A scenario (``SCENARIO_TABLE``) says what its trunk is made from (``trunk``: nothing, or
one of ``TRUNK_TABLE``), whether the transferred layers stay frozen (the tasks share them
at inference, their features are computed once and cached) or are fine-tuned, its label in
tables and figures and its colour, how the answer's sentences name it, and, for a baseline
of the claim's family, what comparing the CAE with it asks. A trunk (a kind of source network) says which rule
writes it (``results/pretrain/<network>/seed{pretrain_seed}/model.pt``), whether there is one per
source task, how it is named in figures and what its pretraining curve plots:

- ``none``: every classifier trained from scratch;
- ``cae``: the prefix up to a transfer depth copied from the CAE (trained on the unlabelled
  pool), frozen;
- ``cnn``: the same prefix from a CNN trained on another task (``cnn_<task>``), frozen;
- ``random``: the same prefix at a seeded random initialisation, scaled layer by layer on
  the unlabelled pool to the CAE's output statistics (``pretrain/random_trunk.py``), frozen: the
  control that says what the CAE's training adds beyond a trunk of the right scale;
- ``cae_tuned`` / ``cnn_tuned``: a copy, fine-tuned (no longer shareable); a config asks
  for them with ``finetune.tune_transferred``.

The source of a block is the network its layers come from: the trunk's name, or for a
trunk made per source task that task (its network is named ``<trunk>_<task>``); with
``pretrain.per_seed`` there is one of each per pretraining seed. A block of ``none`` has
source and depth ``none`` too. Adding a scenario is one entry here, plus a producer rule
where its trunk is a new kind (docs/workflow.md#adding-a-scenario).
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Trunk:
    """A kind of source network: where the transferred layers come from."""

    name: str  # the ``kind`` in its model file; its network's name, or with per_task the prefix of one
    rule: str  # the rule that writes results/pretrain/<network>/seed{pretrain_seed}/model.pt
    label: str  # in figures and text
    per_task: bool = False  # one network per source task (finetune.cnn_sources), named <name>_<task>
    curve_loss: str | None = None  # the loss of its pretraining curve (curve.csv); None: it is not trained
    figures: tuple[str, ...] = ()  # files beside its model that the report shows (of the first pretraining seed)


@dataclass(frozen=True)
class Scenario:
    """One way of building a task classifier."""

    name: str
    trunk: str | None  # the Trunk its transferred layers come from; None: no transfer
    frozen: bool  # transferred layers frozen: shared by the tasks at inference, features cached
    label: str  # in tables and figures
    color: int  # index into seaborn's "colorblind" palette
    tunes: str | None = None  # a fine-tuned variant of this frozen scenario (added by finetune.tune_transferred)
    words: str | None = None  # in the answer's sentences, with "the" where it takes an article; None: its label
    asks: str | None = None  # as a baseline of the claim's family (analysis.claim.against): what that comparison asks


TRUNK_TABLE = (
    Trunk("cae", rule="pretrain_cae", label="CAE", curve_loss="reconstruction MSE", figures=("reconstructions.png",)),
    Trunk("cnn", rule="pretrain_cnn", label="CNN", per_task=True, curve_loss="class-weighted cross-entropy"),
    Trunk("random", rule="init_random", label="random trunk"),
)

SCENARIO_TABLE = (
    Scenario("none", trunk=None, frozen=False, label="no transfer", color=7, words="no transfer",
             asks="the paper's claim"),
    Scenario("cae", trunk="cae", frozen=True, label="CAE, frozen", color=0, words="the CAE"),
    Scenario("cnn", trunk="cnn", frozen=True, label="other-task CNN, frozen", color=1, words="the other-task CNN"),
    Scenario("random", trunk="random", frozen=True, label="random trunk, frozen", color=3,
             words="the frozen random trunk",
             asks="the same layers randomly initialised and frozen: is the gain the CAE's learning, or freezing alone?"),
    Scenario("cae_tuned", trunk="cae", frozen=False, label="CAE, fine-tuned", color=2, tunes="cae"),
    Scenario("cnn_tuned", trunk="cnn", frozen=False, label="other-task CNN, fine-tuned", color=4, tunes="cnn"),
)

TRUNKS = {trunk.name: trunk for trunk in TRUNK_TABLE}
BY_NAME = {scenario.name: scenario for scenario in SCENARIO_TABLE}

NONE = "none"  # the no-transfer scenario, and the source and depth of its blocks
CAE = "cae"  # the claim's scenario, and the name of its source network
CNN = "cnn"
SCENARIOS = tuple(BY_NAME)
FROZEN = tuple(s.name for s in SCENARIO_TABLE if s.frozen)
TUNED = tuple(s.name for s in SCENARIO_TABLE if s.tunes)
CONFIGURABLE = tuple(s.name for s in SCENARIO_TABLE if not s.tunes)  # what finetune.scenarios lists

# a classifier is the trunk (conv1 .. convK, fc1) and these task-specific layers
HEAD_LAYERS = ("fc2", "out")
OUTPUT_LAYER = "out"


def sources(tasks) -> tuple[str, ...]:
    """Every source a block can name, for the dataset's ``tasks``."""
    return (NONE, *(t.name for t in TRUNK_TABLE if not t.per_task), *tasks)


def network_pattern(tasks) -> str:
    """A regular expression matching the pretrained networks' names, for the dataset's ``tasks``."""
    per_task = "(" + "|".join(map(re.escape, tasks)) + ")"
    return "|".join(t.name if not t.per_task else f"{t.name}_{per_task}" for t in TRUNK_TABLE)


def scenario(name: str) -> Scenario:
    """The table's entry; ValueError naming the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})") from None


def is_frozen(name: str) -> bool:
    """Transferred layers stay frozen (and can be shared by the tasks at inference)."""
    return scenario(name).frozen


def transfers(name: str) -> bool:
    return scenario(name).trunk is not None


def tuned_variants(name: str) -> list[str]:
    """The fine-tuned variants of a configured scenario (cae -> [cae_tuned]; none -> [])."""
    return [s.name for s in SCENARIO_TABLE if s.tunes == name]


def tuned_variant(name: str) -> str:
    """The one fine-tuned variant of a frozen scenario (cae -> cae_tuned)."""
    (variant,) = tuned_variants(name)
    return variant


def base_scenario(name: str) -> str:
    """cae_tuned -> cae; cnn -> cnn; none -> none."""
    return scenario(name).tunes or name


def trunk_of(name: str) -> Trunk | None:
    """The trunk a scenario's layers come from (None without transfer)."""
    trunk = scenario(name).trunk
    return None if trunk is None else TRUNKS[trunk]


def from_cae(name: str) -> bool:
    return scenario(name).trunk == CAE


def source_is_task(name: str) -> bool:
    """The blocks of this scenario name a source task (one network per task), not a network."""
    trunk = trunk_of(name)
    return trunk is not None and trunk.per_task


def cnn_network(task: str) -> str:
    return f"{CNN}_{task}"


def source_network(name: str, source: str) -> str | None:
    """The pretrained network a scenario's layers come from: cae, cnn_<task>, random or None."""
    trunk = trunk_of(name)
    if trunk is None:
        return None
    return f"{trunk.name}_{source}" if trunk.per_task else trunk.name


def source_label(name: str, source: str) -> str:
    """How figures name the source of a block: the trunk's label, or the source task."""
    trunk = trunk_of(name)
    return source if trunk is None or trunk.per_task else trunk.label


def network_name(kind: str, task: str | None = None) -> str:
    """The network of a trunk kind (and a per-task trunk's task): cae, cnn_smile, random."""
    return f"{kind}_{task}" if TRUNKS[kind].per_task else kind


def network_trunk(network: str) -> Trunk:
    """cnn_smile -> the cnn trunk; cae -> the cae trunk."""
    for trunk in TRUNK_TABLE:
        if network == trunk.name or (trunk.per_task and network.startswith(f"{trunk.name}_")):
            return trunk
    raise ValueError(f"unknown source network {network!r}")


def network_task(network: str) -> str | None:
    """cnn_smile -> smile; cae -> None."""
    trunk = network_trunk(network)
    return network.removeprefix(f"{trunk.name}_") if trunk.per_task else None


def network_label(network: str) -> str:
    """cnn_smile -> 'CNN smile'; cae -> 'CAE'."""
    task = network_task(network)
    label = network_trunk(network).label
    return label if task is None else f"{label} {task}"
