"""Reading MTFL (Zhang et al., ECCV 2014): its official zip archive or the unpacked folder.

``training.txt`` and ``testing.txt`` hold one face a line:
``path x1..x5 y1..y5 gender smile glasses pose`` with Windows back-slash paths, leading
spaces, CRLF endings and the odd blank line. Each face is cropped by a square box around
its five landmarks, turned grey and resized; labels become class indices (raw - 1).

A malformed line or an unreadable image raises ``MTFLError`` naming the file and line,
unless ``skip_bad_records`` is set: then the record is left out and reported.
"""

import warnings
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd
import torch
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2 import functional as TF

from workflow_scripts.data.faces import FaceSet
from workflow_scripts.study.datasets import MTFL_CLASSES

ANNOTATION_FILES = {"train": "training.txt", "test": "testing.txt"}
TASKS = tuple(MTFL_CLASSES)  # the MTFL entry's tasks, in the annotation's order
N_FIELDS = 1 + 10 + len(TASKS)


class MTFLError(ValueError):
    """A record of MTFL that cannot be used, with the file and line at fault."""


@dataclass(frozen=True)
class Record:
    where: str  # "<annotation file>:<line>", for messages
    path: str  # image path relative to the annotation file's folder, forward slashes
    landmarks: tuple[float, ...]  # x1..x5, y1..y5 in pixels
    labels: tuple[int, ...]  # class index per task, in TASKS order


def parse_line(text: str, where: str) -> Record | None:
    """One annotation line as a Record; None for a blank line; MTFLError if malformed."""
    fields = text.split()
    if not fields:
        return None
    if len(fields) != N_FIELDS:
        raise MTFLError(f"{where}: expected {N_FIELDS} fields (path, 10 landmarks, 4 labels), got {len(fields)}")
    path = fields[0].replace("\\", "/")
    try:
        landmarks = tuple(float(v) for v in fields[1:11])
    except ValueError as error:
        raise MTFLError(f"{where}: landmark is not a number ({error})") from None
    labels = []
    for task, raw in zip(TASKS, fields[11:]):
        if not raw.isdigit() or not 1 <= int(raw) <= len(MTFL_CLASSES[task]):
            raise MTFLError(f"{where}: {task} label {raw!r} is not an integer in 1..{len(MTFL_CLASSES[task])}")
        labels.append(int(raw) - 1)
    return Record(where, path, landmarks, tuple(labels))


class MTFLSource:
    """Files of MTFL, from ``MTFL.zip`` or from the folder it unpacks to."""

    def __init__(self, location):
        self.location = Path(location)
        if not self.location.exists():
            raise MTFLError(f"{self.location}: MTFL archive or folder not found")
        if self.location.is_dir():
            self._zip = None
            names = [str(p.relative_to(self.location)) for p in self.location.rglob("*.txt")]
        else:
            try:
                self._zip = zipfile.ZipFile(self.location)
            except zipfile.BadZipFile:
                raise MTFLError(f"{self.location}: not a zip archive nor a folder (a download cut short?); "
                                "download it again (docs/mtfl.md)") from None
            names = self._zip.namelist()
        self._root = self._find_root(names)

    def _find_root(self, names):
        for name in names:
            path = PurePosixPath(name)
            if path.name == ANNOTATION_FILES["train"]:
                return path.parent
        raise MTFLError(f"{self.location}: no {ANNOTATION_FILES['train']} inside")

    def display(self, relative: str) -> str:
        return f"{self.location}/{self._root / relative}"

    def read(self, relative: str) -> bytes:
        """Bytes of a file given relative to the folder holding the annotation files."""
        name = str(self._root / relative)
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.location / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise FileNotFoundError(f"{self.display(relative)} not found") from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:  # a damaged member: bad CRC-32, broken deflate data
            raise MTFLError(f"{self.location}: member {name} is damaged ({error}); download the archive again, "
                            "or set mtfl.skip_bad_records: true to leave such records out") from None


