"""The config: its files, its schema, the checks that span keys, values given on the
command line, and the hash stamped on result tables. What the config asks to compute
(the grid, the claim) is ``study_grid``'s.

The Snakefile reads the config files (``read_config_file``: a missing or unparsable file
is one line naming it), fills what a file leaves out of a section from the section's
default (``fill_section_defaults``), types the values given with ``--config`` as a file
would (``coerce_command_line``), validates the config against ``config/schema.yaml``
(types, ranges, unknown keys) and then calls ``check_config`` for what a schema cannot
say. Every error is one line naming the key at fault and where its value came from
(``ConfigSources``: ``--config``, the ``--configfile`` or ``config.yaml``).

    python -m workflow_scripts.study.config FILE...

checks each FILE as the workflow does before any job (``prepare_config``), and that a
``device: cuda`` has a GPU here; ``make run`` runs it before Snakemake.
"""

import copy
import functools
import hashlib
import json
import math
import sys
from pathlib import Path

import yaml

from workflow_scripts.study import scenarios
from workflow_scripts.study.datasets import DATASETS, DatasetError, dataset, dataset_tasks
from workflow_scripts.study.depths import depth_names

SCHEMA_PATH = Path(__file__).parents[1] / "config" / "schema.yaml"
# where the input lives, not what is computed: left out of the config hash
LOCATION_KEYS = tuple((name, key) for name, entry in DATASETS.items() for key in entry.location_keys)


class ConfigError(ValueError):
    """A config value that cannot work, with its key."""


@functools.cache
def _parsed_schema() -> dict:
    # libyaml's loader where PyYAML has it (0.007 s a parse of the schema against 0.067 s),
    # once per process (a Snakemake start read it four times)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    schema = yaml.load(SCHEMA_PATH.read_text(), Loader=loader)
    # the scenarios a config may name are the table's, so that adding one is one entry there
    schema["properties"]["finetune"]["properties"]["scenarios"]["items"] = {"enum": list(scenarios.CONFIGURABLE)}
    return schema


def load_schema() -> dict:
    """``config/schema.yaml``, read once per process; each caller gets its own copy."""
    return copy.deepcopy(_parsed_schema())


class ConfigSources:
    """Where the config's values came from, to blame an error on: ``--config`` for a key
    given there, else the config file(s)."""

    def __init__(self, files, command_line: dict | None = None):
        self.files = ", ".join(map(str, files)) or "config"
        self.command_line = command_line or {}

    def of(self, key: str) -> str:
        """The source of dotted ``key`` (``a.b.0.c``): ``--config`` when the command line set it."""
        given = self.command_line
        for part in key.split("."):
            if isinstance(given, dict) and part in given:
                given = given[part]
            elif isinstance(given, list) and part.isdigit() and int(part) < len(given):
                given = given[int(part)]
            elif given is self.command_line or isinstance(given, dict):
                return self.files  # the command line set nothing at or above this key
            else:
                break
        return "--config"

    def __str__(self):
        return self.files


def _source(config_name, key: str) -> str:
    return config_name.of(key) if isinstance(config_name, ConfigSources) else str(config_name)


