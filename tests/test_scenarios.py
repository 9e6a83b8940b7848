"""One home for the study's vocabulary: the schema, the rules and the plots agree with it."""

import re

from workflow_scripts import scenarios
from workflow_scripts.plots import SCENARIO_COLORS, SCENARIO_LABELS
from workflow_scripts.study_config import load_schema
from workflow_scripts.datasets import DATASETS, MTFL_CLASSES

TASKS = tuple(MTFL_CLASSES)


def test_schema_enums_match_the_vocabulary():
    finetune = load_schema()["properties"]["finetune"]["properties"]
    assert tuple(finetune["scenarios"]["items"]["enum"]) == scenarios.CONFIGURABLE
    assert tuple(load_schema()["properties"]["data"]["properties"]["dataset"]["enum"]) == tuple(DATASETS)


def test_every_scenario_has_a_label_and_a_colour():
    assert set(SCENARIO_LABELS) == set(scenarios.SCENARIOS) == set(SCENARIO_COLORS)


def test_source_networks_and_their_names():
    assert scenarios.source_network("none", "none") is None
    assert scenarios.source_network("cae_tuned", "cae") == "cae"
    assert scenarios.source_network("cnn", "smile") == "cnn_smile"
    assert scenarios.network_task("cnn_pose") == "pose" and scenarios.network_task("cae") is None
    pattern = re.compile(scenarios.network_pattern(TASKS))
    assert all(pattern.fullmatch(n) for n in ["cae", *(scenarios.cnn_network(t) for t in TASKS)])
    assert not pattern.fullmatch("cnn_age")
    assert [s for s in scenarios.SCENARIOS if scenarios.is_frozen(s)] == ["cae", "cnn"]
    assert [scenarios.tuned_variant(s) for s in scenarios.FROZEN] == list(scenarios.TUNED)
    assert [scenarios.base_scenario(s) for s in scenarios.SCENARIOS] == ["none", "cae", "cnn", "cae", "cnn"]
    assert [s for s in scenarios.SCENARIOS if scenarios.from_cae(s)] == ["cae", "cae_tuned"]

