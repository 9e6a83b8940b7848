"""The config beyond its schema: checks that span keys, values given on the command line,
and the study grid the config names.

The Snakefile validates the config against ``config/schema.yaml`` (types, ranges,
unknown keys) and then calls ``check_config`` for what a schema cannot say. Both report
one line naming the key at fault.
"""

import hashlib
import json
import math
from pathlib import Path

import yaml

from . import scenarios
from .depths import blocks_covered, depth_names

SCHEMA_PATH = Path(__file__).parent / "config" / "schema.yaml"
# where the input lives, not what is computed: left out of the config hash
LOCATION_KEYS = (("mtfl", "path"), ("mtfl", "url"))


class ConfigError(ValueError):
    """A config value that cannot work, with its key."""


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def schema_error_line(error, config_name="config") -> str:
    """One line for a jsonschema ValidationError: the dotted key and what is wrong."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in known)
        key = ".".join(path + unknown[:1])
        return f"{config_name}: key '{key}' is not a known key (known here: {', '.join(sorted(known))})"
    key = ".".join(path) or "(top level)"
    return f"{config_name}: key '{key}': {error.message}"


def validate_with_schema(config: dict, config_name="config"):
    """Raise ConfigError with one line for the first schema violation (defaults are not filled)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        raise ConfigError(schema_error_line(error, config_name))


def _schema_at(schema: dict, root: dict, path) -> dict | None:
    """The sub-schema for a key path (following $ref, properties and array items)."""
    node = schema
    for part in path:
        while "$ref" in node:
            node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        if isinstance(part, int):
            node = node.get("items")
        else:
            node = node.get("properties", {}).get(part) or node.get("additionalProperties")
        if not isinstance(node, dict):
            return None
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _typed(value: str, wanted):
    """A command-line string as the schema's type, or the string itself."""
    wanted = set(wanted if isinstance(wanted, list) else [wanted])
    if "integer" in wanted:
        try:
            return int(value)
        except ValueError:
            pass
    if "number" in wanted:
        try:
            return float(value)
        except ValueError:
            pass
    if "boolean" in wanted and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def coerce_command_line(config: dict, command_line: dict, schema: dict | None = None) -> dict:
    """Give values set with ``--config`` the types the schema asks for.

    Snakemake reads a nested ``--config key='{a: [1]}'`` with YAML's base loader, so every
    value inside arrives as a string ('1'). Each such string in ``command_line`` whose key
    the schema types as integer, number or boolean is converted where it sits in
    ``config``; anything else is left for the schema check to report."""
    schema = schema or load_schema()

    def walk(given, target, path):
        if isinstance(given, dict):
            for key, value in given.items():
                if isinstance(target, dict) and key in target:
                    target[key] = walk(value, target[key], path + [key])
            return target
        if isinstance(given, list) and isinstance(target, list):
            return [walk(g, t, path + [i]) for i, (g, t) in enumerate(zip(given, target))]
        if isinstance(given, str) and isinstance(target, str):
            node = _schema_at(schema, schema, path)
            if node and "type" in node:
                return _typed(target, node["type"])
        return target

    walk(command_line, config, [])
    return config


def plain_dict(value):
    """A (possibly immutable) mapping from Snakemake's settings as plain dicts and lists."""
    from collections.abc import Mapping

    if isinstance(value, Mapping):
        return {key: plain_dict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_dict(item) for item in value]
    return value


def face_settings(config: dict) -> dict:
    """The settings of the data source in use that shape the prepared faces."""
    source = config["data"]["source"]
    if source == "mtfl":
        return {key: config["mtfl"][key] for key in ("crop_margin", "skip_bad_records")}
    return dict(config[source])


def pool_size(config: dict) -> int | None:
    """Faces in the training pool, where the config alone tells (synthetic data)."""
    if config["data"]["source"] != "synthetic":
        return None
    n_train = config["synthetic"]["n_train"]
    return n_train - round(config["data"]["validation_fraction"] * n_train)


