"""The prepared face set on disk, the one format every later stage reads.

Two files: a uint8 tensor of grey images ``[N, 1, H, W]`` (``torch.save``) and a CSV
table with one row per image: ``split`` (``train`` or ``test``, as the source data set
assigns it), ``path`` (where the face came from) and then one column per task of the
dataset, its labels as class indices (see ``workflow_scripts.study.datasets``). Row ``i`` of
the table describes image ``i``. Every dataset writes exactly this, so nothing
downstream knows which one it reads. PyTorch is imported where images are handled, so
that the stages that read the table alone (``load_labels``) do not load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from workflow_scripts.atomic import IntermediateError, read_csv, read_torch, save_torch, write_csv
from workflow_scripts.study.datasets import TABLE_COLUMNS, task_columns

if TYPE_CHECKING:
    import torch


@dataclass
class FaceSet:
    images: torch.Tensor  # uint8 [N, 1, H, W]
    table: pd.DataFrame  # columns TABLE_COLUMNS, then one per task; one row per image

    def __post_init__(self):
        check_face_set(self.images, self.table)


def check_face_set(images, table, n_classes: dict | None = None):
    """Raise ValueError if images and table do not form a valid face set (with
    ``n_classes``, task -> class count: if a label lies outside its task's classes)."""
    import torch

    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be uint8 [N, 1, H, W], got {images.dtype} {tuple(images.shape)}")
    if len(table) != len(images):
        raise ValueError(f"{len(images)} images but {len(table)} table rows")
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"face table lacks columns {missing}")
    if not set(table["split"]).issubset({"train", "test"}):
        raise ValueError(f"split must be 'train' or 'test', got {sorted(set(table['split']))}")
    tasks = task_columns(table)
    if not tasks:
        raise ValueError("face table has no task column")
    for task in tasks:
        labels = table[task]
        if not pd.api.types.is_integer_dtype(labels) or labels.min() < 0:
            raise ValueError(f"{task} labels are not class indices (integers from 0)")
        if n_classes is not None and labels.max() >= n_classes[task]:
            raise ValueError(f"{task} labels outside 0..{n_classes[task] - 1}")


def save_face_set(faces: FaceSet, images_path, table_path):
    save_torch(faces.images, images_path)
    write_csv(faces.table[[*TABLE_COLUMNS, *task_columns(faces.table)]], table_path)


def load_face_set(images_path, table_path) -> FaceSet:
    """The face set a stage reads; IntermediateError naming the file that is damaged or
    does not match the other."""
    import torch

    images = read_torch(images_path, expect=torch.Tensor)
    table = load_labels(table_path)
    try:
        return FaceSet(images, table)
    except ValueError as error:
        # a damaged table (cut short: fewer rows) is likelier than a damaged tensor that loads
        raise IntermediateError(images_path if str(error).startswith("images must") else table_path, str(error)) from None


def load_labels(table_path) -> pd.DataFrame:
    """The face table alone (labels and splits), without the images."""
    return read_csv(table_path, columns=TABLE_COLUMNS, keep_default_na=False)
