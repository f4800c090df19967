"""Fashion-MNIST (SPEC §10): small files in the real gzipped IDX format read by the real reader, every failure mode,
the stratified training subset, the download's checks, and the real files Debian installs."""

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from intraclass import data as data_module
from intraclass.data import (
    DEBIAN_FASHION_DIR,
    FASHION_FILES,
    DatasetArrays,
    DatasetError,
    IdxFile,
    installed_fashion_dir,
    load_dataset,
    load_fashion,
    parse_idx,
    stratified_subset,
)

# label -> superclass under {0, 6}, {2, 4}, {5, 7}, {1, 3}, {8, 9}, written out by hand
SUPERCLASS_OF_LABEL = [0, 3, 1, 3, 1, 2, 0, 2, 4, 4]
N_TRAIN, N_TEST, HEIGHT, WIDTH = 40, 10, 5, 4  # a non-square size, so that rows and columns cannot be swapped


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An array in LeCun's IDX format: 0x0000, the type byte, the number of dimensions, big-endian dims, the data."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_gz(path, content: bytes) -> IdxFile:
    """Write ``content`` gzipped to ``path``; return its entry (sums of the content, md5 of the .gz)."""
    path.write_bytes(gzip.compress(content))
    gz_md5 = hashlib.md5(path.read_bytes()).hexdigest()
    return IdxFile(path.name, hashlib.sha256(content).hexdigest(), len(content), gz_md5)


def small_arrays() -> dict[str, np.ndarray]:
    """Images whose first pixel is their index, and labels 0..9 in turn."""
    arrays = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        images = np.zeros((n, HEIGHT, WIDTH), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n)
        images[:, HEIGHT - 1, WIDTH - 1] = 200  # the last pixel, to check the reshape
        arrays[f"{split}_images"] = images
        arrays[f"{split}_labels"] = (np.arange(n) * 7 % 10).astype(np.uint8)  # every label, not in order
    return arrays


@pytest.fixture
def small_fashion(tmp_path):
    """A folder of the four files with the official names, small; and their entries."""
    arrays = small_arrays()
    files = {role: write_gz(tmp_path / FASHION_FILES[role].filename, idx_bytes(a)) for role, a in arrays.items()}
    return tmp_path, files


def test_small_files_load_with_labels_shapes_and_order(small_fashion):
    folder, files = small_fashion
    data = load_fashion("fashion", folder, files)
    assert data.x_train.shape == (N_TRAIN, 1, HEIGHT, WIDTH) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (N_TEST, 1, HEIGHT, WIDTH)
    assert data.x_train[:, 0, 0, 0].tolist() == list(range(N_TRAIN))
    assert (data.x_train[:, 0, HEIGHT - 1, WIDTH - 1] == 200).all() and data.x_train[:, 0, 0, 1:].max() == 0
    assert data.y_train.tolist() == [i * 7 % 10 for i in range(N_TRAIN)]
    assert data.y_test.tolist() == [i * 7 % 10 for i in range(N_TEST)]
    assert data.sub_train is None and data.num_classes == 10
    assert (data.max_shift, data.flip) == (2, True)


def test_coarse_trains_on_the_five_superclasses_with_the_labels_as_subclasses(small_fashion):
    folder, files = small_fashion
    fine = load_fashion("fashion", folder, files)
    coarse = load_fashion("fashion-coarse", folder, files)
    np.testing.assert_array_equal(coarse.sub_train, fine.y_train)
    np.testing.assert_array_equal(coarse.sub_test, fine.y_test)
    assert coarse.y_train.tolist() == [SUPERCLASS_OF_LABEL[label] for label in fine.y_train]
    assert coarse.y_test.tolist() == [SUPERCLASS_OF_LABEL[label] for label in fine.y_test]
    assert coarse.num_classes == 5
    np.testing.assert_array_equal(coarse.x_train, fine.x_train)


def test_header_dimensions_are_big_endian():
    array = np.arange(2 * 300).reshape(2, 300) % 251  # 300 = 0x012C: a little-endian read would say 0x2C010000
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)


def test_missing_file_is_named(small_fashion):
    folder, files = small_fashion
    os.remove(folder / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte.gz' does not exist"):
        load_fashion("fashion", folder, files)


def test_truncated_gzip_is_named(small_fashion):
    folder, files = small_fashion
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte.gz' is not a complete gzip file: truncated"):
        load_fashion("fashion", folder, files)


def test_truncated_content_is_named_with_its_size(small_fashion):
    folder, files = small_fashion
    content = idx_bytes(small_arrays()["train_images"])
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(content[:-3]))
    expected = f"decompresses to {len(content) - 3:,} bytes, expected {len(content):,}"
    with pytest.raises(DatasetError, match=f"train-images-idx3-ubyte.gz' {expected}"):
        load_fashion("fashion", folder, files)