def check_config(config: dict, config_name="config"):
    """Checks across keys; ConfigError naming the key. Expects schema defaults filled."""
    conv = config["network"]["conv"]
    n_conv = len(conv)
    allowed = depth_names(n_conv)
    for depth in config["finetune"]["depths"]:
        if depth not in allowed:
            raise ConfigError(f"{config_name}: key 'finetune.depths': {depth!r} does not fit a trunk of {n_conv} conv layers (allowed: {', '.join(allowed)})")
    for k, layer in enumerate(conv):
        if layer["kernel"] % 2 == 0:
            raise ConfigError(f"{config_name}: key 'network.conv.{k}.kernel': {layer['kernel']} is even; kernels must be odd")
    size = config["data"]["image_size"]
    shrink = math.prod(layer["pool"] for layer in conv)
    if size % shrink:
        raise ConfigError(f"{config_name}: key 'data.image_size': {size} is not divisible by the product of network.conv pools ({shrink})")
    pool = pool_size(config)
    largest = max(config["finetune"]["train_sizes"])
    if pool is not None and largest > pool:
        raise ConfigError(f"{config_name}: key 'finetune.train_sizes': {largest} exceeds the training pool of {pool} faces")
    tasks = config["finetune"]["tasks"]
    sources = config["finetune"]["cnn_sources"]
    if isinstance(sources, dict):
        for target, names in sources.items():
            if target not in tasks:
                raise ConfigError(f"{config_name}: key 'finetune.cnn_sources.{target}': {target} is not in finetune.tasks")
            for name in names:
                if name == target:
                    raise ConfigError(f"{config_name}: key 'finetune.cnn_sources.{target}': a task cannot be its own source")
    analysis = config["analysis"]
    depth, n_train = analysis["claim"]["depth"], analysis["claim"]["n_train"]
    if depth != "deepest" and depth not in config["finetune"]["depths"]:
        raise ConfigError(f"{config_name}: key 'analysis.claim.depth': {depth!r} is not in finetune.depths {config['finetune']['depths']}")
    if n_train != "smallest" and n_train not in config["finetune"]["train_sizes"]:
        raise ConfigError(f"{config_name}: key 'analysis.claim.n_train': {n_train} is not in finetune.train_sizes {config['finetune']['train_sizes']}")
    hardware = analysis["hardware"]
    if hardware != "first" and hardware not in config["energy"]["hardware"]:
        raise ConfigError(f"{config_name}: key 'analysis.hardware': {hardware!r} is not in energy.hardware ({', '.join(config['energy']['hardware'])})")


def claim(config: dict) -> dict:
    """The pre-declared claim with its defaults resolved: depth, n_train, metric, alpha,
    energy_reduction_at_least and hardware."""
    given = config["analysis"]["claim"]
    depths, sizes = config["finetune"]["depths"], config["finetune"]["train_sizes"]
    return {
        **given,
        "depth": max(depths, key=blocks_covered) if given["depth"] == "deepest" else given["depth"],
        "n_train": min(sizes) if given["n_train"] == "smallest" else given["n_train"],
        "hardware": analysis_hardware(config),
    }


def analysis_hardware(config: dict) -> str:
    """The accelerator of the verdict: analysis.hardware, or the first of energy.hardware."""
    name = config["analysis"]["hardware"]
    return next(iter(config["energy"]["hardware"])) if name == "first" else name


def cnn_sources(config: dict, task: str) -> list[str]:
    sources = config["finetune"]["cnn_sources"]
    if sources == "all_others":
        return [t for t in config["finetune"]["tasks"] if t != task]
    return list(sources.get(task, []))


def study_scenarios(config: dict) -> list[str]:
    """The configured scenarios, with the fine-tuned variants when asked for."""
    f = config["finetune"]
    chosen = list(f["scenarios"])
    if f["tune_transferred"]:
        chosen += [scenarios.tuned_variant(s) for s in f["scenarios"] if scenarios.transfers(s)]
    return chosen


