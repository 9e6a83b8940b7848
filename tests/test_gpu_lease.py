"""bench/gpu_lease.py: prepared MTFL faces travel without their archive, and a study resumes
across short leases, each in a fresh checkout (every script newer than the carried outputs),
to the results of one uninterrupted run from the archive."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from conftest import ROOT, _face_jpeg, landmarks_line, write_mtfl_folder, zip_folder
from test_workflow import TINY, snakemake

spec = importlib.util.spec_from_file_location("gpu_lease", ROOT / "bench" / "gpu_lease.py")
gpu_lease = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_lease)

# the tiny study cut to one task and one transfer, on MTFL-layout faces read from an archive
STUDY = yaml.safe_load(yaml.safe_dump(TINY))
STUDY["data"] = {"dataset": "mtfl", "image_size": 16, "validation_fraction": 0.2}
STUDY["pretrain"]["per_seed"] = False
STUDY["finetune"].update(tasks=["smile"], scenarios=["none", "cae"], tune_transferred=False, depths=["conv2+fc1"],
                         train_sizes=[10, 20])
STUDY["energy"] = {"hardware": {"eyeriss_like": {"hardware": "zigzag:hardware/eyeriss_like.yaml", "mapping": "zigzag:mapping/default.yaml"}}}
TARGET = "results/metrics.csv"  # the data, the CAE, its features, two blocks and the table: what a lease resumes, at least cost


def mtfl_archive(folder):
    """An MTFL-layout zip of 60 training and 20 test faces, smiling ones brighter."""
    images, lines = {}, {"training": [], "testing": []}
    for i in range(80):
        part, where = ("training", "lfw_5590") if i < 60 else ("testing", "AFLW")
        smile = 1 + i % 2
        images[f"{where}/face_{i:03d}.jpg"] = _face_jpeg(shade=90 + 70 * (smile == 1) + i % 7)
        lines[part].append(landmarks_line(f"{where}\\face_{i:03d}.jpg", (1 + i % 3 % 2, smile, 1 + i % 5 % 2, 1 + i % 5)))
    unpacked = write_mtfl_folder(folder / "unpacked", lines["training"], lines["testing"], images)
    return zip_folder(unpacked, folder / "MTFL.zip")


def fresh_checkout(folder):
    """The workflow's code copied without its times, as a lent machine receives it: every script is newer than any
    output made before."""
    folder.mkdir(parents=True)
    for name in ("Snakefile", "rules", "workflow_scripts", "envs"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, copy_function=shutil.copy, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)
    return folder


def run_lease(tmp_path, name, config, budget, grace, carry):
    code, work, out = fresh_checkout(tmp_path / f"{name}_code"), tmp_path / f"{name}_work", tmp_path / f"{name}_out"
    work.mkdir(parents=True)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_lease.py"), "lease", "--workdir", str(work),
                             "--configfile", str(work / "config.yaml"), "--out", str(out), "--budget", str(budget),
                             "--grace", str(grace), "--cores", "2", "--code-root", str(code), "--carry", *map(str, carry), "--", TARGET],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work, out, json.loads((out / "lease.json").read_text())


def metrics_of(work):
    return pd.read_csv(work / "results" / "metrics.csv").drop(columns="train_seconds")


@pytest.mark.skipif(not os.environ.get("RUN_LEASE_TEST"), reason=(
    "two timed leases of a study (minutes of wall time by design, their budget): opt in with RUN_LEASE_TEST=1; "
    "make test stays inside CI's quarter hour"))
def test_faces_travel_and_the_study_resumes_across_leases_to_an_uninterrupted_runs_results(tmp_path):
    archive = mtfl_archive(tmp_path / "mtfl")
    config = yaml.safe_load(yaml.safe_dump(STUDY))
    config["mtfl"] = {"path": str(archive)}
    whole = tmp_path / "whole"
    whole.mkdir()
    started = time.monotonic()
    snakemake(whole, config, "--cores", "2", TARGET)
    seconds = time.monotonic() - started

    parts = gpu_lease.pack_faces(whole, tmp_path / "faces.tar.xz", whole / "config.yaml")
    assert [p.name for p in parts] == ["faces.tar.xz.000"]
    # where the leases run, nothing is at mtfl.path (not part of the config hash) and nothing can be fetched
    archive.unlink()
    elsewhere = {**config, "mtfl": {"path": "data/MTFL.zip"}}

    first_work, first_out, first = run_lease(tmp_path, "first", elsewhere, budget=0.45 * seconds, grace=0.15 * seconds,
                                             carry=parts)
    planned = {job["rule"] for job in first["planned_at_start"]}
    assert "pretrain_cae" in planned and not planned & {"fetch_mtfl", "prepare_faces", "split_faces"}, planned
    assert first["restored_script_times"], "a fresh checkout's scripts are newer than the carried outputs"
    state = gpu_lease.bundles(list(first_out.glob("state.tar.xz.*")))
    assert len(state) == 1 and first["pending_jobs"] > 0, first  # the budget ended the lease before the study
    finished = {f for f in first["carried"] if not f.startswith(("results/logs/", "results/benchmarks/"))}
    assert finished and not finished & set(gpu_lease.FACE_FILES)  # the faces travel in their own bundle

    second_work, _, second = run_lease(tmp_path, "second", elsewhere, budget=10 * seconds + 120, grace=60,
                                       carry=[*parts, *state[0]])
    again = {f for job in second["planned_at_start"] for f in job["output"]} & finished
    assert not again, f"the second lease reran what the first finished: {sorted(again)}"
    assert second["pending_jobs"] == 0 and second["run"]["signals"] == []
    pd.testing.assert_frame_equal(metrics_of(second_work), metrics_of(whole))
    assert metrics_of(second_work)["config_hash"].nunique() == 1  # the archive's run and the leases' hash alike


def test_a_lease_refuses_faces_prepared_under_other_data_settings(tmp_path):
    """Where the archive is absent Snakemake cannot check prepare_faces' params: the lease does, before any job."""
    config = yaml.safe_load(yaml.safe_dump(STUDY))
    config["mtfl"] = {"path": "data/MTFL.zip"}
    prepared = tmp_path / "prepared"
    for name in gpu_lease.FACE_FILES:
        (prepared / name).parent.mkdir(parents=True, exist_ok=True)
        (prepared / name).write_text(name)
    (prepared / "config.yaml").write_text(yaml.safe_dump({**config, "data": {**config["data"], "image_size": 32}}))
    settings = gpu_lease.faces_settings(gpu_lease.study_config.load_config_file(prepared / "config.yaml"))
    parts = gpu_lease.write_bundle(prepared, list(gpu_lease.FACE_FILES), tmp_path / "faces.tar.xz",
                                   {"kind": "faces", "faces_settings": settings, "scripts": {}}, gpu_lease.FACES_FILTERS)
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit, match=r"faces.tar.xz.000: its faces were prepared under other data settings"):
        gpu_lease.main(["lease", "--workdir", str(work), "--configfile", str(work / "config.yaml"), "--out",
                        str(tmp_path / "out"), "--budget", "60", "--carry", *map(str, parts)])
    assert not (work / "results" / "metrics.csv").exists() and not (tmp_path / "out" / "lease.json").exists()
