"""Which test images a model classified correctly, stored compactly in a run's metrics.json (torch-free).

A run stores one bit per test image (``numpy.packbits``, then base64) under ``"test_correct"`` beside ``"n_test"``,
so that its test accuracy can be recomputed on any resample of the test set (the bootstrap intervals of SPEC §11)
without the model: the accuracy on a resample ``idx`` is ``correct[idx].mean()``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def pack_correct(correct: Any) -> str:
    """One bit per image, as text: ``base64(packbits(correct))``.

    Parameters
    ----------
    correct : array-like of bool, shape (n_images,)
        True where the model's prediction equals the label.

    Returns
    -------
    packed : str
        ``ceil(n_images / 8)`` bytes in base64 (ASCII); :func:`unpack_correct` with ``n_images`` inverts it.
    """
    array = np.asarray(correct)
    if array.ndim != 1:
        raise ValueError(f"correct must be a 1-D array, got shape {array.shape}")
    if array.dtype != np.bool_:
        raise ValueError(f"correct must be a bool array, got dtype {array.dtype}")
    return base64.b64encode(np.packbits(array).tobytes()).decode("ascii")


def unpack_correct(packed: str, n_images: int) -> np.ndarray:
    """The bool vector stored by :func:`pack_correct`.

    Parameters
    ----------
    packed : str
        The text written by :func:`pack_correct`.
    n_images : int
        The length of the stored vector (the run's ``"n_test"``).

    Returns
    -------
    correct : ndarray of bool, shape (n_images,)
    """
    if n_images < 0:
        raise ValueError(f"n_images must be >= 0, got {n_images}")
    try:
        packed_bytes = base64.b64decode(packed, validate=True)
    except (binascii.Error, ValueError, TypeError) as error:
        raise ValueError(f"packed correctness is not base64: {error}") from None
    expected = -(-n_images // 8)
    if len(packed_bytes) != expected:
        raise ValueError(f"packed correctness holds {len(packed_bytes)} bytes; {n_images} images need {expected}")
    bits = np.unpackbits(np.frombuffer(packed_bytes, dtype=np.uint8))
    if bits[n_images:].any():
        raise ValueError(f"packed correctness has bits set beyond its {n_images} images")
    return bits[:n_images].astype(bool)


def correctness_matrix(metrics: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """The per-image correctness of several runs, one row per run in the given order.

    Parameters
    ----------
    metrics : iterable of mappings
        Runs' metrics (as in metrics.json), each with ``"test_correct"`` and ``"n_test"``; all on the same test set.

    Returns
    -------
    correct : ndarray of bool, shape (n_runs, n_test)
        ``correct.mean(axis=1)`` is each run's test accuracy.
    """
    rows, n_test = [], None
    for index, run in enumerate(metrics):
        name = run.get("run_id", f"#{index}")
        if "test_correct" not in run or "n_test" not in run:
            raise ValueError(f"run {name} has no per-image correctness ('test_correct' and 'n_test')")
        if n_test is None:
            n_test = run["n_test"]
        elif run["n_test"] != n_test:
            raise ValueError(f"run {name} has n_test {run['n_test']}, the runs before it {n_test}")
        rows.append(unpack_correct(run["test_correct"], run["n_test"]))
    if not rows:
        raise ValueError("no runs given")
    return np.stack(rows)
