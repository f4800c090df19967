import json
import multiprocessing
import os
import signal
import time

import numpy as np
import pytest
import torch

from intraclass.data import DatasetArrays, load_dataset
from intraclass.grid import RunConfig, TrainingSettings
from intraclass.models import ModelSpec, build_model
from intraclass.paths import snapshot_path
from intraclass.training import augment_batch, load_model, make_optimizer, train

CPU = torch.device("cpu")


def small_digits(n_train: int = 200) -> DatasetArrays:
    data = load_dataset("digits-coarse")
    return DatasetArrays(
        data.name,
        data.x_train[:n_train],
        data.y_train[:n_train],
        data.x_test[:100],
        data.y_test[:100],
        data.sub_train[:n_train],
        data.sub_test[:100],
    )


def run_config(**changes) -> RunConfig:
    values = dict(lr=0.1, weight_decay=0.0, batch_size=50, optimizer="sgd", dropout=0.2, augment=True, width=1, depth=1)
    return RunConfig("digits-coarse", "vgg", **{**values, **changes})


def test_augmentation_shifts_with_reflection_and_flips():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    generator = torch.Generator().manual_seed(3)
    out = augment_batch(x, 1, generator)
    generator = torch.Generator().manual_seed(3)
    shifts = torch.randint(0, 3, (2, 2), generator=generator)
    flips = torch.rand(2, generator=generator) < 0.5
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    for i in range(2):  # reference: crop the padded image at the drawn offset, then flip if drawn
        r, c = shifts[0, i].item(), shifts[1, i].item()
        expected = padded[i, :, r : r + 4, c : c + 4]
        if flips[i]:
            expected = expected.flip(2)
        torch.testing.assert_close(out[i], expected)
    assert out.shape == x.shape


def test_optimizer_rules():
    model = build_model(ModelSpec("vgg", 5, 1))
    sgd = make_optimizer(model, run_config(lr=0.032, weight_decay=4e-5))
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["weight_decay"] == 4e-5 and sgd.defaults["lr"] == 0.032
    adam = make_optimizer(model, run_config(optimizer="adam", lr=0.1))
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["lr"] == pytest.approx(0.001)


def test_schedule_milestones_scale_with_the_budget():
    assert TrainingSettings(epochs=250).milestones() == [150, 230, 240]
    assert TrainingSettings(epochs=10).milestones() == [6, 9, 10]
    with pytest.raises(ValueError, match=r"snapshot epochs \[12\]"):
        TrainingSettings(epochs=10, snapshot_epochs=(12,))


def test_training_records_history_snapshots_and_deletes_checkpoint(tmp_path):
    settings = TrainingSettings(epochs=3, checkpoint_every=1, snapshot_epochs=(1, 3))
    metrics = train(run_config(dropout=0.0, augment=False), small_digits(1347), settings, tmp_path, CPU)
    assert metrics["epochs_run"] == 3 and len(metrics["history"]) == 3
    assert [h["lr"] for h in metrics["history"]] == pytest.approx([0.1, 0.1, 0.02])  # x0.2 from epoch 3 of 3
    assert metrics["test_acc"] > 0.5 and not metrics["diverged"]
    assert snapshot_path(tmp_path, 1).exists() and snapshot_path(tmp_path, 3).exists()
    assert not (tmp_path / "checkpoint.pt").exists()
    json.dumps(metrics, allow_nan=False)
    final, _ = load_model(tmp_path / "model.pt")
    last, _ = load_model(snapshot_path(tmp_path, 3))
    for a, b in zip(final.state_dict().values(), last.state_dict().values(), strict=False):
        assert torch.equal(a, b)


def test_early_stop_fills_later_snapshots_with_final_weights(tmp_path):
    settings = TrainingSettings(epochs=5, min_loss=10.0, snapshot_epochs=(1, 4))
    metrics = train(run_config(), small_digits(), settings, tmp_path, CPU)
    assert metrics["epochs_run"] == 1
    assert snapshot_path(tmp_path, 4).exists()


def test_non_finite_loss_is_recorded_as_diverged(tmp_path):
    metrics = train(
        run_config(lr=1e12, dropout=0.0, augment=False), small_digits(), TrainingSettings(epochs=4), tmp_path, CPU
    )
    assert metrics["diverged"] is True
    assert metrics["epochs_run"] < 4
    assert metrics["train_loss"] is None
    json.dumps(metrics, allow_nan=False)


def _train_in_child(run_dir: str) -> None:
    torch.set_num_threads(1)
    train(
        run_config(),
        small_digits(),
        TrainingSettings(epochs=8, checkpoint_every=2, snapshot_epochs=(1, 8)),
        run_dir,
        CPU,
    )


def test_killed_run_resumes_from_checkpoint_to_identical_weights(tmp_path):
    torch.set_num_threads(1)
    settings = TrainingSettings(epochs=8, checkpoint_every=2, snapshot_epochs=(1, 8))
    reference = train(run_config(), small_digits(), settings, tmp_path / "uninterrupted", CPU)

    killed = tmp_path / "killed"
    child = multiprocessing.get_context("fork").Process(target=_train_in_child, args=(str(killed),))
    child.start()
    deadline = time.monotonic() + 120
    while not (killed / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # let it run on past the checkpoint, so the kill loses work
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert (killed / "checkpoint.pt").exists() and not (killed / "model.pt").exists()
    stored = torch.load(killed / "checkpoint.pt", weights_only=False)
    assert 2 <= stored["state"]["epoch"] < 8

    resumed = train(run_config(), small_digits(), settings, killed, CPU)
    a, _ = load_model(tmp_path / "uninterrupted" / "model.pt")
    b, _ = load_model(killed / "model.pt")
    for (name, wa), wb in zip(a.state_dict().items(), b.state_dict().values(), strict=False):
        assert torch.equal(wa, wb), name
    assert resumed["history"] == reference["history"]
    assert snapshot_path(killed, 1).exists()


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    train(run_config(), small_digits(), TrainingSettings(epochs=2, checkpoint_every=1), tmp_path / "a", CPU)
    other = tmp_path / "b"
    train(run_config(), small_digits(), TrainingSettings(epochs=4, checkpoint_every=1), other, CPU)
    reference = json.dumps(
        train(run_config(), small_digits(), TrainingSettings(epochs=3), tmp_path / "c", CPU)["history"]
    )
    # a checkpoint written for epochs=4 must not be resumed by an epochs=3 run
    torch.save({"fingerprint": "stale"}, other / "checkpoint.pt")
    again = train(run_config(), small_digits(), TrainingSettings(epochs=3), other, CPU)
    assert json.dumps(again["history"]) == reference
    assert np.isfinite(again["test_acc"])
