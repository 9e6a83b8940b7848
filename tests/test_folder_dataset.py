"""The folder dataset: a user's own images and labels CSV, generated here as PNG files of
the synthetic renderer's faces with two tasks of class names, in mixed sizes and channels;
its bad input in one line naming the file and row; and the study on it through the real
Snakemake, end to end."""

import copy
import io
import re
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from test_workflow import SNAKEMAKE, TINY, snakemake
from workflow_scripts.data.folder import centre_square, read_folder
from workflow_scripts.data.synthetic import make_synthetic_faces
from workflow_scripts.study.config import ConfigError, check_config, config_hash, dataset_settings, load_config_file, pool_size
from workflow_scripts.study.datasets import DatasetError, dataset_tasks

# the two tasks of the generated folder, from the renderer's smile and pose labels
EXPRESSION = {0: "smiling", 1: "neutral"}
VIEW = {0: "left", 1: "left", 2: "frontal", 3: "right", 4: "right"}  # pose's five classes, three views


def png(image: torch.Tensor) -> bytes:
    """A uint8 [C, H, W] image (C = 1, 3 or 4) as PNG bytes (PIL: torchvision's encoder has no alpha)."""
    channels = image.permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(channels[..., 0] if image.shape[0] == 1 else channels).save(buffer, format="PNG")
    return buffer.getvalue()


def variant(face: torch.Tensor, kind: int) -> torch.Tensor:
    """One of four ways a user's images differ: grey at the rendered size; RGB (equal
    channels, so its grey is the face); RGBA at 1.5x the size; grey with 4 rows of padding
    above and below (not square: its centred square is the face)."""
    if kind == 0:
        return face
    if kind == 1:
        return face.expand(3, -1, -1).contiguous()
    if kind == 2:
        side = face.shape[-1] * 3 // 2
        larger = TF.resize(face, [side, side], antialias=True)
        return torch.cat([larger.expand(3, -1, -1), torch.full_like(larger, 255)])
    return torch.cat([torch.full((1, 4, face.shape[-1]), 128, dtype=torch.uint8), face,
                      torch.full((1, 4, face.shape[-1]), 128, dtype=torch.uint8)], dim=1)


# three times the renderer's default spacing of smile's and pose's classes: learnt by the tiny
# network from 192 faces at 16 px in seconds (its CNNs' test balanced accuracy 0.77 and
# 0.58 after 15 epochs; 0.54 and 0.44 at the default spacing)
SIGNAL = {"smile": 4.5, "pose": 5.25}


def write_image_folder(root, n_train=240, n_test=80, size=32, seed=0):
    """A folder of PNG faces and labels.csv (image, expression, view, split); returns the CSV's path."""
    faces = make_synthetic_faces(n_train, n_test, size, seed, SIGNAL)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for index, row in faces.table.iterrows():
        name = f"images/face_{index:04d}.png"
        (root / name).write_bytes(png(variant(faces.images[index], index % 4)))
        rows.append({"image": name, "expression": EXPRESSION[row["smile"]], "view": VIEW[row["pose"]], "split": row["split"]})
    path = root / "labels.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("own"))


def folder_config(labels, **folder):
    return {"data": {"dataset": "folder", "image_size": 16},
            "folder": {"path": str(labels.parent), "labels": labels.name, "image_column": "image", "test_fraction": 0.2,
                       "classes": {}, **folder}}


def test_tasks_and_class_names_come_from_the_csv(image_folder):
    assert dataset_tasks(folder_config(image_folder)) == {"expression": ("neutral", "smiling"),
                                                          "view": ("frontal", "left", "right")}
    # given in the config, the class order is the config's
    given = folder_config(image_folder, classes={"expression": ["smiling", "neutral"]})
    assert dataset_tasks(given)["expression"] == ("smiling", "neutral")
    faces = read_folder(image_folder, "image", {"expression": ["smiling", "neutral"]}, 0.2, 0, 16)
    labels = pd.read_csv(image_folder)
    assert list(faces.table.columns) == ["split", "path", "expression", "view"]
    assert (faces.table["expression"] == (labels["expression"] == "neutral").astype(int)).all()
    assert (faces.table["view"].map({0: "frontal", 1: "left", 2: "right"}) == labels["view"]).all()
    assert (faces.table["split"] == labels["split"]).all() and faces.images.shape == (len(labels), 1, 16, 16)