def resolve_hardware_path(value: str) -> str:
    """``zigzag:hardware/eyeriss_like.yaml`` -> that file inside the installed ZigZag
    package; any other value is a path of the user's own."""
    if not value.startswith("zigzag:"):
        return value
    import importlib.util

    spec = importlib.util.find_spec("zigzag")
    if spec is None or spec.origin is None:
        raise ConfigError(f"config: {value!r} names a file of ZigZag, but the zigzag-dse package is not installed")
    return str(Path(spec.origin).parent / "inputs" / value.removeprefix("zigzag:"))


def finetune_blocks(config: dict) -> list[dict]:
    """Every (task, scenario, source, depth) block of the grid, in a stable order."""
    f = config["finetune"]
    blocks = []
    for task in f["tasks"]:
        for scenario in study_scenarios(config):
            if not scenarios.transfers(scenario):
                blocks.append({"task": task, "scenario": scenario, "source": "none", "depth": "none"})
                continue
            sources = ["cae"] if scenarios.from_cae(scenario) else cnn_sources(config, task)
            for source in sources:
                for depth in f["depths"]:
                    blocks.append({"task": task, "scenario": scenario, "source": source, "depth": depth})
    return blocks


def source_networks(config: dict) -> list[str]:
    """Pretrained networks the grid needs."""
    needed = {scenarios.source_network(b["scenario"], b["source"]) for b in finetune_blocks(config)}
    return sorted(n for n in needed if n is not None)


def pretrain_seeds(config: dict) -> list[int]:
    """Seeds the source networks are trained with: every fine-tuning seed, or pretrain.seed."""
    return list(config["finetune"]["seeds"]) if config["pretrain"]["per_seed"] else [config["pretrain"]["seed"]]


def pretrain_seed_of(config: dict) -> dict[int, int]:
    """Fine-tuning seed -> the seed of the source networks it transfers from."""
    per_seed = config["pretrain"]["per_seed"]
    return {seed: seed if per_seed else config["pretrain"]["seed"] for seed in config["finetune"]["seeds"]}


def pretraining_description(config: dict) -> str:
    """One sentence: how many source networks, and whether the intervals cover them."""
    if config["pretrain"]["per_seed"]:
        return (f"one CAE and one CNN per source for every fine-tuning seed {config['finetune']['seeds']} "
                "(pretrain.per_seed), so the intervals cover the pretraining's randomness")
    return (f"one CAE and one CNN per source, seed {config['pretrain']['seed']}, shared by every fine-tuning seed "
            "(pretrain.per_seed: false), so the intervals do not cover the pretraining's randomness")


def distinct_pretrain_seeds(pretrain_seed_of: dict) -> list[int]:
    """The pretraining seeds a fine-tuning block reads, in the order its inputs list them."""
    return list(dict.fromkeys(pretrain_seed_of.values()))


def config_hash(config: dict) -> str:
    """Short, stable hash of the (defaults-filled) config, stamped on result tables. Left
    out, as they do not change what is computed: the settings of the data source not in
    use, and where the MTFL archive lives (mtfl.path, mtfl.url; mtfl.sha256, which names
    the content, is in)."""
    kept = json.loads(json.dumps(config))
    unused = {"synthetic": "mtfl", "mtfl": "synthetic"}[kept["data"]["source"]]
    kept.pop(unused, None)
    for section, key in LOCATION_KEYS:
        kept.get(section, {}).pop(key, None)
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:12]


def load_config_file(path, config_name=None) -> dict:
    """A config file as the workflow sees it: schema-checked, defaults filled, cross-checked."""
    from snakemake.utils import validate

    config = yaml.safe_load(Path(path).read_text())
    name = config_name or str(path)
    validate_with_schema(config, name)
    validate(config, str(SCHEMA_PATH))
    check_config(config, name)
    return config
