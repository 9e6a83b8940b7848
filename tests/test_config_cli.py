"""Config errors as a user meets them: the real snakemake (dry runs) with values given on
the command line, a broken config.yaml and a config file that leaves out whole sections."""

import re
import subprocess
import sys

import pytest
import torch
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


def check_command(*paths):
    """README's config check, as `make run` runs it: python -m workflow_scripts.study.config FILE."""
    return subprocess.run([sys.executable, "-m", "workflow_scripts.study.config", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["finetune"].update(seedz=[1]), "key 'finetune.seedz' is not a known key"),
    (lambda c: c["data"].update(image_size="big"), "key 'data.image_size': 'big' is not of type 'integer'"),
    (lambda c: c["finetune"].update(train_sizes=[20, 5000]), "key 'finetune.train_sizes': 5000 exceeds the training pool of 400 faces"),
    (lambda c: c["data"].update(source="synthetic"), "key 'data.source' was renamed: write data.dataset"),
    (lambda c: c["finetune"].update(depths=["conv3"]), "key 'finetune.depths': 'conv3' does not fit a trunk of 2 conv layers"),
    (lambda c: c["finetune"].update(cnn_sources=3), "key 'finetune.cnn_sources': 3 is none of its forms, 'all_others' or a mapping ("),
    (lambda c: c.update(analysis={"claim": {"n_train": "biggest"}}), "key 'analysis.claim.n_train': 'biggest' is none of its forms, 'smallest' or an integer >= 2"),
])
def test_the_documented_config_check_is_the_workflows_check(tmp_path, edit, message):
    """Schema, renamed keys, checks across keys and the pool size: one line naming the file and
    the key, exit status 1 (the Snakefile calls the same study_config.prepare_config)."""
    config = yaml.safe_load(yaml.safe_dump(TINY))
    edit(config)
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(config))
    result = check_command(path)
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"{path}: {message}"), result.stderr
    if "training pool" in message:  # and it is the line Snakemake stops with, before any job
        snakefile = dry_run(tmp_path, "--configfile", str(path))
        assert snakefile.returncode != 0 and lines_with(snakefile, message) == result.stderr.splitlines()


def test_the_config_check_passes_a_good_config_and_refuses_an_empty_file(tmp_path):
    good, empty = tmp_path / "good.yaml", tmp_path / "empty.yaml"
    good.write_text(yaml.safe_dump(TINY))
    empty.write_text("# only a comment\n")
    assert check_command(good).returncode == 0
    result = check_command(good, empty)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{empty}: the config file is empty (no keys); write the keys to change, "
                                          "e.g. in a copy of config.yaml"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine where torch sees no GPU")
def test_device_cuda_without_a_gpu_is_refused_by_the_check_and_before_any_job(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["device"] = "cuda"
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(config))
    message = f"{path}: key 'device': cuda, but torch sees no CUDA device on this machine; write auto (the GPU where there is one) or cpu"
    result = check_command(path)
    assert result.returncode == 1 and result.stderr.splitlines() == [message]
    # Snakemake refuses it once the DAG is known, before its first job (a dry run, or a cluster's jobs, still plan)
    run = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(path), "--cores", "1"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode != 0 and lines_with(run, message) == [message]
    assert not (tmp_path / "results").exists()
    assert dry_run(tmp_path, "--configfile", str(path)).returncode == 0


def test_make_run_checks_the_config_with_the_documented_command():
    documented = re.search(r"`(\.venv/bin/python -m workflow_scripts\.study\.config) my\.yaml`", (ROOT / "README.md").read_text())
    assert documented, "README.md no longer shows the config check"
    plan = subprocess.run(["make", "-n", "run", "CONFIG=my.yaml"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert plan.splitlines()[0] == f"{documented.group(1)} my.yaml", plan
