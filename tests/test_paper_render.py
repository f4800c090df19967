"""The paper's study renders: fabricated results for its 528 runs give Tables 1-3, beside the paper's, and every
figure."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT

from intraclass import figure_data, plots
from intraclass.grid import study_runs
from intraclass.kendall import kendall_interval_table, kendall_table, write_kendall_tables
from intraclass.measures import measure_summary
from intraclass.paper import paper_experiments, paper_table, side_by_side, write_side_by_side
from intraclass.registry import MEASURES
from intraclass.results import RUN_COLUMNS
from intraclass.selection import experiment_name, followed_runs, mark_runs, select_runs

PAPER_TABLES = {"cifar100-coarse_resnet": "table1", "cifar100_resnet": "table2", "cifar10_vgg": "table3"}


def fabricate(seed: int = 0):
    """measures.csv rows and measure_summary dicts for the paper's runs; measures follow accuracy with noise."""
    rng = np.random.default_rng(seed)
    config = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    rows, summaries = [], {}
    for run in study_runs(config["experiments"]).values():
        test_acc = 0.5 + 0.1 * run.augment - 0.5 * run.lr + 0.02 * rng.standard_normal()
        coarse = run.dataset == "cifar100-coarse"
        n_layers = 24 if run.depth == 1.5 else 16 if run.arch == "resnet" else 12 if run.depth == 1.5 else 8
        labels = np.repeat(np.arange(20 if coarse else 10), 10)
        sublabels = np.repeat(np.arange(100), 2) if coarse else None
        layers = [rng.standard_normal((len(labels), 3)) + test_acc * (labels % 3)[:, None] for _ in range(n_layers)]
        summary = measure_summary(layers, site_names(run.arch, n_layers), labels, sublabels, k_neurons=5, k_layers=2)
        summaries[run.run_id] = summary
        rows.append(
            {
                **run.as_dict(),
                "epochs_run": 250,
                "train_acc": 1.0 if rng.random() > 0.05 else 0.9,
                "train_loss": 1e-3,
                "test_acc": test_acc,
                "test_loss": 1.0,
                "diverged": bool(rng.random() < 0.02),
                "wall_s": 100.0,
                **{m: summary[m] for m in ("c1", "c2", "c3", "c4") if m in summary},
                **{m: -test_acc + 0.05 * rng.standard_normal() for m in MEASURES if m.startswith("inv_")},
            }
        )
    return pd.DataFrame(rows), summaries


