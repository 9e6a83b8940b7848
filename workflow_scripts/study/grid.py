"""The study grid the config names: its blocks, the source networks and pretraining seeds
they need, and the pre-declared claim with its defaults resolved. Torch-free; read by the
Snakemake rules at DAG build, by the stages and by the benchmarks.

A block is one cell of the grid, keyed by ``BLOCK_KEY``: a task, a scenario, the source
its layers come from and the transfer depth (``none`` for both without transfer). One
fine-tuning job trains a block at every training size and seed.
"""

from workflow_scripts.study import scenarios
from workflow_scripts.study.datasets import class_counts
from workflow_scripts.study.depths import deepest

BLOCK_KEY = ("task", "scenario", "source", "depth")
# the word width of weights and activations the energy is priced at where energy.precision_bits
# is left out: ZigZag's own default (its ONNX parser's), the width the accelerators' files assume
ENERGY_WORD_BITS = 8


def cnn_sources(config: dict, task: str) -> list[str]:
    """The source tasks of the cnn scenarios for one target task."""
    sources = config["finetune"]["cnn_sources"]
    if sources == "all_others":
        return [t for t in config["finetune"]["tasks"] if t != task]
    return list(sources.get(task, []))


def study_scenarios(config: dict) -> list[str]:
    """The configured scenarios, with the fine-tuned variants when asked for."""
    f = config["finetune"]
    chosen = list(f["scenarios"])
    if f["tune_transferred"]:
        chosen += [variant for s in f["scenarios"] for variant in scenarios.tuned_variants(s)]
    return chosen


def block_sources(config: dict, task: str, scenario: str) -> list[str]:
    """The sources of a scenario's blocks for one target task: none without transfer, the
    source tasks (finetune.cnn_sources) for a trunk made per task, else the trunk itself."""
    trunk = scenarios.trunk_of(scenario)
    if trunk is None:
        return [scenarios.NONE]
    return cnn_sources(config, task) if trunk.per_task else [trunk.name]


def finetune_blocks(config: dict) -> list[dict]:
    """Every block of the grid (a dict of the BLOCK_KEY columns), in a stable order."""
    f = config["finetune"]
    blocks = []
    for task in f["tasks"]:
        for scenario in study_scenarios(config):
            if not scenarios.transfers(scenario):
                blocks.append(dict(zip(BLOCK_KEY, (task, scenario, scenarios.NONE, scenarios.NONE))))
                continue
            for source in block_sources(config, task, scenario):
                for depth in f["depths"]:
                    blocks.append(dict(zip(BLOCK_KEY, (task, scenario, source, depth))))
    return blocks


def source_networks(config: dict) -> list[str]:
    """Pretrained networks the grid needs."""
    needed = {scenarios.source_network(b["scenario"], b["source"]) for b in finetune_blocks(config)}
    return sorted(n for n in needed if n is not None)


def trained_source_networks(config: dict) -> list[str]:
    """The source networks that are trained (with a pretraining curve and a stopping record)."""
    return [n for n in source_networks(config) if scenarios.network_trunk(n).curve_loss is not None]


def pretrain_seeds(config: dict) -> list[int]:
    """Seeds the source networks are trained with, in the order of the fine-tuning seeds."""
    return distinct_pretrain_seeds(pretrain_seed_of(config))


def pretrain_seed_of(config: dict) -> dict[int, int]:
    """Fine-tuning seed -> the seed of the source networks it transfers from: pretrain.seed
    for all, or (per_seed) the first seed of its group of pretrain.shared_by seeds."""
    pretrain, seeds = config["pretrain"], list(config["finetune"]["seeds"])
    if not pretrain["per_seed"]:
        return {seed: pretrain["seed"] for seed in seeds}
    group = pretrain.get("shared_by", 1)
    return {seed: seeds[position - position % group] for position, seed in enumerate(seeds)}


def distinct_pretrain_seeds(pretrain_seed_of: dict) -> list[int]:
    """The pretraining seeds a fine-tuning block reads, in the order its inputs list them."""
    return list(dict.fromkeys(pretrain_seed_of.values()))


def source_networks_words(config: dict) -> str:
    """The kinds of source network the grid reads, in words, from the trunk table: 'one CAE
    and one CNN per source', 'one CAE and one random trunk'; '' where nothing transfers."""
    used = {scenarios.network_trunk(network).name for network in source_networks(config)}
    kinds = [f"one {trunk.label}" + (" per source" if trunk.per_task else "")
             for trunk in scenarios.TRUNK_TABLE if trunk.name in used]
    return " and ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds)


def pretraining_description(config: dict) -> str:
    """One sentence: which source networks, how many, and whether the intervals cover them."""
    pretrain, seeds = config["pretrain"], config["finetune"]["seeds"]
    networks = source_networks_words(config)
    if not networks:
        return "none: no scenario of the grid transfers layers"
    if not pretrain["per_seed"]:
        return (f"{networks}, seed {pretrain['seed']}, shared by every fine-tuning seed "
                "(pretrain.per_seed: false), so the intervals do not cover the pretraining's randomness")
    if pretrain.get("shared_by", 1) == 1:
        return (f"{networks} for every fine-tuning seed {seeds} "
                "(pretrain.per_seed), so the intervals cover the pretraining's randomness")
    used = pretrain_seeds(config)
    return (f"{networks} for each of {len(used)} pretraining seeds {used}, each shared by "
            f"up to {pretrain['shared_by']} of the fine-tuning seeds {seeds} (pretrain.shared_by), so the claim's "
            "test takes the pretraining seed as its unit and its interval covers the pretraining's randomness")


def precision_bits(config: dict) -> int:
    """The word width the energy prices weights and activations at: energy.precision_bits,
    or ENERGY_WORD_BITS where the config leaves it out (the schema gives it no default, so
    the config hash of a config without it stays what it was)."""
    return int(config["energy"].get("precision_bits", ENERGY_WORD_BITS))


def analysis_hardware(config: dict) -> str:
    """The accelerator of the verdict: analysis.hardware, or the first of energy.hardware."""
    name = config["analysis"]["hardware"]
    return next(iter(config["energy"]["hardware"])) if name == "first" else name


def claim(config: dict) -> dict:
    """The pre-declared claim with its defaults resolved: depth, n_train, metric, alpha,
    energy_reduction_at_least and hardware; and classes, each task of the study (in
    finetune.tasks' order) -> its number of classes."""
    given = config["analysis"]["claim"]
    depths, sizes = config["finetune"]["depths"], config["finetune"]["train_sizes"]
    return {
        **given,
        "depth": deepest(depths) if given["depth"] == "deepest" else given["depth"],
        "n_train": min(sizes) if given["n_train"] == "smallest" else given["n_train"],
        "hardware": analysis_hardware(config),
        "classes": class_counts(config),
    }