def test_altered_content_fails_its_checksum(small_fashion):
    folder, files = small_fashion
    arrays = small_arrays()
    arrays["test_labels"][3] = (arrays["test_labels"][3] + 1) % 10  # one label changed, same size
    altered = idx_bytes(arrays["test_labels"])
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(altered))
    message = f"sha256 {hashlib.sha256(altered).hexdigest()}, expected {files['test_labels'].sha256}: .* altered"
    with pytest.raises(DatasetError, match=message):
        load_fashion("fashion", folder, files)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05"), r"magic number 0x1f8b0800 is not an IDX header"),
        (b"\x00\x01\x08\x01\x00\x00\x00\x01\x05", r"magic number 0x00010801 is not an IDX header"),
        (b"\x00\x00\x08\x00\x05", r"magic number 0x00000800 is not an IDX header"),  # no dimensions
        (b"\x00\x00\x09\x01\x00\x00\x00\x01\x05", r"IDX data type 0x09, expected 0x08"),  # signed bytes
        (b"\x00\x00\x08", r"3 bytes, too short for an IDX header"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05\x05\x05\x05", r"IDX data type 0x0d, expected 0x08"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", r"8 bytes, too short for the header of a 3-d IDX array"),
        (
            b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02",
            r"the header gives dimensions \(3,\), 11 bytes in all, but the content has 10",
        ),
        (
            b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02",
            r"the header gives dimensions \(1,\), 9 bytes in all, but the content has 10",
        ),
    ],
)
def test_invalid_idx_header_is_named(small_fashion, content, message):
    folder, files = small_fashion
    # the file's own sums, so that the header check is what fails
    files = {**files, "train_labels": write_gz(folder / "train-labels-idx1-ubyte.gz", content)}
    with pytest.raises(DatasetError, match=f"train-labels-idx1-ubyte.gz: {message}"):
        load_fashion("fashion", folder, files)


def test_images_and_labels_must_agree(small_fashion):
    folder, files = small_fashion
    labels = small_arrays()["test_labels"][:-1]
    files = {**files, "test_labels": write_gz(folder / "t10k-labels-idx1-ubyte.gz", idx_bytes(labels))}
    with pytest.raises(
        DatasetError, match=r"t10k-labels-idx1-ubyte.gz' holds labels of shape \(9,\), expected \(10,\)"
    ):
        load_fashion("fashion", folder, files)


def test_the_official_sums_reject_other_files(small_fashion):
    folder, _ = small_fashion
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz' decompresses to .* expected 47,040,016"):
        load_fashion("fashion", folder)


def test_stratified_subset_is_exact_seeded_shared_by_fine_and_coarse(small_fashion):
    folder, files = small_fashion
    fine, coarse = (load_fashion(name, folder, files) for name in ("fashion", "fashion-coarse"))
    subset = stratified_subset(coarse, 20)
    assert np.bincount(subset.sub_train).tolist() == [2] * 10  # 4 images per label, half of each kept
    assert np.bincount(subset.y_train).tolist() == [4] * 5
    kept = subset.x_train[:, 0, 0, 0]
    assert (np.diff(kept.astype(int)) > 0).all()  # original order
    np.testing.assert_array_equal(subset.y_train, coarse.y_train[kept])
    np.testing.assert_array_equal(stratified_subset(fine, 20).x_train, subset.x_train)
    np.testing.assert_array_equal(stratified_subset(coarse, 20).x_train, subset.x_train)  # seeded
    assert not np.array_equal(stratified_subset(coarse, 20, seed=1).x_train, subset.x_train)
    np.testing.assert_array_equal(subset.x_test, coarse.x_test)  # the test split stays whole


@pytest.mark.parametrize(("size", "message"), [(40, "between 1 and 39"), (0, "between 1 and 39"), (5, "train_size")])
def test_subset_size_out_of_range_is_named(small_fashion, size, message):
    folder, files = small_fashion
    with pytest.raises(DatasetError, match=f"train_subset {size} of data set 'fashion'.*{message}"):
        stratified_subset(load_fashion("fashion", folder, files), size)


