import copy

import pytest
import yaml
from snakemake.utils import validate

from conftest import ROOT
from workflow_scripts.study.config import (
    SCHEMA_PATH, ConfigError, ConfigSources, check_config, coerce_command_line, config_hash, fill_section_defaults,
    load_config_file, load_schema, read_config_file, validate_with_schema,
)
from workflow_scripts.study.grid import BLOCK_KEY, claim, finetune_blocks, pretrain_seed_of, pretrain_seeds, source_networks

SHIPPED = ["config.yaml", "workflow_scripts/config/mtfl_paper.yaml", "workflow_scripts/config/mtfl_quick.yaml"]


def default_config():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, str(SCHEMA_PATH))  # fills defaults, as the Snakefile does
    return config


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid(name):
    config = yaml.safe_load((ROOT / name).read_text())
    validate_with_schema(config)
    validate(config, str(SCHEMA_PATH))
    check_config(config)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["finetune"].update(seedz=[1]), r"key 'finetune.seedz' is not a known key \(known here: .*seeds"),
        (lambda c: c["data"].update(image_size="big"), r"key 'data.image_size': 'big' is not of type 'integer'"),
        (lambda c: c["data"].update(validation_fraction=1.5), r"key 'data.validation_fraction': 1.5 is greater than or equal to the maximum of 1"),
        (lambda c: c["finetune"]["training"].update(patience=0), r"key 'finetune.training.patience': 0 is less than the minimum of 1"),
        (lambda c: c.update(device="tpu"), r"key 'device': 'tpu' is not one of \['auto', 'cpu', 'cuda'\]"),
        (lambda c: c["finetune"].update(depths=["fc1"]), r"key 'finetune.depths.0': 'fc1' does not match"),
        (lambda c: c["finetune"].update(scenarios=["cae", "transfer"]), r"key 'finetune.scenarios.1': 'transfer' is not one of"),
        (lambda c: c["energy"].update(precision_bits=1), r"key 'energy.precision_bits': 1 is less than the minimum of 2"),
    ],
)
def test_schema_rejects_with_one_line_naming_the_key(edit, message):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    edit(config)
    with pytest.raises(ConfigError, match=message) as caught:
        validate_with_schema(config)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["data"].update(source=c["data"].pop("dataset")), r"^config: key 'data.source' was renamed: write data.dataset$"),
        (lambda c: c["finetune"].update(validation="held_out"), r"key 'finetune.validation' was renamed: write finetune.epoch_choice$"),
        (lambda c: c["finetune"].update(validation_fraction_of_n=0.2), r"'finetune.validation_fraction_of_n' was renamed: write finetune.stop_fraction_of_n$"),
        (lambda c: c["network"]["conv"][2].update(pool=c["network"]["conv"][2].pop("maxpool")), r"key 'network.conv\[2\].pool' was renamed: write network.conv\[\].maxpool$"),
    ],
)
def test_an_old_key_name_is_told_its_new_name(edit, message):
    """Keys renamed so that a word means one thing: a config written before says what to write."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    edit(config)
    with pytest.raises(ConfigError, match=message):
        validate_with_schema(config)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["finetune"].update(depths=["conv5"]), r"key 'finetune.depths': 'conv5' does not fit a trunk of 4 conv layers"),
        (lambda c: c["finetune"].update(depths=["conv2+fc1"]), r"'conv2\+fc1' does not fit"),
        (lambda c: c["finetune"].update(train_sizes=[50, 9001]), r"key 'finetune.train_sizes': 9001 exceeds the training pool of 9000 faces"),
        (lambda c: c["data"].update(image_size=36), r"key 'data.image_size': 36 is not divisible by the product of the max-pool factors network.conv\[\].maxpool \(16\)"),
        (lambda c: c["network"]["conv"][1].update(kernel=4), r"key 'network.conv.1.kernel': 4 is even"),
        (lambda c: c["finetune"].update(cnn_sources={"gender": ["gender"]}), r"cnn_sources.gender': a task cannot be its own source"),
        (lambda c: c["analysis"]["claim"].update(depth="conv3"), r"key 'analysis.claim.depth': 'conv3' is not in finetune.depths"),
        (lambda c: c["analysis"]["claim"].update(n_train=100), r"key 'analysis.claim.n_train': 100 is not in finetune.train_sizes"),
        (lambda c: c["analysis"].update(hardware="gpu"), r"key 'analysis.hardware': 'gpu' is not in energy.hardware \(eyeriss_like, tpu_like\)"),
        (lambda c: c["finetune"].update(epoch_choice="cross_validated", folds=60, train_sizes=[50, 200]),
         r"key 'finetune.folds': 60 folds of the smallest labelled set \(finetune.train_sizes: 50 faces\); need folds <= N"),
    ],
)
def test_cross_key_checks(edit, message):
    config = default_config()
    edit(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


def test_default_grid():
    config = default_config()
    blocks = finetune_blocks(config)
    depths = len(config["finetune"]["depths"])
    # per task: none once, cae at every depth, cnn from its one source task at every depth
    assert len(blocks) == 4 * (1 + depths + 1 * depths)
    assert {"task": "smile", "scenario": "cnn", "source": "gender", "depth": "conv4+fc1"} in blocks
    assert {"task": "gender", "scenario": "cnn", "source": "smile", "depth": "conv4"} in blocks
    assert source_networks(config) == ["cae", "cnn_gender", "cnn_smile"]
    assert all(tuple(b) == BLOCK_KEY for b in blocks)
    assert {"task": "smile", "scenario": "none", "source": "none", "depth": "none"} in blocks
    config["finetune"]["cnn_sources"] = "all_others"  # from the 3 other tasks at every depth
    blocks = finetune_blocks(config)
    assert len(blocks) == 4 * (1 + depths + 3 * depths)
    assert not any(b["scenario"] == "cnn" and b["source"] == b["task"] for b in blocks)
    assert source_networks(config) == ["cae", "cnn_gender", "cnn_glasses", "cnn_pose", "cnn_smile"]


def test_tuned_variants_and_explicit_sources():
    config = default_config()
    config["finetune"].update(tune_transferred=True, tasks=["smile", "pose"], cnn_sources={"smile": ["gender"]})
    blocks = finetune_blocks(config)
    scenarios = {(b["task"], b["scenario"], b["source"]) for b in blocks}
    assert ("smile", "cnn_tuned", "gender") in scenarios and ("smile", "cae_tuned", "cae") in scenarios
    assert not any(b["task"] == "pose" and b["scenario"].startswith("cnn") for b in blocks)
    assert source_networks(config) == ["cae", "cnn_gender"]


def test_config_hash_changes_with_any_value():
    config = default_config()
    changed = copy.deepcopy(config)
    changed["finetune"]["seeds"] = [0, 1]
    assert config_hash(config) == config_hash(copy.deepcopy(config))
    assert config_hash(config) != config_hash(changed)


def test_precision_bits_has_no_default_so_existing_configs_hash_as_before():
    """energy.precision_bits left out stays out (validate fills no default), so a config that
    never named it keeps its hash (docs/mtfl_quick's published one among them); named, it
    is part of what is computed."""
    config = default_config()
    assert "precision_bits" not in config["energy"]
    sixteen = copy.deepcopy(config)
    sixteen["energy"]["precision_bits"] = 16
    validate(sixteen, str(SCHEMA_PATH))
    assert sixteen["energy"]["precision_bits"] == 16 and config_hash(sixteen) != config_hash(config)


def test_the_claim_resolves_deepest_smallest_and_first_in_config_order():
    config = default_config()
    config["analysis"] = {"claim": {}}
    config["energy"]["hardware"] = dict(reversed(list(config["energy"]["hardware"].items())))  # tpu_like first
    validate(config, str(SCHEMA_PATH))
    resolved = claim(config)
    assert (resolved["depth"], resolved["n_train"], resolved["metric"]) == ("conv4+fc1", 50, "balanced_accuracy")
    assert resolved["hardware"] == "tpu_like" and resolved["alpha"] == 0.05
    config["analysis"] = {"claim": {"depth": "conv4", "n_train": 200}, "hardware": "eyeriss_like"}
    validate(config, str(SCHEMA_PATH))
    check_config(config)
    assert (claim(config)["depth"], claim(config)["n_train"], claim(config)["hardware"]) == ("conv4", 200, "eyeriss_like")


def test_pretraining_seeds_pair_with_fine_tuning_seeds():
    config = default_config()
    config["pretrain"].update(per_seed=False, seed=0)
    config["finetune"]["seeds"] = [0, 1, 2]
    assert pretrain_seeds(config) == [0] and pretrain_seed_of(config) == {0: 0, 1: 0, 2: 0}
    config["pretrain"].update(per_seed=True)
    config["finetune"]["seeds"] = [3, 1]
    assert pretrain_seeds(config) == [3, 1] and pretrain_seed_of(config) == {3: 3, 1: 1}


def test_nested_pretraining_seeds_group_the_fine_tuning_seeds_in_their_order():
    config = default_config()
    config["pretrain"].update(per_seed=True, shared_by=2)
    config["finetune"]["seeds"] = [5, 0, 1, 2, 3]
    assert pretrain_seed_of(config) == {5: 5, 0: 5, 1: 1, 2: 1, 3: 3}
    assert pretrain_seeds(config) == [5, 1, 3]
    check_config(config)
    config["pretrain"].update(per_seed=False)
    with pytest.raises(ConfigError, match=r"key 'pretrain.shared_by': 2 needs pretrain.per_seed: true"):
        check_config(config)


def test_shared_by_enters_the_hash_only_with_per_seed():
    config = default_config()
    config["pretrain"].update(per_seed=False)
    assert config_hash({**config, "pretrain": {**config["pretrain"], "shared_by": 3}}) == config_hash(config)
    config["pretrain"].update(per_seed=True)
    assert config_hash({**config, "pretrain": {**config["pretrain"], "shared_by": 3}}) != config_hash(config)


def test_command_line_strings_get_the_schema_types():
    """Snakemake reads --config finetune='{train_sizes: [99999], ...}' as strings inside."""
    config = default_config()
    given = {"finetune": {"train_sizes": ["50", "99999"], "training": {"learning_rate": "0.01"}, "tune_transferred": "true"},
             "data": {"image_size": "big"}}
    for section, values in given.items():
        for key, value in values.items():
            config[section][key] = value if not isinstance(value, dict) else {**config[section][key], **value}
    coerce_command_line(config, given, load_schema())
    assert config["finetune"]["train_sizes"] == [50, 99999] and config["finetune"]["training"]["learning_rate"] == 0.01
    assert config["finetune"]["tune_transferred"] is True
    assert config["data"]["image_size"] == "big"  # not a number: left for the schema to report
    with pytest.raises(ConfigError, match=r"key 'data.image_size': 'big' is not of type 'integer'"):
        validate_with_schema(config)


def test_where_the_archive_lives_is_not_part_of_the_hash():
    config = default_config()
    moved = copy.deepcopy(config)
    moved["mtfl"].update(path="/elsewhere/MTFL.zip", url="http://mirror.example/MTFL.zip")
    assert config_hash(moved) == config_hash(config)
    moved["mtfl"]["crop_margin"] = 0.5
    assert config_hash(moved) == config_hash(config)  # the default study reads synthetic faces, not MTFL
    moved["synthetic"]["signal"]["smile"] = 2.0
    assert config_hash(moved) != config_hash(config)


def test_an_mtfl_study_hash_ignores_the_synthetic_settings():
    config = yaml.safe_load((ROOT / "workflow_scripts/config/mtfl_quick.yaml").read_text())
    validate(config, str(SCHEMA_PATH))
    changed = copy.deepcopy(config)
    changed["synthetic"]["signal"]["smile"] = 2.0
    assert config_hash(changed) == config_hash(config)
    changed["mtfl"]["crop_margin"] = 0.5
    assert config_hash(changed) != config_hash(config)


def command_line_config(given: dict) -> dict:
    """The default config with ``given`` (Snakemake's strings) merged in, as --config does."""
    config = default_config()

    def merge(target, patch):
        for key, value in patch.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                merge(target[key], value)
            else:
                target[key] = value

    merge(config, given)
    return config


@pytest.mark.parametrize(
    "section, key, text",
    [
        ("data", "image_size", "48"),  # integer
        ("data", "validation_fraction", "0.25"),  # number
        ("finetune", "tune_transferred", "true"),  # boolean
        ("device", None, "cuda"),  # enum
        ("finetune", "epoch_choice", "held_out"),  # enum inside a section
        ("mtfl", "path", "/data/MTFL.zip"),  # string
        ("mtfl", "sha256", "'" + "0" * 64 + "'"),  # a string of digits, quoted as it must be in a file
        ("analysis", "claim", "{n_train: 200}"),  # oneOf: const or integer
        ("analysis", "claim", "{n_train: smallest, depth: conv4}"),  # oneOf's const; a string pattern
        ("finetune", "cnn_sources", "all_others"),  # oneOf: const or mapping
        ("finetune", "cnn_sources", "{smile: [gender, pose]}"),  # oneOf's mapping of enum lists
        ("finetune", "train_sizes", "[50, 200]"),  # list of integers
        ("finetune", "training", "{learning_rate: 0.01, max_epochs: 5}"),  # $ref'd object: number, integer
        ("energy", "hardware", "{eyeriss_like: {hardware: 'zigzag:hardware/eyeriss_like.yaml', mapping: 'zigzag:mapping/default.yaml'}}"),
    ],
)
def test_command_line_values_are_read_as_the_same_text_in_a_file(section, key, text):
    """--config section='{key: text}' gives what ``section: {key: text}`` in a file gives."""
    from_file = yaml.safe_load(f"{section}: {text}" if key is None else f"{section}: {{{key}: {text}}}")
    # Snakemake's --config: nested values read by YAML's base loader, every scalar a string
    given = yaml.load(f"{section}: {text}" if key is None else f"{section}: {{{key}: {text}}}", Loader=yaml.BaseLoader)
    config = command_line_config(given)
    coerce_command_line(config, given, load_schema())
    expected = command_line_config(from_file)
    assert config == expected
    validate_with_schema(config)


def test_command_line_numbers_in_exponent_form_and_words_where_numbers_go():
    given = {"finetune": {"training": {"learning_rate": "1e-3"}}, "data": {"image_size": "big"}, "mtfl": {"path": "2024"}}
    config = command_line_config(given)
    coerce_command_line(config, given, load_schema())
    assert config["finetune"]["training"]["learning_rate"] == 0.001
    assert config["mtfl"]["path"] == "2024"  # the schema wants a string here: a folder named 2024
    with pytest.raises(ConfigError, match=r"^--config: key 'data.image_size': 'big' is not of type 'integer'$"):
        validate_with_schema(config, ConfigSources(["my.yaml"], given))


@pytest.mark.parametrize(
    "given, edit, message",
    [
        ({"finetune": {"seedz": ["1"]}}, None, r"^--config: key 'finetune.seedz' is not a known key"),
        ({}, lambda c: c["finetune"].update(seedz=[1]), r"^my.yaml: key 'finetune.seedz' is not a known key"),
        ({"analysis": {"claim": {"n_train": "100"}}}, None, r"^--config: key 'analysis.claim.n_train': 100 is not in finetune.train_sizes"),
        ({"finetune": {"train_sizes": ["100"]}}, lambda c: c["analysis"]["claim"].update(n_train=50),
         r"^my.yaml: key 'analysis.claim.n_train': 50 is not in finetune.train_sizes \[100\]"),
        ({"finetune": {"depths": ["conv2", "conv9"]}}, None, r"^--config: key 'finetune.depths': 'conv9' does not fit"),
        ({"data": {"image_size": "36"}}, None, r"^--config: key 'data.image_size': 36 is not divisible"),
        ({"device": "tpu"}, None, r"^--config: key 'device': 'tpu' is not one of"),
    ],
)
def test_errors_are_blamed_on_where_the_value_came_from(given, edit, message):
    config = command_line_config(given)
    if edit:
        edit(config)
    coerce_command_line(config, given, load_schema())
    sources = ConfigSources(["my.yaml"], given)
    with pytest.raises(ConfigError, match=message) as caught:
        validate_with_schema(config, sources)
        check_config(config, sources)
    assert "\n" not in str(caught.value)


def test_a_missing_or_unparsable_config_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=rf"^{tmp_path}/nope.yaml: no such config file") as caught:
        read_config_file(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data:\n  source: synthetic\n  image_size: [32\nnetwork: {}\n")
    with pytest.raises(ConfigError, match=rf"^{broken}: not valid YAML at line 4, column \d+: .*fix the file's syntax$") as caught:
        read_config_file(broken)
    assert "\n" not in str(caught.value)
    listed = tmp_path / "list.yaml"
    listed.write_text("- data\n- network\n")
    with pytest.raises(ConfigError, match=rf"^{listed}: a config file must be a mapping of keys"):
        read_config_file(listed)


def test_a_config_file_that_leaves_out_sections_takes_the_schema_defaults(tmp_path):
    """No pretrain, no finetune, and a finetune.training with one key: the default study's."""
    whole = default_config()
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"data": {"image_size": 32}, "analysis": {"hardware": "first"}}))
    config = load_config_file(mine)
    assert config["pretrain"] == whole["pretrain"]
    assert config["finetune"] == whole["finetune"]
    mine.write_text(yaml.safe_dump({"finetune": {"seeds": [7], "training": {"max_epochs": 3}}, "pretrain": {"per_seed": True}}))
    config = load_config_file(mine)
    assert config["finetune"]["seeds"] == [7] and config["finetune"]["depths"] == whole["finetune"]["depths"]
    assert config["finetune"]["training"] == {**whole["finetune"]["training"], "max_epochs": 3}
    assert config["pretrain"] == {**whole["pretrain"], "per_seed": True}
    assert fill_section_defaults({}) == {"pretrain": load_schema()["properties"]["pretrain"]["default"],
                                         "finetune": load_schema()["properties"]["finetune"]["default"]}