def read_config_file(path) -> dict:
    """A config file as a dict; ConfigError in one line naming the file when it is missing,
    is not YAML (with the line and column) or is not a mapping of keys."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (give the path of a config file, e.g. config.yaml)") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read as a config file ({error.__class__.__name__})") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}; fix the file's syntax") from None
    if config is None:
        raise ConfigError(f"{path}: the config file is empty (no keys); write the keys to change, e.g. in a copy of config.yaml")
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of keys (like config.yaml), not a {type(config).__name__}")
    return config


def _merge_missing(given: dict, default: dict):
    for key, value in default.items():
        if key not in given:
            given[key] = copy.deepcopy(value)
        elif isinstance(given[key], dict) and isinstance(value, dict):
            _merge_missing(given[key], value)


def fill_section_defaults(config: dict, schema: dict | None = None) -> dict:
    """Fill what ``config`` leaves out of a top-level section (the whole section, or keys
    inside it, at any depth) from the section's ``default`` in the schema, so a config
    file that leaves out ``pretrain`` or ``finetune.training`` gets the default study's.
    Keys with defaults of their own are left to the schema validation to fill."""
    schema = schema or load_schema()
    for name, node in schema.get("properties", {}).items():
        default = node.get("default")
        if not isinstance(default, dict) or not default:
            continue
        if name not in config:
            config[name] = copy.deepcopy(default)
        elif isinstance(config[name], dict):
            _merge_missing(config[name], default)
    return config


def schema_error_line(error, config_name="config") -> str:
    """One line for a jsonschema ValidationError: where the value came from, the dotted
    key and what is wrong."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in known)
        key = ".".join(path + unknown[:1])
        return f"{_source(config_name, key)}: key '{key}' is not a known key (known here: {', '.join(sorted(known))})"
    key = ".".join(path) or "(top level)"
    if error.validator in ("oneOf", "anyOf"):  # jsonschema's "not valid under any of the given schemas" names no form
        forms = " or ".join(_form(branch) for branch in error.validator_value)
        meaning = error.schema.get("description", "").split(". ")[0].rstrip(".")
        return f"{_source(config_name, key)}: key '{key}': {error.instance!r} is none of its forms, {forms}" + (
            f" ({meaning})" if meaning else "")
    return f"{_source(config_name, key)}: key '{key}': {error.message}"


def _form(node: dict) -> str:
    """A oneOf / anyOf branch of the schema in words: 'all_others', an integer >= 2, a mapping."""
    if "const" in node:
        return repr(node["const"])
    if "enum" in node:
        return "one of " + ", ".join(map(repr, node["enum"]))
    words = {"object": "a mapping", "array": "a list", "integer": "an integer", "number": "a number",
             "string": "a string", "boolean": "true or false", "null": "nothing (null)"}
    kinds = node.get("type", [])
    text = " or ".join(words.get(kind, kind) for kind in (kinds if isinstance(kinds, list) else [kinds])) or "a value"
    if "minimum" in node:
        text += f" >= {node['minimum']}"
    if "maximum" in node:
        text += f" <= {node['maximum']}"
    return text


# Keys that were renamed so that each word means one thing ("validation" the held-out split,
# "source" the network layers are copied from, "pool" the unlabelled training faces): a
# config that still uses an old name is told the new one.
RENAMED_KEYS = {"data.source": "data.dataset", "finetune.validation": "finetune.epoch_choice",
                "finetune.validation_fraction_of_n": "finetune.stop_fraction_of_n",
                "network.conv[].pool": "network.conv[].maxpool"}


def check_renamed_keys(config: dict, config_name="config"):
    """Raise ConfigError with one line for the first key of ``RENAMED_KEYS`` that ``config`` uses."""
    for old, new in RENAMED_KEYS.items():
        section, key = old.split(".", 1)
        nodes = config.get(section)
        if key.startswith("conv[]."):
            nodes = nodes.get("conv") if isinstance(nodes, dict) else None  # a malformed section: the schema's
            key = key.removeprefix("conv[].")
        for index, node in enumerate(nodes if isinstance(nodes, list) else [nodes]):
            if isinstance(node, dict) and key in node:
                where = f"{section}.conv[{index}].{key}" if isinstance(nodes, list) else old
                raise ConfigError(f"{_source(config_name, old)}: key '{where}' was renamed: write {new}")


def validate_with_schema(config: dict, config_name="config"):
    """Raise ConfigError with one line for the first schema violation (defaults are not filled)."""
    check_renamed_keys(config, config_name)
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


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _accepted_types(node: dict, root: dict) -> set:
    """The JSON types a sub-schema accepts (from type, enum, const and its oneOf / anyOf
    branches); empty when it does not say."""
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    wanted = node.get("type", [])
    types = set(wanted if isinstance(wanted, list) else [wanted])
    types |= {_json_type(value) for value in node.get("enum", [])}
    if "const" in node:
        types.add(_json_type(node["const"]))
    for branch in node.get("oneOf", []) + node.get("anyOf", []):
        types |= _accepted_types(branch, root)
    return types


def _typed(value: str, node: dict, root: dict):
    """A command-line string as the same text in a config file would be read (YAML), when
    the schema accepts that type there; else the string itself, for the schema to judge."""
    accepted = _accepted_types(node, root)
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    kind = _json_type(parsed)
    if kind not in ("string", "object") and (not accepted or kind in accepted or (kind == "integer" and "number" in accepted)):
        return parsed
    if "number" in accepted and "string" not in accepted:  # 1e-3: a number to anyone, a string to YAML 1.1
        try:
            return float(value)
        except ValueError:
            pass
    return value


