"""Atomic file writing: an interrupted job never leaves a file that looks finished."""

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