def read_records(source: MTFLSource, split: str, skip_bad_records: bool, skipped: list) -> list[Record]:
    annotation = ANNOTATION_FILES[split]
    text = source.read(annotation).decode("utf-8", errors="strict")
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source.display(annotation)}:{number}"
        try:
            record = parse_line(line, where)
        except MTFLError as error:
            if not skip_bad_records:
                raise
            skipped.append({"where": where, "path": line.strip()[:200], "reason": str(error).split(": ", 1)[1]})
            continue
        if record is not None:
            records.append(record)
    return records


def landmark_box(landmarks, margin: float) -> tuple[int, int, int]:
    """Square crop (top, left, side) centred on the landmarks' bounding box.

    The side is the box's larger extent times ``1 + 2 * margin``: margin 0.6 keeps about
    a forehead and a chin around the eyes-to-mouth region.
    """
    xs, ys = landmarks[:5], landmarks[5:]
    extent = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    side = extent * (1 + 2 * margin)
    centre_x, centre_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return round(centre_y - side / 2), round(centre_x - side / 2), max(round(side), 1)


def crop_face(encoded: bytes, landmarks, margin: float, size: int) -> torch.Tensor:
    """Decode an image, crop the landmark box (zero padding outside) and resize: uint8 [1, size, size]."""
    with warnings.catch_warnings():
        # torchvision 0.29 warns on every decode that its image I/O will move to
        # torchcodec; it still works, and torchvision is this pipeline's pinned decoder
        warnings.simplefilter("ignore", DeprecationWarning)
        image = decode_image(torch.frombuffer(bytearray(encoded), dtype=torch.uint8), mode=ImageReadMode.GRAY)
    top, left, side = landmark_box(landmarks, margin)
    face = TF.crop(image, top, left, side, side)
    return TF.resize(face, [size, size], antialias=True)


def read_mtfl(location, image_size: int, crop_margin: float, skip_bad_records: bool = False, threads: int = 1):
    """All faces of MTFL as a FaceSet, and a table of the records left out (empty unless skipping)."""
    source = MTFLSource(location)
    skipped: list[dict] = []
    records, splits = [], []
    for split in ANNOTATION_FILES:
        split_records = read_records(source, split, skip_bad_records, skipped)
        records += split_records
        splits += [split] * len(split_records)

    def decode(item):
        record, encoded = item
        if encoded is None:
            return None, f"image {record.path} not found"
        if isinstance(encoded, MTFLError):
            return None, str(encoded)
        try:
            return crop_face(encoded, record.landmarks, crop_margin, image_size), None
        except RuntimeError as error:
            return None, f"image {record.path} cannot be decoded ({str(error).splitlines()[0]})"

    # Reading stays in this thread (zipfile is not thread-safe); decoding and resizing,
    # which release the GIL, go to the pool.
    def encoded_records():
        for record in records:
            try:
                yield record, source.read(record.path)
            except FileNotFoundError:
                yield record, None
            except MTFLError as damaged:
                yield record, damaged

    with ThreadPoolExecutor(max(threads, 1)) as pool:
        results = list(pool.map(decode, encoded_records()))

    images, rows = [], []
    for record, split, (image, problem) in zip(records, splits, results):
        if problem is not None:
            if not skip_bad_records:
                raise MTFLError(f"{record.where}: {problem}")
            skipped.append({"where": record.where, "path": record.path, "reason": problem})
            continue
        images.append(image)
        rows.append({"split": split, "path": record.path, **dict(zip(TASKS, record.labels))})
    if not images:
        raise MTFLError(f"{location}: no usable faces")
    table = pd.DataFrame(rows)
    skipped_table = pd.DataFrame(skipped, columns=["where", "path", "reason"])
    return FaceSet(torch.stack(images), table), skipped_table


def prepare_mtfl(data: dict, settings: dict, inputs, threads: int):
    """The mtfl entry's face set (``datasets.DATASETS``) and the records left out."""
    return read_mtfl(inputs.archive, data["image_size"], settings["crop_margin"], settings["skip_bad_records"], threads)
