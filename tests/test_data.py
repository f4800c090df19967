import re
import tarfile

import numpy as np
import pytest
from cifar_archives import write_cifar10, write_cifar100

from intraclass.data import (
    CIFAR10,
    DATASETS,
    DatasetArrays,
    DatasetError,
    dataset_info,
    downsample,
    file_md5,
    load_cifar,
    load_custom,
    load_dataset,
    study_datasets,
)


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


# --- a user's own data set ----------------------------------------------------------------------------------


def custom_arrays(n_train: int = 30, n_test: int = 12) -> dict[str, np.ndarray]:
    """3 classes of 2 subclasses each (subclass = 2 * class + 0 or 1), 8x8 one-channel images given as N x H x W."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        sub = np.arange(n) % 6
        arrays[f"x_{split}"] = rng.integers(0, 256, (n, 8, 8), dtype=np.uint8)
        arrays[f"y_{split}"] = sub // 2
        arrays[f"sub_{split}"] = sub
    return arrays


def write_custom(path, **changes):
    """A custom .npz; a change of None drops that key."""
    arrays = {**custom_arrays(), **changes}
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def test_custom_dataset_loads_with_channel_axis_and_subclasses(tmp_path):
    data = load_custom(write_custom(tmp_path / "mine.npz"), "mine", max_shift=1, flip=True)
    arrays = custom_arrays()
    assert data.x_train.shape == (30, 1, 8, 8) and data.x_train.dtype == np.uint8
    np.testing.assert_array_equal(data.x_train[:, 0], arrays["x_train"])
    assert data.y_test.tolist() == arrays["y_test"].tolist() and data.sub_train.tolist() == arrays["sub_train"].tolist()
    assert data.num_classes == 3 and (data.max_shift, data.flip) == (1, True)
    data.save(tmp_path / "prepared.npz")
    back = DatasetArrays.load(tmp_path / "prepared.npz")
    assert (back.name, back.max_shift, back.flip) == ("mine", 1, True)  # augmentation travels with the arrays


def test_custom_float_images_are_kept_as_float32_channels_first(tmp_path):
    x_train = np.linspace(-1, 1, 30 * 3 * 8 * 8).reshape(30, 3, 8, 8)  # float64, 3 channels
    x_test = np.zeros((12, 3, 8, 8))
    data = load_custom(
        write_custom(tmp_path / "f.npz", x_train=x_train, x_test=x_test, sub_train=None, sub_test=None), "f"
    )
    assert data.x_train.dtype == np.float32 and data.x_train.shape == (30, 3, 8, 8)
    np.testing.assert_allclose(data.x_train, x_train, rtol=1e-6)
    assert data.sub_train is None and (data.max_shift, data.flip) == (0, False)
    mean, _ = data.normalization()
    assert mean == pytest.approx(x_train.mean(axis=(0, 2, 3)).tolist(), abs=1e-6)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"y_test": None}, r"lacks the keys \['y_test'\]"),
        ({"x_train": None, "y_train": None}, r"lacks the keys \['x_train', 'y_train'\]"),
        ({"labels": np.zeros(3)}, r"unexpected keys \['labels'\]"),
        ({"sub_test": None}, r"has 'sub_train' but not 'sub_test'"),
        ({"x_train": np.zeros((30, 64), np.uint8)}, r"'x_train' has shape \(30, 64\), expected images N x C x H x W"),
        ({"x_test": np.zeros((12, 9, 8), np.uint8)}, r"'x_test' images are \(1, 9, 8\) uint8, but 'x_train' images"),
        (
            {"x_test": np.zeros((12, 8, 8), np.float32)},
            r"'x_test' images are \(1, 8, 8\) float32, but 'x_train' images",
        ),
        ({"x_train": np.zeros((30, 6, 6), np.uint8)}, r"'x_train' images are \(6, 6\) px, at least 8 x 8"),
        ({"x_train": np.zeros((30, 8, 8), np.int64)}, r"'x_train' has dtype int64, expected uint8 or float"),
        ({"x_test": np.full((12, 8, 8), np.nan)}, r"'x_test' holds non-finite values"),
        ({"y_train": np.arange(29) % 3}, r"'y_train' has shape \(29,\), expected \(30,\): one label per image"),
        ({"y_test": (np.arange(12) % 3).astype(float)}, r"'y_test' has dtype float64, expected integers"),
        ({"y_test": np.array([0, 1, 2] * 3 + [3, 0, 1])}, r"'y_test' holds label 3, outside 0..2 \(K = 3"),
        ({"y_train": np.array([-1] + [0, 1, 2] * 9 + [0, 1])}, r"'y_train' holds label -1, outside 0..2"),
        ({"y_train": np.array([0, 2] * 15)}, r"'y_train' must hold every class 0..K-1 .* K = 3 and lacks \[1\]"),
        ({"y_train": np.zeros(30, int), "y_test": np.zeros(12, int)}, r"'y_train' must hold every class .* K = 1 and"),
        ({"sub_test": np.arange(11)}, r"'sub_test' has shape \(11,\), expected \(12,\)"),
        ({"sub_train": np.arange(30) % 6 - 1}, r"'sub_train' holds subclass -1; subclasses must be >= 0"),
        ({"sub_test": np.arange(12) % 6 // 2}, r"subclass 1 of 'sub_train'/'sub_test' spans classes \[0, 1\]"),
    ],
)
def test_bad_custom_file_is_an_error_naming_the_key(tmp_path, changes, message):
    path = write_custom(tmp_path / "bad.npz", **changes)
    with pytest.raises(DatasetError, match=message):
        load_custom(path, "mine")


def test_custom_file_missing_or_unreadable_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"'mine': file '.*absent.npz' does not exist"):
        load_custom(tmp_path / "absent.npz", "mine")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DatasetError, match=r"text.npz' is not a readable .npz file"):
        load_custom(tmp_path / "text.npz", "mine")


def test_custom_shift_must_fit_the_images(tmp_path):
    with pytest.raises(DatasetError, match=r"max_shift 8 must be at least 0 and below .* \(8, 8\)"):
        load_custom(write_custom(tmp_path / "mine.npz"), "mine", max_shift=8)


def custom_experiment(path, arch="vgg", augment=False, **dataset):
    base = dict(lr=0.1, weight_decay=0, batch_size=10, optimizer="sgd", dropout=0, augment=augment, width=1, depth=1)
    return {"dataset": {"name": "mine", "path": str(path), **dataset}, "arch": arch, "design": "lists", "base": base}


def test_study_datasets_describe_builtin_and_custom_ones(tmp_path):
    path = write_custom(tmp_path / "mine.npz")
    experiments = [
        custom_experiment(path, max_shift=1),
        custom_experiment(path, arch="resnet", augment=True, max_shift=1),
        {"dataset": "digits", "arch": "vgg", "design": "paper"},
    ]
    infos = study_datasets(experiments, {"mine": {"train_subset": 12}})
    assert sorted(infos) == ["digits", "mine"]
    assert infos["digits"] == dataset_info("digits")
    assert (infos["mine"].path, infos["mine"].sublabel_key, infos["mine"].max_shift, infos["mine"].flip) == (
        str(path),
        "sub_train",
        1,
        False,
    )
    no_subclasses = write_custom(tmp_path / "plain.npz", sub_train=None, sub_test=None)
    assert study_datasets([custom_experiment(no_subclasses)])["mine"].sublabel_key is None


def test_study_datasets_without_validation_read_only_the_list_of_arrays(tmp_path):
    """A Snakemake job's re-parse: the file is not validated, its subclasses come from the names of its arrays."""
    bad = write_custom(tmp_path / "bad.npz", y_train=np.full(30, -1))  # labels a validation refuses
    with pytest.raises(DatasetError, match="y_train"):
        study_datasets([custom_experiment(bad)])
    info = study_datasets([custom_experiment(bad, max_shift=1)], validate=False)["mine"]
    assert (info.path, info.sublabel_key, info.max_shift) == (str(bad), "sub_train", 1)
    plain = write_custom(tmp_path / "plain.npz", sub_train=None, sub_test=None)
    assert study_datasets([custom_experiment(plain)], validate=False)["mine"].sublabel_key is None


