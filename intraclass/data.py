"""The data sets of the workflow: CIFAR-10, CIFAR-100 (fine or coarse), scikit-learn's digits (SPEC §1),
Fashion-MNIST (fine or coarse, SPEC §10) and a user's own .npz file.

Every data set is reduced to one :class:`DatasetArrays`: images (N, C, H, W), uint8 or float32, the labels trained
on and, where the data set has them, the subclass labels used by the measures c1 and c2, with its augmentation.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import pickle
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .grid import experiment_runs
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


# Fashion-MNIST (SPEC §10). The sha256 sums are of the decompressed IDX content: Debian recompressed the files, so
# only that check holds for both its copy and the official one; a download is also checked against the official
# .gz md5 (torchvision's FashionMNIST.resources, fetched from its FashionMNIST.mirrors).
@dataclass(frozen=True)
class IdxFile:
    """One of Fashion-MNIST's four official ``.gz`` files."""

    filename: str
    sha256: str  # of the decompressed content
    size: int  # decompressed bytes
    gz_md5: str  # of the official .gz


FASHION_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_FILES = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte.gz",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    "train_labels": IdxFile(
        "train-labels-idx1-ubyte.gz",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60_008,
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    "test_images": IdxFile(
        "t10k-images-idx3-ubyte.gz",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7_840_016,
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    "test_labels": IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10_008,
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
}
DEBIAN_FASHION_DIR = "/usr/share/datasets/fashion-mnist"  # where Debian's dataset-fashion-mnist installs them
# fashion-coarse's superclasses, two look-alike items each: {T-shirt/top, Shirt}, {Pullover, Coat}, {Sandal, Sneaker},
# {Trouser, Dress}, {Bag, Ankle boot}; superclass s holds the labels FASHION_SUPERCLASSES[s].
FASHION_SUPERCLASSES = ((0, 6), (2, 4), (5, 7), (1, 3), (8, 9))
FASHION_CLASSES = 10

# Where a data set's images come from, beside the CIFAR archives (ARCHIVES' keys).
DIGITS = "digits"
FASHION_MNIST = "fashion-mnist"
CUSTOM = "custom"


@dataclass(frozen=True)
class DatasetInfo:
    """How a data set's name maps to its source, the labels trained on and its augmentation (SPEC §10)."""

    name: str
    source: str  # a key of ARCHIVES, DIGITS, FASHION_MNIST or CUSTOM
    label_key: str  # the labels trained on
    sublabel_key: str | None  # the subclasses, if any
    max_shift: int  # augmentation's largest shift in pixels
    flip: bool  # whether augmentation flips horizontally (never digits: a flipped digit is not the same digit)
    path: str | None = None  # a custom data set's .npz file


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("cifar10", CIFAR10.key, "labels", None, 4, True),
        DatasetInfo("cifar100", CIFAR100.key, "fine_labels", None, 4, True),
        DatasetInfo("cifar100-coarse", CIFAR100.key, "coarse_labels", "fine_labels", 4, True),
        DatasetInfo("digits", DIGITS, "digit", None, 1, False),
        DatasetInfo("digits-coarse", DIGITS, "superclass", "digit", 1, False),
        DatasetInfo("fashion", FASHION_MNIST, "label", None, 2, True),
        DatasetInfo("fashion-coarse", FASHION_MNIST, "superclass", "label", 2, True),
    )
}


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of a built-in data set."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None


