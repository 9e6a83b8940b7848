"""The workflow as a user runs it: the real snakemake command on real configs (the rerun
contract's many dry runs through Snakemake's API, tests/dry_runs.py)."""

import copy
import json
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from workflow_scripts.study.columns import INT8_COLUMNS
from workflow_scripts.study.config import load_schema
from workflow_scripts.study.grid import BLOCK_KEY, source_networks

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]

TINY = {
    "data": {"dataset": "synthetic", "image_size": 16, "validation_fraction": 0.2},
    "synthetic": {"n_train": 500, "n_test": 200, "seed": 0},
    "network": {"conv": [{"channels": 4, "kernel": 3, "maxpool": 2}, {"channels": 8, "kernel": 3, "maxpool": 2}], "fc1": 16, "fc2": 8},
    "pretrain": {
        "per_seed": True,
        "cae": {"max_epochs": 2, "patience": 1, "batch_size": 64, "learning_rate": 0.003},
        "cnn": {"max_epochs": 2, "patience": 1, "batch_size": 64, "learning_rate": 0.003},
    },
    "finetune": {
        "tasks": ["smile", "pose"],
        "scenarios": ["none", "cae", "cnn", "random"],
        "tune_transferred": False,  # the tuned variants run in test_intermediates' study
        "cnn_sources": {"smile": ["gender"], "pose": ["gender"]},  # one CNN, on a task outside the grid
        "depths": ["conv1", "conv2+fc1"],
        "train_sizes": [20, 40],
        "seeds": [0, 1],
        "epoch_choice": "from_labels",
        "objective": "plain",
        "training": {"max_epochs": 3, "patience": 2, "batch_size": 16, "learning_rate": 0.003, "min_epoch_samples": 40},
    },
}

# The tiny study cut to one task, one transfer (two depths: two feature extractions) and one
# accelerator, with fine-tuning jobs long enough to be caught in the middle: run once a
# session (conftest.py's small_study_run) as the plain local run that tests/test_slurm.py and
# tests/test_interruption.py run another way
SMALL_STUDY = copy.deepcopy(TINY)
SMALL_STUDY["pretrain"]["per_seed"] = False
SMALL_STUDY["finetune"].update(tasks=["pose"], scenarios=["none", "cae"], tune_transferred=False,
                               depths=["conv1", "conv2+fc1"],
                               training={**TINY["finetune"]["training"], "max_epochs": 30, "patience": 30,
                                         "min_epoch_samples": 400})
SMALL_STUDY["energy"] = {"hardware": {"eyeriss_like": {"hardware": "zigzag:hardware/eyeriss_like.yaml",
                                                       "mapping": "zigzag:mapping/default.yaml"}}}
# what those runs go as far as: the data, the CAE, its features, the fine-tuning and ZigZag
# (12 jobs of the 25; the int8 scoring, the paper's endpoint and the analysis are more jobs
# of the same kinds, run end to end by the tiny study)
SMALL_STUDY_TARGETS = ["results/metrics.csv", "results/energy/inference.csv"]


def snakemake(workdir: Path, config: dict, *args, check=True, timeout=600):
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(config_path), *args],
        capture_output=True, text=True, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def planned_rules(result) -> dict:
    """Rule -> job count, from a dry run's job-stats table."""
    counts, in_table = {}, False
    for line in result.stdout.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table = True
            continue
        if in_table:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] != "total":
                    counts[parts[0]] = int(parts[1])
            elif parts and not set(line.strip()) <= {"-", " "}:
                break
    return counts


