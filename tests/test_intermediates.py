"""The intermediates under results/: what the tiny study writes into them under the
cross_validated protocol (per-task labelled subsets, checkpoint scores, how the sources
stopped), what a change of the checkpoints reruns; and a damaged intermediate (cut
short, or a foreign file in its place) fails the stage that reads it in one line naming
the file and the fix, and the fix works."""

import copy
import re

import numpy as np
import pandas as pd
import pytest
import torch

from test_workflow import TINY, planned_rules, snakemake
from workflow_scripts.atomic import IntermediateError, read_csv, read_torch, save_torch, write_csv
from workflow_scripts.data.faces import FaceSet, load_face_set, save_face_set
from workflow_scripts.data.splits import SUBSET_COLUMNS, subset_faces
from workflow_scripts.study.columns import CHECKPOINT_SCORE_COLUMNS
from workflow_scripts.study.datasets import MTFL_CLASSES

TASKS = tuple(MTFL_CLASSES)  # the synthetic set's tasks

CROSS_VALIDATED = copy.deepcopy(TINY)
CROSS_VALIDATED["finetune"].update(tasks=["smile"], scenarios=["none", "cae"], tune_transferred=True,
                                   depths=["conv2+fc1"], epoch_choice="cross_validated", folds=2)
CROSS_VALIDATED["analysis"] = {"checkpoints": [1, 2, 50]}  # 50 lies beyond max_epochs (3): not scored
TABLES = ["results/metrics.csv", "results/checkpoints.csv", "results/pretrain/sources.csv"]


def test_a_cross_validated_study_writes_subsets_per_task_checkpoint_scores_and_how_sources_stopped(tmp_path):
    snakemake(tmp_path, CROSS_VALIDATED, "--cores", "2", *TABLES)
    results = tmp_path / "results"
    subsets = pd.read_csv(results / "data" / "subsets.csv")
    assert list(subsets.columns) == SUBSET_COLUMNS and set(subsets["task"]) == set(TASKS)
    smile_20, smile_40 = (subset_faces(subsets, "smile", 0, n) for n in (20, 40))
    assert list(smile_40[:20]) == list(smile_20)

    metrics = pd.read_csv(results / "metrics.csv")
    assert len(metrics) == 3 * 2 * 2 and (metrics["folds"] == 2).all()  # 3 blocks x 2 sizes x 2 seeds
    # the CAE's layers frozen, and fine-tuned from the CAE's weights (tune_transferred)
    assert sorted(set(metrics["scenario"])) == ["cae", "cae_tuned", "none"]
    assert (metrics["n_fit"] == metrics["n_train"]).all() and (metrics["best_epoch"] <= metrics["epochs_run"]).all()
    # the refit trains on to the last checkpoint up to max_epochs (2), whatever count its folds chose
    assert (metrics["epochs_run"] >= 2).all()

    scores = pd.read_csv(results / "checkpoints.csv")
    assert list(scores.columns) == CHECKPOINT_SCORE_COLUMNS and len(scores) == 2 * len(metrics)
    assert sorted(set(scores["epochs"])) == [1, 2] and scores["balanced_accuracy"].between(0, 1).all()
    members = ["task", "scenario", "source", "depth", "n_train", "seed", "pretrain_seed"]
    assert set(map(tuple, scores[members].to_numpy())) == set(map(tuple, metrics[members].to_numpy()))
    block = pd.read_csv(results / "finetune" / "smile" / "cae" / "cae" / "conv2+fc1" / "checkpoints.csv")
    assert list(block.columns) == CHECKPOINT_SCORE_COLUMNS and set(block["scenario"]) == {"cae"} and len(block) == 8

    sources = pd.read_csv(results / "pretrain" / "sources.csv")
    assert list(sources.columns[:6]) == ["network", "seed", "epochs_run", "best_epoch", "max_epochs", "stopped_early"]
    assert set(sources["network"]) == {"cae"} and (sources["max_epochs"] == 2).all()
    assert sources["stopped_early"].dtype == np.bool_ and (sources["best_epoch"] <= sources["epochs_run"]).all()
    # a CAE still improving at its cap (its best epoch is its last) did not stop early
    assert not sources.loc[sources["best_epoch"] == sources["max_epochs"], "stopped_early"].any()

    def rerun_plan(edit):
        config = copy.deepcopy(CROSS_VALIDATED)
        edit(config)
        return planned_rules(snakemake(tmp_path, config, "-n", "--cores", "2", *TABLES))

    assert rerun_plan(lambda c: None) == {}
    # the checkpoints rerun the fine-tuning, nothing upstream
    assert rerun_plan(lambda c: c["analysis"].update(checkpoints=[3])) == {"finetune": 3, "collect_metrics": 1}

    # under from_labels nobody is scored at checkpoints: the table has its columns, no rows
    from_labels = copy.deepcopy(CROSS_VALIDATED)
    from_labels["finetune"]["epoch_choice"] = "from_labels"
    snakemake(tmp_path, from_labels, "--cores", "2", *TABLES)
    scores = pd.read_csv(results / "checkpoints.csv")
    assert list(scores.columns) == CHECKPOINT_SCORE_COLUMNS and scores.empty

    # a block's table cut in the middle of a row, or a foreign one, fails the stage that reads
    # it in one line naming it and the fix (pandas would read a number cut short as a number)
    block_metrics = results / "finetune" / "smile" / "none" / "none" / "none" / "metrics.csv"
    written = block_metrics.read_bytes()
    block_metrics.write_bytes(written[:-4])
    result = snakemake(tmp_path, from_labels, "--cores", "1", "results/metrics.csv", check=False)
    lines = [line for line in result.stderr.splitlines() if f"{block_metrics.relative_to(tmp_path)}: cannot be read" in line]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-3000:]
    assert "(it ends in the middle of a row)" in lines[0] and "--forcerun" in lines[0]
    block_metrics.write_bytes(written)
    block_checkpoints = block_metrics.with_name("checkpoints.csv")
    block_checkpoints.write_text("split,path\ntrain,a.png\n")
    result = snakemake(tmp_path, from_labels, "--cores", "1", "results/metrics.csv", check=False)
    lines = [line for line in result.stderr.splitlines() if f"{block_checkpoints.relative_to(tmp_path)}: cannot be read" in line]
    assert result.returncode != 0 and len(lines) == 1 and "(no column 'task'" in lines[0], result.stderr[-3000:]