@dataclass(frozen=True)
class DatasetArrays:
    """Train and test splits as arrays: images uint8 or float32 (N, C, H, W), labels int64, sublabels int64 or None,
    and the augmentation training applies to them (unless given, a built-in data set's registry entry's)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    sub_train: np.ndarray | None = None
    sub_test: np.ndarray | None = None
    max_shift: int | None = None
    flip: bool | None = None

    def __post_init__(self) -> None:
        if self.max_shift is None or self.flip is None:
            info = dataset_info(self.name)
            object.__setattr__(self, "max_shift", info.max_shift if self.max_shift is None else self.max_shift)
            object.__setattr__(self, "flip", info.flip if self.flip is None else self.flip)

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    def normalization(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training split, in the units of the stored images."""
        pixels = self.x_train.astype(np.float64).transpose(1, 0, 2, 3).reshape(self.in_channels, -1)
        return pixels.mean(axis=1).tolist(), pixels.std(axis=1).tolist()

    def save(self, path: str | os.PathLike[str]) -> None:
        arrays = {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        save_npz(path, name=np.array(self.name), max_shift=np.array(self.max_shift), flip=np.array(self.flip), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DatasetArrays:
        with np.load(path) as stored:
            fields = {key: stored[key] for key in stored.files if key not in ("name", "max_shift", "flip")}
            # Files prepared before augmentation was stored take the registry's.
            augmentation = {key: stored[key].item() for key in ("max_shift", "flip") if key in stored.files}
            return cls(name=str(stored["name"]), **fields, **augmentation)


# --- a study's data sets ------------------------------------------------------------------------------------

SUBSET_SEED = 0  # the training subset's draw: one fixed subset per size, the same for every run


def dataset_name(entry: str | Mapping[str, Any]) -> str:
    """The name of an experiment's ``dataset``: a built-in data set's name, or a custom one's ``name``."""
    return entry if isinstance(entry, str) else entry["name"]


def study_datasets(
    experiments: Iterable[Mapping[str, Any]], options: Mapping[str, Any] | None = None, validate: bool = True
) -> dict[str, DatasetInfo]:
    """Every data set of a study's experiments by name, custom ones read and validated (:func:`load_custom`).

    With ``validate=False`` a custom file is not read: whether it has subclasses comes from its list of arrays
    (the .npz's zip directory), for a Snakemake job's re-parse of a workflow whose main process validated it.

    An experiment's ``dataset`` is a built-in name or ``{name, path, max_shift, flip}`` (a custom data set; no
    augmentation unless ``max_shift`` or ``flip`` is set). ``options`` is the config's ``datasets``, by data set name.
    Raises :class:`DatasetError` naming the key for a bad custom file, a custom name that is a built-in one or given
    twice with different settings, runs with ``augment: true`` on a data set without augmentation, or ``options``
    naming a data set no experiment uses.
    """
    infos: dict[str, DatasetInfo] = {}
    for number, experiment in enumerate(experiments, start=1):
        entry = experiment["dataset"]
        name = dataset_name(entry)
        where = f"experiment {number} (dataset {name!r})"
        if isinstance(entry, str):
            info = dataset_info(name)
        elif name in DATASETS:
            raise DatasetError(f"{where}: a custom data set cannot take the built-in name {name!r}; rename it")
        else:
            info = DatasetInfo(
                name, CUSTOM, "y_train", None, entry.get("max_shift", 0), entry.get("flip", False), entry["path"]
            )
            if name in infos:
                known = infos[name]
                if (known.path, known.max_shift, known.flip) != (info.path, info.max_shift, info.flip):
                    raise DatasetError(
                        f"{where}: path {info.path!r}, max_shift {info.max_shift}, flip {info.flip} differ from an "
                        f"earlier experiment's {known.path!r}, {known.max_shift}, {known.flip} for the same name"
                    )
            elif validate:
                data = load_custom(info.path, name, info.max_shift, info.flip)
                info = replace(info, sublabel_key="sub_train" if data.sub_train is not None else None)
            else:
                with np.load(info.path, allow_pickle=False) as stored:  # reads the zip directory, no array
                    info = replace(info, sublabel_key="sub_train" if "sub_train" in stored.files else None)
        infos.setdefault(name, info)
        if not (info.max_shift or info.flip) and any(
            r.augment for r in experiment_runs({**experiment, "dataset": name})
        ):
            raise DatasetError(
                f"{where}: runs with augment: true, but the data set has no augmentation (max_shift 0, flip false); "
                "set dataset.max_shift or dataset.flip, or keep augment false"
            )
    unused = sorted(set(options or {}) - set(infos))
    if unused:
        raise DatasetError(f"config 'datasets' names {unused}, which no experiment uses (the study's: {sorted(infos)})")
    return infos


def installed_fashion_dir(directory: str = DEBIAN_FASHION_DIR) -> str | None:
    """``directory`` (by default Debian's) when it holds the four Fashion-MNIST files, else None."""
    return (
        directory if all(os.path.isfile(os.path.join(directory, f.filename)) for f in FASHION_FILES.values()) else None
    )


def build_dataset(
    info: DatasetInfo,
    source: str | os.PathLike[str] | None = None,
    train_subset: int | None = None,
    resolution: int | None = None,
) -> DatasetArrays:
    """The arrays a study trains on: the data set read from ``source`` (a CIFAR archive or folder, Fashion-MNIST's
    folder, a custom .npz; nothing for digits), a CIFAR archive file checked against its official md5, its
    training split cut to :func:`stratified_subset` of ``train_subset`` images when given, and both splits
    average-pooled to ``resolution`` x ``resolution`` px by :func:`downsample` when given."""
    if info.source == CUSTOM:
        data = load_custom(source, info.name, info.max_shift, info.flip)
    else:
        archive = ARCHIVES.get(info.source)
        is_file = source is not None and os.path.isfile(source)
        data = load_dataset(info.name, source, md5=archive.md5 if archive and is_file else None)
    if train_subset is not None:
        data = stratified_subset(data, train_subset)
    return data if resolution is None else downsample(data, resolution)


def downsample(data: DatasetArrays, resolution: int) -> DatasetArrays:
    """Both splits average-pooled to ``resolution`` x ``resolution`` px (float32, exact means of uint8 pixels), and
    the augmentation's shift scaled with the side.

    Each output pixel is the mean of a ``f`` x ``f`` block of input pixels, ``f = side / resolution``, so square
    images whose side is a multiple of ``resolution`` are required (28 -> 14 for Fashion-MNIST). The largest
    shift becomes ``round(max_shift / f)``, at least 1 when the data set shifts at all (Fashion-MNIST: 2 px at 28,
    1 px at 14), so a shift moves the same fraction of the image; flips are kept. Raises :class:`DatasetError`
    naming the resolution when it does not divide the images or is below :data:`MIN_IMAGE_SIZE`.
    """
    height, width = data.x_train.shape[2:]
    if height != width or resolution < MIN_IMAGE_SIZE or height % resolution:
        raise DatasetError(
            f"resolution {resolution} of data set {data.name!r}: its images are {height} x {width} px; the resolution "
            f"must be at least {MIN_IMAGE_SIZE} and divide the side of square images"
        )
    factor = height // resolution

    def pool(x: np.ndarray) -> np.ndarray:
        blocks = x.astype(np.float32).reshape(*x.shape[:2], resolution, factor, resolution, factor)
        return blocks.mean(axis=(3, 5), dtype=np.float64).astype(np.float32)

    shift = max(1, round(data.max_shift / factor)) if data.max_shift else 0
    return replace(data, x_train=pool(data.x_train), x_test=pool(data.x_test), max_shift=shift)


def stratified_subset(
    data: DatasetArrays, size: int, seed: int = SUBSET_SEED, option: str = "train_subset"
) -> DatasetArrays:
    """``size`` training images drawn without replacement, stratified by subclass where the data set has them (so by
    class too) else by class, kept in their original order; the test split stays whole.

    Stratifying by the finest labels makes ``fashion`` and ``fashion-coarse`` (or ``cifar100`` and
    ``cifar100-coarse``) draw the same images for the same size. ``option`` is the config key errors name: the data
    set's ``train_subset`` or a run's ``train_size``.
    """
    from sklearn.model_selection import train_test_split  # a second to import: only jobs that cut a subset pay it

    n = len(data.y_train)
    if not 0 < size < n:
        raise DatasetError(
            f"{option} {size} of data set {data.name!r} must be between 1 and {n - 1} (it has {n} training "
            "images); leave it out to train on all"
        )
    strata = data.y_train if data.sub_train is None else data.sub_train
    try:
        kept, _ = train_test_split(np.arange(n), train_size=size, stratify=strata, random_state=seed)
    except ValueError as error:  # fewer images than strata, or a stratum of one image
        raise DatasetError(f"{option} {size} of data set {data.name!r}: {error}") from error
    kept = np.sort(kept)
    return replace(
        data,
        x_train=data.x_train[kept],
        y_train=data.y_train[kept],
        sub_train=None if data.sub_train is None else data.sub_train[kept],
    )


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
        raise DatasetError(f"dataset file {os.fspath(path)!r} does not exist")
    actual = file_md5(path)
    if actual != expected:
        raise DatasetError(f"dataset file {os.fspath(path)!r} has md5 {actual}, expected {expected}")


def download_checked(url: str, md5: str, destination: str | os.PathLike[str]) -> None:
    """Fetch ``url`` to ``destination``: it appears only once complete and md5-checked."""
    from torchvision.datasets.utils import download_url

    target = Path(destination)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        download_url(url, tmp, filename=target.name)
        fetched = Path(tmp) / target.name
        check_md5(fetched, md5)
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
    if info.source not in ARCHIVES:
        raise ValueError(f"{name!r} is not a CIFAR dataset")
    archive = ARCHIVES[info.source]
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


# --- Fashion-MNIST ------------------------------------------------------------------------------------------

IDX_UNSIGNED_BYTE = 0x08


def load_fashion(
    name: str, directory: str | os.PathLike[str], files: Mapping[str, IdxFile] = FASHION_FILES
) -> DatasetArrays:
    """Fashion-MNIST (``fashion`` or ``fashion-coarse``) from a folder holding its four ``.gz`` files.

    Each file is checked against ``files`` (by default the official sizes and sums, SPEC §10) before it is read.
    Images come out as uint8 (N, 1, H, W). ``fashion-coarse`` trains on the 5 superclasses of
    :data:`FASHION_SUPERCLASSES` and keeps the 10 labels as subclasses.
    """
    if dataset_info(name).source != FASHION_MNIST:
        raise ValueError(f"{name!r} is not a Fashion-MNIST dataset")
    paths = {role: Path(directory) / f.filename for role, f in files.items()}
    arrays = {role: read_idx_gz(paths[role], files[role]) for role in paths}
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        image_path, label_path = os.fspath(paths[f"{split}_images"]), os.fspath(paths[f"{split}_labels"])
        if images.ndim != 3:
            raise DatasetError(f"{image_path!r} holds an array of shape {images.shape}, expected images N x H x W")
        if labels.shape != images.shape[:1]:
            raise DatasetError(f"{label_path!r} holds labels of shape {labels.shape}, expected ({len(images)},)")
        if labels.max(initial=0) >= FASHION_CLASSES:
            raise DatasetError(f"{label_path!r} holds label {labels.max()}, outside 0..{FASHION_CLASSES - 1}")
        splits.append((images[:, None], labels.astype(np.int64)))
    (x_tr, labels_tr), (x_te, labels_te) = splits
    if name == "fashion":
        return DatasetArrays(name, x_tr, labels_tr, x_te, labels_te)
    superclass = np.empty(FASHION_CLASSES, dtype=np.int64)
    for index, members in enumerate(FASHION_SUPERCLASSES):
        superclass[list(members)] = index
    return DatasetArrays(
        name, x_tr, superclass[labels_tr], x_te, superclass[labels_te], sub_train=labels_tr, sub_test=labels_te
    )


def read_idx_gz(path: str | os.PathLike[str], expected: IdxFile | None = None) -> np.ndarray:
    """The array of a gzipped IDX file, its decompressed content checked against ``expected``'s size and sha256.

    Raises :class:`DatasetError` naming the file when it is missing, not a complete gzip stream, of the wrong size
    (truncated or another file), altered (its sha256 differs) or not a valid IDX file (:func:`parse_idx`).
    """
    where = os.fspath(path)
    if not os.path.isfile(where):
        raise DatasetError(f"Fashion-MNIST file {where!r} does not exist")
    try:
        with gzip.open(where, "rb") as handle:
            content = handle.read()
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{where!r} is not a complete gzip file: truncated or corrupt ({error})") from error
    if expected is not None:
        if len(content) != expected.size:
            raise DatasetError(
                f"{where!r} decompresses to {len(content):,} bytes, expected {expected.size:,}: truncated, or not "
                f"{expected.filename}"
            )
        digest = hashlib.sha256(content).hexdigest()
        if digest != expected.sha256:
            raise DatasetError(
                f"{where!r} has decompressed sha256 {digest}, expected {expected.sha256}: the content was altered"
            )
    return parse_idx(content, where)


def parse_idx(content: bytes, origin: str = "IDX content") -> np.ndarray:
    """An unsigned-byte array in LeCun's IDX format, its header checked against the content's length.

    The header is the magic number (two zero bytes, the data type 0x08 for unsigned bytes, the number of dimensions
    d), then d big-endian uint32 dimensions; the data follow, exactly as many bytes as the dimensions' product.
    """
    if len(content) < 4:
        raise DatasetError(f"{origin}: {len(content)} bytes, too short for an IDX header")
    ndim = content[3]
    if content[:2] != b"\0\0" or ndim == 0:
        raise DatasetError(f"{origin}: magic number 0x{content[:4].hex()} is not an IDX header (0x0000TTDD)")
    if content[2] != IDX_UNSIGNED_BYTE:
        raise DatasetError(f"{origin}: IDX data type 0x{content[2]:02x}, expected 0x08 (unsigned byte)")
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DatasetError(f"{origin}: {len(content)} bytes, too short for the header of a {ndim}-d IDX array")
    dims = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    if len(content) != header + math.prod(dims):
        raise DatasetError(
            f"{origin}: the header gives dimensions {dims}, {header + math.prod(dims):,} bytes in all, but the "
            f"content has {len(content):,}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(dims).copy()  # writable, as torch wants


def download_fashion(directory: str | os.PathLike[str]) -> None:
    """Fetch the four official Fashion-MNIST files into ``directory``, which appears only once all four are
    complete and match their official ``.gz`` md5."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        for f in FASHION_FILES.values():
            download_checked(FASHION_MIRROR + f.filename, f.gz_md5, Path(tmp) / f.filename)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- a user's own data set ----------------------------------------------------------------------------------

CUSTOM_KEYS = ("x_train", "y_train", "x_test", "y_test")
CUSTOM_SUBCLASS_KEYS = ("sub_train", "sub_test")
MIN_IMAGE_SIZE = 8  # three 2x downsamplings (SPEC §2) leave at least one pixel


def load_custom(path: str | os.PathLike[str], name: str, max_shift: int = 0, flip: bool = False) -> DatasetArrays:
    """A user's own data set from an ``.npz`` file, validated; every error names the file and the key.

    The file holds ``x_train``, ``y_train``, ``x_test``, ``y_test`` and optionally both ``sub_train`` and
    ``sub_test``. Images are N x C x H x W, or N x H x W for one channel, uint8 or float (kept as float32 in their
    own units: training normalises every data set by its training split's per-channel mean and std), at least 8 x 8
    px, the same C x H x W in both splits, finite. Labels are integers 0..K-1 with K = max(y_train) + 1 >= 2, every
    class in ``y_train``. Subclasses are integers >= 0, each within one class across both splits.
    ``max_shift`` and ``flip`` are the augmentation (none by default); ``max_shift`` must be below H and W.
    """
    where = os.fspath(path)
    if not os.path.isfile(where):
        raise DatasetError(f"data set {name!r}: file {where!r} does not exist")
    try:
        with np.load(where, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"data set {name!r}: {where!r} is not a readable .npz file ({error})") from error
    missing = [key for key in CUSTOM_KEYS if key not in arrays]
    if missing:
        raise DatasetError(f"{where}: lacks the keys {missing}")
    unexpected = sorted(set(arrays) - set(CUSTOM_KEYS) - set(CUSTOM_SUBCLASS_KEYS))
    if unexpected:
        raise DatasetError(
            f"{where}: unexpected keys {unexpected}; expected {list(CUSTOM_KEYS + CUSTOM_SUBCLASS_KEYS)}"
        )
    present = [key for key in CUSTOM_SUBCLASS_KEYS if key in arrays]
    if len(present) == 1:
        other = next(key for key in CUSTOM_SUBCLASS_KEYS if key not in arrays)
        raise DatasetError(f"{where}: has {present[0]!r} but not {other!r}; give both subclass arrays or neither")
    x_train, x_test = (_custom_images(arrays[key], key, where) for key in ("x_train", "x_test"))
    if x_test.shape[1:] != x_train.shape[1:] or x_test.dtype != x_train.dtype:
        raise DatasetError(
            f"{where}: 'x_test' images are {x_test.shape[1:]} {x_test.dtype}, but 'x_train' images "
            f"{x_train.shape[1:]} {x_train.dtype}"
        )
    if not 0 <= max_shift < min(x_train.shape[2:]):
        raise DatasetError(
            f"data set {name!r}: max_shift {max_shift} must be at least 0 and below the images' height and width "
            f"{x_train.shape[2:]}"
        )
    labels = {
        key: _custom_labels(arrays[key], key, len(x), where) for key, x in (("y_train", x_train), ("y_test", x_test))
    }
    num_classes = int(labels["y_train"].max()) + 1
    for key, y in labels.items():
        outside = y[(y < 0) | (y >= num_classes)]
        if len(outside):
            raise DatasetError(
                f"{where}: {key!r} holds label {outside[0]}, outside 0..{num_classes - 1} (K = {num_classes}: the "
                "largest label of 'y_train' plus one)"
            )
    absent = sorted(set(range(num_classes)) - set(labels["y_train"].tolist()))
    if num_classes < 2 or absent:
        raise DatasetError(
            f"{where}: 'y_train' must hold every class 0..K-1 of K >= 2 classes; it has K = {num_classes} and "
            f"lacks {absent}"
        )
    subs = {
        key: _custom_labels(arrays[key], key, len(labels[y_key]), where)
        for key, y_key in zip(CUSTOM_SUBCLASS_KEYS, ("y_train", "y_test"), strict=True)
        if key in arrays
    }
    if subs:
        for key, sub in subs.items():
            if sub.min() < 0:
                raise DatasetError(f"{where}: {key!r} holds subclass {sub.min()}; subclasses must be >= 0")
        pairs = np.unique(
            np.stack([np.concatenate(list(subs.values())), np.concatenate([labels["y_train"], labels["y_test"]])]),
            axis=1,
        )
        subclasses, counts = np.unique(pairs[0], return_counts=True)
        if (counts > 1).any():
            spanning = subclasses[counts > 1][0]
            classes = pairs[1, pairs[0] == spanning].tolist()
            raise DatasetError(
                f"{where}: subclass {spanning} of 'sub_train'/'sub_test' spans classes {classes}; each subclass must "
                "lie within one class"
            )
    return DatasetArrays(
        name,
        x_train,
        labels["y_train"],
        x_test,
        labels["y_test"],
        sub_train=subs.get("sub_train"),
        sub_test=subs.get("sub_test"),
        max_shift=max_shift,
        flip=flip,
    )


def _custom_images(x: np.ndarray, key: str, where: str) -> np.ndarray:
    """Images as (N, C, H, W), uint8 or float32."""
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or len(x) == 0:
        raise DatasetError(f"{where}: {key!r} has shape {x.shape}, expected images N x C x H x W or N x H x W")
    if min(x.shape[2:]) < MIN_IMAGE_SIZE:
        raise DatasetError(f"{where}: {key!r} images are {x.shape[2:]} px, at least {MIN_IMAGE_SIZE} x 8 expected")
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise DatasetError(f"{where}: {key!r} has dtype {x.dtype}, expected uint8 or float")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DatasetError(f"{where}: {key!r} holds non-finite values")
    return x


def _custom_labels(y: np.ndarray, key: str, length: int, where: str) -> np.ndarray:
    """Integer labels, one per image, as int64."""
    if y.ndim != 1 or len(y) != length:
        raise DatasetError(f"{where}: {key!r} has shape {y.shape}, expected ({length},): one label per image")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{where}: {key!r} has dtype {y.dtype}, expected integers")
    return y.astype(np.int64)


# --- any built-in data set ----------------------------------------------------------------------------------


def load_dataset(name: str, source: str | os.PathLike[str] | None = None, md5: str | None = None) -> DatasetArrays:
    """Any built-in data set: CIFAR ones from an archive (checked against ``md5`` when given) or extracted folder,
    Fashion-MNIST from the folder of its four files, digits from scikit-learn."""
    info = dataset_info(name)
    if info.source == DIGITS:
        return load_digits_split(name)
    if source is None:
        raise ValueError(
            f"dataset {name!r} needs a source ({'folder' if info.source == FASHION_MNIST else 'archive or folder'})"
        )
    if info.source == FASHION_MNIST:
        return load_fashion(name, source)
    return load_cifar(name, source, md5)