def site_names(arch: str, n_layers: int) -> list[str]:
    """Pre-activation site names of the form the models give (intraclass.activations.site_names)."""
    if arch == "resnet":
        return [f"stages.{b}.{site}" for b in range(n_layers // 2) for site in ("branch.2", "preactivation")]
    return [f"stages.{5 * i + 2}" for i in range(n_layers)]


@pytest.fixture(scope="module")
def paper():
    return fabricate()


def test_fabricated_study_has_the_paper_shape(paper):
    measures, _ = paper
    assert len(measures) == 528
    assert set(RUN_COLUMNS) <= set(measures.columns)
    assert measures.groupby(["dataset", "arch"]).size().to_dict() == {
        ("cifar10", "vgg"): 144,
        ("cifar100", "resnet"): 192,
        ("cifar100-coarse", "resnet"): 192,
    }


def test_tables_1_to_3_render(paper, tmp_path):
    measures, _ = paper
    for experiment, name in PAPER_TABLES.items():
        dataset, arch = experiment.rsplit("_", 1)
        kept, excluded = select_runs(measures[(measures.dataset == dataset) & (measures.arch == arch)])
        assert len(excluded) > 0 and set(excluded.run_id).isdisjoint(kept.run_id)
        table = kendall_table(kept, [m for m in MEASURES if m in kept and kept[m].notna().any()])
        md = write_kendall_tables(table, tmp_path / name)[1].read_text()
        expected_rows = 8 if dataset == "cifar100-coarse" else 6  # c1, c2 only with subclasses
        assert len(md.splitlines()) == 2 + expected_rows
        assert table.drop(columns="train_size").notna().all().all()  # the full grid has every axis of the paper's
        assert table["train_size"].isna().all()  # and never varies the training-set size
        # the fabricated sharpness is -accuracy plus noise: once negated, it ranks the models the right way
        assert (table.loc[[m for m in table.index if m.startswith("inv_")], "total"] > 0).all()


def test_tables_1_to_3_render_beside_the_papers(paper, tmp_path):
    measures, _ = paper
    assert paper_experiments() == set(PAPER_TABLES)
    cell = re.compile(r"-?\d\.\d\d / -?\d\.\d\d \([+-]\d\.\d\d\)")
    for experiment in PAPER_TABLES:
        dataset, arch = experiment.rsplit("_", 1)
        kept = select_runs(measures[(measures.dataset == dataset) & (measures.arch == arch)]).kept
        ours = kendall_table(kept, [m for m in MEASURES if m in kept.columns])  # c1, c2: NaN without subclasses
        theirs = paper_table(experiment)
        comparison = side_by_side(ours, theirs)
        expected = (ours.stack() - theirs.stack()).loc[comparison.index]
        np.testing.assert_array_equal(comparison.difference.to_numpy(), expected.to_numpy())
        paths = write_side_by_side(comparison, tmp_path / f"{experiment}_vs_paper", experiment)
        assert [p.name for p in paths] == [f"{experiment}_vs_paper.{ext}" for ext in ("csv", "md", "tex")]
        rows = [line.strip("|").split("|") for line in paths[1].read_text().splitlines() if line.startswith("|")][2:]
        assert [r[0].strip() for r in rows] == (
            ["c1", "c2", "c3", "c4"] if dataset == "cifar100-coarse" else ["c3", "c4"]
        ) + ["1/σ'", "1/σ''", "1/α'", "1/α''"]
        assert all(len(row) == 11 for row in rows)  # the measure, 9 axes, the total
        assert all(cell.fullmatch(c.strip()) for row in rows for c in row[1:9] + row[10:])
        assert all(row[9].strip() == "n/a" for row in rows)  # train size: neither side varies it
        assert len(pd.read_csv(paths[0])) == len(rows) * 10
        assert len(cell.findall(paths[2].read_text())) == len(rows) * 9


def test_every_figure_renders(paper, tmp_path):
    measures, summaries = paper
    selection = select_runs(measures)
    kept = selection.kept
    tables = {}
    for (dataset, arch), runs in kept.groupby(["dataset", "arch"]):
        present = [m for m in MEASURES if m in runs and runs[m].notna().any()]
        tables[experiment_name(dataset, arch)] = kendall_interval_table(runs, present, n_resamples=10)
    figures = {
        "fig3": plots.fig3_measure_vs_accuracy(selection, tables),
        "fig3_sharpness": plots.fig3_sharpness_vs_accuracy(selection, tables),
        "fig8": plots.fig8_accuracy_histogram(selection),
    }
    # the paper's layout: a row per experiment, c1-c4 (c1, c2 empty without subclasses), sharpness apart
    assert len(figures["fig3"].axes) == 3 * 4 and len(figures["fig3_sharpness"].axes) == 3 * 4
    rng = np.random.default_rng(1)
    for (dataset, arch), runs in kept.groupby(["dataset", "arch"]):
        experiment = f"{dataset}_{arch}"
        ids = list(runs.run_id)
        ks = figure_data.log_k_grid(min(summaries[i]["n_neurons"] for i in ids), 5)
        curves = {m: figure_data.kendall_over_k(runs, summaries, m, ks) for m in ("c1", "c3") if runs[m].notna().any()}
        per_class = figure_data.subclasses_per_class([summaries[i] for i in ids]) if "c1" in curves else None
        figures[f"{experiment}_fig4"] = plots.fig4_kendall_vs_k(curves, per_class, title=experiment)
        for depth, at_depth in runs.groupby("depth"):
            trained = [summaries[i] for i in at_depth.run_id]
            figures[f"{experiment}_fig5_{depth:g}"] = plots.fig5_measures_per_layer(
                trained, f"{experiment}, depth x{depth:g}", untrained=trained[::-1]
            )
        followed = followed_runs(mark_runs(runs))
        epochs = [0, 1, 10, 50, 250]
        figures[f"{experiment}_fig6"] = plots.fig6_measures_over_epochs(
            {
                f"{label}: {plots.run_label(run_id, 0.5)}": pd.DataFrame(
                    {"epoch": epochs, "c3": rng.random(5), "c4": rng.random(5), "test_acc": rng.random(5)}
                )
                for label, run_id in followed.items()
            },
            pixels={"c3": 0.5, "c4": 0.5},
        )
        layers = [rng.standard_normal((200, 3)) for _ in range(8)]
        labels = np.repeat(np.arange(20), 10)
        layer, neuron, class_id = figure_data.top_ratio_neuron(layers, labels)
        names = plots.layer_labels(site_names("vgg", 8))
        figures[f"{experiment}_fig2"] = plots.fig2_neuron_histogram(
            figure_data.neuron_by_class(layers, labels, layer, neuron, class_id, layer_names=names),
            run=plots.run_label(followed["high"], 0.5),
        )
        if dataset == "cifar100-coarse":
            figures[f"{experiment}_fig11"] = plots.fig11_selectivity_distribution([summaries[i] for i in ids])
            figures[f"{experiment}_fig7"] = plots.fig7_selective_neuron_over_epochs(
                {
                    which: [(e, rng.standard_normal(50) + 1, rng.standard_normal(200)) for e in epochs]
                    for which in ("max", "median")
                },
                run=plots.run_label(followed["high"], 0.5),
            )
    assert len(figures) == 3 + 3 * 3 + 3 * 2 + 2  # fig3 (2), 8; per experiment fig2, 4, 6, and fig5 per depth; fig7, 11
    for name, figure in figures.items():
        plots.save_figure(figure, tmp_path / f"{name}.pdf", tmp_path / f"{name}.png", dpi=40)
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
