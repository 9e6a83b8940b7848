"""The commands README.md and docs/*.md show, run as written in a copy of the project with
no network at all (a network namespace of its own, ``unshare -rn``) and the MTFL archive at
a local path: a dry run where the real thing takes long, so a documented command cannot
rot. The copy keeps the files' times and uses this project's installed .venv (installing
needs the package index, the one download README allows)."""

import os
import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT, offline_environment, write_mtfl_folder, zip_folder
from test_download import needs_unshare, offline

DOCUMENTS = ["README.md", *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md"))]
# the documents' stand-ins for what a reader fills in
PLACEHOLDERS = {"/path/to/MTFL.zip": "{archive}", "/data/MTFL.zip": "{archive}", "<partition>": "debug", "<account>": "lab",
                "path/to/config.yaml": "config.yaml", "CONFIG=my.yaml": "CONFIG=config.yaml", "study.config my.yaml": "study.config config.yaml", " [--configfile …]": ""}
# commands not run here, and why; every other command of the documents is
NOT_RUN = {
    ".venv/bin/python bench/paper_scale.py blocks --device cuda": "trains on a GPU for minutes (docs/gpu.md); bench/ has its own tests",
    ".venv/bin/python bench/paper_scale.py slice -- --workflow-profile profiles/gpu --config device=cuda": "runs part of the paper-scale study on a GPU",
    ".venv/bin/python bench/synthetic_calibration.py --sizes 50 200 1000": "trains classifiers for minutes (docs/synthetic.md)",
    ".venv/bin/python bench/synthetic_calibration.py --signal glasses=0.7 pose=2 --sizes 200 1000": "trains classifiers for minutes",
    "sudo .ci/slurm_cluster.sh start && .venv/bin/pytest tests/test_slurm.py; sudo .ci/slurm_cluster.sh stop":
        "installs and starts a SLURM cluster as root, what CI's .ci/run does; make test changes nothing on the machine",
    "make run CONFIG=my_faces.yaml": "runs a study on the reader's own folder of images (tests/test_folder_dataset.py runs one)",
    "make report": "builds the report of a finished study: tests/test_workflow.py builds the tiny study's with its command",
    ".venv/bin/python -m workflow_scripts.report.publish workflow_scripts/config/mtfl_quick.yaml docs/mtfl_quick [--cores N] [--archive PATH]":
        "runs the whole MTFL study, then rewrites docs/; its options are in brackets",
    ".venv/bin/python bench/gpu_lease.py pack-faces . build/carry/faces.tar.xz --configfile workflow_scripts/config/mtfl_paper.yaml":
        "packs the faces the MTFL data stage prepared (tests/test_gpu_lease.py packs a tiny study's)",
    'python3 bench/gpu_lease.py lease --workdir . --configfile workflow_scripts/config/mtfl_paper.yaml --out "$OUT" --budget 450 '
    '--grace 150 --carry build/carry/* --config-value device=cuda -- --workflow-profile profiles/gpu':
        "one lease of the paper-scale study on a GPU machine (tests/test_gpu_lease.py runs two of a tiny study)",
}


def shell_commands(markdown: str) -> list[str]:
    """The commands of the ```sh blocks (continuation lines joined, comments dropped) and
    those quoted in the text (`make …`, `.venv/bin/…`)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(re.split(r"(?:^|\s)#", line)[0].split())
            if command:
                commands.append(command)
    without_blocks = re.sub(r"```.*?```", "", markdown, flags=re.S)
    commands += re.findall(r"`((?:make |\.venv/bin/)[^`]*)`", without_blocks)
    return list(dict.fromkeys(commands))


def documented_commands() -> list[tuple[str, str]]:
    """(first document that shows it, command) of every distinct command."""
    first = {}
    for name in DOCUMENTS:
        for command in shell_commands((ROOT / name).read_text()):
            first.setdefault(command, name)
    return [(name, command) for command, name in first.items()]


def as_run_here(command: str, archive) -> str:
    """The command with its placeholders filled and, where the real thing is long, as a dry run."""
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value.format(archive=archive))
    words = shlex.split(command)
    if words[:2] == ["make", "run"]:
        given = [w for w in words if w.startswith("ARGS=")]
        if given and "--dry-run" not in given[0]:
            words[words.index(given[0])] = given[0] + " --dry-run"
        elif not given:
            words.append("ARGS=--dry-run")
        return shlex.join(words)
    if words[0] == ".venv/bin/snakemake" and "--unlock" not in words:
        return command + " --dry-run"
    if words[0] == ".venv/bin/pytest":
        return command + " --collect-only"
    return command  # quick as it is: make docs (docs/config.md must not change), --unlock, pgrep


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory):
    """This project's files (tracked and new, not ignored) with their times, and its .venv."""
    copy = tmp_path_factory.mktemp("clone") / "project"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    # make must find .venv installed: were it out of date, `make run` would reinstall into
    # the project's own .venv
    if subprocess.run(["make", "-q", ".venv/.installed"], cwd=copy).returncode != 0:
        pytest.fail("the project's .venv is older than requirements.txt or pyproject.toml: run `make test` once")
    archive = zip_folder(write_mtfl_folder(tmp_path_factory.mktemp("mtfl")), tmp_path_factory.mktemp("local") / "MTFL.zip")
    return copy, archive


def test_every_documented_command_is_run_or_named_here():
    commands = [command for _, command in documented_commands()]
    assert any(c.startswith("make run") for c in commands) and any(c.startswith("make test") for c in commands)
    assert set(NOT_RUN) <= set(commands), set(NOT_RUN) - set(commands)


def test_make_run_checks_the_config_then_runs_the_study_with_the_config_and_args():
    """The documented config check, then run_study with the same CONFIG and ARGS (which
    passes them to every Snakemake call, the report's included: tests/test_run_study.py)."""
    args = "--config mtfl='{path: /elsewhere/MTFL.zip}'"
    plan = subprocess.run(["make", "-n", "run", "CONFIG=my.yaml", "CORES=3", f"ARGS={args}"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    assert plan.splitlines() == [".venv/bin/python -m workflow_scripts.study.config my.yaml",
                                 f".venv/bin/python -m workflow_scripts.run_study my.yaml 3 {args}"]


def test_make_report_is_the_report_command_of_make_run():
    """make report runs the command the end-to-end test of tests/test_workflow.py builds the
    tiny study's report with, under make run's CONFIG and ARGS (the config file last: it
    takes every word after it)."""
    plan = subprocess.run(["make", "-n", "report", "CONFIG=my.yaml", "ARGS=--config device=cpu"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    assert plan.splitlines() == [".venv/bin/snakemake --config device=cpu --configfile my.yaml --report results/report.html"]


def test_make_help_lists_the_targets():
    listed = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    targets = [line.split()[1] for line in listed.splitlines()]
    assert {"run", "test", "report", "docs", "lint", "clean"} <= set(targets), listed
    declared = re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), flags=re.M)
    assert sorted(targets) == sorted(declared), (targets, declared)  # every target the Makefile declares, once


@needs_unshare
@pytest.mark.parametrize("document, command", documented_commands(), ids=lambda value: value[:70])
def test_a_documented_command_works_offline(project_copy, document, command):
    if command in NOT_RUN:
        pytest.skip(NOT_RUN[command])
    copy, archive = project_copy
    line = as_run_here(command, archive)
    if line == "make test":  # the suite's own command, collecting instead of running
        printed = subprocess.run(["make", "-n", "test"], cwd=copy, capture_output=True, text=True, check=True).stdout
        line = printed.strip().splitlines()[-1] + " --collect-only"
    env = offline_environment(copy.parent, {**os.environ, "PYTHONPATH": str(copy), "PWD": str(copy)})
    # as a reader types it: in a shell, here one with no network
    result = subprocess.run(["unshare", "--map-root-user", "--net", "bash", "-c", line], cwd=copy, env=env,
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    # pgrep and pkill answer 1 when no process matches: here, none of this copy's jobs runs
    allowed = (0, 1) if line.split()[0] in ("pgrep", "pkill") else (0,)
    assert result.returncode in allowed, f"{document}: {line}\n{output[-3000:]}"
    if "--dry-run" in line:
        assert "This was a dry-run" in output or "Nothing to be done" in output, output[-2000:]
        if str(archive) in line:  # the local archive is read in place
            assert "fetch_mtfl" not in output
        elif "CONFIG=workflow_scripts/config/mtfl" in command:  # none at mtfl.path: the plan fetches it
            assert "fetch_mtfl" in output
    assert not (copy / "data" / "MTFL.zip").exists()
    assert (copy / "docs" / "config.md").read_text() == (ROOT / "docs" / "config.md").read_text()


def test_offline_runs_only_what_a_network_namespace_allows(tmp_path):
    """The mechanism itself: inside the namespace nothing, not even a loopback server, is reachable."""
    if offline(["true"], tmp_path).returncode != 0:
        pytest.skip("needs unprivileged network namespaces (unshare -rn)")
    probe = offline(["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 9), timeout=2)"], tmp_path)
    assert probe.returncode != 0 and "Network is unreachable" in probe.stderr


def test_make_run_with_a_missing_or_broken_config_file_says_so_in_one_line(project_copy):
    copy, _ = project_copy
    (copy / "broken.yaml").write_text("finetune: {seeds: [0, 1}\n")
    for config, message in [("nope.yaml", "nope.yaml: no such config file"),
                            ("broken.yaml", "broken.yaml: not valid YAML at line 1, column 24")]:
        result = subprocess.run(["make", "--no-print-directory", "run", f"CONFIG={config}"], cwd=copy,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        lines = [line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("make: ***")]
        assert len(lines) == 1 and lines[0].startswith(message), lines


def test_make_run_of_part_of_the_study_skips_the_report_and_a_failed_run_marks_the_results_stale(project_copy):
    """`make run ARGS="--until prepare_faces"` runs, then says why it builds no report (the
    report needs the whole study), exit 0; a run that fails puts a stale line on the summary
    and the report the last good run left, and writes results/STALE.md."""
    copy, _ = project_copy
    tiny = {"data": {"dataset": "synthetic", "image_size": 16}, "synthetic": {"n_train": 200, "n_test": 100, "seed": 0},
            "network": {"conv": [{"channels": 4, "kernel": 3, "maxpool": 2}], "fc1": 8, "fc2": 4},
            "finetune": {"depths": ["conv1"], "train_sizes": [20], "seeds": [0]}}
    (copy / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    results = copy / "results"
    env = {**os.environ, "PYTHONPATH": str(copy)}
    try:
        partial = subprocess.run(["make", "--no-print-directory", "run", "CONFIG=tiny.yaml", "CORES=1",
                                  "ARGS=--until prepare_faces"], cwd=copy, env=env, capture_output=True, text=True, timeout=600)
        assert partial.returncode == 0, partial.stdout[-2000:] + partial.stderr[-2000:]
        assert "make run: no report: --until prepare_faces run part of the study" in partial.stdout
        assert (results / "data" / "faces.csv").exists() and not (results / "report.html").exists()

        (results / "summary.md").write_text("# The answer of the last good run\n")
        (results / "report.html").write_text("<html><body class=x><p>last good report</p></body></html>")
        broken = {**tiny, "data": {**tiny["data"], "dataset": "mtfl"}, "mtfl": {"path": "cut_short.zip"}}
        (copy / "cut_short.zip").write_bytes(b"PK\x03\x04 half an archive")
        (copy / "broken.yaml").write_text(yaml.safe_dump(broken))
        failed = subprocess.run(["make", "--no-print-directory", "run", "CONFIG=broken.yaml", "CORES=1"], cwd=copy,
                                env=env, capture_output=True, text=True, timeout=600)
        assert failed.returncode != 0 and "cut_short.zip: not a zip archive" in failed.stdout + failed.stderr
        summary = (results / "summary.md").read_text()
        assert summary.splitlines()[1].startswith("> **Stale: the last `make run` (") and "failed" in summary.splitlines()[1]
        assert summary.endswith("# The answer of the last good run\n")
        report = (results / "report.html").read_text()
        assert report.index("Stale: the last `make run`") < report.index("last good report")
        assert (results / "STALE.md").read_text().startswith("# Stale: the last `make run`")
    finally:
        shutil.rmtree(results, ignore_errors=True)
        shutil.rmtree(copy / ".snakemake", ignore_errors=True)