def small_face_set(n=6):
    table = pd.DataFrame({"split": ["train"] * n, "path": [f"f{i}.png" for i in range(n)], **{task: [0] * n for task in TASKS}})
    return FaceSet(torch.zeros(n, 1, 8, 8, dtype=torch.uint8), table)


def test_a_truncated_or_foreign_torch_file_is_named_with_the_fix(tmp_path):
    path = tmp_path / "faces.pt"
    save_torch(torch.arange(1000), path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(IntermediateError, match=rf"^{path}: cannot be read \(.+\); .*delete it, or rerun with --forcerun {path}") as caught:
        read_torch(path)
    assert "\n" not in str(caught.value)
    path.write_text("split,path\ntrain,a.png\n")  # a table where a tensor belongs
    with pytest.raises(IntermediateError, match=rf"^{path}: cannot be read"):
        read_torch(path)
    save_torch({"weights": torch.ones(2)}, path)
    with pytest.raises(IntermediateError, match=rf"^{path}: cannot be read \(holds a dict, not a Tensor\)"):
        read_torch(path, expect=torch.Tensor)
    assert read_torch(path)["weights"].sum() == 2


def test_an_unreadable_or_foreign_table_is_named_with_the_fix(tmp_path):
    path = tmp_path / "roles.csv"
    path.write_bytes(b"")
    with pytest.raises(IntermediateError, match=rf"^{path}: cannot be read \(EmptyDataError"):
        read_csv(path)
    path.write_bytes(torch.arange(10).numpy().tobytes() + b"\xff\xfe\x00\x81")
    with pytest.raises(IntermediateError, match=rf"^{path}: cannot be read"):
        read_csv(path)
    write_csv(pd.DataFrame({"a": [1]}), path)
    with pytest.raises(IntermediateError, match=rf"^{path}: cannot be read \(no column 'role'\)"):
        read_csv(path, columns=["a", "role"])


def test_a_table_cut_in_the_middle_of_a_row_is_named(tmp_path):
    path = tmp_path / "metrics.csv"
    write_csv(pd.DataFrame({"task": ["smile", "pose"], "accuracy": [0.625, 0.5]}), path)
    path.write_bytes(path.read_bytes()[:-3])  # the last row cut to "pose,0": pandas alone reads 0.0
    assert pd.read_csv(path)["accuracy"].tolist() == [0.625, 0.0]
    with pytest.raises(IntermediateError, match=rf"^{re.escape(str(path))}: cannot be read \(it ends in the middle of a row\)"):
        read_csv(path)


def test_a_face_table_cut_short_is_named(tmp_path):
    images, table = tmp_path / "faces.pt", tmp_path / "faces.csv"
    save_face_set(small_face_set(), images, table)
    assert len(load_face_set(images, table).table) == 6
    table.write_text("\n".join(table.read_text().splitlines()[:4]) + "\n")
    with pytest.raises(IntermediateError, match=rf"^{table}: cannot be read \(6 images but 3 table rows\)"):
        load_face_set(images, table)


def test_a_truncated_faces_file_fails_its_reader_in_one_line_and_the_named_fix_works(tmp_path):
    snakemake(tmp_path, TINY, "--cores", "2", "results/data/faces.pt", "results/data/roles.csv")
    faces = tmp_path / "results" / "data" / "faces.pt"
    faces.write_bytes(faces.read_bytes()[: faces.stat().st_size // 2])
    result = snakemake(tmp_path, TINY, "--cores", "1", "results/data/preview.png", check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "results/data/faces.pt: cannot be read" in line]
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("rule describe_faces failed: results/data/faces.pt: cannot be read (")
    assert "--forcerun results/data/faces.pt" in lines[0] and "failed finding central directory" in lines[0]
    snakemake(tmp_path, TINY, "--cores", "2", "results/data/preview.png", "--forcerun", "results/data/faces.pt")
    assert (tmp_path / "results" / "data" / "preview.png").exists()
    assert read_torch(faces).shape[0] == 700