@pytest.mark.parametrize(
    ("experiments", "options", "message"),
    [
        ([custom_experiment("{path}", name="digits")], None, r"cannot take the built-in name 'digits'"),
        (
            [custom_experiment("{path}"), custom_experiment("{path}", flip=True)],
            None,
            r"experiment 2 \(dataset 'mine'\): path .* flip True differ from an earlier experiment's",
        ),
        ([custom_experiment("{path}", augment=True)], None, r"experiment 1 .* augment: true, but the data set has no"),
        ([custom_experiment("{path}")], {"fashion": {"train_subset": 10}}, r"'datasets' names \['fashion'\], which no"),
        ([custom_experiment("{path}/absent.npz")], None, r"does not exist"),
    ],
)
def test_study_datasets_refuse_inconsistent_studies(tmp_path, experiments, options, message):
    path = write_custom(tmp_path / "mine.npz")
    for experiment in experiments:
        experiment["dataset"]["path"] = experiment["dataset"]["path"].format(path=path)
    with pytest.raises(DatasetError, match=message):
        study_datasets(experiments, options)


def test_built_in_augmentation_follows_the_spec():
    """Shifts of 4 px with flips for CIFAR, 2 px with flips for Fashion-MNIST, 1 px and never a flip for digits."""
    augmentation = {name: (info.max_shift, info.flip) for name, info in DATASETS.items()}
    assert augmentation == {
        "cifar10": (4, True),
        "cifar100": (4, True),
        "cifar100-coarse": (4, True),
        "digits": (1, False),
        "digits-coarse": (1, False),
        "fashion": (2, True),
        "fashion-coarse": (2, True),
    }
    assert (load_dataset("digits").max_shift, load_dataset("digits").flip) == (1, False)


