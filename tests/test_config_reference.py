"""docs/config.md is the schema, rendered: it lists every key with its type, default and
meaning, and fails here as soon as the schema says something it does not."""

from conftest import ROOT
from workflow_scripts.study.config import load_schema
from workflow_scripts.study.config_reference import COMMAND, render, rows, yaml_value

# a small schema with every construct the real one uses
SCHEMA = {
    "description": "A study.\n  Unknown keys are errors.",
    "type": "object",
    "definitions": {
        "fit": {
            "type": "object",
            "properties": {
                "epochs": {"type": "integer", "minimum": 1, "description": "Epochs at most."},
                "rate": {"type": "number", "exclusiveMinimum": 0, "default": 0.001},
            },
            "required": ["epochs"],
        },
    },
    "properties": {
        "device": {"enum": ["auto", "cpu"], "default": "auto", "description": "Where torch runs."},
        "net": {
            "type": "object",
            "default": {},
            "properties": {
                "layers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {"width": {"type": "integer", "minimum": 1, "maximum": 8}, "kind": {"enum": ["conv", "fc"]}},
                        "required": ["width"],
                    },
                    "default": [{"width": 4, "kind": "conv"}],
                    "description": "The layers,\n      in order.",
                },
            },
        },
        "train": {"$ref": "#/definitions/fit", "description": "Training."},
        "sources": {
            "default": "all",
            "oneOf": [
                {"const": "all"},
                {"type": "object", "patternProperties": {"^(a|b)$": {"type": "array", "items": {"enum": ["a", "b"]}}}},
            ],
        },
        "hardware": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"file": {"type": "string"}}, "required": ["file"]},
            "default": {"eyeriss": {"file": "zigzag:eyeriss.yaml"}},
        },
        "tag": {"type": "string", "pattern": "^[a-z]*$", "default": ""},
        "check": {"type": "boolean", "default": False},
    },
    "required": ["train"],
}


def test_the_reference_is_what_the_schema_renders_today():
    written = (ROOT / "docs" / "config.md").read_text()
    assert written == render(load_schema()), (
        f"docs/config.md no longer matches workflow_scripts/config/schema.yaml: regenerate it with "
        f"`.venv/bin/{COMMAND}` (or `make docs`) and commit it")


def test_every_construct_renders_as_a_reader_expects():
    assert rows(SCHEMA) == [
        ("`device`", "one of `auto`, `cpu`", "`auto`", "Where torch runs."),
        ("`net`", "object", "`{}`", ""),
        ("`net.layers`", "non-empty list of objects", "`[{width: 4, kind: conv}]`", "The layers, in order."),
        ("`net.layers[].width`", "integer ≥ 1, ≤ 8", "*required*", ""),
        ("`net.layers[].kind`", "one of `conv`, `fc`", "*none*", ""),
        ("`train`", "object", "*required*", "Training."),
        ("`train.epochs`", "integer ≥ 1", "*required*", "Epochs at most."),
        ("`train.rate`", "number > 0", "`0.001`", ""),
        ("`sources`", "`all` or mapping", "`all`", ""),
        ("`sources.<a|b>`", "list of (one of `a`, `b`)", "*none*", ""),
        ("`hardware`", "mapping", '`{eyeriss: {file: "zigzag:eyeriss.yaml"}}`', ""),
        ("`hardware.<name>`", "object", "*none*", ""),
        ("`hardware.<name>.file`", "string", "*required*", ""),
        ("`tag`", "string matching `^[a-z]*$`", '`""`', ""),
        ("`check`", "boolean", "`false`", ""),
    ]


def test_the_page_is_a_markdown_table_with_pipes_escaped():
    page = render(SCHEMA)
    assert page.startswith("# Configuration reference\n")
    assert "\nA study. Unknown keys are errors.\n" in page
    assert "| key | type | default | meaning |\n|---|---|---|---|\n| `device` | one of `auto`, `cpu` | `auto` | Where torch runs. |\n" in page
    assert "| `sources.<a\\|b>` | list of (one of `a`, `b`) | *none* |  |\n" in page
    assert page.endswith("| `check` | boolean | `false` |  |\n")


def test_defaults_are_written_as_in_config_yaml():
    assert yaml_value(0.1) == "0.1" and yaml_value(2.0) == "2.0" and yaml_value(10000) == "10000"
    assert yaml_value(True) == "true" and yaml_value(None) == "null"
    assert yaml_value("conv4+fc1") == "conv4+fc1" and yaml_value("data/MTFL.zip") == "data/MTFL.zip"
    # strings YAML would read as another type, or with YAML syntax in them, are quoted
    assert yaml_value("false") == '"false"' and yaml_value("3") == '"3"' and yaml_value("-.5") == '"-.5"' and yaml_value("a: b") == '"a: b"'
    assert yaml_value({"fc": [1, "x"]}) == "{fc: [1, x]}"
