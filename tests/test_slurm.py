"""The study on a real SLURM scheduler, compared with a local run. The tests use whatever
SLURM answers on this machine and start nothing: without one they skip with the reason,
or fail where REQUIRE_SLURM=1 says one must be there (CI, whose .ci/run starts a
single-node cluster with .ci/slurm_cluster.sh first)."""

import os
import re
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from test_workflow import SMALL_STUDY as STUDY  # one task, none and cae at two depths, one accelerator
from test_workflow import SMALL_STUDY_TARGETS as TARGETS  # what the shared local run made too
from test_workflow import snakemake

# without slurmdbd, sacct fails: status comes from squeue (jobs stay visible MinJobAge = 600 s)
SLURM_ARGS = [
    "--workflow-profile", str(ROOT / "profiles" / "slurm"),
    # a group asks for its members' summed cores: the test node has 2
    "--group-components", "features=2", "int8_prefixes=2", "int8=2",
    "--slurm-keep-successful-logs", "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "5",  # last: targets may follow it
]


def slurm_missing() -> str | None:
    """Why no SLURM scheduler can take jobs here (None when one answers with an idle or mixed node)."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "SLURM is not installed (no sbatch, sinfo): .ci/slurm_cluster.sh start sets up a test cluster"
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "SLURM's controller does not answer (sinfo timed out)"
    if states.returncode != 0:
        return f"SLURM's controller does not answer: {(states.stderr.strip().splitlines() or ['sinfo failed'])[0]}"
    if not {"idle", "mixed"} & set(states.stdout.split()):
        return f"no SLURM node can take a job (node states: {' '.join(sorted(set(states.stdout.split()))) or 'none'})"
    return None


@pytest.fixture(scope="module")
def cluster():
    missing = slurm_missing()
    if missing is not None:
        if os.environ.get("REQUIRE_SLURM") == "1":
            pytest.fail(f"REQUIRE_SLURM=1, but {missing}")
        pytest.skip(missing)


def comparable(path):
    table = pd.read_csv(path)
    return table.drop(columns=[c for c in ("train_seconds",) if c in table])


def test_study_on_slurm_matches_a_local_run(cluster, small_study_run, tmp_path):
    local, remote = small_study_run, tmp_path / "slurm"  # the local run: conftest.py's, of STUDY
    remote.mkdir()
    result = snakemake(remote, STUDY, *SLURM_ARGS, *TARGETS)

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
    assert rules == {"prepare_faces", "split_roles", "draw_subsets", "pretrain_cae", "extract_features", "finetune",
                     "estimate_layer_energy"}  # and no localrule: collect_metrics and all_tasks_energy ran here
    # the two feature extractions (the CAE's, at two depths) went in one group of two
    assert grouped["features"] == [2], grouped

    # and the same config gives the same result files
    assert "localrule collect_metrics:" in result.stderr and "localrule all_tasks_energy:" in result.stderr
    for name in ("metrics.csv", "data/subsets.csv", "data/roles.csv", "pretrain/sources.csv", "energy/inference.csv",
                 "energy/eyeriss_like/layers.csv"):
        pd.testing.assert_frame_equal(comparable(local / "results" / name), comparable(remote / "results" / name), obj=name)


def test_gpu_rules_ask_slurm_for_a_gpu(cluster, tmp_path):
    """With device: cuda, a training job is submitted with a GPU request (the test node's
    GPU is a dummy: the job is scheduled, and then fails for want of CUDA)."""
    gres = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True, timeout=60).stdout
    if "gpu" not in gres and os.environ.get("REQUIRE_SLURM") != "1":
        pytest.skip("no SLURM node here offers a GPU (gres gpu)")
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