def test_resolution_average_pools_both_splits_and_scales_the_shift():
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (3, 1, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (2, 1, 28, 28), dtype=np.uint8)
    y = np.array([0, 1, 0])
    data = DatasetArrays("fashion-coarse", x_train, y, x_test, y[:2], sub_train=y, sub_test=y[:2])
    pooled = downsample(data, 14)
    for original, small in ((x_train, pooled.x_train), (x_test, pooled.x_test)):
        assert small.shape == (len(original), 1, 14, 14) and small.dtype == np.float32
        for i, r, c in ((0, 0, 0), (1, 13, 13), (len(original) - 1, 6, 9)):  # the mean of the 2x2 block, by hand
            block = original[i, 0, 2 * r : 2 * r + 2, 2 * c : 2 * c + 2].astype(np.float64)
            assert small[i, 0, r, c] == block.mean()
    assert (pooled.max_shift, pooled.flip) == (1, True)  # Fashion-MNIST: 2 px at 28x28, 1 px at 14x14
    np.testing.assert_array_equal(pooled.sub_train, y)
    cifar = DatasetArrays(
        "cifar10", np.zeros((1, 3, 32, 32), np.uint8), y[:1], np.zeros((1, 3, 32, 32), np.uint8), y[:1]
    )
    assert downsample(cifar, 16).max_shift == 2 and downsample(cifar, 8).max_shift == 1  # 4 px / 4, at least 1
    digits = DatasetArrays(
        "digits", np.zeros((1, 1, 16, 16), np.uint8), y[:1], np.zeros((1, 1, 16, 16), np.uint8), y[:1]
    )
    assert (downsample(digits, 8).max_shift, downsample(digits, 8).flip) == (1, False)
    for resolution in (12, 7):
        with pytest.raises(
            DatasetError, match=f"resolution {resolution} of data set 'fashion-coarse': its images are 28 x 28"
        ):
            downsample(data, resolution)


