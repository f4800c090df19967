"""Atomic writes: an output either appears whole or not at all, so a killed job never leaves a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; outputs get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_with(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as JSON; non-finite floats are refused rather than written as invalid JSON."""
    text = json.dumps(data, indent=2, allow_nan=False)
    _write_with(path, lambda tmp: tmp.write_text(text + "\n"))


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text())


def write_text(path: str | os.PathLike[str], text: str) -> None:
    _write_with(path, lambda tmp: tmp.write_text(text))


def save_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a file handle keeps numpy from appending ".npz" to the temp name
            np.savez(handle, **arrays)

    _write_with(path, write)


def write_csv(path: str | os.PathLike[str], frame: Any) -> None:
    """Write a pandas DataFrame as CSV without its index."""
    _write_with(path, lambda tmp: frame.to_csv(tmp, index=False))
