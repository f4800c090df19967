import fcntl
import json
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time

import numpy as np
import pytest
import torch

from intraclass.correctness import correctness_matrix, pack_correct, unpack_correct
from intraclass.data import DatasetArrays, load_dataset
from intraclass.grid import RunConfig, TrainingSettings
from intraclass.models import ModelSpec, build_model
from intraclass.paths import snapshot_path
from intraclass.training import (
    augment_batch,
    evaluate,
    load_model,
    make_optimizer,
    model_spec,
    normalized_tensor,
    recalibrate_batchnorm,
    resolve_precision,
    train,
)

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
    with pytest.raises(ValueError, match=r"snapshot epochs \[12\] are outside 0..10"):
        TrainingSettings(epochs=10, snapshot_epochs=(12,))


def test_settings_accept_epoch_zero_and_known_precisions_only():
    assert TrainingSettings(epochs=3, snapshot_epochs=(3, 0, 0)).snapshot_epochs == (0, 3)
    with pytest.raises(ValueError, match=r"snapshot epochs \[-1\] are outside 0..3"):
        TrainingSettings(epochs=3, snapshot_epochs=(-1, 0))
    with pytest.raises(ValueError, match="precision must be one of .* got 'fp16'"):
        TrainingSettings(precision="fp16")


def test_precision_auto_is_fp32_on_the_cpu_and_on_cuda():
    assert resolve_precision("auto", CPU) == torch.float32
    assert resolve_precision("auto", torch.device("cuda")) == torch.float32  # bf16 measured slower on an H200
    assert resolve_precision("fp32", CPU) == torch.float32
    assert resolve_precision("bf16", CPU) == torch.bfloat16