def rerun_contract() -> tuple[list[dict], set]:
    """The table of docs/workflow.md#caching-and-reruns, as rows {keys, patch, runs}: the
    config keys of the row, the change (a YAML patch of the tiny study) and the cell naming
    the rules whose jobs it runs; and *the tables*, the rules the doc's sentence names so."""
    text = (ROOT / "docs" / "workflow.md").read_text()
    section = text[text.index("\n## Caching and reruns"):]
    section = section[:section.index("\n## ", 5)]
    tables = set(re.findall(r"`(\w+)`", re.search(r"\*the tables\*[^.]*\.", section).group(0)))
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            patch = re.fullmatch(r"`(\{.*\})`", cells[1])
            assert patch, f"docs/workflow.md: the change of {cells[0]} is not a `{{...}}` patch: {cells[1]}"
            rows.append({"keys": re.findall(r"`([\w.*]+)`", cells[0]), "patch": yaml.safe_load(patch.group(1)),
                         "runs": cells[2]})
    return rows, tables


def rules_named(cell: str, every_rule: set, tables: set) -> set:
    """The rules a cell of the contract names: `a`, `b` (and the tables); nothing; every rule
    (but `c`; and `d`). Words in parentheses are comments."""
    cell = re.sub(r"\([^)]*\)", "", cell)
    head, _, but = cell.partition(" but ")

    def names(text):
        return set(re.findall(r"`(\w+)`", text))

    named = (every_rule | names(head) if head.startswith("every rule") else names(head)) - names(but)
    return named | (tables if "the tables" in cell else set())


