"""The study on a real SLURM scheduler (a throw-away single-node cluster this test starts),
compared with a local run. Runs as root on Debian; skips elsewhere."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from test_workflow import TINY, snakemake

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
# without slurmdbd, sacct fails: status comes from squeue (jobs stay visible MinJobAge = 600 s)
SLURM_ARGS = [
    "--workflow-profile", str(ROOT / "profiles" / "slurm"),
    "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "5",
    "--slurm-keep-successful-logs",
    # a group asks for its members' summed cores: the test node has 2
    "--group-components", "features=2", "int8_prefixes=2", "int8=2",
]
STUDY = yaml.safe_load(yaml.safe_dump(TINY))
STUDY["finetune"].update(scenarios=["none", "cae", "cnn"], tune_transferred=False, depths=["conv2+fc1"])
STUDY["pretrain"].update(per_seed=False)  # one source network each: fewer jobs for the scheduler test
STUDY["energy"] = {"hardware": {"eyeriss_like": {"hardware": "zigzag:hardware/eyeriss_like.yaml", "mapping": "zigzag:mapping/default.yaml"}}}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="starting a SLURM cluster needs root"),
    pytest.mark.skipif(not Path("/etc/debian_version").exists(), reason="the test cluster is set up with Debian packages"),
]


@pytest.fixture(scope="module")
def cluster():
    started = subprocess.run([str(CLUSTER), "start"], capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        pytest.fail(f"could not start the test cluster:\n{started.stdout}\n{started.stderr}")
    try:
        yield
    finally:
        subprocess.run([str(CLUSTER), "stop"], timeout=60)


def comparable(path):
    table = pd.read_csv(path)
    return table.drop(columns=[c for c in ("train_seconds",) if c in table])


def test_study_on_slurm_matches_a_local_run(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "slurm"
    local.mkdir()
    remote.mkdir()
    snakemake(local, STUDY, "--cores", "2")
    result = snakemake(remote, STUDY, *SLURM_ARGS)

    # the jobs really went through SLURM: each left a log named by its SLURM job id, and
    # the controller remembers those jobs as completed, with the rule (or group) that ran
    assert "SLURM run ID" in result.stdout + result.stderr
    log_root = remote / ".snakemake" / "slurm_logs"
    rules, grouped = set(), {}
    for log in (p for p in log_root.rglob("*.log") if p.stem.isdigit()):  # {rule,group}_<name>/[wildcards/]<job id>.log
        kind, _, name = log.relative_to(log_root).parts[0].partition("_")
        job = subprocess.run(["scontrol", "show", "job", log.stem], capture_output=True, text=True).stdout
        assert "JobState=COMPLETED" in job, job
        if kind == "rule":
            assert f"Comment=rule_{name}" in job, job
            rules.add(name)
        else:  # a group job runs its members in one SLURM job; its log names each of them
            members = re.findall(r"^localrule (\w+):", log.read_text(), flags=re.MULTILINE)
            rules.update(members)
            grouped.setdefault(name.split("_")[0], []).append(len(members))
    assert {"prepare_faces", "pretrain_cae", "pretrain_cnn", "extract_features", "finetune", "estimate_layer_energy"} <= rules
    assert not rules & {"collect_metrics", "analyse_results", "plot_figures"}  # localrules stay local
    # the three feature extractions (three networks, one depth) went in groups of up to two
    assert sum(grouped["features"]) == 3 and max(grouped["features"]) == 2, grouped

    # and the same config gives the same result files
    for name in ("metrics.csv", "data/subsets.csv", "data/roles.csv", "data/label_balance.csv",
                 "energy/inference.csv", "energy/eyeriss_like/layers.csv", "analysis/gains.csv"):
        pd.testing.assert_frame_equal(comparable(local / "results" / name), comparable(remote / "results" / name), obj=name)


def test_gpu_rules_ask_slurm_for_a_gpu(cluster, tmp_path):
    """With device: cuda, a training job is submitted with a GPU request (the test node's
    GPU is a dummy: the job is scheduled, and then fails for want of CUDA)."""
    config = yaml.safe_load(yaml.safe_dump(STUDY))
    snakemake(tmp_path, config, "--cores", "2", "results/data/roles.csv")  # the data, locally
    config["device"] = "cuda"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(tmp_path / "config.yaml"), *SLURM_ARGS, "--retries", "0", "results/pretrain/cae/seed0/model.pt"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    requests, job_ids = set(), set()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and run.poll() is None:
            queue = subprocess.run(["squeue", "-h", "-o", "%i %k %b"], capture_output=True, text=True).stdout
            for line in queue.splitlines():
                job_id, comment = line.split()[:2]
                if "pretrain_cae" in comment:
                    job_ids.add(job_id)
                    details = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
                    requests.add("gres:gpu:1" in details.replace("gres/gpu", "gres:gpu"))
            if requests:
                break
            time.sleep(0.2)
    finally:
        run.kill()
        run.wait()
        if job_ids:
            subprocess.run(["scancel", *job_ids], capture_output=True)
    assert requests == {True}, "pretrain_cae was not seen in the queue with a GPU request"
