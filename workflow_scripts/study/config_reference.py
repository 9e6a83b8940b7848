"""The config reference, docs/config.md, rendered from the config's JSON schema.

    .venv/bin/python -m workflow_scripts.study.config_reference [--output docs/config.md]

lists every key of the config by its dotted path (``network.conv[].channels`` for a field
of a list's items, ``energy.hardware.<name>.mapping`` for an entry of a mapping) with its
type, its default and the schema's description, so the reference cannot say anything the
schema does not. ``make docs`` runs it; tests/test_config_reference.py fails when the
file and the schema disagree.
"""

import argparse
import re
from pathlib import Path

from workflow_scripts.atomic import atomic_path
from workflow_scripts.study.config import load_schema

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "config.md"
COMMAND = "python -m workflow_scripts.study.config_reference"

HEADER = f"""# Configuration reference

Generated from `workflow_scripts/config/schema.yaml` by `{COMMAND}` (`make docs`);
do not edit by hand.

{{description}}

Keys are dotted paths into `config.yaml`: `a[].b` is field `b` of each item of the list
`a`, and `a.<name>` an entry of the mapping `a` under a name you choose. *required*: the
key has no default and must be given (when its parent is); *none*: optional, without a
default.

| key | type | default | meaning |
|---|---|---|---|
"""

# strings YAML would read as something else, or that carry its syntax, are quoted
_PLAIN = re.compile(r"^[A-Za-z_./+-][A-Za-z0-9_./+ -]*$")
_NOT_PLAIN = {"true", "false", "yes", "no", "on", "off", "null", "~"}


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def yaml_value(value) -> str:
    """``value`` as it would be written in config.yaml (YAML flow style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        plain = _PLAIN.match(value) and value == value.strip() and value.lower() not in _NOT_PLAIN and not _number(value)
        return value if plain else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no YAML form for {value!r}")


def resolve(node: dict, schema: dict) -> dict:
    """``node`` with a local ``$ref`` replaced by its target; the node's own keys win."""
    if "$ref" not in node:
        return node
    reference = node["$ref"]
    if not reference.startswith("#/"):
        raise ValueError(f"only local references are supported, not {reference}")
    target = schema
    for part in reference[2:].split("/"):
        target = target[part]
    merged = {**resolve(target, schema), **node}
    del merged["$ref"]
    return merged


def _bounds(node: dict) -> str:
    bounds = []
    for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in node:
            bounds.append(f"{sign} {node[key]}")
    return ", ".join(bounds)


def type_text(node: dict, schema: dict) -> str:
    """A short reading of what values ``node`` accepts: 'integer ≥ 1', 'one of `a`, `b`', ..."""
    node = resolve(node, schema)
    if "const" in node:
        return f"`{yaml_value(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{yaml_value(v)}`" for v in node["enum"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(type_text(option, schema) for option in node.get("oneOf", node.get("anyOf")))
    kind = node.get("type", "any")
    if kind == "array":
        items = resolve(node.get("items", {}), schema)
        item = "objects" if items.get("type") == "object" else f"({type_text(items, schema)})"
        return ("non-empty list of " if node.get("minItems", 0) >= 1 else "list of ") + item
    if kind == "object":
        return "mapping" if _entries(node) and not node.get("properties") else "object"
    text = kind
    if "pattern" in node:
        text += f" matching `{node['pattern']}`"
    bounds = _bounds(node)
    return f"{text} {bounds}" if bounds else text


def _entries(node: dict) -> list[tuple[str, dict]]:
    """The named-by-the-user entries of a mapping: (placeholder, schema of each entry)."""
    entries = []
    if isinstance(node.get("additionalProperties"), dict):
        entries.append(("<name>", node["additionalProperties"]))
    for pattern, entry in node.get("patternProperties", {}).items():
        entries.append(("<" + re.sub(r"^\^\(?|\)?\$$", "", pattern) + ">", entry))
    return entries


def _children(node: dict, schema: dict) -> list[tuple[str, dict, bool]]:
    """(path suffix, schema, required) of everything nested under ``node``."""
    node = resolve(node, schema)
    if node.get("type") == "array":
        items = resolve(node.get("items", {}), schema)
        return [("[]" + suffix, child, required) for suffix, child, required in _children(items, schema)]
    required = set(node.get("required", []))
    children = [(f".{name}", child, name in required) for name, child in node.get("properties", {}).items()]
    children += [(f".{placeholder}", entry, False) for placeholder, entry in _entries(node)]
    for option in node.get("oneOf", []):
        children += _children(option, schema)
    return children


def rows(schema: dict) -> list[tuple[str, str, str, str]]:
    """(key, type, default, meaning) of every key of the config, depth first, in schema order."""
    found = []

    def visit(path: str, node: dict, required: bool):
        node = resolve(node, schema)
        if "default" in node:
            default = f"`{yaml_value(node['default'])}`"
        else:
            default = "*required*" if required else "*none*"
        meaning = " ".join(node.get("description", "").split())
        found.append((f"`{path}`", type_text(node, schema), default, meaning))
        for suffix, child, child_required in _children(node, schema):
            visit(path + suffix, child, child_required)

    required = set(schema.get("required", []))
    for name, node in schema.get("properties", {}).items():
        visit(name, node, name in required)
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(schema: dict) -> str:
    """The whole reference page for ``schema``, as Markdown."""
    description = " ".join(schema.get("description", "").split())
    table = "".join("| " + " | ".join(_cell(cell) for cell in row) + " |\n" for row in rows(schema))
    return HEADER.format(description=description) + table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with atomic_path(args.output) as temporary:
        temporary.write_text(render(load_schema()))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
