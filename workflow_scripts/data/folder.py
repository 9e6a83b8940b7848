"""A user's own images as a face set: the ``folder`` dataset.

A folder of image files (PNG, JPEG, GIF, WebP: whatever torchvision decodes) and a
labels CSV in it (``folder.labels``, default ``labels.csv``): a column naming each image
file (``folder.image_column``, relative to the folder), one column per task holding class
names, and optionally a ``split`` column (``train`` / ``test``). Without one, a seeded
share ``folder.test_fraction`` of the rows (``data.split_seed``) becomes the test set.
The CSV's checks and class names are ``datasets.folder_labels``'.

Images may differ in size and channels. Each is prepared as MTFL's faces are
(``mtfl.crop_face``), with its centre square as the crop: decoded to one grey channel
(torchvision's ``ImageReadMode.GRAY``: colour weighted to luma, alpha dropped), cropped to
the largest centred square, and resized to ``data.image_size`` pixels a side (antialiased
bilinear). A missing or undecodable image raises ``DatasetError`` naming the CSV's row.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2 import functional as TF

from workflow_scripts.data.faces import FaceSet
from workflow_scripts.study.datasets import SPLIT_COLUMN, DatasetError, folder_test_count, read_folder_labels


def centre_square(encoded: bytes, size: int) -> torch.Tensor:
    """Decode an image to grey, crop its largest centred square, resize: uint8 [1, size, size]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torchvision's note that its image I/O will move
        image = decode_image(torch.frombuffer(bytearray(encoded), dtype=torch.uint8), mode=ImageReadMode.GRAY)
    if image.dtype != torch.uint8:  # 16-bit PNG
        image = (image.float() / torch.iinfo(image.dtype).max * 255).round().to(torch.uint8)
    side = min(image.shape[-2:])
    return TF.resize(TF.center_crop(image, [side, side]), [size, size], antialias=True)


def drawn_test_rows(n_rows: int, test_fraction: float, seed: int) -> np.ndarray:
    """Which rows form the test set where the CSV has no split column: a seeded draw of
    ``datasets.folder_test_count`` rows."""
    n_test = folder_test_count(n_rows, test_fraction)
    is_test = np.zeros(n_rows, dtype=bool)
    is_test[np.random.default_rng([seed, 3]).permutation(n_rows)[:n_test]] = True
    return is_test


def read_folder(labels_path, image_column: str, given_classes: dict, test_fraction: float, split_seed: int,
                image_size: int) -> FaceSet:
    """The face set of a labels CSV and the images it names (relative to the CSV's folder)."""
    labels_path = Path(labels_path)
    table, classes = read_folder_labels(labels_path, image_column, given_classes)
    if SPLIT_COLUMN in table:
        split = table[SPLIT_COLUMN].to_numpy()
    else:
        split = np.where(drawn_test_rows(len(table), test_fraction, split_seed), "test", "train")
    for needed in ("train", "test"):
        if needed not in set(split):
            raise DatasetError(f"{labels_path}: no {needed} rows in its split column (a study needs both)")
    images = []
    for index, name in enumerate(table[image_column]):
        where = f"{labels_path}, row {index + 2}"
        try:
            encoded = (labels_path.parent / name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise DatasetError(f"{where}: image {name!r} not found in {labels_path.parent}") from None
        try:
            images.append(centre_square(encoded, image_size))
        except RuntimeError as error:
            raise DatasetError(f"{where}: image {name!r} cannot be decoded ({str(error).splitlines()[0]})") from None
    faces = pd.DataFrame({"split": split, "path": table[image_column].to_numpy(),
                          **{task: pd.Categorical(table[task], categories=names).codes.astype(np.int64)
                             for task, names in classes.items()}})
    return FaceSet(torch.stack(images), faces)


def prepare_folder(data: dict, settings: dict, inputs, threads: int):
    """The folder entry's face set (``datasets.DATASETS``), and no record left out."""
    faces = read_folder(inputs.labels, settings["image_column"], settings["classes"], settings["test_fraction"],
                        data["split_seed"], data["image_size"])
    return faces, pd.DataFrame(columns=["where", "path", "reason"])