def patched(config: dict, patch: dict) -> dict:
    """``config`` with ``patch`` merged in, mapping by mapping (lists and values replaced)."""
    merged = copy.deepcopy(config)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = patched(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema_keys(node: dict, root: dict, prefix=()) -> list[str]:
    """Every leaf key of the config schema, dotted (following $ref into definitions)."""
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    if "properties" not in node:
        return [".".join(prefix)]
    return [key for name, child in node["properties"].items() for key in schema_keys(child, root, (*prefix, name))]


def test_the_rerun_contract_names_every_config_key_once():
    """docs/workflow.md's table of what a change reruns has a row for every key of the
    schema (a key, or a group `section.*`), no key in two rows, and a change in every row
    that touches only its own keys (the tiny study's dry runs then check the rules)."""
    rows, tables = rerun_contract()
    assert len(tables) >= 5 and rows

    def covers(pattern, key):
        return key == pattern or (pattern.endswith(".*") and key.startswith(pattern[:-1]))

    schema = load_schema()
    for key in schema_keys(schema, schema):
        owners = [row["keys"] for row in rows if any(covers(pattern, key) for pattern in row["keys"])]
        assert len(owners) == 1, f"config key {key} is in {len(owners)} rows of docs/workflow.md's rerun table: {owners}"
    for row in rows:
        leaves = [".".join(path) for path in _leaf_paths(row["patch"])]
        assert leaves and all(any(covers(p, leaf) or leaf.startswith(p + ".") for p in row["keys"]) for leaf in leaves), row


def _leaf_paths(patch, prefix=()):
    if isinstance(patch, dict) and patch:
        for key, value in patch.items():
            yield from _leaf_paths(value, (*prefix, key))
    else:
        yield prefix


def code_edit_plan(workdir: Path, module: str, edit) -> dict:
    """Rule -> job count of a dry run of the tiny study in ``workdir`` with the project's
    Snakefile, rules and package copied and ``module`` of the copy (its path under
    workflow_scripts/) rewritten by ``edit`` (its text -> the new text). Snakemake imports the package from beside the Snakefile, so
    the copy's code digests are read. Its own code trigger is left out: it counts the copy's
    script paths as changed code, where the digest is a param."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(ROOT / "Snakefile", folder)
        for part in ("rules", "workflow_scripts"):
            shutil.copytree(ROOT / part, Path(folder, part), ignore=shutil.ignore_patterns("__pycache__"))
        edited = Path(folder, "workflow_scripts", module)
        edited.write_text(edit(edited.read_text()))
        config = workdir / "code_edit.yaml"
        config.write_text(yaml.safe_dump(TINY))
        result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(Path(folder, "Snakefile")),
                                 "--directory", str(workdir), "--configfile", str(config), "-n", "--cores", "2",
                                 "--rerun-triggers", "mtime", "params", "input", "software-env"],
                                capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {rule: n for rule, n in planned_rules(result).items() if rule != "all"}


def dry_run_plans(workdir: Path, configs: list[dict], workers: int = 2) -> list[dict]:
    """Rule -> job count of a dry run of each config in ``workdir``: ``workers`` interpreters
    (tests/dry_runs.py, Snakemake's API) share the configs (a dry run takes no lock)."""
    paths = []
    for number, config in enumerate(configs):
        paths.append(workdir / f"dry_run_{number}.yaml")
        paths[-1].write_text(yaml.safe_dump(config))
    chunks = [paths[start::workers] for start in range(workers)]

    def run(chunk):
        done = subprocess.run([sys.executable, str(ROOT / "tests" / "dry_runs.py"), str(ROOT / "Snakefile"), str(workdir),
                               *map(str, chunk)], capture_output=True, text=True, timeout=900, cwd=workdir)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    with ThreadPoolExecutor(workers) as pool:
        results = {path: result for chunk in pool.map(run, [c for c in chunks if c]) for path, result in chunk.items()}
    plans = []
    for path, config in zip(paths, configs):
        result = results[str(path)]
        assert result["ok"], f"dry run of {config} failed:\n{result['stdout'][-2000:]}\n{result['error'][-2000:]}"
        plans.append(planned_rules(SimpleNamespace(stdout=result["stdout"])))
    return plans


def test_default_config_dag(tmp_path):
    result = snakemake(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()), "-n", "--cores", "2")
    jobs = planned_rules(result)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    depths = len(config["finetune"]["depths"])
    pretrain_seeds = len(config["finetune"]["seeds"]) if config["pretrain"]["per_seed"] else 1
    networks = source_networks(config)  # the CAE, and the CNNs of the tasks the others transfer from
    assert jobs["finetune"] == 4 * (1 + depths + 1 * depths)  # none, cae at every depth, cnn from one source
    assert jobs["extract_features"] == len(networks) * depths * pretrain_seeds
    assert jobs["pretrain_cnn"] == (len(networks) - 1) * pretrain_seeds and jobs["pretrain_cae"] == pretrain_seeds
    assert jobs["collect_metrics"] == 1
    # every block scored at int8; one prefix quantisation per source network and pretraining seed (a file per depth)
    assert jobs["score_int8"] == jobs["finetune"]
    assert jobs["quantize_prefixes"] == len(networks) * pretrain_seeds


def test_paper_config_dag_stays_in_the_hundreds(tmp_path):
    config = yaml.safe_load((ROOT / "workflow_scripts/config/mtfl_paper.yaml").read_text())
    archive = tmp_path / "MTFL.zip"
    archive.write_bytes(b"")  # the DAG needs the input to exist, not to be read
    config["mtfl"]["path"] = str(archive)
    total = sum(planned_rules(snakemake(tmp_path, config, "-n", "--cores", "2")).values())
    assert 100 <= total < 1000, total


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["finetune"].update(seedz=[1]), "key 'finetune.seedz' is not a known key"),
        (lambda c: c["finetune"].update(train_sizes=[20, 5000]), "key 'finetune.train_sizes': 5000 exceeds the training pool of 400 faces"),
        (lambda c: c["data"].update(image_size=-3), "key 'data.image_size': -3 is less than the minimum of 8"),
    ],
)
def test_bad_config_fails_before_any_job_with_one_line_naming_the_key(tmp_path, edit, message):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    edit(config)
    result = snakemake(tmp_path, config, "--cores", "1", check=False)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if message in line]
    assert len(lines) == 1 and lines[0].startswith(str(tmp_path / "config.yaml")), result.stderr
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """The tiny study, run once for the tests that read what it made: (folder, run, seconds)."""
    folder = tmp_path_factory.mktemp("tiny_study")
    started = time.perf_counter()
    # the limit catches a hang, not a slow machine: the study took 5.6 min in make test on 2
    # cores, and ran past 10 min there while other studies shared the cores
    run = snakemake(folder, TINY, "--cores", "2", timeout=1800)
    return folder, run, time.perf_counter() - started


