"""The five datasets of the workflow (SPEC §1): CIFAR-10, CIFAR-100 (fine or coarse) and scikit-learn's digits.

Every dataset is reduced to one :class:`DatasetArrays`: uint8 images (N, C, H, W), the labels trained on and,
where the dataset has them, the subclass labels used by the measures c1 and c2.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .storage import save_npz


class DatasetError(ValueError):
    """A dataset archive or folder that cannot be used; the message names the file."""


@dataclass(frozen=True)
class CifarArchive:
    """The official CIFAR python archive, as torchvision describes it."""

    key: str  # how the config and the download rule name it
    url: str
    filename: str
    md5: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]


CIFAR10 = CifarArchive(
    key="cifar10",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    filename="cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
)
CIFAR100 = CifarArchive(
    key="cifar100",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    filename="cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    folder="cifar-100-python",
    train_files=("train",),
    test_files=("test",),
)

ARCHIVES = {archive.key: archive for archive in (CIFAR10, CIFAR100)}


@dataclass(frozen=True)
class DatasetInfo:
    """How a dataset name maps to its source and to the labels trained on."""

    name: str
    archive: CifarArchive | None  # None: scikit-learn's bundled digits
    label_key: str  # the labels trained on
    sublabel_key: str | None  # the subclasses, if any
    max_shift: int  # augmentation's largest shift in pixels


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("cifar10", CIFAR10, "labels", None, 4),
        DatasetInfo("cifar100", CIFAR100, "fine_labels", None, 4),
        DatasetInfo("cifar100-coarse", CIFAR100, "coarse_labels", "fine_labels", 4),
        DatasetInfo("digits", None, "digit", None, 1),
        DatasetInfo("digits-coarse", None, "superclass", "digit", 1),
    )
}


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None


@dataclass(frozen=True)
class DatasetArrays:
    """Train and test splits as arrays: images uint8 (N, C, H, W), labels int64, sublabels int64 or None."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    sub_train: np.ndarray | None = None
    sub_test: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def max_shift(self) -> int:
        return dataset_info(self.name).max_shift

    def normalization(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training split, in the units of the stored images."""
        pixels = self.x_train.astype(np.float64).transpose(1, 0, 2, 3).reshape(self.in_channels, -1)
        return pixels.mean(axis=1).tolist(), pixels.std(axis=1).tolist()

    def save(self, path: str | os.PathLike[str]) -> None:
        arrays = {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        save_npz(path, name=np.array(self.name), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DatasetArrays:
        with np.load(path) as stored:
            fields = {key: stored[key] for key in stored.files if key != "name"}
            return cls(name=str(stored["name"]), **fields)


# --- digits -------------------------------------------------------------------------------------------------

DIGITS_SPLIT_SEED = 0


def load_digits_split(name: str) -> DatasetArrays:
    """scikit-learn's 1,797 8x8 digits with a fixed, seeded, stratified 75/25 split.

    ``digits`` trains on the 10 digits; ``digits-coarse`` on 5 superclasses (digit // 2) with the digits as
    subclasses, two per superclass.
    """
    # Imported here: scikit-learn costs a second at start-up, which every training job would pay.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)[:, None]  # values 0..16, one channel
    digits = bunch.target.astype(np.int64)
    x_tr, x_te, d_tr, d_te = train_test_split(
        images, digits, test_size=0.25, stratify=digits, random_state=DIGITS_SPLIT_SEED
    )
    if name == "digits":
        return DatasetArrays(name, x_tr, d_tr, x_te, d_te)
    if name == "digits-coarse":
        return DatasetArrays(name, x_tr, d_tr // 2, x_te, d_te // 2, sub_train=d_tr, sub_test=d_te)
    raise ValueError(f"{name!r} is not a digits dataset")


# --- CIFAR --------------------------------------------------------------------------------------------------


def file_md5(path: str | os.PathLike[str]) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(path: str | os.PathLike[str], expected: str) -> None:
    if not os.path.isfile(path):
        raise DatasetError(f"dataset archive {os.fspath(path)!r} does not exist")
    actual = file_md5(path)
    if actual != expected:
        raise DatasetError(f"dataset archive {os.fspath(path)!r} has md5 {actual}, expected {expected}")


def download_archive(archive: CifarArchive, destination: str | os.PathLike[str]) -> None:
    """Fetch the official archive to ``destination``: it appears only once complete and md5-checked."""
    from torchvision.datasets.utils import download_url

    target = Path(destination)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        download_url(archive.url, tmp, filename=archive.filename)
        fetched = Path(tmp) / archive.filename
        check_md5(fetched, archive.md5)
        os.replace(fetched, target)


def _unpickle(raw: bytes, origin: str) -> dict[str, Any]:
    try:
        batch = pickle.loads(raw, encoding="latin1")
    except Exception as error:  # any unpickling failure means a corrupt member
        raise DatasetError(f"{origin}: not a CIFAR python batch ({error})") from error
    if not isinstance(batch, dict) or "data" not in batch:
        raise DatasetError(f"{origin}: not a CIFAR python batch (no 'data' entry)")
    return batch


def _read_batches(source: Path, archive: CifarArchive) -> dict[str, dict[str, Any]]:
    """The train and test pickles of an archive (.tar.gz) or of an extracted folder, by file name."""
    wanted = archive.train_files + archive.test_files
    batches: dict[str, dict[str, Any]] = {}
    if source.is_dir():
        folder = source / archive.folder if (source / archive.folder).is_dir() else source
        for name in wanted:
            path = folder / name
            if not path.is_file():
                raise DatasetError(f"CIFAR folder {os.fspath(folder)!r} lacks the file {name!r}")
            batches[name] = _unpickle(path.read_bytes(), os.fspath(path))
        return batches
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                name = Path(member.name).name
                if name in wanted and member.isfile():
                    handle = tar.extractfile(member)
                    assert handle is not None
                    batches[name] = _unpickle(handle.read(), f"{os.fspath(source)}:{member.name}")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DatasetError(f"CIFAR archive {os.fspath(source)!r} is unreadable or truncated ({error})") from error
    missing = [name for name in wanted if name not in batches]
    if missing:
        raise DatasetError(f"CIFAR archive {os.fspath(source)!r} lacks {missing}")
    return batches


def _stack(batches: list[dict[str, Any]], key: str, origin: str) -> np.ndarray:
    try:
        return np.concatenate([np.asarray(batch[key], dtype=np.int64) for batch in batches])
    except KeyError:
        raise DatasetError(f"{origin}: a batch has no {key!r} labels") from None


def load_cifar(name: str, source: str | os.PathLike[str], md5: str | None = None) -> DatasetArrays:
    """Read a CIFAR dataset from its python archive (.tar.gz) or an extracted folder.

    An archive file is checked against ``md5`` when given (the workflow passes the official one). Images come out
    as uint8 (N, 3, 32, 32); the subclass labels are kept for cifar100-coarse.
    """
    info = dataset_info(name)
    if info.archive is None:
        raise ValueError(f"{name!r} is not a CIFAR dataset")
    archive = info.archive
    path = Path(source)
    if not path.exists():
        raise DatasetError(f"CIFAR source {os.fspath(path)!r} does not exist")
    if path.is_file() and md5 is not None:
        check_md5(path, md5)
    batches = _read_batches(path, archive)
    splits = []
    for files in (archive.train_files, archive.test_files):
        chosen = [batches[f] for f in files]
        origin = f"{os.fspath(path)} ({', '.join(files)})"
        data = np.concatenate([np.asarray(batch["data"], dtype=np.uint8) for batch in chosen])
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DatasetError(f"{origin}: image data has shape {data.shape}, expected (N, 3072)")
        labels = _stack(chosen, info.label_key, origin)
        sublabels = _stack(chosen, info.sublabel_key, origin) if info.sublabel_key else None
        if len(labels) != len(data):
            raise DatasetError(f"{origin}: {len(data)} images but {len(labels)} labels")
        splits.append((data.reshape(-1, 3, 32, 32), labels, sublabels))
    (x_tr, y_tr, s_tr), (x_te, y_te, s_te) = splits
    return DatasetArrays(name, x_tr, y_tr, x_te, y_te, sub_train=s_tr, sub_test=s_te)


def load_dataset(name: str, source: str | os.PathLike[str] | None = None, md5: str | None = None) -> DatasetArrays:
    """Any of the five datasets; CIFAR ones need ``source``, an archive or extracted folder."""
    info = dataset_info(name)
    if info.archive is None:
        return load_digits_split(name)
    if source is None:
        raise ValueError(f"dataset {name!r} needs a source archive or folder")
    return load_cifar(name, source, md5)