def test_augmentation_without_flips_only_shifts():
    import torch

    from intraclass.training import augment_batch

    x = torch.arange(3 * 2 * 5 * 5, dtype=torch.float32).view(3, 2, 5, 5)
    out = augment_batch(x, 2, torch.Generator().manual_seed(5), flip=False)
    shifts = torch.randint(0, 5, (2, 3), generator=torch.Generator().manual_seed(5))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    for i in range(3):
        r, c = shifts[0, i].item(), shifts[1, i].item()
        torch.testing.assert_close(out[i], padded[i, :, r : r + 5, c : c + 5])


@pytest.mark.slow
def test_tiny_study_on_a_custom_file_runs_end_to_end(tmp_path):
    import pandas as pd
    from conftest import TINY_STUDY, copy_workflow, snakemake, write_config

    copy_workflow(tmp_path)
    rng = np.random.default_rng(1)
    arrays = {}
    for split, n in (("train", 90), ("test", 30)):
        sub = np.arange(n) % 6
        x = rng.normal(0, 1, (n, 3, 8, 8)).astype(np.float32)
        x[np.arange(n), sub % 3] += 2.0  # each subclass lights its own channel: something to learn
        arrays |= {f"x_{split}": x, f"y_{split}": sub // 2, f"sub_{split}": sub}
    np.savez(tmp_path / "mine.npz", **arrays)
    base = {**TINY_STUDY["experiments"][0]["base"], "batch_size": 30, "augment": True}  # shifts and flips
    dataset = {"name": "my-data", "path": "mine.npz", "max_shift": 1, "flip": True}
    experiment = {"dataset": dataset, "arch": "vgg", "design": "lists", "base": base}
    write_config(
        tmp_path / "config.yaml",
        {**TINY_STUDY, "experiments": [{**experiment, "values": {"lr": [0.1, 0.032, 0.01]}}]},
    )
    # through the Kendall table and one figure: the rest of the DAG is the built-in data sets' (tested elsewhere)
    snakemake(tmp_path, "results/tiny/kendall/my-data_vgg.md", "results/tiny/figures/my-data_vgg/fig11.png")
    runs = pd.read_csv(tmp_path / "results/tiny/runs.csv")
    assert len(runs) == 3 and set(runs.dataset) == {"my-data"} and (runs.epochs_run == 2).all()
    assert runs.run_id.str.startswith("my-data_vgg_").all()
    measures = pd.read_csv(tmp_path / "results/tiny/measures.csv")
    assert len(measures) >= 3 and measures.filter(regex="^c1").notna().all().all()  # subclass measures computed
    assert (tmp_path / "results/tiny/kendall/my-data_vgg.md").exists()
    assert (tmp_path / "results/tiny/figures/my-data_vgg/fig11.png").exists()
    prepared = DatasetArrays.load(tmp_path / "resources/datasets/my-data.npz")
    assert (prepared.max_shift, prepared.flip, prepared.x_train.dtype) == (1, True, np.float32)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"y_test": None}, r"config: bad.npz: lacks the keys \['y_test'\]"),
        ({"sub_test": np.arange(12) % 6 // 2}, r"bad.npz: subclass 1 of 'sub_train'/'sub_test' spans classes \[0, 1\]"),
    ],
)
def test_bad_custom_file_stops_the_workflow_before_any_job(tmp_path, changes, message):
    from conftest import TINY_STUDY, copy_workflow, snakemake, write_config

    copy_workflow(tmp_path)
    write_custom(tmp_path / "bad.npz", **changes)
    experiment = custom_experiment("bad.npz")
    write_config(tmp_path / "config.yaml", {**TINY_STUDY, "experiments": [experiment]})
    result = snakemake(tmp_path, "-n", check=False)
    assert result.returncode != 0 and re.search(message, result.stdout + result.stderr)
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_cifar_quick_config_plans_its_11_runs(tmp_path):
    from conftest import copy_workflow, snakemake

    copy_workflow(tmp_path)
    result = snakemake(tmp_path, "-n", "--configfile", "configs/cifar-quick.yaml", "--quiet", "rules")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, re.MULTILINE))
    assert (counts["train"], counts["sharpness"], counts["download_cifar"]) == ("11", "11", "1")
