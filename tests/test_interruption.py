"""Interruptions lose nothing: a run whose Snakemake is killed in the middle of a
fine-tuning job leaves that job running as an orphan; found and stopped as docs/workflow.md
says, the run resumes, with the commands it gives, to the results of an uninterrupted run
(as far as the fine-tuning's table, here);
a second run on a busy folder is refused; a killed job's temporary files are cleared."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from test_workflow import SMALL_STUDY as STUDY  # one task, one transfer, fine-tuning jobs long enough to be caught
from test_workflow import SNAKEMAKE
from workflow_scripts.atomic import partial_files
from workflow_scripts.orphans import running_jobs  # as the interruption section of docs/workflow.md finds them
from workflow_scripts.stage import run_stage


def result_tables(folder):
    tables = {}
    for path in sorted((folder / "results").rglob("*.csv")):
        relative = path.relative_to(folder / "results")
        if relative.parts[0] in ("benchmarks", "logs"):
            continue
        table = pd.read_csv(path)
        tables[str(relative)] = table.drop(columns=[c for c in table if c in ("train_seconds",)])
    return tables


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_run_resumes_to_the_results_of_an_uninterrupted_one(small_study_run, tmp_path):
    whole, killed = small_study_run, tmp_path / "killed"  # the uninterrupted run: conftest.py's, of STUDY
    killed.mkdir()

    (killed / "config.yaml").write_text(yaml.safe_dump(STUDY))
    # the killed run goes as far as the fine-tuning's table (the long jobs; what follows it is short)
    command = [*SNAKEMAKE, "--directory", str(killed), "--configfile", str(killed / "config.yaml"), "--cores", "2",
               "results/metrics.csv"]
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # the none block (convolutions from images, the slowest) started training, not finished;
        # the frozen block's heads train in about a second, too fast to be caught reliably
        log_file = killed / "results" / "logs" / "finetune" / "pose" / "none" / "none" / "none.log"
        metrics = killed / "results" / "finetune" / "pose" / "none" / "none" / "none" / "metrics.csv"
        wait_for(lambda: log_file.exists() and re.search(r"\bepoch 1\b", log_file.read_text()) and not metrics.exists(),
                 300, "the none block in training")
        os.kill(first.pid, signal.SIGKILL)  # Snakemake alone, without warning
        first.wait(timeout=60)
        # docs/workflow.md: its running jobs go on; python -m workflow_scripts.orphans finds them
        orphans = running_jobs(killed)
        assert any(".finetune.py" in command for command in orphans.values()), orphans
        # the folder stays busy: a second run is refused. Snakemake reports the first run's
        # outputs in progress as incomplete before it tries the lock, so a plain second run
        # may stop there; with --rerun-incomplete, the most a user can force, the lock (left
        # behind by the killed Snakemake) refuses it
        second = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert second.returncode != 0, second.stderr[-2000:]
        forced = subprocess.run(command + ["--rerun-incomplete"], capture_output=True, text=True, timeout=300)
        assert forced.returncode != 0 and "Directory cannot be locked" in forced.stdout + forced.stderr, forced.stderr[-2000:]
        for pid in running_jobs(killed):  # stop them before resuming
            os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not running_jobs(killed), 60, "the orphaned jobs to stop")
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        for pid in running_jobs(killed):
            os.kill(pid, signal.SIGKILL)
    assert not (killed / "results" / "metrics.csv").exists()

    # the README's recovery: unlock (the killed run's lock stays behind), rerun incomplete jobs
    for extra in (["--unlock"], ["--rerun-incomplete"]):
        resumed = subprocess.run(command + extra, capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    expected, found = result_tables(whole), result_tables(killed)
    assert set(found) <= set(expected) and {"metrics.csv", "pretrain/sources.csv", "data/subsets.csv"} <= set(found)
    assert sum(name.startswith("finetune/") for name in found) == 3 * 3  # three blocks' metrics, curves, checkpoints
    for name, table in found.items():
        pd.testing.assert_frame_equal(table, expected[name], obj=name)
    assert not [p for p in (killed / "results").rglob("*") if ".partial-" in p.name]


def test_a_stage_clears_what_a_killed_attempt_left(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # run_stage may set it: not for the rest of this worker
    output = tmp_path / "out" / "metrics.csv"
    output.parent.mkdir()
    leftover = output.parent / ".metrics.csv.partial-12345"
    leftover.write_text("half a table")
    seen = {}

    def main(snakemake):
        seen["leftovers"] = partial_files(output)
        output.write_text("done")

    job = SimpleNamespace(output=[str(output)], log=[str(tmp_path / "stage.log")], threads=1, rule="test")
    run_stage(main, job)
    assert seen["leftovers"] == [] and not leftover.exists() and output.read_text() == "done"


@pytest.mark.parametrize("torch_first", [False, True])
def test_a_stage_runs_on_its_rules_threads_whether_or_not_it_loads_torch_itself(tmp_path, torch_first):
    """run_stage gives PyTorch the rule's threads: set at once where the stage's modules
    loaded it, through OMP_NUM_THREADS where the stage loads it later (or never). One thread:
    PyTorch's default is every core (two or more here), and it reads OMP_NUM_THREADS as at
    most the cores there are."""
    code = textwrap.dedent(f"""
        import sys, types
        {"import torch" if torch_first else ""}
        from workflow_scripts.stage import run_stage

        def main(snakemake):
            import torch
            print(torch.get_num_threads(), "torch" in sys.modules)

        job = types.SimpleNamespace(output=[], log=[{str(tmp_path / "stage.log")!r}], threads=1, rule="test")
        run_stage(main, job)
    """)
    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**environment, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "True"]