def test_mixed_sizes_and_channels_become_one_grey_square_size(tmp_path):
    """Each variant of a face is prepared as the grey face itself is: RGB with equal channels
    and the padded, non-square image exactly, the 1.5x RGBA one within resampling error."""
    face = make_synthetic_faces(1, 0, 32, seed=3).images[0]
    prepared = [centre_square(png(variant(face, kind)), 16) for kind in range(4)]
    assert all(p.shape == (1, 16, 16) and p.dtype == torch.uint8 for p in prepared)
    assert torch.equal(prepared[1], prepared[0]) and torch.equal(prepared[3], prepared[0])
    difference = (prepared[2].float() - prepared[0].float()).abs()
    assert difference.mean() < 3 and not torch.equal(prepared[2], prepared[0])


def test_without_a_split_column_a_seeded_share_is_the_test_set(image_folder, tmp_path):
    labels = pd.read_csv(image_folder).drop(columns="split")
    (tmp_path / "images").symlink_to(image_folder.parent / "images")
    labels.to_csv(tmp_path / "labels.csv", index=False)
    faces = read_folder(tmp_path / "labels.csv", "image", {}, 0.25, 7, 16)
    again = read_folder(tmp_path / "labels.csv", "image", {}, 0.25, 7, 16)
    assert (faces.table["split"] == "test").sum() == 80 and (faces.table["split"] == again.table["split"]).all()
    assert not (faces.table["split"] == read_folder(tmp_path / "labels.csv", "image", {}, 0.25, 8, 16).table["split"]).all()


def break_folder(root, edit):
    """A copy of the generated folder's labels.csv (the images shared) with ``edit`` applied."""
    labels = pd.read_csv(root / "labels.csv", dtype=str, keep_default_na=False)
    return labels if edit is None else edit(labels)


BAD_INPUT = [
    ("missing image", lambda t: t.assign(image=t["image"].where(t.index != 3, "images/nowhere.png")),
     {}, "row 5: image 'images/nowhere.png' not found in "),
    ("unknown class", lambda t: t.assign(expression=t["expression"].where(t.index != 6, "grinning")),
     {"expression": ["smiling", "neutral"]}, "row 8: expression class 'grinning' is not one of folder.classes.expression "
                                             "(smiling, neutral)"),
    ("one class", lambda t: t.assign(lighting="studio"), {}, "task 'lighting' has one class ('studio' in every row)"),
    ("empty cell", lambda t: t.assign(view=t["view"].where(t.index != 10, "")), {}, "row 12: column 'view' is empty"),
    ("bad split", lambda t: t.assign(split=t["split"].where(t.index != 0, "val")), {}, "row 2: split 'val' is not train or test"),
    ("unreadable image", lambda t: t.assign(image=t["image"].where(t.index != 1, "broken.png")), {},
     "row 3: image 'broken.png' cannot be decoded ("),
]


