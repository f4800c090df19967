"""The stored pre-activations of one model (``preactivations.npz``): float16 per layer with the labels, readable
with numpy alone, so measures, controls and figures never need torch or the model."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .storage import save_npz


def layer_key(index: int) -> str:
    return f"layer_{index:02d}"


def save_preactivations(
    path: str | os.PathLike[str],
    layers: Sequence[np.ndarray],
    layer_names: Sequence[str],
    labels: np.ndarray,
    sublabels: np.ndarray | None,
) -> None:
    """One float16 array per layer (``layer_00``, ...), ``labels``, ``sublabels`` (if any), ``layer_names``."""
    arrays = {layer_key(i): np.asarray(a, dtype=np.float16) for i, a in enumerate(layers)}
    arrays["labels"] = np.asarray(labels)
    if sublabels is not None:
        arrays["sublabels"] = np.asarray(sublabels)
    arrays["layer_names"] = np.asarray(list(layer_names))
    save_npz(path, **arrays)


def load_preactivations(
    path: str | os.PathLike[str],
) -> tuple[list[np.ndarray], list[str], np.ndarray, np.ndarray | None]:
    """The layers, layer names, labels and sublabels (None when absent) written by :func:`save_preactivations`."""
    with np.load(path) as stored:
        names = [str(n) for n in stored["layer_names"]]
        layers = [stored[layer_key(i)] for i in range(len(names))]
        sublabels = stored["sublabels"] if "sublabels" in stored.files else None
        return layers, names, stored["labels"], sublabels