def test_installed_folder_is_found_only_with_all_four_files(small_fashion):
    folder, _ = small_fashion
    assert installed_fashion_dir(str(folder)) == str(folder)
    os.remove(folder / "train-labels-idx1-ubyte.gz")
    assert installed_fashion_dir(str(folder)) is None


def fake_download(sources):
    """torchvision's download_url, copying local files instead."""

    def download_url(url, root, filename):
        (Path(root) / filename).write_bytes((sources / url.rsplit("/", 1)[1]).read_bytes())

    return download_url


def test_download_checks_each_md5_and_leaves_no_folder_when_one_is_wrong(small_fashion, tmp_path, monkeypatch):
    import torchvision.datasets.utils

    folder, files = small_fashion
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", fake_download(folder))
    monkeypatch.setattr(data_module, "FASHION_FILES", files)
    target = tmp_path / "downloads" / "fashion-mnist"
    data_module.download_fashion(target)
    assert sorted(p.name for p in target.iterdir()) == sorted(f.filename for f in files.values())
    load_fashion("fashion-coarse", target, files)

    wrong = {**files, "test_images": IdxFile(files["test_images"].filename, "", 0, "0" * 32)}
    monkeypatch.setattr(data_module, "FASHION_FILES", wrong)
    other = tmp_path / "other" / "fashion-mnist"
    with pytest.raises(DatasetError, match=f"t10k-images-idx3-ubyte.gz' has md5 {files['test_images'].gz_md5}"):
        data_module.download_fashion(other)
    assert list((tmp_path / "other").iterdir()) == []  # neither the folder nor a temporary one


@pytest.mark.skipif(installed_fashion_dir() is None, reason="Debian's dataset-fashion-mnist is not installed")
def test_real_debian_files_pass_the_official_checks():
    fine = load_dataset("fashion", DEBIAN_FASHION_DIR)
    coarse = load_dataset("fashion-coarse", DEBIAN_FASHION_DIR)
    assert fine.x_train.shape == (60000, 1, 28, 28) and fine.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(fine.y_train).tolist() == [6000] * 10 and np.bincount(fine.y_test).tolist() == [1000] * 10
    assert fine.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # Ankle boot, T-shirt, T-shirt, Dress, ...
    assert fine.y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert np.bincount(coarse.y_train).tolist() == [12000] * 5
    assert coarse.y_test[:10].tolist() == [SUPERCLASS_OF_LABEL[label] for label in fine.y_test[:10]]
    subset = stratified_subset(coarse, 600)
    assert np.bincount(subset.sub_train).tolist() == [60] * 10 and len(subset.x_test) == 10000


@pytest.mark.slow
@pytest.mark.skipif(installed_fashion_dir() is None, reason="Debian's dataset-fashion-mnist is not installed")
def test_tiny_fashion_coarse_study_trains_and_measures_from_the_debian_files(tmp_path):
    import json

    from conftest import TINY_STUDY, copy_workflow, snakemake, write_config

    copy_workflow(tmp_path)
    # One epoch of 20 Adam steps on 500 images reaches about 0.57 test accuracy; the whole test set is evaluated.
    base = {**TINY_STUDY["experiments"][0]["base"], "optimizer": "adam", "batch_size": 25, "augment": True}
    experiment = {"dataset": "fashion-coarse", "arch": "vgg", "design": "lists", "base": base}
    config = {
        **TINY_STUDY,
        "experiments": [experiment],
        "datasets": {"fashion-coarse": {"train_subset": 500}},  # fashion_source unset: Debian's folder is found
        "training": {"epochs": 1},
    }
    write_config(tmp_path / "config.yaml", config)
    run_id = "fashion-coarse_vgg_lr0.1_wd0_bs25_adam_do0_aug1_w1_d1_r0"
    snakemake(tmp_path, "results/tiny/runs.csv", f"results/tiny/runs/{run_id}/measures.json")
    data = DatasetArrays.load(tmp_path / "resources/datasets/fashion-coarse.npz")
    assert data.x_train.shape == (500, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(data.sub_train).tolist() == [50] * 10 and (data.max_shift, data.flip) == (2, True)
    metrics = json.loads((tmp_path / f"results/tiny/runs/{run_id}/metrics.json").read_text())
    assert metrics["epochs_run"] == 1 and metrics["test_acc"] > 0.35  # 5 balanced superclasses: chance is 0.2
    measures = json.loads((tmp_path / f"results/tiny/runs/{run_id}/measures.json").read_text())
    assert all(np.isfinite(measures[name]) for name in ("c1", "c2", "c3", "c4"))