def test_tiny_study_end_to_end_and_reruns_only_what_changed(tiny_study):
    """The tiny study with per-seed pretraining, early stopping on 20 % of the N labels and
    the plain objective, from data to report; then dry runs that show what a change reruns."""
    tmp_path, run, elapsed = tiny_study
    results = tmp_path / "results"
    metrics = pd.read_csv(results / "metrics.csv")
    # per task: none, cae at 2 depths, cnn from gender's CNN at 2 depths, random at 2 depths
    assert len(metrics) == 2 * (1 + 2 + 2 + 2) * 2 * 2
    assert set(metrics["scenario"]) == {"none", "cae", "cnn", "random"}
    assert metrics["balanced_accuracy"].between(0, 1).all() and metrics["config_hash"].nunique() == 1
    assert not metrics.duplicated([*BLOCK_KEY, "n_train", "seed"]).any()
    # from_labels: every member stopped on part of its own N labels (its stop faces), and has an early-stopping score
    assert (metrics["n_fit"] + metrics["n_stop"] == metrics["n_train"]).all() and (metrics["n_stop"] > 0).all()
    assert metrics["stop_balanced_accuracy"].between(0, 1).all() and metrics["stop_accuracy"].between(0, 1).all()
    # per_seed: each fine-tuning seed transfers from the networks pretrained with that seed
    transfer = metrics[metrics["scenario"] != "none"]
    assert (transfer["pretrain_seed"] == transfer["seed"]).all() and (metrics.loc[metrics["scenario"] == "none", "pretrain_seed"] == -1).all()
    sources = pd.read_csv(results / "pretrain" / "sources.csv")  # the trained ones: not the random trunk
    assert sorted(zip(sources["network"], sources["seed"])) == [(n, s) for n in ("cae", "cnn_gender") for s in (0, 1)]
    # the random trunk of each pretraining seed, scaled to its CAE's per-layer output mean and SD on the pool
    for seed in (0, 1):
        scaling = pd.read_csv(results / "pretrain" / "random" / f"seed{seed}" / "scaling.csv")
        assert list(scaling["layer"]) == ["conv1", "conv2", "fc1"]
        assert ((scaling["mean"] - scaling["target_mean"]).abs() <= 1e-3 * scaling["target_sd"]).all()
        assert ((scaling["sd"] - scaling["target_sd"]).abs() <= 1e-3 * scaling["target_sd"]).all()
    # the paper's endpoint: per task none and the CAE at the claim's depth (the deepest), at the claim's N (the
    # smallest), every seed, under the plain objective, from the same sources and features: every pretraining and
    # extraction job ran once
    endpoint = pd.read_csv(results / "paper_endpoint.csv")
    assert list(endpoint.columns) == [*metrics.columns, "objective", "majority_accuracy"]
    assert sorted(set(zip(endpoint["task"], endpoint["scenario"], endpoint["source"], endpoint["depth"]))) == [
        ("pose", "cae", "cae", "conv2+fc1"), ("pose", "none", "none", "none"),
        ("smile", "cae", "cae", "conv2+fc1"), ("smile", "none", "none", "none")]
    assert len(endpoint) == 4 * 2 and set(endpoint["n_train"]) == {20} and set(endpoint["objective"]) == {"plain"}
    faces, roles = pd.read_csv(results / "data" / "faces.csv"), pd.read_csv(results / "data" / "roles.csv")
    test_labels = faces.iloc[roles.loc[roles["role"] == "test", "face"]]
    for task, rate in endpoint.groupby("task")["majority_accuracy"]:
        assert rate.nunique() == 1 and rate.iloc[0] == pytest.approx(test_labels[task].value_counts(normalize=True).max())
    # this study's own objective is plain too, so the endpoint's members are its own members, retrained alike
    mine = endpoint.merge(metrics, on=[*BLOCK_KEY, "n_train", "seed"], suffixes=("", "_study"))
    assert len(mine) == len(endpoint) and (mine["accuracy"] == mine["accuracy_study"]).all()
    jobs = Counter(line.split()[-1].rstrip(":") for line in run.stderr.splitlines() if line.rstrip().endswith(":")
                   and line.split()[0] in ("rule", "localrule") and len(line.split()) == 2)
    assert jobs["pretrain_cae"] == 2 and jobs["pretrain_cnn"] == 2 and jobs["init_random"] == 2
    assert jobs["extract_features"] == 3 * 2 * 2  # cae, random and the CNN, two seeds, two depths
    assert jobs["paper_endpoint"] == 4 and jobs["collect_paper_endpoint"] == 1
    # int8: every member scored, from a prefix quantised once per source network, pretraining seed and depth
    assert jobs["quantize_prefixes"] == 3 * 2 and jobs["score_int8"] == 14 and jobs["collect_int8_metrics"] == 1
    int8 = pd.read_csv(results / "int8_metrics.csv")
    assert list(int8.columns) == [*INT8_COLUMNS, "config_hash"] and set(int8["config_hash"]) == set(metrics["config_hash"])
    member = [*BLOCK_KEY, "n_train", "seed", "pretrain_seed"]
    assert sorted(map(tuple, int8[member].to_numpy())) == sorted(map(tuple, metrics[member].to_numpy()))
    assert int8["agreement"].between(0, 1).all() and int8["balanced_accuracy"].between(0, 1).all()
    prefixes = sorted(p.relative_to(results / "int8" / "prefix").as_posix() for p in (results / "int8" / "prefix").rglob("*.pt"))
    assert prefixes == [f"{n}/seed{s}/{d}.pt" for n in ("cae", "cnn_gender", "random") for s in (0, 1)
                        for d in ("conv1", "conv2+fc1")]
    precision = pd.read_csv(results / "analysis" / "int8_claim.csv")
    assert sorted(set(zip(precision["precision"], precision["task"]))) == [("float32", "pose"), ("float32", "smile"),
                                                                           ("int8", "pose"), ("int8", "smile")]
    assert set(pd.read_csv(results / "analysis" / "int8_cost.csv")["scenario"]) == {"none", "cae", "cnn", "random"}
    assert "int8_balanced_accuracy" in pd.read_csv(results / "analysis" / "tradeoff.csv")
    for name in ("data/preview.png", "data/label_balance.csv", "pretrain/cae/seed1/reconstructions.png",
                 "curves.csv", "energy/training_compute.csv", "summary.md", "analysis/headline.csv", "analysis/claim.csv"):
        assert (results / name).stat().st_size > 0, name
    assert list((results / "logs").rglob("*.log")) and list((results / "benchmarks").rglob("*.tsv"))
    inference = pd.read_csv(results / "energy" / "inference.csv")
    assert set(inference["hardware"]) == {"eyeriss_like", "tpu_like"}
    deep = inference[(inference["scenario"] == "cae") & (inference["depth"] == "conv2+fc1")]
    assert (deep["reduction_vs_none"] > 1).all() and (deep["reduction_vs_none"] < deep["ceiling_reduction"]).all()
    random = inference[inference["scenario"] == "random"].set_index(["hardware", "depth"])["energy_pj"]
    assert random.equals(inference[inference["scenario"] == "cae"].set_index(["hardware", "depth"])["energy_pj"])
    claim = pd.read_csv(results / "analysis" / "claim.csv")
    assert list(claim.loc[claim["against"] == "none", "task"]) == ["smile", "pose"] and set(claim["hardware"]) == {"eyeriss_like"}
    assert set(claim["decision"]) <= {"better", "equivalent", "worse", "inconclusive"}
    assert (claim["p_holm"].fillna(1) >= claim["p_value"].fillna(1)).all()
    summary = (results / "summary.md").read_text()
    order = [summary.index(h) for h in ("## The paper's claims beside this run", "## The pre-declared test", "## Exploratory")]
    assert order == sorted(order) and "unweighted cross-entropy" in summary and "pretrain.per_seed" in summary
    assert "### At int8, the precision the energy assumes" in summary and "**The verdict " in summary
    assert "| +1.88 |" in summary and "6.58x" in summary  # the paper's numbers beside ours
    figures = sorted(p.name for p in (results / "figures").glob("*.png"))
    assert len(figures) == 7 and len(list((results / "figures").glob("*.pdf"))) == 7 and "claim_comparison.png" in figures

    report = tmp_path / "report.html"
    snakemake(tmp_path, TINY, "--report", str(report))
    text = report.read_text(errors="replace")
    assert report.stat().st_size > 100_000 and "gain_heatmaps.png" in text
    assert "The CAE transfer-learning study: its answer" in text and "On synthetic faces at N = " in text
    assert "stop_balanced_accuracy" in (results / "analysis" / "summary.csv").read_text()

    def rerun_plan(edit):
        config = yaml.safe_load(yaml.safe_dump(TINY))
        edit(config)
        return planned_rules(snakemake(tmp_path, config, "-n", "--cores", "2"))

    assert rerun_plan(lambda c: None) == {}
    # docs/workflow.md's table of what a change reruns, row by row, against Snakemake's own dry runs
    rows, tables = rerun_contract()
    every_rule = set(jobs) - {"all"}
    plans = dict(zip((" ".join(row["keys"]) for row in rows),
                     dry_run_plans(tmp_path, [patched(TINY, row["patch"]) for row in rows])))
    for keys, plan in plans.items():
        print(f"rerun contract: {keys}: {sum(n for rule, n in plan.items() if rule != 'all')} jobs {plan}")
    derived = {keys: set(plan) - {"all"} for keys, plan in plans.items()}
    documented = {" ".join(row["keys"]): rules_named(row["runs"], every_rule, tables) for row in rows}
    wrong = {keys: {"documented": sorted(documented[keys]), "dry run": sorted(derived[keys])}
             for keys in documented if documented[keys] != derived[keys]}
    assert not wrong, f"docs/workflow.md's rerun table differs from Snakemake's dry runs: {wrong}"
    # how many: a new seed (pretrain.per_seed) adds its own pretraining and features, nothing else upstream;
    # a fine-tuning setting retrains every block (the endpoint's too), the CAE's settings the CAEs' chains only
    seeds = plans["finetune.seeds"]
    assert seeds["pretrain_cae"] == 1 and seeds["pretrain_cnn"] == 1 and seeds["init_random"] == 1
    assert seeds["extract_features"] == 3 * 2 and seeds["quantize_prefixes"] == 3 and seeds["finetune"] == 14
    training = plans["finetune.training.*"]
    assert training["finetune"] == 14 and training["score_int8"] == 14 and training["paper_endpoint"] == 4
    cae = plans["pretrain.cae.*"]
    # the CAEs and what hangs on them, the random trunks scaled to them included (two seeds, two tasks, two depths)
    assert cae["pretrain_cae"] == 2 and cae["init_random"] == 2 and cae["extract_features"] == 2 * 2 * 2
    assert cae["finetune"] == 2 * 2 + 2 * 2 and cae["quantize_prefixes"] == 2 * 2 and cae["score_int8"] == 2 * 2 + 2 * 2
    assert cae["paper_endpoint"] == 2
    assert plans["analysis.claim.depth analysis.claim.n_train"]["paper_endpoint"] == 2  # the endpoint's cae blocks
    assert plans["network.*"]["estimate_layer_energy"] == 2
    # an edit to a module reruns the stages that import it (the code digest of each rule's params) and what reads
    # their outputs; a comment or a docstring reruns nothing (docs/workflow.md#caching-and-reruns)
    reworded = code_edit_plan(tmp_path, "report/plots.py", lambda text: text.replace('"""', '"""Reworded. ', 1) + "\n# a comment\n")
    assert reworded == code_edit_plan(tmp_path, "report/plots.py", lambda text: text) == {}
    assert code_edit_plan(tmp_path, "report/plots.py", lambda text: text + "\nEDITED = 1\n") == {"describe_faces": 1, "plot_figures": 1}
    trainer = code_edit_plan(tmp_path, "nn/stacked_training.py", lambda text: text + "\nEDITED = 1\n")
    assert trainer["finetune"] == 14 and trainer["paper_endpoint"] == 4 and trainer["score_int8"] == 14
    assert not {"prepare_faces", "pretrain_cae", "pretrain_cnn", "init_random"} & set(trainer)

    # a damaged quantised prefix fails the int8 scoring that reads it, in one line naming the file and the fix
    prefix = results / "int8" / "prefix" / "cae" / "seed0" / "conv1.pt"
    prefix.write_bytes(prefix.read_bytes()[:200])
    block = "results/finetune/smile/cae/cae/conv1/int8_metrics.csv"
    failed = snakemake(tmp_path, TINY, "--cores", "1", block, "--forcerun", block, check=False)
    lines = [line for line in failed.stderr.splitlines() if "rule score_int8 failed:" in line]
    assert failed.returncode != 0 and len(lines) == 1, failed.stderr[-3000:]
    assert lines[0].startswith(f"rule score_int8 failed: {prefix.relative_to(tmp_path)}: cannot be read (")
    print(f"tiny end-to-end study: {elapsed:.0f} s")


