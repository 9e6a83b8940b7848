"""The config: its schema, the checks that span keys, values given on the command line,
and the hash stamped on result tables. What the config asks to compute (the grid, the
claim) is ``study_grid``'s.

The Snakefile validates the config against ``config/schema.yaml`` (types, ranges,
unknown keys) and then calls ``check_config`` for what a schema cannot say. Both report
one line naming the key at fault.
"""

import hashlib
import json
import math
from pathlib import Path

import yaml

from .depths import depth_names

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


def dataset_settings(config: dict) -> dict:
    """The settings of the dataset in use (``data.source``) that shape the prepared faces."""
    dataset = config["data"]["source"]
    if dataset == "mtfl":
        return {key: config["mtfl"][key] for key in ("crop_margin", "skip_bad_records")}
    return dict(config[dataset])


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
        raise ConfigError(f"{config_name}: key 'data.image_size': {size} is not divisible by the product of the max-pool factors network.conv[].pool ({shrink})")
    n_pool = pool_size(config)
    largest = max(config["finetune"]["train_sizes"])
    if n_pool is not None and largest > n_pool:
        raise ConfigError(f"{config_name}: key 'finetune.train_sizes': {largest} exceeds the training pool of {n_pool} faces")
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


def config_hash(config: dict) -> str:
    """Short, stable hash of the (defaults-filled) config, stamped on result tables. Left
    out, as they do not change what is computed: the settings of the dataset not in
    use, the settings of a validation protocol not in use (finetune.folds outside
    cross_validated), and where the MTFL archive lives (mtfl.path, mtfl.url; mtfl.sha256,
    which names the content, is in)."""
    kept = json.loads(json.dumps(config))
    unused = {"synthetic": "mtfl", "mtfl": "synthetic"}[kept["data"]["source"]]
    kept.pop(unused, None)
    if kept.get("finetune", {}).get("validation") != "cross_validated":
        kept.get("finetune", {}).pop("folds", None)
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
