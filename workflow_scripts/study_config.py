"""The config beyond its schema: checks that span keys, and the study grid it names.

The Snakefile validates ``config.yaml`` against ``config/schema.yaml`` (types, ranges,
unknown keys) and then calls ``check_config`` for what a schema cannot say. Both report
one line naming the key at fault.
"""

import hashlib
import json
import math
from pathlib import Path

import yaml

from .depths import depth_names
from .tasks import N_CLASSES  # noqa: F401 - the rules read class counts from here

SCHEMA_PATH = Path(__file__).parent / "config" / "schema.yaml"


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


def cnn_sources(config: dict, task: str) -> list[str]:
    sources = config["finetune"]["cnn_sources"]
    if sources == "all_others":
        return [t for t in config["finetune"]["tasks"] if t != task]
    return list(sources.get(task, []))


def source_network(scenario: str, source: str) -> str | None:
    """The pretrained network a scenario's layers come from: cae, cnn_<task> or None."""
    if scenario == "none":
        return None
    return "cae" if scenario.startswith("cae") else f"cnn_{source}"


def study_scenarios(config: dict) -> list[str]:
    """The configured scenarios, with the fine-tuned variants when asked for."""
    f = config["finetune"]
    scenarios = list(f["scenarios"])
    if f["tune_transferred"]:
        scenarios += [f"{s}_tuned" for s in f["scenarios"] if s != "none"]
    return scenarios


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
    scenarios = study_scenarios(config)
    blocks = []
    for task in f["tasks"]:
        for scenario in scenarios:
            if scenario == "none":
                blocks.append({"task": task, "scenario": "none", "source": "none", "depth": "none"})
                continue
            sources = ["cae"] if scenario.startswith("cae") else cnn_sources(config, task)
            for source in sources:
                for depth in f["depths"]:
                    blocks.append({"task": task, "scenario": scenario, "source": source, "depth": depth})
    return blocks


def source_networks(config: dict) -> list[str]:
    """Pretrained networks the grid needs."""
    needed = {source_network(b["scenario"], b["source"]) for b in finetune_blocks(config)}
    return sorted(n for n in needed if n is not None)


def config_hash(config: dict) -> str:
    """Short, stable hash of the whole (defaults-filled) config, stamped on result tables."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