def test_the_tiny_studys_figures_pass_the_figure_checks(tiny_study, tmp_path, monkeypatch):
    """The rule plot_figures' own script, run again on the tiny study's tables, draws the
    figures the study saved (pixel for pixel); each passes test_plots' checks: no text runs
    into another, intervals inside [0, 1], a tick at every N, no negative zero."""
    import matplotlib.image
    from snakemake.iocontainers import Namedlist

    from test_plots import check_figure, interval_bands
    from workflow_scripts.report import plots
    from workflow_scripts.study import config as study_config, grid as study_grid

    folder = tiny_study[0]
    results = folder / "results"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY))
    config = study_config.load_config_file(tmp_path / "config.yaml")
    networks, seeds = study_grid.trained_source_networks(config), study_grid.pretrain_seeds(config)  # those with curves
    figures = {"claim": "claim_comparison", "balanced_accuracy": "balanced_accuracy_vs_labels",
               "accuracy": "accuracy_vs_labels", "gains": "gain_heatmaps", "energy": "inference_energy",
               "tradeoff": "accuracy_energy_tradeoff", "curves": "pretraining_curves"}
    outputs = {}
    for key, name in figures.items():
        outputs.update({key: str(tmp_path / f"{name}.png"), f"{key}_vector": str(tmp_path / f"{name}.pdf")})
    inputs = {name: str(results / "analysis" / f"{name}.csv") for name in ("summary", "gains", "tradeoff")}
    job = SimpleNamespace(
        input=Namedlist(fromdict={**inputs, "inference": str(results / "energy" / "inference.csv")}),
        output=Namedlist(fromdict=outputs), log=[str(tmp_path / "plot_figures.log")], threads=1, rule="plot_figures",
        params=SimpleNamespace(claim=study_grid.claim(config), curve_labels=[(n, s) for n in networks for s in seeds]))
    job.input.curves = [str(results / "pretrain" / n / f"seed{s}" / "curve.csv") for n in networks for s in seeds]
    drawn, failed, save, close = {}, [], plots.save_figure_pair, plots.plt.close

    def save_then_check(figure, png_path, vector_path):
        name = Path(png_path).name
        save(figure, png_path, vector_path)  # as the rule saves it (closing it is left for later)
        try:  # every figure: the stage would turn the first failure into an exit
            check_figure(figure, TINY["finetune"]["train_sizes"])
        except AssertionError as error:
            failed.append(f"{name}: {error}")
        drawn[name] = len(interval_bands(figure))
        close(figure)

    monkeypatch.setattr(plots, "save_figure_pair", save_then_check)
    monkeypatch.setattr(plots.plt, "close", lambda figure: None)  # a closed figure has no renderer to check
    runpy.run_path(str(ROOT / "workflow_scripts" / "stages" / "plot_figures.py"), init_globals={"snakemake": job})
    assert not failed, "\n".join(failed)
    assert sorted(drawn) == sorted(f"{name}.png" for name in figures.values())
    # the intervals were there to check: two seeds, a band per line (the claim's: no transfer,
    # the random trunk and the CAE, on each of two tasks)
    assert drawn["claim_comparison.png"] == 2 * 3 and drawn["balanced_accuracy_vs_labels.png"] >= 2 * 3
    for name in drawn:
        again, saved = matplotlib.image.imread(tmp_path / name), matplotlib.image.imread(results / "figures" / name)
        assert again.shape == saved.shape and (again == saved).all(), f"{name} is not the figure the study saved"


