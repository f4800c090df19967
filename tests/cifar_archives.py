"""Small archives in the real CIFAR python format: pickled train/test/meta dicts in a tar.gz."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from intraclass.data import CIFAR10, CIFAR100


def _add(tar: tarfile.TarFile, name: str, payload: dict) -> None:
    raw = pickle.dumps(payload, protocol=2)
    info = tarfile.TarInfo(name)
    info.size = len(raw)
    tar.addfile(info, io.BytesIO(raw))


def images(n: int, offset: int) -> np.ndarray:
    """Images whose first pixel encodes their index, so order can be checked after loading."""
    data = np.zeros((n, 3072), dtype=np.uint8)
    data[:, 0] = (np.arange(n) + offset) % 256
    data[:, 1024] = 7  # first pixel of the green channel
    return data


def write_cifar10(path: Path, per_batch: int = 4) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate(CIFAR10.train_files):
            labels = [(i * per_batch + j) % 10 for j in range(per_batch)]
            _add(
                tar,
                f"{CIFAR10.folder}/{name}",
                {"batch_label": name, "labels": labels, "data": images(per_batch, i * per_batch)},
            )
        _add(tar, f"{CIFAR10.folder}/test_batch", {"labels": [9, 8, 7], "data": images(3, 100)})
        _add(tar, f"{CIFAR10.folder}/batches.meta", {"label_names": [f"c{i}" for i in range(10)]})
    return path


def write_cifar100(path: Path, n_train: int = 10) -> Path:
    fine_train = np.arange(n_train) % 100
    with tarfile.open(path, "w:gz") as tar:
        _add(
            tar,
            f"{CIFAR100.folder}/train",
            {
                "fine_labels": fine_train.tolist(),
                "coarse_labels": (fine_train // 5).tolist(),
                "data": images(n_train, 0),
            },
        )
        _add(tar, f"{CIFAR100.folder}/test", {"fine_labels": [99, 0], "coarse_labels": [19, 0], "data": images(2, 50)})
        _add(tar, f"{CIFAR100.folder}/meta", {"fine_label_names": [], "coarse_label_names": []})
    return path
