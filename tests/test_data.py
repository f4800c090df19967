import tarfile

import numpy as np
import pytest
from cifar_archives import write_cifar10, write_cifar100

from intraclass.data import CIFAR10, DatasetArrays, DatasetError, file_md5, load_cifar, load_dataset


def test_cifar10_archive_loads_with_labels_shapes_and_order(tmp_path):
    archive = write_cifar10(tmp_path / "cifar10.tar.gz")
    data = load_cifar("cifar10", archive, md5=file_md5(archive))
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_train.dtype == np.uint8
    assert data.x_train[:, 0, 0, 0].tolist() == list(range(20))  # batches 1..5 in order
    assert (data.x_train[:, 1, 0, 0] == 7).all()  # channel-first reshape
    assert data.y_train.tolist() == [i % 10 for i in range(20)]
    assert data.y_test.tolist() == [9, 8, 7]
    assert data.sub_train is None and data.num_classes == 10


def test_cifar100_fine_and_coarse(tmp_path):
    archive = write_cifar100(tmp_path / "cifar100.tar.gz")
    fine = load_cifar("cifar100", archive)
    coarse = load_cifar("cifar100-coarse", archive)
    assert fine.y_train.tolist() == list(range(10)) and fine.sub_train is None
    assert coarse.y_train.tolist() == [i // 5 for i in range(10)]
    assert coarse.sub_train.tolist() == list(range(10))  # the fine labels are kept as subclasses
    assert coarse.y_test.tolist() == [19, 0] and coarse.sub_test.tolist() == [99, 0]


def test_extracted_folder_is_accepted(tmp_path):
    archive = write_cifar10(tmp_path / "cifar10.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    from_folder = load_cifar("cifar10", tmp_path / "extracted")
    from_archive = load_cifar("cifar10", archive)
    np.testing.assert_array_equal(from_folder.x_train, from_archive.x_train)
    np.testing.assert_array_equal(from_folder.y_test, from_archive.y_test)


def test_wrong_md5_names_the_file(tmp_path):
    archive = write_cifar10(tmp_path / "cifar10.tar.gz")
    with pytest.raises(DatasetError, match=f"{archive}.*expected {CIFAR10.md5}"):
        load_cifar("cifar10", archive, md5=CIFAR10.md5)


def test_truncated_archive_names_the_file(tmp_path):
    archive = write_cifar10(tmp_path / "cifar10.tar.gz")
    raw = archive.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetError, match="truncated.tar.gz"):
        load_cifar("cifar10", truncated)


def test_folder_missing_a_batch_names_it(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with pytest.raises(DatasetError, match="data_batch_1"):
        load_cifar("cifar10", tmp_path)


def test_prepared_dataset_round_trips_and_is_written_atomically(tmp_path):
    data = load_cifar("cifar100-coarse", write_cifar100(tmp_path / "c.tar.gz"))
    data.save(tmp_path / "out.npz")
    back = DatasetArrays.load(tmp_path / "out.npz")
    assert back.name == "cifar100-coarse"
    np.testing.assert_array_equal(back.sub_train, data.sub_train)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.tar.gz", "out.npz"]  # no temp file left


@pytest.mark.parametrize("name", ["digits", "digits-coarse"])
def test_digits_split_is_fixed_stratified_and_real(name):
    data = load_dataset(name)
    assert data.x_train.shape == (1347, 1, 8, 8) and data.x_test.shape == (450, 1, 8, 8)
    assert data.x_train.max() == 16
    again = load_dataset(name)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    digits = data.y_train if name == "digits" else data.sub_train
    counts = np.bincount(digits) / len(digits)
    assert np.abs(counts - 0.1).max() < 0.01  # stratified
    if name == "digits-coarse":
        np.testing.assert_array_equal(data.y_train, data.sub_train // 2)
        assert data.num_classes == 5


def test_normalization_is_per_channel_train_statistics():
    data = load_dataset("digits")
    mean, std = data.normalization()
    assert mean == pytest.approx([data.x_train.mean()]) and std == pytest.approx([data.x_train.std()])


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="'mnist'"):
        load_dataset("mnist")


def test_outputs_get_the_usual_permissions(tmp_path):
    import os

    from intraclass.storage import write_text

    old = os.umask(0o022)
    try:
        write_text(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644