def test_a_config_file_on_the_command_line_is_the_whole_config(tmp_path):
    """config.yaml in the working folder names two accelerators and the tuned variants;
    --configfile mine.yaml leaves both out, and neither comes back."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(patched(TINY, {"finetune": {"tune_transferred": True}})))
    mine = yaml.safe_load(yaml.safe_dump(TINY))
    mine["energy"] = {"hardware": {"eyeriss_like": {"hardware": "zigzag:hardware/eyeriss_like.yaml",
                                                    "mapping": "zigzag:mapping/default.yaml"}}}
    del mine["finetune"]["tune_transferred"]
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(tmp_path / "mine.yaml"),
                             "-n", "--cores", "2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    plan = planned_rules(result)
    assert plan["estimate_layer_energy"] == 1  # tpu_like is gone
    assert plan["finetune"] == 2 * (1 + 2 + 2 + 2)  # no *_tuned blocks: the schema default (false) holds


def test_nested_command_line_values_are_typed_by_the_schema(tmp_path):
    def run(value):
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY))
        return subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n", "--cores", "2", "--config", value],
                              capture_output=True, text=True, timeout=600)

    result = run("finetune={train_sizes: [99999]}")
    assert result.returncode != 0
    assert "key 'finetune.train_sizes': 99999 exceeds the training pool of 400 faces" in result.stdout + result.stderr
    assert "is not of type" not in result.stdout + result.stderr
    result = run("finetune={train_sizes: [10, 30], training: {learning_rate: 0.01}}")
    assert result.returncode == 0, result.stderr
    assert planned_rules(result)["finetune"] == 14


def test_training_jobs_on_cuda_take_a_gpu_slot_and_ask_a_scheduler_for_a_gpu(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["device"] = "cuda"
    result = snakemake(tmp_path, config, "-n", "--cores", "4", "--workflow-profile", str(ROOT / "profiles" / "gpu"))
    jobs = result.stdout.split("\nrule ") + result.stdout.split("\nlocalrule ")
    training = [job for job in jobs if job.startswith(("finetune:", "pretrain_cae:", "pretrain_cnn:"))]
    assert training and all("gpu=1" in job and "gpu_slots=1" in job for job in training)
    others = [job for job in jobs
              if job.startswith(("extract_features:", "prepare_faces:", "estimate_layer_energy:", "init_random:"))]
    assert others and not any("gpu=1" in job or "gpu_slots=1" in job for job in others)