@pytest.mark.parametrize("what, edit, classes, message", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_one_line_naming_the_file_and_row(image_folder, tmp_path, what, edit, classes, message):
    (tmp_path / "images").symlink_to(image_folder.parent / "images")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    edit(pd.read_csv(image_folder, dtype=str, keep_default_na=False)).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(DatasetError) as raised:
        read_folder(tmp_path / "labels.csv", "image", classes, 0.2, 0, 16)
    text = str(raised.value)
    assert "\n" not in text and text.startswith(str(tmp_path / "labels.csv")) and message in text, text


def test_the_config_check_names_tasks_the_folder_does_not_have(image_folder):
    config = load_config_file_for(image_folder)
    assert config["finetune"]["tasks"] == ["expression", "view"]  # absent: every task of the dataset
    config["finetune"]["tasks"] = ["expression", "smile"]
    with pytest.raises(ConfigError, match=r"key 'finetune.tasks': 'smile' is not a task of dataset folder "
                                          r"\(its tasks: expression, view\)"):
        check_config(config)
    config = load_config_file_for(image_folder)
    config["finetune"]["cnn_sources"] = {"gender": ["smile"]}  # the schema's default names MTFL's tasks
    with pytest.raises(ConfigError, match="names no source for any of finetune.tasks"):
        check_config(config)


def test_the_registry_serves_the_config_of_a_third_dataset(image_folder):
    """What study_config asks of a dataset (settings, pool, hash) comes from its entry."""
    config = load_config_file_for(image_folder)
    assert pool_size(config) == 240 - round(0.1 * 240)  # the CSV's train rows less the validation split
    assert dataset_settings(config) == {"labels": "labels.csv", "image_column": "image", "test_fraction": 0.2, "classes": {}}
    other = copy.deepcopy(config)
    other["mtfl"]["crop_margin"], other["synthetic"]["n_train"] = 0.1, 20  # the datasets not in use
    assert config_hash(other) == config_hash(config)
    other["folder"]["test_fraction"] = 0.3
    assert config_hash(other) != config_hash(config)


def load_config_file_for(labels):
    path = labels.parent / "config.yaml"
    config = folder_config(labels)
    config["finetune"] = {"cnn_sources": "all_others"}
    path.write_text(yaml.safe_dump(config))
    return load_config_file(path)


def own_data_study(labels) -> dict:
    """TINY on the generated folder: both of its tasks, the CAE's and a CNN's frozen layers
    at one depth (the random trunk runs end to end in the tiny study), one accelerator, no
    paper's endpoint."""
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["data"]["dataset"] = "folder"
    del config["synthetic"]
    config["folder"] = {"path": str(labels.parent)}
    config["pretrain"]["per_seed"] = False
    config["pretrain"]["cnn"] = {"max_epochs": 15, "patience": 15, "batch_size": 32, "learning_rate": 0.003}
    config["finetune"].update(scenarios=["none", "cae", "cnn"], tune_transferred=False, depths=["conv2+fc1"],
                              cnn_sources={"view": ["expression"]})
    config["analysis"] = {"paper_endpoint": False}
    del config["finetune"]["tasks"]  # every task of the folder
    config["energy"] = {"hardware": {"eyeriss_like": {"hardware": "zigzag:hardware/eyeriss_like.yaml",
                                                      "mapping": "zigzag:mapping/default.yaml"}}}
    return config


def test_a_bad_labels_file_stops_snakemake_before_any_job(image_folder, tmp_path):
    (tmp_path / "own" / "images").parent.mkdir()
    (tmp_path / "own" / "images").symlink_to(image_folder.parent / "images")
    labels = pd.read_csv(image_folder, dtype=str, keep_default_na=False)
    labels.loc[4, "view"] = ""
    labels.to_csv(tmp_path / "own" / "labels.csv", index=False)
    result = snakemake(tmp_path, own_data_study(tmp_path / "own" / "labels.csv"), "--cores", "1", check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "labels.csv, row 6: column 'view' is empty" in line]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    assert not (tmp_path / "results").exists()


def test_the_study_runs_on_a_folder_of_images_end_to_end(image_folder, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(own_data_study(image_folder)))
    started = time.perf_counter()
    # about 25 jobs of a few seconds each; the limit leaves room for a machine shared with other work
    run = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(config), "--cores", "2"],
                         capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    metrics = pd.read_csv(results / "metrics.csv")
    # per task: none and cae; view also cnn from expression's CNN; 2 sizes x 2 seeds each
    assert list(dict.fromkeys(metrics["task"])) == ["expression", "view"] and len(metrics) == (2 + 3) * 2 * 2
    assert set(zip(metrics["task"], metrics["scenario"], metrics["source"])) >= {("view", "cnn", "expression")}
    # the labels reached the images they name: expression's source CNN learnt them (chance: 1/2)
    sources = pd.read_csv(results / "pretrain" / "sources.csv").set_index("network")["test_balanced_accuracy"]
    assert sources["cnn_expression"] > 0.6, sources
    balance = pd.read_csv(results / "data" / "label_balance.csv")
    assert sorted(set(zip(balance["task"], balance["class"]))) == [
        ("expression", "neutral"), ("expression", "smiling"), ("view", "frontal"), ("view", "left"), ("view", "right")]
    inference = pd.read_csv(results / "energy" / "inference.csv")
    assert set(inference["n_tasks"]) == {2}
    claim = pd.read_csv(results / "analysis" / "claim.csv")
    assert set(claim["against"]) == {"none"}  # the family's other baseline, random, is not in this study
    assert list(claim["task"]) == ["expression", "view"] and np.allclose(claim["chance_level"], [1 / 2, 1 / 3])
    summary = (results / "summary.md").read_text()
    # the summary counts this study's tasks (the paper's own "6.58x (four tasks)" may stand beside it)
    assert "**On your own images at N = 20 " in summary and "two-task inference" in summary
    assert not re.search(r"\bfour[- ]task\b|all four|four times", summary)
    assert len(list((results / "figures").glob("*.png"))) == 7
    print(f"own-data study end to end: {elapsed:.0f} s")
