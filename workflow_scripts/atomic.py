"""The study's intermediate files: written atomically, so an interrupted job never leaves a
file that looks finished, and read by one loader, so a file that is damaged anyway
(truncated by a full disk, copied in from elsewhere) fails in one line that names it and
the fix, instead of in torch's or pandas' words."""

import contextlib
import os
from pathlib import Path


PARTIAL = ".{name}.partial-{pid}"


def partial_files(path) -> list[Path]:
    """Temporary files that writing ``path`` left behind (a killed job cannot remove its own)."""
    path = Path(path)
    return sorted(path.parent.glob(PARTIAL.format(name=path.name, pid="*"))) if path.parent.is_dir() else []


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(PARTIAL.format(name=path.name, pid=os.getpid()))
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(table, path):
    """Write a pandas table to ``path`` atomically, without the index."""
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False)


def save_torch(obj, path):
    """``torch.save`` to ``path`` atomically."""
    import torch

    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


class IntermediateError(ValueError):
    """An intermediate file that cannot be read, with its path and what to do."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: cannot be read ({reason}); it is truncated or was not written by this "
                         f"workflow: delete it, or rerun with --forcerun {path}, and Snakemake makes it again")


def _reason(error: Exception) -> str:
    """The error's kind and its first sentence (torch goes on for a paragraph)."""
    text = str(error).strip().splitlines()[0].split(". ")[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}".rstrip(": ")


def read_torch(path, expect: type | None = None):
    """``torch.load`` of an intermediate (tensors and plain containers only); IntermediateError
    naming it when it cannot be read or does not hold an ``expect``."""
    import torch

    try:
        loaded = torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise
    except Exception as error:  # noqa: BLE001 - torch reports a damaged file in many ways
        raise IntermediateError(path, _reason(error)) from error
    if expect is not None and not isinstance(loaded, expect):
        raise IntermediateError(path, f"holds a {type(loaded).__name__}, not a {expect.__name__}")
    return loaded


def _ends_mid_row(path) -> bool:
    """Whether a non-empty table file lacks the line end that closes every row write_csv
    writes (a file cut short; pandas would read ``0.625`` cut to ``0.`` as a number)."""
    try:
        with open(path, "rb") as file:
            if file.seek(0, os.SEEK_END) == 0:
                return False
            file.seek(-1, os.SEEK_END)
            return file.read(1) not in (b"\n", b"\r")
    except (FileNotFoundError, IsADirectoryError, TypeError, OSError):
        return False  # not a plain file path: pandas says what it is


def read_csv(path, columns=(), **options):
    """``pandas.read_csv`` of an intermediate table; IntermediateError naming it when it cannot
    be parsed or lacks one of ``columns``."""
    import pandas as pd

    if _ends_mid_row(path):
        raise IntermediateError(path, "it ends in the middle of a row")
    try:
        table = pd.read_csv(path, **options)
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise IntermediateError(path, _reason(error)) from error
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise IntermediateError(path, f"no column {', '.join(map(repr, missing))}")
    return table
