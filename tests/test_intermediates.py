"""A damaged intermediate under results/ (cut short, or a foreign file in its place) fails
the stage that reads it in one line naming the file and the fix, and the fix works."""

import pandas as pd
import pytest
import torch

from test_workflow import TINY, snakemake
from workflow_scripts.atomic import IntermediateError, read_csv, read_torch, save_torch, write_csv
from workflow_scripts.faces import FaceSet, load_face_set, save_face_set
from workflow_scripts.tasks import TASKS


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
