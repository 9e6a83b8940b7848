"""The datasets a study can run on, one entry each, and the tasks they come with.

An entry (``DATASETS``) says where its settings live in the config (the section of its
name), which of them shape the prepared faces, which files ``prepare_faces`` reads, how
many faces its training pool holds where the config alone tells, its tasks with their
class names, and the function that prepares it. Every stage reads the tasks of the
configured dataset from here (``dataset_tasks``): nothing else names a task.

- ``synthetic``: the embedded renderer (``synthetic_faces``), MTFL's four tasks;
- ``mtfl``: the MTFL archive (``mtfl``), its four tasks in its annotation order;
- ``folder``: a user's own images, a folder with a labels CSV holding an image column,
  one column per task and optionally a ``split`` column (``folder_faces``).

Torch-free: the Snakemake rules and the config check read it at DAG build.
"""

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from workflow_scripts.study.scenarios import CAE, NONE

# Class indices follow the MTFL annotation order (raw label minus one), so a label read
# from MTFL and one drawn by the synthetic generator mean the same thing.
MTFL_CLASSES: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female"),
    "smile": ("smiling", "not smiling"),
    "glasses": ("glasses", "no glasses"),
    "pose": ("left profile", "left", "frontal", "right", "right profile"),
}
# the prepared face table (faces.py): these columns, then one per task in the dataset's order
TABLE_COLUMNS = ("split", "path")
SPLIT_COLUMN = "split"
SPLITS = ("train", "test")


class DatasetError(ValueError):
    """Input of a dataset that cannot be used, with the file (and row) at fault."""


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str  # what the summary calls it ("On MTFL at N = 50 ...")
    classes: Callable[[dict], dict[str, tuple[str, ...]]]  # config -> task -> class names, in task order
    settings: Callable[[dict], dict]  # config -> the settings that shape the prepared faces
    inputs: Callable[[dict], dict]  # config -> files prepare_faces reads
    pool_size: Callable[[dict], int | None]  # config -> faces of the training pool, where the config tells
    reader: str  # "module:function" preparing the face set (imported by prepare_faces only)
    location_keys: tuple[str, ...] = ()  # keys of its section naming where the input lives, not what it is
    data_keys: tuple[str, ...] = ("dataset", "image_size")  # keys of data its reader reads (prepare_faces' params)


def _synthetic_pool(config: dict) -> int:
    n_train = config["synthetic"]["n_train"]
    return n_train - round(config["data"]["validation_fraction"] * n_train)


def folder_test_count(n_rows: int, test_fraction: float) -> int:
    """Test rows drawn where the labels CSV has no split column: round(test_fraction * n),
    at least one and never every row."""
    return min(max(round(test_fraction * n_rows), 1), n_rows - 1)


def _folder_pool(config: dict) -> int:
    table, _ = folder_labels(config)
    if SPLIT_COLUMN in table:
        n_train = int((table[SPLIT_COLUMN] == "train").sum())
    else:
        n_train = len(table) - folder_test_count(len(table), config["folder"]["test_fraction"])
    return n_train - round(config["data"]["validation_fraction"] * n_train)


def folder_labels_path(config: dict) -> Path:
    folder = config["folder"]
    return Path(folder["path"]) / folder["labels"]


def _folder_inputs(config: dict) -> dict:
    """The labels CSV and every image it names that exists (a missing one is the job's
    one-line error naming its row, not Snakemake's list of missing inputs)."""
    table, _ = folder_labels(config)
    root = Path(config["folder"]["path"])
    images = [str(root / name) for name in table[config["folder"]["image_column"]]]
    return {"labels": str(folder_labels_path(config)), "images": [p for p in images if Path(p).is_file()]}


DATASETS: dict[str, Dataset] = {
    entry.name: entry for entry in (
        Dataset("synthetic", "synthetic faces", classes=lambda config: dict(MTFL_CLASSES),
                settings=lambda config: dict(config["synthetic"]), inputs=lambda config: {},
                pool_size=_synthetic_pool, reader="workflow_scripts.data.synthetic:prepare_synthetic"),
        Dataset("mtfl", "MTFL", classes=lambda config: dict(MTFL_CLASSES),
                settings=lambda config: {key: config["mtfl"][key] for key in ("crop_margin", "skip_bad_records")},
                inputs=lambda config: {"archive": config["mtfl"]["path"]}, pool_size=lambda config: None,
                reader="workflow_scripts.data.mtfl:prepare_mtfl", location_keys=("path", "url")),
        Dataset("folder", "your own images", classes=lambda config: folder_labels(config)[1],
                settings=lambda config: {key: value for key, value in config["folder"].items() if key != "path"},
                inputs=_folder_inputs, pool_size=_folder_pool,
                reader="workflow_scripts.data.folder:prepare_folder",
                data_keys=("dataset", "image_size", "split_seed")),  # split_seed draws the test rows without a split column
    )
}


