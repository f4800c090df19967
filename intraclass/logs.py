"""Logging for the rule scripts: everything the library logs goes to the job's log file."""

from __future__ import annotations

import logging
import os


def log_to_file(path: str | os.PathLike[str]) -> None:
    logging.basicConfig(
        filename=os.fspath(path),
        filemode="w",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