def coerce_command_line(config: dict, command_line: dict, schema: dict | None = None) -> dict:
    """Give values set with ``--config`` the types they would have in a config file.

    Snakemake reads a nested ``--config key='{a: [1]}'`` with YAML's base loader, so every
    value inside arrives as a string ('1'). Each such string in ``command_line`` is read
    again as YAML reads it from a file (200, 0.01, true) where the schema accepts that
    type at its key (``oneOf`` branches included), and converted where it sits in
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
            return _typed(target, node or {}, schema)
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
    """The settings of the dataset in use (``data.dataset``) that shape the prepared faces."""
    return dataset(config).settings(config)


def pool_size(config: dict) -> int | None:
    """Faces in the training pool, where the config (and for a folder its labels CSV)
    tells: not for MTFL, whose archive is read by a job."""
    return dataset(config).pool_size(config)


def fill_dataset_tasks(config: dict, config_name="config"):
    """finetune.tasks, where the config leaves it out: every task of the dataset, in its
    order. ConfigError with the labels file's one line where a folder's cannot be read."""
    try:
        tasks = list(dataset_tasks(config))
    except DatasetError as error:
        raise ConfigError(f"{_source(config_name, 'data.dataset')}: data.dataset {config['data']['dataset']}: {error}") from None
    config["finetune"].setdefault("tasks", tasks)
    return tasks


def check_config(config: dict, config_name="config"):
    """Checks across keys; ConfigError naming the key and where its value came from.
    Expects schema defaults filled; fills finetune.tasks (``fill_dataset_tasks``)."""

    def error(key, what):
        return ConfigError(f"{_source(config_name, key)}: key '{key}': {what}")

    known = fill_dataset_tasks(config, config_name)
    name = config["data"]["dataset"]
    for task in config["finetune"]["tasks"]:
        if task not in known:
            raise error("finetune.tasks", f"{task!r} is not a task of dataset {name} (its tasks: {', '.join(known)})")

    conv = config["network"]["conv"]
    n_conv = len(conv)
    allowed = depth_names(n_conv)
    for depth in config["finetune"]["depths"]:
        if depth not in allowed:
            raise error("finetune.depths", f"{depth!r} does not fit a trunk of {n_conv} conv layers (allowed: {', '.join(allowed)})")
    for k, layer in enumerate(conv):
        if layer["kernel"] % 2 == 0:
            raise error(f"network.conv.{k}.kernel", f"{layer['kernel']} is even; kernels must be odd")
    size = config["data"]["image_size"]
    shrink = math.prod(layer["maxpool"] for layer in conv)
    if size % shrink:
        raise error("data.image_size", f"{size} is not divisible by the product of the max-pool factors network.conv[].maxpool ({shrink})")
    n_pool = pool_size(config)
    largest = max(config["finetune"]["train_sizes"])
    if n_pool is not None and largest > n_pool:
        raise error("finetune.train_sizes", f"{largest} exceeds the training pool of {n_pool} faces")
    smallest = min(config["finetune"]["train_sizes"])
    if config["finetune"]["epoch_choice"] == "cross_validated" and config["finetune"]["folds"] > smallest:
        raise error("finetune.folds", f"{config['finetune']['folds']} folds of the smallest labelled set "
                                      f"(finetune.train_sizes: {smallest} faces); need folds <= N")
    if config["pretrain"]["shared_by"] > 1 and not config["pretrain"]["per_seed"]:
        raise error("pretrain.shared_by", f"{config['pretrain']['shared_by']} needs pretrain.per_seed: true "
                                          "(without it every fine-tuning seed shares pretrain.seed)")
    sources = config["finetune"]["cnn_sources"]
    if isinstance(sources, dict):
        for target, names in sources.items():  # a target outside finetune.tasks is not used
            for source in names:
                if source == target:
                    raise error(f"finetune.cnn_sources.{target}", "a task cannot be its own source")
                if target in config["finetune"]["tasks"] and source not in known:
                    raise error(f"finetune.cnn_sources.{target}", f"{source!r} is not a task of dataset {name} "
                                                                  f"(its tasks: {', '.join(known)})")
        per_task = [s for s in config["finetune"]["scenarios"]  # their trunks are made per source task
                    if s in scenarios.BY_NAME and scenarios.transfers(s) and scenarios.trunk_of(s).per_task]
        if per_task and not any(sources.get(t) for t in config["finetune"]["tasks"]):
            raise error("finetune.cnn_sources", f"names no source for any of finetune.tasks {config['finetune']['tasks']}, "
                                                f"so the {' and '.join(per_task)} scenario{'s have' if len(per_task) > 1 else ' has'} "
                                                "no classifier: write all_others, or map these tasks")
    analysis = config["analysis"]
    depth, n_train = analysis["claim"]["depth"], analysis["claim"]["n_train"]
    if depth != "deepest" and depth not in config["finetune"]["depths"]:
        raise error("analysis.claim.depth", f"{depth!r} is not in finetune.depths {config['finetune']['depths']}")
    if n_train != "smallest" and n_train not in config["finetune"]["train_sizes"]:
        raise error("analysis.claim.n_train", f"{n_train} is not in finetune.train_sizes {config['finetune']['train_sizes']}")
    per_unit = analysis.get("paper_endpoint_per_unit")
    if per_unit is not None and config["pretrain"]["per_seed"] and per_unit > config["pretrain"]["shared_by"]:
        raise error("analysis.paper_endpoint_per_unit", f"{per_unit} exceeds the {config['pretrain']['shared_by']} "
                                                        "seeds of a pretraining unit (pretrain.shared_by)")
    hardware = analysis["hardware"]
    if hardware != "first" and hardware not in config["energy"]["hardware"]:
        raise error("analysis.hardware", f"{hardware!r} is not in energy.hardware ({', '.join(config['energy']['hardware'])})")


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
    use, finetune.folds and cv_criterion outside cross_validated (the one protocol that reads them), pretrain.shared_by without per_seed, and where the MTFL archive lives (mtfl.path, mtfl.url; mtfl.sha256,
    which names the content, is in)."""
    kept = json.loads(json.dumps(config))
    for unused in set(DATASETS) - {kept["data"]["dataset"]}:
        kept.pop(unused, None)
    if kept.get("finetune", {}).get("epoch_choice") != "cross_validated":
        kept.get("finetune", {}).pop("folds", None)
        kept.get("finetune", {}).pop("cv_criterion", None)
    if not kept.get("pretrain", {}).get("per_seed"):
        kept.get("pretrain", {}).pop("shared_by", None)
    for section, key in LOCATION_KEYS:
        kept.get(section, {}).pop(key, None)
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:12]