def task_columns(table: pd.DataFrame) -> list[str]:
    """The tasks of a prepared face table: every column but ``TABLE_COLUMNS``."""
    return [c for c in table.columns if c not in TABLE_COLUMNS]


def dataset(config: dict) -> Dataset:
    return DATASETS[config["data"]["dataset"]]


def dataset_tasks(config: dict) -> dict[str, tuple[str, ...]]:
    """Every task of the configured dataset -> its class names (class index = position)."""
    return dataset(config).classes(config)


def study_tasks(config: dict) -> dict[str, tuple[str, ...]]:
    """The tasks the study runs (finetune.tasks, in their order) -> their class names."""
    classes = dataset_tasks(config)
    return {task: classes[task] for task in config["finetune"]["tasks"]}


def class_counts(config: dict) -> dict[str, int]:
    """The tasks the study runs -> their number of classes."""
    return {task: len(names) for task, names in study_tasks(config).items()}


def _sorted_values(values) -> tuple[str, ...]:
    """Distinct labels, sorted: as numbers when every one is an integer, else as text."""
    distinct = set(values)
    if all(v.lstrip("-").isdigit() for v in distinct):
        return tuple(sorted(distinct, key=int))
    return tuple(sorted(distinct))


def folder_labels(config: dict) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """The labels CSV of ``folder`` (every cell as text, stripped) and each task's class
    names: ``folder.classes`` where given, else the column's distinct values sorted
    (numerically when all are integers). DatasetError naming the file and row for a
    missing column, an empty cell, a bad split, an unknown class or a task of one class."""
    folder = config["folder"]
    path = folder_labels_path(config)
    return read_folder_labels(path, folder["image_column"], folder["classes"])


def read_folder_labels(path, image_column: str, given_classes: dict):
    """``folder_labels`` for a labels CSV at ``path``."""
    path = Path(path)
    stat = path.stat() if path.is_file() else None
    given = tuple((task, tuple(names)) for task, names in given_classes.items())
    table, classes = _read_folder_labels(str(path), stat and (stat.st_mtime_ns, stat.st_size), image_column, given)
    return table.copy(), dict(classes)  # the cached ones stay as read


@functools.lru_cache(maxsize=8)
def _read_folder_labels(path: str, version, image_column: str, given: tuple):
    if version is None:
        raise DatasetError(f"{path}: labels file not found (folder.path, folder.labels)")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not a readable CSV ({str(error).splitlines()[0]})") from None
    table.columns = [str(c).strip() for c in table.columns]
    table = table.apply(lambda column: column.str.strip())
    if image_column not in table.columns:
        raise DatasetError(f"{path}: no {image_column!r} column of image files (folder.image_column); columns: {', '.join(table.columns)}")
    tasks = [c for c in table.columns if c not in (image_column, SPLIT_COLUMN)]
    reserved = [t for t in tasks if t in (NONE, CAE) or not t.replace("_", "").isalnum() or not t[:1].isalpha()]
    if reserved:
        raise DatasetError(f"{path}: column {reserved[0]!r} cannot name a task (a task's name is a letter, then letters, "
                           f"digits or _, and not {NONE!r} nor {CAE!r})")
    if not tasks:
        raise DatasetError(f"{path}: no task column (every column but {image_column!r} and {SPLIT_COLUMN!r} is a task)")
    if table.empty:
        raise DatasetError(f"{path}: no rows")

    def row(index) -> str:
        return f"{path}, row {index + 2}"  # the CSV's line: the header is line 1

    for column in [image_column, *tasks, *([SPLIT_COLUMN] if SPLIT_COLUMN in table else [])]:
        empty = table.index[table[column] == ""]
        if len(empty):
            more = f" (and {len(empty) - 1} more empty cells)" if len(empty) > 1 else ""
            raise DatasetError(f"{row(empty[0])}: column {column!r} is empty{more}")
    if SPLIT_COLUMN in table:
        bad = table.index[~table[SPLIT_COLUMN].isin(SPLITS)]
        if len(bad):
            raise DatasetError(f"{row(bad[0])}: split {table.at[bad[0], SPLIT_COLUMN]!r} is not train or test")
    given = dict(given)
    unknown_tasks = sorted(set(given) - set(tasks))
    if unknown_tasks:
        raise DatasetError(f"{path}: folder.classes names task {unknown_tasks[0]!r}, not a column (tasks: {', '.join(tasks)})")
    classes = {}
    for task in tasks:
        names = tuple(given[task]) if task in given else _sorted_values(table[task])
        outside = table.index[~table[task].isin(names)]
        if len(outside):
            raise DatasetError(f"{row(outside[0])}: {task} class {table.at[outside[0], task]!r} is not one of "
                               f"folder.classes.{task} ({', '.join(names)})")
        if table[task].nunique() < 2:
            raise DatasetError(f"{path}: task {task!r} has one class ({table.at[0, task]!r} in every row); "
                               "a task needs two or more")
        classes[task] = names
    return table, classes
