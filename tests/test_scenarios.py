"""One home for the study's vocabulary: the schema, the rules and the plots agree with it, and
adding a scenario is one entry of its table."""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from test_workflow import TINY, planned_rules
from workflow_scripts.deploy.energy import scenario_prefixes
from workflow_scripts.nn.architecture import Architecture, ConvSpec
from workflow_scripts.report.plots import SCENARIO_COLORS, SCENARIO_LABELS
from workflow_scripts.study import scenarios
from workflow_scripts.study.config import ConfigError, check_config, load_config_file, load_schema
from workflow_scripts.study.datasets import DATASETS, MTFL_CLASSES
from workflow_scripts.study.grid import (finetune_blocks, pretraining_description, source_networks, study_scenarios,
                                         trained_source_networks)

TASKS = tuple(MTFL_CLASSES)


def test_schema_enums_match_the_vocabulary():
    finetune = load_schema()["properties"]["finetune"]["properties"]
    assert tuple(finetune["scenarios"]["items"]["enum"]) == scenarios.CONFIGURABLE == ("none", "cae", "cnn", "random")
    assert tuple(load_schema()["properties"]["data"]["properties"]["dataset"]["enum"]) == tuple(DATASETS)


def test_every_scenario_has_a_label_and_a_colour():
    assert set(SCENARIO_LABELS) == set(scenarios.SCENARIOS) == set(SCENARIO_COLORS)
    assert len(set(SCENARIO_COLORS.values())) == len(SCENARIO_COLORS)  # no two scenarios drawn alike


def test_source_networks_and_their_names():
    assert scenarios.source_network("none", "none") is None
    assert scenarios.source_network("cae_tuned", "cae") == "cae"
    assert scenarios.source_network("cnn", "smile") == "cnn_smile"
    assert scenarios.source_network("random", "random") == "random"
    assert scenarios.network_task("cnn_pose") == "pose" and scenarios.network_task("cae") is None
    assert [scenarios.network_label(n) for n in ("cae", "cnn_pose", "random")] == ["CAE", "CNN pose", "random trunk"]
    pattern = re.compile(scenarios.network_pattern(TASKS))
    assert all(pattern.fullmatch(n) for n in ["cae", "random", *(scenarios.cnn_network(t) for t in TASKS)])
    assert not pattern.fullmatch("cnn_age") and not pattern.fullmatch("random_smile")
    assert [s for s in scenarios.SCENARIOS if scenarios.is_frozen(s)] == ["cae", "cnn", "random"]
    assert [scenarios.tuned_variant(s) for s in ("cae", "cnn")] == list(scenarios.TUNED)
    assert scenarios.tuned_variants("random") == [] and scenarios.tuned_variants("none") == []
    assert [scenarios.base_scenario(s) for s in scenarios.SCENARIOS] == ["none", "cae", "cnn", "random", "cae", "cnn"]
    assert [s for s in scenarios.SCENARIOS if scenarios.from_cae(s)] == ["cae", "cae_tuned"]
    assert scenarios.sources(TASKS) == ("none", "cae", "random", *TASKS)


def test_the_random_scenario_is_frozen_shares_like_cae_and_is_not_a_trained_source():
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["finetune"].update(scenarios=["none", "cae", "random"], tune_transferred=True)
    assert study_scenarios(config) == ["none", "cae", "random", "cae_tuned"]
    assert {(b["scenario"], b["source"]) for b in finetune_blocks(config)} == {
        ("none", "none"), ("cae", "cae"), ("random", "random"), ("cae_tuned", "cae")}
    assert source_networks(config) == ["cae", "random"] and trained_source_networks(config) == ["cae"]
    architecture = Architecture((ConvSpec(4, 3, 2), ConvSpec(8, 3, 2)), fc1=16, fc2=8, image_size=16)
    shared = dict((row["scenario"], layers) for row, layers in
                  scenario_prefixes(architecture, ["conv2+fc1"], ["none", "cae", "random", "cae_tuned"]))
    assert shared["random"] == shared["cae"] == ["conv1", "conv2", "fc1"] and shared["cae_tuned"] == []


def dry_run(root, workdir, config, *targets):
    workdir.mkdir(exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(workdir / "config.yaml"), "-n", "--cores", "2", *targets],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(root)}, cwd=workdir,  # python -m: cwd first on the path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return planned_rules(result)


def test_each_trunk_is_written_by_its_producer_rule(tmp_path):
    plan = dry_run(ROOT, tmp_path / "work", TINY, *(f"results/pretrain/{scenarios.network_name(t.name, 'smile')}/seed0/model.pt"
                                                     for t in scenarios.TRUNK_TABLE))
    assert {t.rule for t in scenarios.TRUNK_TABLE} <= set(plan)


def test_adding_a_scenario_is_one_table_entry(tmp_path):
    """A copy of the workflow whose only change is one more entry in the scenario table (the
    random trunk, fine-tuned) plans that scenario's blocks, features, int8 scores and energy."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for part in ("Snakefile", "rules", "workflow_scripts", "envs"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__")) if (ROOT / part).is_dir() \
            else shutil.copy(ROOT / part, copy / part)
    table = copy / "workflow_scripts" / "study" / "scenarios.py"
    entry = '    Scenario("random_tuned", trunk="random", frozen=False, label="random trunk, fine-tuned", color=5, tunes="random"),\n'
    text = table.read_text()
    anchor = '    Scenario("cnn_tuned",'
    assert anchor in text
    table.write_text(text.replace(anchor, entry + anchor))
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["finetune"].update(scenarios=["none", "random"], tune_transferred=True)
    plan = dry_run(copy, tmp_path / "work", config)
    # per task: none, random and random_tuned at two depths; the tuned blocks read the random trunks' model files
    assert plan["finetune"] == plan["score_int8"] == 2 * (1 + 2 + 2)
    assert plan["init_random"] == 2 and plan["pretrain_cae"] == 2 and "pretrain_cnn" not in plan
    assert plan["extract_features"] == 2 * 2 and plan["quantize_prefixes"] == 2


def test_the_config_check_asks_for_cnn_sources_by_the_trunk_table(monkeypatch):
    """finetune.cnn_sources is asked of every scenario whose trunk is made per source task,
    not of the name "cnn"."""
    config = load_config_file(ROOT / "config.yaml")
    twin = scenarios.Scenario("cnn_twin", trunk="cnn", frozen=True, label="other-task CNN twin", color=5)
    monkeypatch.setitem(scenarios.BY_NAME, "cnn_twin", twin)
    config["finetune"].update(scenarios=["none", "cnn_twin"], cnn_sources={"gender": []})
    with pytest.raises(ConfigError, match="so the cnn_twin scenario has no classifier"):
        check_config(config)
    config["finetune"]["scenarios"] = ["none", "cae", "random"]  # no trunk made per task: no sources needed
    check_config(config)


def test_the_pretraining_sentence_names_the_source_networks_the_grid_reads():
    """The summary's pretraining sentence comes from the trunk table and the grid, not from
    a fixed "one CAE and one CNN"."""
    config = load_config_file(ROOT / "config.yaml")  # none, cae, cnn
    assert pretraining_description(config).startswith("one CAE and one CNN per source, seed 0, shared by")
    config["finetune"]["scenarios"] = ["none", "random"]
    assert pretraining_description(config).startswith("one random trunk, seed 0")
    config["finetune"]["scenarios"] = ["none", "cae", "cnn", "random"]
    assert pretraining_description(config).startswith("one CAE, one CNN per source and one random trunk, seed 0")
    config["finetune"]["scenarios"] = ["none"]
    assert pretraining_description(config).startswith("none: no scenario")