def prepare_config(config: dict, config_name="config", command_line: dict | None = None) -> dict:
    """The whole check of a config, the Snakefile's and ``python -m workflow_scripts.study.config``'s:
    section defaults filled, ``--config`` values typed as a file would type them, renamed keys
    and the schema (one line naming the key), the schema's defaults filled, then the checks
    that span keys. Returns ``config``, completed in place."""
    from snakemake.utils import validate

    fill_section_defaults(config)
    coerce_command_line(config, command_line or {})
    validate_with_schema(config, config_name)
    validate(config, str(SCHEMA_PATH))
    check_config(config, config_name)
    return config


def check_device(config: dict, config_name="config"):
    """ConfigError when ``device: cuda`` names a GPU that torch on this machine does not see
    (the jobs that run here would fail at their first tensor)."""
    if config["device"] != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"{_source(config_name, 'device')}: key 'device': cuda, but torch sees no CUDA device on this "
                          "machine; write auto (the GPU where there is one) or cpu")


def load_config_file(path, config_name=None) -> dict:
    """A config file as the workflow sees it: schema-checked, defaults filled, cross-checked."""
    return prepare_config(read_config_file(path), config_name or str(path))


def main(paths) -> int:
    """Check each config file as ``make run`` does before any job (``prepare_config``, and
    ``device: cuda`` against this machine); one line per file that fails, exit status 1."""
    if not paths:
        print("usage: python -m workflow_scripts.study.config CONFIG.yaml...", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            check_device(load_config_file(path), str(path))
        except ConfigError as error:
            print(error, file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
