"""Config errors as a user meets them: the real snakemake (dry runs) with values given on
the command line, a broken config.yaml and a config file that leaves out whole sections."""

import subprocess

import yaml

from conftest import ROOT
from test_workflow import SNAKEMAKE, TINY, planned_rules


def dry_run(workdir, *args):
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "-n", "--cores", "1", *args],
                          capture_output=True, text=True, timeout=600)


def lines_with(result, text):
    return [line for line in (result.stdout + result.stderr).splitlines() if text in line]


def test_a_one_of_key_given_on_the_command_line_is_read_as_in_a_file(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY))
    result = dry_run(tmp_path, "--config", "analysis={claim: {n_train: 40}}")
    assert result.returncode == 0, result.stderr[-2000:]
    result = dry_run(tmp_path, "--config", "analysis={claim: {n_train: 200}}")
    assert result.returncode != 0
    lines = lines_with(result, "key 'analysis.claim.n_train'")
    assert lines == ["--config: key 'analysis.claim.n_train': 200 is not in finetune.train_sizes [20, 40]"], result.stderr[-2000:]


def test_an_error_in_the_config_file_is_blamed_on_it_and_one_on_the_command_line_on_config(tmp_path):
    mine = yaml.safe_load(yaml.safe_dump(TINY))
    mine["finetune"]["seeds"] = [-1]
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    result = dry_run(tmp_path, "--configfile", str(tmp_path / "mine.yaml"), "--config", "data={image_size: 16}")
    assert lines_with(result, "key 'finetune.seeds.0'") == [f"{tmp_path / 'mine.yaml'}: key 'finetune.seeds.0': -1 is less than the minimum of 0"]
    mine["finetune"]["seeds"] = [0]
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    result = dry_run(tmp_path, "--configfile", str(tmp_path / "mine.yaml"), "--config", "data={image_size: 3}")
    assert lines_with(result, "key 'data.image_size'") == ["--config: key 'data.image_size': 3 is less than the minimum of 8"]


def test_a_broken_config_yaml_is_one_line_naming_it(tmp_path):
    (tmp_path / "config.yaml").write_text("data:\n  source: synthetic\n  image_size: [32\nnetwork: {}\n")
    result = dry_run(tmp_path)
    assert result.returncode != 0
    assert lines_with(result, "not valid YAML") == ["config.yaml: not valid YAML at line 4, column 8: expected ',' or ']', but got ':'; fix the file's syntax"]


def test_a_config_file_without_pretrain_and_finetune_runs_the_default_grid(tmp_path):
    """README: a config given on the command line is the whole config, and what it leaves
    out takes the schema's default."""
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"data": {"image_size": 32}}))
    result = dry_run(tmp_path, "--configfile", str(tmp_path / "mine.yaml"))
    assert result.returncode == 0, result.stderr[-2000:]
    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    # per task: none once, cae and cnn (one source task) at every depth
    assert planned_rules(result)["finetune"] == 4 * (1 + 2 * len(default["finetune"]["depths"]))
