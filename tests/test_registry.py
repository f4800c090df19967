"""The measure registry: each measure declared once; a new declaration reaches measures.csv, the Kendall tables and
Fig. 3 of a real (tiny) study with no other edit."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, TINY_BASE, copy_workflow, snakemake, write_config

from intraclass.registry import MEASURES, Measure, PreactivationInputs, compute_measures, measures_for, register


def test_every_measure_is_declared_once_with_its_labels_and_orientation():
    assert list(MEASURES)[:5] == ["c1", "c2", "c3", "c4", "inv_sigma_p"]
    assert {m.name: m.orientation for m in MEASURES.values() if m.stage == "sharpness"} == {
        "inv_sigma_p": -1, "inv_sigma_pp": -1, "inv_alpha_p": -1, "inv_alpha_pp": -1,
    }  # fmt: skip
    assert MEASURES["c3"].latex == "$c_3$" and MEASURES["inv_alpha_p"].oriented_latex == "$-$$1/\\alpha'$"
    assert [m.name for m in measures_for(["c2", "c3", "inv_sigma_p", "other"])] == ["c2", "c3", "inv_sigma_p"]
    needing = [m.name for m in measures_for(stage="preactivations") if m.needs_subclasses]
    assert needing == ["c1", "c2"]
    assert "c1" not in [m.name for m in measures_for(subclasses=False)]


def test_a_name_is_declared_once_and_declarations_are_checked():
    with pytest.raises(ValueError, match="'c1' is already registered"):
        register(
            Measure("c1", "c1", "c1", +1, "neuron", True, "preactivations", "again", lambda inputs: 0.0,
                    needs=("preactivations",))
        )  # fmt: skip
    with pytest.raises(ValueError, match="orientation must be \\+1 or -1, got 0"):
        Measure("x", "x", "x", 0, "model", False, "sharpness", "x")
    with pytest.raises(ValueError, match="compute function belongs to every stage but sharpness"):
        Measure("x", "x", "x", 1, "model", False, "sharpness", "x", lambda inputs: 0.0, needs=("weights",))
    with pytest.raises(ValueError, match="needs must be a non-empty subset of"):
        Measure("x", "x", "x", 1, "model", False, "model", "x", lambda inputs: 0.0, needs=("gradients",))
    with pytest.raises(ValueError, match="preactivations stage needs the pre-activations only"):
        Measure("x", "x", "x", 1, "model", False, "preactivations", "x", lambda inputs: 0.0, needs=("weights",))
    assert {m.name: m.needs for m in measures_for(stage="sharpness")}["inv_sigma_p"] == ("weights", "training_set")
    assert MEASURES["fro_dist"].needs == ("weights", "initial_weights") and MEASURES["c4"].needs == ("preactivations",)


def test_compute_measures_shares_one_summary_and_skips_subclass_measures_without_subclasses():
    rng = np.random.default_rng(0)
    layers = [rng.standard_normal((60, 8)).astype(np.float16), rng.standard_normal((60, 4)).astype(np.float16)]
    labels = np.repeat([0, 1, 2], 20)
    inputs = PreactivationInputs(layers, ["a", "b"], labels, None, {"k_neurons": 3, "k_layers": 1})
    values = compute_measures(inputs)
    assert list(values) == [m.name for m in measures_for(stage="preactivations", subclasses=False)]
    assert values["c3"] == inputs.summary["c3"] and "c1" not in values


TOY = '''

def _toy(inputs: PreactivationInputs) -> float:
    """The mean pre-activation of the last layer: a measure declared by a user."""
    return float(np.mean(np.asarray(inputs.layers[-1], dtype=np.float64)))


register(Measure("toy", "toy", "$t$", +1, "layer", False, "preactivations", "mean of the last layer", _toy,
                 needs=("preactivations",)))


def _layer_count(inputs: ModelInputs) -> float:
    """The number of weight layers: a model-stage measure declared by a user."""
    return float(len(inputs.layers.final))


register(Measure("toy_layers", "layers", "layers", -1, "model", False, "model", "weight layers", _layer_count,
                 needs=("weights",)))
'''


@pytest.mark.slow
def test_a_registered_toy_measure_reaches_measures_csv_kendall_and_fig3(tmp_path):
    (tmp_path / "workflow").mkdir()
    workdir = copy_workflow(tmp_path / "workflow")
    package = tmp_path / "package"
    shutil.copytree(ROOT / "intraclass", package / "intraclass", ignore=shutil.ignore_patterns("__pycache__"))
    with open(package / "intraclass/registry.py", "a") as registry:  # the one edit: a declaration
        registry.write(TOY)
    study = {
        "study": "toy",
        "experiments": [
            {"dataset": "digits-coarse", "arch": "vgg", "design": "lists", "base": TINY_BASE,
             "values": {"lr": [0.1, 0.032, 0.01]}},
        ],  # fmt: skip
        "training": {"epochs": 1, "snapshot_epochs": []},
        "kendall": {"min_train_acc": 0.0, "n_resamples": 50},
        "sharpness": {"subset_size": 50, "eval_batch_size": 50, "bisection_iterations": 2, "mc_draws": 1,
                      "ascent_steps": 2, "ascent_check_every": 1, "ascent_lr_decay_step": 2, "ascent_batch_size": 50},
    }  # fmt: skip
    write_config(workdir / "config.yaml", study)
    env = {**os.environ, "PYTHONPATH": str(package)}
    targets = ["results/toy/measures.csv", "results/toy/kendall/digits-coarse_vgg.csv", "results/toy/figures/fig3.png"]
    targets.append("results/toy/leaderboard/digits-coarse_vgg.md")
    snakemake(workdir, *targets, env=env)
    measures = pd.read_csv(workdir / "results/toy/measures.csv")
    assert {"toy", "toy_untrained", "toy_pixels"} <= set(measures.columns) and measures["toy"].notna().all()
    assert (measures["toy_layers"] == 9).all()  # VGG-9: 8 convolutions and the head
    # the field's measures defined for any trained model (the margin bounds need a positive margin, the optimization
    # measures a cross-entropy of 0.1: after 1 epoch they may be undefined, with their reason in complexity.json)
    always = ["param_norm", "fro_dist", "log_prod_of_spec", "log_sum_of_spec", "log_prod_of_fro", "log_sum_of_fro",
              "dist_spec_init", "path_norm", "margin"]  # fmt: skip
    assert measures[always].notna().all().all() and (measures["fro_dist"] > 0).all()
    complexity = pd.read_json(workdir / f"results/toy/runs/{measures.run_id[0]}/complexity.json", typ="series")
    # the history records the optimizer steps; a 1-epoch run whose cross-entropy stays above 0.1 says so
    reached = complexity["measures"]["steps_to_ce"] is not None
    assert reached or complexity["reasons"]["steps_to_ce"] == "training cross-entropy never reached 0.1 in 1 epochs"
    board = pd.read_csv(workdir / "results/toy/leaderboard/digits-coarse_vgg.csv")
    assert set(always) | {"c3", "toy", "toy_layers"} <= set(board.measure)
    assert board.total.dropna().is_monotonic_decreasing and board.columns.tolist()[-2:] == ["cmi_k", "sign_error"]
    table = pd.read_csv(workdir / "results/toy/kendall/digits-coarse_vgg.csv")
    toy = table[table.measure == "toy"].set_index("cell")
    assert toy.loc["learning_rate", "n_pairs"] == 3 and np.isfinite(toy.loc["total", "value"])
    log = (workdir / "results/toy/logs/figures/fig3.log").read_text()
    assert "'toy'" in log.split("measures plotted:")[1]
    assert (workdir / "results/toy/figures/fig3.png").stat().st_size > 0