def test_evaluate_matches_one_whole_batch_forward():
    torch.manual_seed(0)
    model = build_model(ModelSpec("vgg", 5, 1)).eval()
    x, y = torch.randn(23, 1, 8, 8), torch.randint(0, 5, (23,))
    loss, correct = evaluate(model, x, y, batch_size=5)
    with torch.no_grad():
        logits = model(x)
    assert correct.dtype == np.bool_ and correct.tolist() == (logits.argmax(1) == y).tolist()
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-6)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One 3-epoch run with snapshots at epochs 0, 1 and 3, shared by the tests that only read its outputs."""
    run, data, run_dir = run_config(dropout=0.0, augment=False), small_digits(1347), tmp_path_factory.mktemp("run")
    settings = TrainingSettings(epochs=3, checkpoint_every=1, snapshot_epochs=(0, 1, 3))
    return run, data, train(run, data, settings, run_dir, CPU), run_dir


def test_training_records_history_snapshots_and_deletes_checkpoint(trained_run):
    _, _, metrics, run_dir = trained_run
    assert metrics["epochs_run"] == 3 and len(metrics["history"]) == 3
    assert [h["lr"] for h in metrics["history"]] == pytest.approx([0.1, 0.1, 0.02])  # x0.2 from epoch 3 of 3
    assert [h["steps"] for h in metrics["history"]] == [27, 54, 81]  # 1347 images in batches of 50: 27 a pass
    assert metrics["n_train"] == 1347 and metrics["bn_recalibration"]["images"] == 1347
    assert metrics["test_acc"] > 0.5 and not metrics["diverged"]
    assert all(snapshot_path(run_dir, epoch).exists() for epoch in (0, 1, 3))
    assert not (run_dir / "checkpoint.pt").exists() and not (run_dir / "checkpoint_snapshots").exists()
    json.dumps(metrics, allow_nan=False)
    final, _ = load_model(run_dir / "model.pt")
    last, _ = load_model(snapshot_path(run_dir, 3))
    for a, b in zip(final.state_dict().values(), last.state_dict().values(), strict=False):
        assert torch.equal(a, b)


def test_metrics_store_which_test_images_the_final_model_got_right(trained_run):
    _, data, metrics, run_dir = trained_run
    assert metrics["n_test"] == 100 and metrics["precision"] == "fp32"
    correct = unpack_correct(metrics["test_correct"], metrics["n_test"])
    assert correct.any() and not correct.all()  # a mix of right and wrong, so the comparisons below can fail
    assert correct.mean() == metrics["test_acc"]  # exactly
    model, (mean, std) = load_model(run_dir / "model.pt")
    with torch.no_grad():
        predicted = model(normalized_tensor(data.x_test, mean, std, CPU)).argmax(1).numpy()
    np.testing.assert_array_equal(correct, predicted == data.y_test)
    np.testing.assert_array_equal(correctness_matrix([metrics, metrics]), [correct, correct])


def test_epoch_zero_snapshot_is_the_untrained_network_with_recalibrated_statistics(trained_run):
    run, data, _, run_dir = trained_run
    torch.manual_seed(run.seed)
    network = build_model(model_spec(run, data))  # what train() builds before any step
    initialised = {name: value.clone() for name, value in network.state_dict().items()}
    untrained, _ = load_model(snapshot_path(run_dir, 0))
    trained, _ = load_model(snapshot_path(run_dir, 1))
    for name, value in network.named_parameters():
        assert torch.equal(untrained.state_dict()[name], value), name
    recalibrate_batchnorm(network, normalized_tensor(data.x_train, *data.normalization(), CPU), 1000)
    for name, value in network.state_dict().items():
        assert torch.equal(untrained.state_dict()[name], value), name  # BN statistics of the training split
    assert not torch.equal(untrained.state_dict()["stages.1.running_var"], initialised["stages.1.running_var"])
    assert not torch.equal(trained.state_dict()["head.weight"], initialised["head.weight"])


def test_recalibration_gives_every_batchnorm_the_statistics_of_its_input_with_dropout_off():
    torch.manual_seed(0)
    model = build_model(ModelSpec("vgg", 5, 1, dropout=0.4)).train()
    x = torch.randn(24, 1, 8, 8)
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in batch_norms:  # statistics far from the truth, as if gathered under another input distribution
        bn.running_mean.fill_(5.0)
        bn.running_var.fill_(9.0)
    weights = {name: value.clone() for name, value in model.named_parameters()}

    # Reference: each BN's input in one forward pass of a copy with dropout off (dropout layers in inference mode).
    reference = build_model(ModelSpec("vgg", 5, 1, dropout=0.4)).train()
    reference.load_state_dict(model.state_dict())
    captured = []
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.register_forward_pre_hook(lambda _, args: captured.append(args[0].detach().clone()))
        if isinstance(module, torch.nn.Dropout):
            module.eval()
    with torch.no_grad():
        reference(x)

    recalibrate_batchnorm(model, x, batch_size=24)  # one batch: the statistics are the whole set's
    assert model.training and all(m.training for m in model.modules())  # its mode is left as it was
    for bn, seen in zip(batch_norms, captured, strict=True):
        torch.testing.assert_close(bn.running_mean, seen.mean(dim=(0, 2, 3)))
        torch.testing.assert_close(bn.running_var, seen.var(dim=(0, 2, 3), unbiased=True))
        assert bn.momentum == 0.1  # restored after update_bn's cumulative average
    for name, value in model.named_parameters():
        assert torch.equal(value, weights[name]), name
    # With dropout on, the deeper layers would see inputs of another variance: the property above is not vacuous.
    with torch.no_grad():
        model.train()(x)
    assert not torch.allclose(batch_norms[-1].running_var, captured[-1].var(dim=(0, 2, 3)), rtol=0.05)


def test_dropout_run_of_the_default_vgg_fits_its_training_set_in_inference_mode(tmp_path):
    """The default study's VGG with dropout 0.2, 15 epochs on digits-coarse: train accuracy in inference mode."""
    torch.set_num_threads(1)
    run = run_config(dropout=0.2, augment=False, batch_size=100)
    settings = TrainingSettings(epochs=15, checkpoint_every=100, test_every=15, snapshot_epochs=(8,))
    data = small_digits(1347)
    metrics = train(run, data, settings, tmp_path, CPU)
    assert metrics["train_acc"] >= 0.99
    model, (mean, std) = load_model(tmp_path / "model.pt")
    x_train = normalized_tensor(data.x_train, mean, std, CPU)
    loss, correct = evaluate(model, x_train, torch.as_tensor(data.y_train), 1000)
    assert correct.mean() == metrics["train_acc"] and loss == pytest.approx(metrics["train_loss"])
    before = metrics["bn_recalibration"]
    assert before["train_loss_before"] > metrics["train_loss"]  # the training-time statistics fit worse
    snapshot, _ = load_model(snapshot_path(tmp_path, 8))  # recalibrated too: running_var matches a fresh one
    recalibrated, _ = load_model(snapshot_path(tmp_path, 8))
    recalibrate_batchnorm(recalibrated, x_train, 1000)
    for (name, a), b in zip(snapshot.state_dict().items(), recalibrated.state_dict().values(), strict=True):
        if "running" in name:
            torch.testing.assert_close(a, b, msg=name)


def test_bf16_training_runs_and_reports_the_float32_model(tmp_path):
    data = small_digits()
    metrics = train(run_config(augment=False), data, TrainingSettings(epochs=1, precision="bf16"), tmp_path, CPU)
    assert metrics["precision"] == "bf16" and np.isfinite(metrics["history"][0]["train_loss"])
    model, (mean, std) = load_model(tmp_path / "model.pt")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    with torch.no_grad():
        predicted = model(normalized_tensor(data.x_test, mean, std, CPU)).argmax(1).numpy()
    assert metrics["test_acc"] == np.mean(predicted == data.y_test)


def test_packed_correctness_round_trips_and_rejects_bad_input():
    correct = np.array([True, False, True] + [False] * 9 + [True])  # 13 images: 2 bytes, 3 padding bits
    packed = pack_correct(correct)
    assert packed == "oAg="  # 0b10100000, 0b00001000
    np.testing.assert_array_equal(unpack_correct(packed, 13), correct)
    with pytest.raises(ValueError, match="holds 2 bytes; 20 images need 3"):
        unpack_correct(packed, 20)
    with pytest.raises(ValueError, match="bits set beyond its 4 images"):
        unpack_correct(pack_correct(np.array([False] * 4 + [True])), 4)
    with pytest.raises(ValueError, match="bool array, got dtype int64"):
        pack_correct(np.array([1, 0]))
    with pytest.raises(ValueError, match="not base64"):
        unpack_correct("not base64!", 8)
    runs = [
        {"run_id": "a", "n_test": 13, "test_correct": packed},
        {"run_id": "b", "n_test": 12, "test_correct": "AAA="},
    ]
    with pytest.raises(ValueError, match="run b has n_test 12, the runs before it 13"):
        correctness_matrix(runs)


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
        TrainingSettings(epochs=8, checkpoint_every=2, snapshot_epochs=(0, 1, 8)),
        run_dir,
        CPU,
    )


def test_killed_run_resumes_from_checkpoint_to_identical_weights(tmp_path):
    torch.set_num_threads(1)
    settings = TrainingSettings(epochs=8, checkpoint_every=2, snapshot_epochs=(0, 1, 8))
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
    assert snapshot_path(killed, 0).exists() and snapshot_path(killed, 1).exists()


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


def test_finished_run_whose_outputs_were_deleted_is_restored_without_training(tmp_path, caplog):
    settings = TrainingSettings(epochs=2, checkpoint_every=1, snapshot_epochs=(0, 2))
    run_dir = tmp_path / "run"
    first = train(run_config(), small_digits(), settings, run_dir, CPU)
    outputs = [run_dir / "model.pt", snapshot_path(run_dir, 0), snapshot_path(run_dir, 2)]
    stored = [path.read_bytes() for path in outputs]
    for path in outputs:  # as Snakemake deletes the outputs of a job it takes for incomplete
        path.unlink()
    epochs = []
    with caplog.at_level(logging.INFO, logger="intraclass.training"):
        again = train(run_config(), small_digits(), settings, run_dir, CPU, on_epoch=epochs.append)
    assert epochs == [] and "outputs restored, no epoch trained" in caplog.text
    assert again == first and len(again["history"]) == 2 and again["n_train"] == 200
    assert [path.read_bytes() for path in outputs] == stored
    assert (run_dir / "model.pt").stat().st_ino == (run_dir / "finished/model.pt").stat().st_ino  # a link, no copy
    assert not (run_dir / "checkpoint.pt").exists()

    # other data (here fewer training images) is another training: the stale record goes, the run trains
    retrained = train(run_config(), small_digits(150), settings, run_dir, CPU, on_epoch=epochs.append)
    assert [record["epoch"] for record in epochs] == [1, 2] and retrained["n_train"] == 150
    assert (run_dir / "model.pt").read_bytes() != stored[0]


def test_second_training_of_a_run_waits_for_the_first_then_restores_its_result(tmp_path, caplog):
    settings = TrainingSettings(epochs=2, checkpoint_every=1, snapshot_epochs=(2,))
    reference = train(run_config(), small_digits(), settings, tmp_path / "reference", CPU)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    epochs, results = [], []
    second = threading.Thread(
        target=lambda: results.append(train(run_config(), small_digits(), settings, run_dir, CPU, epochs.append))
    )
    with caplog.at_level(logging.INFO, logger="intraclass.training"), open(run_dir / "train.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first training of the run, in another job
        second.start()
        deadline = time.monotonic() + 60
        while "another process trains this run" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        assert second.is_alive() and epochs == [] and not (run_dir / "model.pt").exists()
        shutil.copytree(tmp_path / "reference/finished", run_dir / "finished")  # the first one finishes
        fcntl.flock(lock, fcntl.LOCK_UN)
        second.join()
    assert epochs == [] and results == [reference]
    assert (run_dir / "model.pt").read_bytes() == (tmp_path / "reference/model.pt").read_bytes()


def test_test_every_evaluates_the_test_split_at_its_period_snapshots_and_the_end(tmp_path):
    settings = TrainingSettings(epochs=5, test_every=2, snapshot_epochs=(1,))
    metrics = train(run_config(), small_digits(), settings, tmp_path, CPU)
    assert [h["epoch"] for h in metrics["history"] if "test_acc" in h] == [1, 2, 4, 5]
    assert all("train_acc" in h for h in metrics["history"])
    with pytest.raises(ValueError, match="test_every must be >= 1, got 0"):
        TrainingSettings(test_every=0)


def test_a_run_with_a_train_size_refuses_a_split_of_another_size(tmp_path):
    run = RunConfig("digits", "vgg", 0.1, 0, 100, "sgd", 0, False, 1, 1, train_size=300)
    data = load_dataset("digits")  # the whole split, 1,347 images, not the run's stratified subset of 300
    with pytest.raises(ValueError, match=r"train_size 300 but data set 'digits' has 1347 training images"):
        train(run, data, TrainingSettings(epochs=1), tmp_path, torch.device("cpu"))
    assert not list(tmp_path.iterdir())
