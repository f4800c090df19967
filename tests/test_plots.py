"""The figure functions of intraclass.plots on small synthetic data: panels, artists, values, errors, writing."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.markers import MarkerStyle

from intraclass import figure_data, plots
from intraclass.kendall import AXES, granulated_kendall, interval_markdown, kendall_interval_table
from intraclass.selection import experiment_name, select_runs

GRID = dict(lr=[0.01, 0.1], batch_size=[100, 300], optimizer=["sgd", "adam"])


def study(n_experiments: int = 2, with_sharpness: bool = True, seed: int = 0) -> pd.DataFrame:
    """A small measures table: per experiment, 8 models on a 2x2x2 grid of lr, batch size and optimizer."""
    rng = np.random.default_rng(seed)
    rows = []
    experiments = [("cifar100-coarse", "resnet"), ("cifar10", "vgg"), ("digits", "vgg")][:n_experiments]
    for dataset, arch in experiments:
        for lr, bs, opt in itertools.product(*GRID.values()):
            acc = 0.5 + 0.4 * rng.random()
            row = dict(
                run_id=f"{dataset}_{arch}_lr{lr}_bs{bs}_{opt}",
                dataset=dataset,
                arch=arch,
                lr=lr,
                weight_decay=0.0,
                batch_size=bs,
                optimizer=opt,
                dropout=0.0,
                augment=False,
                width=1.0,
                depth=1.0,
                replicate=0,
                seed=1,
                epochs_run=10,
                train_acc=1.0,
                train_loss=1e-3,
                test_acc=acc,
                test_loss=1.0,
                diverged=False,
                wall_s=1.0,
                c1=acc + rng.normal(0, 0.05) if dataset == "cifar100-coarse" else np.nan,
                c2=acc + rng.normal(0, 0.05) if dataset == "cifar100-coarse" else np.nan,
                c3=2 * acc + rng.normal(0, 0.05),
                c4=acc,
            )
            if with_sharpness:
                row["inv_sigma_p"] = 1.0 - acc  # a complexity: negated, it ranks like the accuracy
            rows.append(row)
    return pd.DataFrame(rows)


def summary(
    n_layers: int = 4, per_layer: int = 3, n_classes: int = 2, per_class: int = 3, seed: int = 0, offset: float = 0.0
) -> dict:
    rng = np.random.default_rng(seed)
    n_neurons = n_layers * per_layer
    n_sub = n_classes * per_class
    return {
        "n_samples": 100,
        "n_neurons": n_neurons,
        "layer_names": [f"stages.{i}" for i in range(n_layers)],
        "layer_sizes": [per_layer] * n_layers,
        "classes": list(range(n_classes)),
        "c1": 1.0,
        "c2": 0.5,
        "c3": 1.2,
        "c4": 1.1,
        "per_layer": {m: list(offset + np.arange(n_layers) + (i / 10)) for i, m in enumerate(["c1", "c2", "c3", "c4"])},
        "k_curve": {
            "c1": list(offset + np.linspace(2, 1, n_neurons)),
            "c3": list(offset + np.linspace(1.5, 1, n_neurons)),
        },
        "subclasses": {
            "id": list(range(n_sub)),
            "superclass": [i // per_class for i in range(n_sub)],
            "selectivity_k1": list(rng.uniform(1, 4, n_sub)),
            "neuron": [0] * n_sub,
            "layer": ["stages.1"] * n_sub,
            "neuron_in_layer": [2] * n_sub,
            "c1_topk": [1.0] * n_sub,
            "c2_topk": [0.5] * n_sub,
        },
    }


# --------------------------------------------------------------------------------------------------------------
# save_figure


def test_save_figure_writes_pdf_and_png_atomically(tmp_path):
    fig = plots.fig8_accuracy_histogram(select_runs(study(1)))
    pdf, png = tmp_path / "out" / "fig.pdf", tmp_path / "out" / "fig.png"
    plots.save_figure(fig, pdf, png)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fig.pdf", "fig.png"]  # no temp file left


# --------------------------------------------------------------------------------------------------------------
# Fig. 2


def layered_data(seed: int = 0):
    """Two layers, 3 classes of 50 samples; neuron 1 of layer 1 is bimodal within class 2 (high c3 ratio)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1, 2], 50)
    l0 = rng.normal(0, 1, (150, 2))
    l1 = rng.normal(0, 1, (150, 3))
    l1[:, 1] = np.where(labels == 2, np.where(np.arange(150) % 2 == 0, -5.0, 5.0), 0.0) + rng.normal(0, 0.1, 150)
    return [l0.astype(np.float16), l1.astype(np.float16)], labels


def test_fig2_histogram_and_ratio():
    layers, labels = layered_data()
    assert figure_data.top_ratio_neuron(layers, labels) == (1, 1, 2)
    neuron = figure_data.neuron_by_class(layers, labels, 1, 1, 2, layer_names=["a", "b"])
    x = np.asarray(layers[1][:, 1], dtype=float)
    ratio = x[labels == 2].std() / x.std()
    assert neuron.values.tolist() == x.tolist() and neuron.in_class.sum() == 50
    assert neuron.ratio == pytest.approx(ratio) and neuron.layer == "b"
    fig = plots.fig2_neuron_histogram(neuron, bins=20, run="run7 (90.0% test)")
    (ax,) = fig.axes
    assert len(ax.containers) == 2
    whole, cls = ax.containers
    assert len(whole.patches) == 20 and len(cls.patches) == 20
    assert ax.get_title().startswith("run7 (90.0% test)\nb, neuron 1, class 2: ")
    assert ax.get_title().endswith(f"= {ratio:.2f}")


def test_fig2_errors():
    layers, labels = layered_data()
    with pytest.raises(ValueError, match="layer_index"):
        figure_data.neuron_by_class(layers, labels, 2, 0, 0)
    with pytest.raises(ValueError, match="neuron 3"):
        figure_data.neuron_by_class(layers, labels, 1, 3, 0)
    with pytest.raises(ValueError, match="no samples"):
        figure_data.neuron_by_class(layers, labels, 1, 0, 7)


# --------------------------------------------------------------------------------------------------------------
# Fig. 3


STAR_BASE = dict(lr=0.1, weight_decay=0.0, batch_size=100, optimizer="sgd", dropout=0.0, augment=False, width=1.0)
STAR = [{}, {"lr": 0.01}, {"lr": 0.032}, {"batch_size": 300}, {"optimizer": "adam"}, {"width": 1.5, "depth": 1.5}]


def star_study(seed: int = 0) -> pd.DataFrame:
    """Two experiments of a star design around STAR_BASE (depth 1), two replicates each; the last configuration
    differs on two axes. c1 follows the accuracy (cifar100-coarse only), with controls; inv_sigma_p = 1 - acc."""
    rng = np.random.default_rng(seed)
    rows = []
    for dataset, arch in [("cifar100-coarse", "resnet"), ("cifar10", "vgg")]:
        for i, change in enumerate(STAR):
            for replicate in range(2):
                acc = 0.6 + 0.05 * i + 0.01 * replicate
                config = {**STAR_BASE, "depth": 1.0, **change}
                rows.append(
                    dict(
                        run_id=f"{dataset}_{arch}_{i}_r{replicate}",
                        dataset=dataset,
                        arch=arch,
                        **config,
                        replicate=replicate,
                        seed=replicate,
                        train_acc=1.0,
                        test_acc=acc,
                        diverged=False,
                        c1=acc + 0.01 * rng.random() if dataset == "cifar100-coarse" else np.nan,
                        c1_untrained=0.8 + 0.01 * i,  # median over the kept runs: see the tests
                        c1_pixels=0.9,
                        c1_shuffled=-5.0,  # far below the trained values: written at the left edge
                        c3=acc,
                        inv_sigma_p=1.0 - acc,
                    )
                )
    return pd.DataFrame(rows)


def kendall_tables(kept: pd.DataFrame, tmp_path, measures=("c1", "c3", "inv_sigma_p")) -> dict[str, pd.DataFrame]:
    """Each experiment's Kendall interval table, through its CSV as the workflow reads it."""
    tables = {}
    for (dataset, arch), runs in kept.groupby(["dataset", "arch"]):
        table = kendall_interval_table(runs, list(measures), n_resamples=50, seed=0)
        path = tmp_path / f"{dataset}_{arch}.csv"
        table.to_csv(path)
        tables[experiment_name(dataset, arch)] = pd.read_csv(path)
        tables[f"{experiment_name(dataset, arch)} markdown"] = interval_markdown(table)
    return tables


def markdown_total(markdown: str, measure_label: str) -> str:
    """The total cell of a measure's row in interval_markdown's table."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == measure_label:
            return cells[-1]
    raise AssertionError(f"no row {measure_label!r}")


def excluded_selection(df: pd.DataFrame, run_ids: list[str]):
    return select_runs(df.assign(train_acc=np.where(df.run_id.isin(run_ids), 0.5, 1.0)), 0.99)


def test_varied_axes_names_the_axis_each_run_varies():
    df = star_study()
    rows = df[df.dataset == "cifar10"]
    assert figure_data.varied_axes(rows).tolist() == [
        *["base"] * 2,
        *["learning_rate"] * 4,
        *["batch_size"] * 2,
        *["optimizer"] * 2,
        *["several axes"] * 2,
    ]
    with pytest.raises(ValueError, match="missing hyperparameter"):
        figure_data.varied_axes(rows.drop(columns=["depth"]))


def test_fig3_layout_titles_from_the_kendall_table(tmp_path):
    df = star_study()
    selection = excluded_selection(df, ["cifar100-coarse_resnet_3_r0"])
    tables = kendall_tables(selection.kept, tmp_path)
    fig = plots.fig3_measure_vs_accuracy(selection, tables)
    # a row per experiment (cifar10/vgg, then cifar100-coarse/resnet), a column per preactivation measure
    assert len(fig.axes) == 2 * 2
    assert not fig.axes[0].axison and "0 kept run(s)" in fig.axes[0].texts[0].get_text()  # no c1 on cifar10
    panels = [("cifar10_vgg", "c3"), ("cifar100-coarse_resnet", "c1"), ("cifar100-coarse_resnet", "c3")]
    for ax, (experiment, label) in zip(fig.axes[1:], panels, strict=True):
        total = markdown_total(tables[f"{experiment} markdown"], label)
        assert re.fullmatch(r"-?\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\]‡?( \(\d/\d axes\))?", total)  # an interval
        assert ax.get_title().endswith(f"granulated $\\tau$ = {total}".replace(" (", "\n("))  # axes: own line
    assert "23 kept runs (filled), 1 excluded" in fig.get_suptitle()


def test_fig3_title_reads_the_total_cell():
    df = star_study()
    selection = select_runs(df[df.dataset == "cifar10"])
    cells = ["learning_rate", "total"]
    table = pd.DataFrame(
        {
            "measure": ["c3", "c3"],
            "cell": cells,
            "value": [0.5, 0.71349],
            "lo": [np.nan, 0.5151],
            "hi": [np.nan, 0.8649],
            "n_groups": [1, 3],
            "n_pairs": [1, 9],
            "n_axes": [np.nan, 6],
            "few_pairs": [True, False],
            "few_seeds": [False, False],
            "missing_reason": pd.Series([np.nan, np.nan], dtype=object),  # the CSV's empty cells, read back
        }
    )
    fig = plots.fig3_measure_vs_accuracy(selection, {"cifar10_vgg": table})
    assert fig.axes[0].get_title().endswith("= 0.71 [0.52, 0.86]\n(6/9 axes)")
    # a study that compares one axis (the 8 others in no group): a total over it carries no mark
    one_axis = pd.concat([table.iloc[:1]] * 9 + [table.iloc[1:]], ignore_index=True)
    one_axis["cell"] = [axis.name for axis in AXES] + ["total"]
    one_axis.loc[1:8, "missing_reason"] = "no group with 2 values of the axis"
    one_axis.loc[9, "n_axes"] = 1
    fig = plots.fig3_measure_vs_accuracy(selection, {"cifar10_vgg": one_axis})
    assert fig.axes[0].get_title().endswith("= 0.71 [0.52, 0.86]")
    # every axis present: no "(k/n axes)"
    table.loc[1, ["value", "lo", "hi", "few_pairs", "n_axes"]] = [-0.0001, np.nan, np.nan, True, 9]
    fig = plots.fig3_measure_vs_accuracy(selection, {"cifar10_vgg": table})
    assert fig.axes[0].get_title().endswith("= 0.00†")
    table.loc[1, "few_seeds"] = True
    fig = plots.fig3_measure_vs_accuracy(selection, {"cifar10_vgg": table})
    assert fig.axes[0].get_title().endswith("= 0.00†‡")
    table.loc[1, "missing_reason"] = "no axis present"
    fig = plots.fig3_measure_vs_accuracy(selection, {"cifar10_vgg": table})
    assert fig.axes[0].get_title().endswith("= n/a (no axis present)")
    with pytest.raises(ValueError, match="no total for 'c3'"):
        plots.fig3_measure_vs_accuracy(selection, {"cifar10_vgg": table.iloc[:1]})
    with pytest.raises(ValueError, match="no Kendall table for experiment 'cifar10_vgg'"):
        plots.fig3_measure_vs_accuracy(selection, {"cifar10_resnet": table})


def test_fig3_points_colours_base_star_and_hollow_excluded(tmp_path):
    df = star_study()
    out = ["cifar100-coarse_resnet_0_r1", "cifar100-coarse_resnet_3_r0"]  # one base run, one batch-size run
    selection = excluded_selection(df, out)
    fig = plots.fig3_measure_vs_accuracy(selection, kendall_tables(selection.kept, tmp_path), measures=["c1"])
    assert len(fig.axes) == 2
    ax = fig.axes[1]  # cifar100-coarse / resnet
    marker = MarkerStyle("*")
    star = marker.get_path().transformed(marker.get_transform()).vertices
    points = {}
    for collection in ax.collections:
        hollow = len(collection.get_facecolors()) == 0
        is_star = np.array_equal(collection.get_paths()[0].vertices, star)
        color = to_hex(collection.get_edgecolors()[0] if hollow else collection.get_facecolors()[0])
        points[(color, is_star, hollow)] = len(collection.get_offsets())
    blue, green, red = (plots.COLORS[i] for i in (0, 2, 3))
    grey = to_hex("0.6")
    assert points == {
        ("#000000", True, False): 1,  # base, kept
        ("#000000", True, True): 1,  # base, excluded: hollow
        (blue, False, False): 4,  # learning rate
        (green, False, False): 1,  # batch size, kept
        (green, False, True): 1,  # batch size, excluded: hollow
        (red, False, False): 2,  # optimizer
        (grey, False, False): 2,  # width and depth together
    }
    rows = df[df.dataset == "cifar100-coarse"]
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(np.sort(drawn[:, 0]), np.sort(rows.c1))
    np.testing.assert_allclose(np.sort(drawn[:, 1]), np.sort(100 * rows.test_acc))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [
        "base configuration",
        "varies learning rate",
        "varies batch size",
        "varies optimizer",
        "several axes",
        "excluded",
        "untrained (median)",
        "input pixels",
        "shuffled subclasses (median)",
    ]


def test_fig3_control_lines(tmp_path):
    df = star_study()
    selection = excluded_selection(df, ["cifar100-coarse_resnet_5_r0", "cifar100-coarse_resnet_5_r1"])
    fig = plots.fig3_measure_vs_accuracy(selection, kendall_tables(selection.kept, tmp_path), measures=["c1"])
    ax = fig.axes[1]
    lines = {line.get_label(): line.get_xdata()[0] for line in ax.lines}
    # the median over the kept runs (configurations 0-4, two runs each): 0.8 + 0.01 * 2
    assert lines == {"untrained": pytest.approx(0.82), "pixels": pytest.approx(0.9)}
    assert [line.get_linestyle() for line in ax.lines] == [plots.CONTROL_STYLES[name]["linestyle"] for name in lines]
    (edge,) = [t for t in ax.texts if t.get_gid() == "control:shuffled"]
    assert edge.get_text() == "\u2190 shuffled -5.00" and edge.get_position()[0] < 0.5  # at the left edge


def test_fig3_sharpness_is_negated_with_its_own_columns(tmp_path):
    df = star_study()
    selection = select_runs(df)
    tables = kendall_tables(selection.kept, tmp_path)
    fig = plots.fig3_sharpness_vs_accuracy(selection, tables)
    assert len(fig.axes) == 2  # one sharpness measure, two experiments
    ax = fig.axes[1]
    rows = df[df.dataset == "cifar100-coarse"]
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(np.sort(drawn[:, 0]), np.sort(-rows.inv_sigma_p))
    assert ax.get_xlabel() == "$-$$1/\\sigma'$" and not ax.lines  # no control for sharpness
    assert ax.get_title().endswith(
        markdown_total(tables["cifar100-coarse_resnet markdown"], "1/σ'").replace(" (", "\n(")
    )
    # every title inside the figure: a total over k of the 9 axes was once clipped at the figure's right edge
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    for ax in fig.axes:
        title = ax.title.get_window_extent(renderer)
        assert 0 <= title.x0 and title.x1 <= fig.bbox.width, ax.get_title()


def test_fig3_errors(tmp_path):
    df = star_study()
    selection = select_runs(df)
    tables = kendall_tables(selection.kept, tmp_path)
    with pytest.raises(ValueError, match=r"\['inv_alpha_p'\] not in the measures table"):
        plots.fig3_measure_vs_accuracy(selection, tables, ["inv_alpha_p"])
    with pytest.raises(ValueError, match="no sharpness measure"):
        plots.fig3_sharpness_vs_accuracy(select_runs(df.drop(columns=["inv_sigma_p"])), tables)
    one_each = select_runs(df.groupby("dataset").head(1))  # one kept run per experiment: nothing to draw
    with pytest.raises(ValueError, match="no experiment has 2 kept runs"):
        plots.fig3_measure_vs_accuracy(one_each, tables, ["c3"])


# --------------------------------------------------------------------------------------------------------------
# Fig. 4


def test_kendall_over_k_replaces_the_measure_per_k():
    df = study(1, with_sharpness=False)
    # run i's k curve: at k=1 it ranks like the accuracy, at k=2 against it, at k=3 constant
    summaries = {}
    for run_id, acc in zip(df.run_id, df.test_acc, strict=False):
        summaries[run_id] = {"k_curve": {"c3": [acc, -acc, 1.0]}}
    ks, totals = figure_data.kendall_over_k(df, summaries, "c3", [3, 1, 2, 1])
    assert ks.tolist() == [1, 2, 3]
    np.testing.assert_allclose(totals, [1.0, -1.0, 0.0])
    expected = granulated_kendall(df.assign(c3=-df.test_acc), "c3")["total"]
    assert totals[1] == pytest.approx(expected)
    with pytest.raises(ValueError, match="only 3 neurons"):
        figure_data.kendall_over_k(df, summaries, "c3", [4])
    with pytest.raises(ValueError, match="no measure summary"):
        figure_data.kendall_over_k(df, dict(list(summaries.items())[1:]), "c3", [1])
    with pytest.raises(ValueError, match="no k curve"):
        figure_data.kendall_over_k(df, summaries, "c1", [1])


def test_fig4_lines_and_c1_scaling():
    curves = {
        "c1": (np.array([1, 2, 10, 100]), np.array([0.7, 0.6, np.nan, 0.5])),
        "c3": (np.array([1, 5, 50, 500]), np.array([0.8, 0.7, 0.6, 0.5])),
    }
    fig = plots.fig4_kendall_vs_k(curves, subclasses_per_class=5, title="t")
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [5, 10, 500])  # NaN skipped, k x 5
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.7, 0.6, 0.5])
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [1, 5, 50, 500])
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="subclasses_per_class"):
        plots.fig4_kendall_vs_k(curves)
    with pytest.raises(ValueError, match="no curve has a finite"):
        plots.fig4_kendall_vs_k({"c3": ([1, 2], [np.nan, np.nan])})
    with pytest.raises(ValueError, match="at least one curve"):
        plots.fig4_kendall_vs_k({})


def test_subclasses_per_class_and_log_k_grid():
    assert figure_data.subclasses_per_class([summary(n_classes=4, per_class=5)] * 2) == 5
    assert figure_data.subclasses_per_class({"a": summary(per_class=2), "b": {"classes": [0]}}) == 2
    with pytest.raises(ValueError, match="disagree"):
        figure_data.subclasses_per_class([summary(per_class=2), summary(per_class=3)])
    with pytest.raises(ValueError, match="no summary has subclasses"):
        figure_data.subclasses_per_class([{"classes": [0, 1]}])
    grid = figure_data.log_k_grid(1000, 10)
    assert grid[0] == 1 and grid[-1] == 1000 and np.all(np.diff(grid) > 0) and len(grid) == 10
    assert figure_data.log_k_grid(1).tolist() == [1]


# --------------------------------------------------------------------------------------------------------------
# Fig. 5 and the layer labels

VGG_SITES = {  # intraclass.activations.site_names of the models (test_layer_labels_of_the_real_models checks them)
    1.0: ["stages.2", "stages.7", "stages.13", "stages.18", "stages.24", "stages.29", "stages.35", "stages.40"],
    1.5: [f"stages.{i}" for i in (2, 7, 12, 18, 23, 28, 34, 39, 44, 50, 55, 60)],
}


def resnet_sites(blocks: int) -> list[str]:
    return [f"stages.{b}.{site}" for b in range(blocks) for site in ("branch.2", "preactivation")]


def test_layer_labels():
    assert plots.layer_labels(VGG_SITES[1.0]) == [
        "s1.b1",
        "s1.b2",
        "s2.b1",
        "s2.b2",
        "s3.b1",
        "s3.b2",
        "s4.b1",
        "s4.b2",
    ]
    assert plots.layer_labels(VGG_SITES[1.5])[3:6] == ["s2.b1", "s2.b2", "s2.b3"]
    assert plots.layer_labels(resnet_sites(8))[:6] == ["s1.b1.1", "s1.b1.2", "s1.b2.1", "s1.b2.2", "s2.b1.1", "s2.b1.2"]
    labels = plots.layer_labels(resnet_sites(12))
    assert len(labels) == 24 and labels[-2:] == ["s4.b3.1", "s4.b3.2"] and len(set(labels)) == 24
    with pytest.raises(ValueError, match="'layer0' is not a pre-activation site"):
        plots.layer_labels(["layer0"] * 4)
    with pytest.raises(ValueError, match="6 blocks cannot be split into 4 stages"):
        plots.layer_labels([f"stages.{i}" for i in range(6)])


def test_layer_labels_of_the_real_models():
    pytest.importorskip("torch")
    from intraclass.activations import site_names
    from intraclass.models import ModelSpec, build_model

    for depth, blocks in ((1.0, 8), (1.5, 12)):
        assert site_names(build_model(ModelSpec("vgg", 5, depth=depth))) == VGG_SITES[depth]
        assert site_names(build_model(ModelSpec("resnet", 5, depth=depth))) == resnet_sites(blocks)


def test_run_label():
    assert plots.run_label("digits_vgg_r0", 0.93149) == "digits_vgg_r0 (93.1% test)"


def test_fig5_mean_per_layer_with_the_untrained_reference():
    models = [summary(offset=0.0), summary(offset=2.0, seed=1)]
    del models[1]["per_layer"]["c2"]  # c2 only where every model has it
    untrained = [summary(offset=-1.0), summary(offset=-3.0)]
    fig = plots.fig5_measures_per_layer({"a": models[0], "b": models[1]}, "resnet, depth x1", untrained=untrained)
    assert len(fig.axes) == 3
    for ax, i in zip(fig.axes, [0, 2, 3], strict=True):
        trained, reference = ax.lines
        np.testing.assert_allclose(trained.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_allclose(trained.get_ydata(), 1.0 + np.arange(4) + i / 10)  # mean of offsets 0 and 2
        np.testing.assert_allclose(reference.get_ydata(), -2.0 + np.arange(4) + i / 10)  # mean of -1 and -3
        assert reference.get_linestyle() == "--" and trained.get_linestyle() == "-"
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 1  # the std band
        assert [t.get_text() for t in ax.get_xticklabels()] == ["s1.b1", "s2.b1", "s3.b1", "s4.b1"]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["trained (mean of 2)", "untrained (mean of 2)"]
    assert "2 model(s)" in fig.get_suptitle()
    fig = plots.fig5_measures_per_layer(models, "x")
    assert [len(ax.lines) for ax in fig.axes] == [1, 1, 1]  # no reference without untrained summaries


def test_fig5_errors():
    with pytest.raises(ValueError, match="1 model"):
        plots.fig5_measures_per_layer([summary()], "x")
    with pytest.raises(ValueError, match="different layers"):
        plots.fig5_measures_per_layer([summary(n_layers=4), summary(n_layers=8)], "x")
    with pytest.raises(ValueError, match="untrained networks' layers differ"):
        plots.fig5_measures_per_layer([summary()] * 2, "x", untrained=[summary(n_layers=8)] * 2)
    bare = summary()
    bare["per_layer"] = {}
    with pytest.raises(ValueError, match="no measure"):
        plots.fig5_measures_per_layer([bare, bare], "x")


# --------------------------------------------------------------------------------------------------------------
# Fig. 6 / 7 and the choice of their models


def test_fig6_lines_per_model_from_epoch_0_with_the_pixels():
    epochs = [0, 1, 2, 5, 50]
    labels = [f"{which}: {plots.run_label(f'run{i}', 0.9 - i / 10)}" for i, which in enumerate(["high", "mid", "low"])]
    series = {
        label: pd.DataFrame(
            {
                "epoch": epochs,
                "c1": np.arange(5) + i,
                "c3": np.arange(5) * i,
                "c4": np.ones(5),
                "test_acc": [np.nan, 0.2, 0.4, 0.6, 0.8],  # none recorded before training
            }
        )
        for i, label in enumerate(labels)
    }
    series[labels[2]] = series[labels[2]].drop(columns=["c1"])
    fig = plots.fig6_measures_over_epochs(series, pixels={"c1": 0.5, "c3": np.nan, "c2": 9.0})
    assert [ax.get_title() for ax in fig.axes] == ["$c_1$", "$c_3$", "$c_4$", "test accuracy (%)"]
    assert [len(ax.lines) for ax in fig.axes] == [3, 3, 3, 3]  # c1: 2 runs and the pixels
    np.testing.assert_allclose(fig.axes[0].lines[1].get_xdata(), epochs)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), [1, 2, 3, 4, 5])
    (pixels,) = [line for line in fig.axes[0].lines if line.get_label() == "input pixels"]
    assert list(pixels.get_ydata()) == [0.5, 0.5] and pixels.get_linestyle() == "-."
    np.testing.assert_allclose(fig.axes[3].lines[0].get_xdata(), [1, 2, 5, 50])  # epoch 0 has no accuracy
    np.testing.assert_allclose(fig.axes[3].lines[0].get_ydata(), [20, 40, 60, 80])
    assert fig.axes[0].get_xscale() == "symlog"
    assert [line.get_color() for line in fig.axes[1].lines] == [plots.MODEL_COLORS[w] for w in ("high", "mid", "low")]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [*labels, "input pixels"]
    assert labels[0] == "high: run0 (90.0% test)"
    fig = plots.fig6_measures_over_epochs({"only": pd.DataFrame({"epoch": [1, 2], "c3": [1.0, 2.0]})})
    assert len(fig.axes) == 1 and fig.axes[0].get_xscale() == "linear"


def test_fig6_errors():
    with pytest.raises(ValueError, match="no models"):
        plots.fig6_measures_over_epochs({})
    with pytest.raises(ValueError, match="no epoch column"):
        plots.fig6_measures_over_epochs({"a": pd.DataFrame({"c1": [1.0]})})
    with pytest.raises(ValueError, match="finite value"):
        plots.fig6_measures_over_epochs({"a": pd.DataFrame({"epoch": [1], "c1": [np.nan], "test_acc": [0.5]})})


def test_selective_subclasses_and_neuron_distribution():
    s = summary(n_classes=2, per_class=2)
    s["subclasses"]["selectivity_k1"] = [3.0, 1.0, 5.0, 2.0]
    assert figure_data.selective_subclasses(s) == {"max": 2, "median": 3}  # sorted 1, 2, 3, 5 -> lower median 2.0
    s["subclasses"]["selectivity_k1"] = [2.0, 2.0, 5.0]
    s["subclasses"]["id"] = [7, 4, 9]
    # tie at 2.0 broken by id: order id 4, id 7, id 9 -> the median is id 7, at position 0
    assert figure_data.selective_subclasses(s) == {"max": 2, "median": 0}
    with pytest.raises(ValueError, match="no subclasses"):
        figure_data.selective_subclasses({"c3": 1.0})

    labels = np.array([0, 0, 0, 1, 1, 1])
    sublabels = np.array([0, 0, 1, 2, 3, 3])
    layers = [np.zeros((6, 1)), np.arange(12, dtype=float).reshape(6, 2)]
    inside, rest = figure_data.neuron_distribution(layers, ["l0", "l1"], labels, sublabels, "l1", 1, 3, 1)
    assert inside.tolist() == [9.0, 11.0] and rest.tolist() == [7.0]
    with pytest.raises(ValueError, match="no layer"):
        figure_data.neuron_distribution(layers, ["l0", "l1"], labels, sublabels, "l2", 0, 3, 1)
    with pytest.raises(ValueError, match="empty"):
        figure_data.neuron_distribution(layers, ["l0", "l1"], labels, sublabels, "l1", 0, 5, 1)  # no subclass 5


def test_fig7_split_violins_standardised_per_epoch():
    rng = np.random.default_rng(0)
    # raw scales 100 times apart, as inference-mode BN gives early and late in training
    dist = {
        "max": [(e, rng.normal(3, 1, 40) * 300 / e, rng.normal(0, 1, 160) * 300 / e) for e in (10, 1, 5)],
        "median": [(1, rng.normal(0, 1, 40), np.full(3, 2.0)), (10, np.array([1.0]), rng.normal(0, 1, 100))],
    }
    fig = plots.fig7_selective_neuron_over_epochs(dist, run="run7 (90.0% test)")
    assert len(fig.axes) == 2 and fig.get_suptitle() == "run7 (90.0% test)"
    assert [len(ax.collections) for ax in fig.axes] == [6, 4]  # two halves per epoch
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]  # sorted by epoch, with the raw std
    for tick, (epoch, inside, rest) in zip(ticks, sorted(dist["max"], key=lambda e: e[0]), strict=True):
        assert tick == f"{epoch}\n({np.concatenate([inside, rest]).std():.3g})"
    assert [ax.get_title() for ax in fig.axes] == ["max", "median"]
    # standardised: each epoch's values span the same few units, whatever their raw scale
    spans = [np.ptp(c.get_paths()[0].vertices[:, 1]) for c in fig.axes[0].collections[1::2]]  # the rest's halves
    assert all(3 < span < 8 for span in spans)
    # left half (subclass) of epoch 1 lies left of position 0, right half (rest) to its right
    left, right = fig.axes[0].collections[:2]
    assert left.get_paths()[0].vertices[:, 0].max() <= 0 <= right.get_paths()[0].vertices[:, 0].min()
    with pytest.raises(ValueError, match="no epochs"):
        plots.fig7_selective_neuron_over_epochs({"a": []})
    with pytest.raises(ValueError, match="empty or non-finite"):
        plots.fig7_selective_neuron_over_epochs({"a": [(1, np.array([]), np.ones(3))]})
    with pytest.raises(ValueError, match="no neurons"):
        plots.fig7_selective_neuron_over_epochs({})


# --------------------------------------------------------------------------------------------------------------
# Fig. 8 and 11


def test_fig8_histogram_of_kept_runs_per_experiment():
    df = study(3)
    df.loc[0, "diverged"] = True  # cifar100-coarse/resnet
    df.loc[df.dataset == "digits", "train_acc"] = [0.5] * 7 + [1.0]  # one kept run: no panel
    fig = plots.fig8_accuracy_histogram(select_runs(df), bins=5)
    assert len(fig.axes) == 3
    counts = [sum(p.get_height() for p in ax.patches) for ax in fig.axes]
    assert counts == [8, 7, 0]  # sorted experiments: cifar10/vgg, cifar100-coarse/resnet, digits/vgg
    assert [ax.get_title() for ax in fig.axes] == [
        "vgg / cifar10: 8 kept, 0 excluded",
        "resnet / cifar100-coarse: 7 kept, 1 excluded",
        "vgg / digits: 1 kept, 7 excluded",
    ]
    assert [len(ax.patches) for ax in fig.axes[:2]] == [5, 5] and not fig.axes[2].axison
    with pytest.raises(ValueError, match="no experiment has 2 kept runs"):
        plots.fig8_accuracy_histogram(select_runs(df.assign(train_acc=0.5)))


def test_fig11_selectivity():
    models = [summary(seed=s) for s in range(3)] + [{"per_layer": {}, "classes": [0]}]  # one without subclasses
    fig = plots.fig11_selectivity_distribution(models, bins=8)
    hist, ranked = fig.axes
    assert len(hist.patches) == 8 and sum(p.get_height() for p in hist.patches) == 3 * 6
    values = np.array([m["subclasses"]["selectivity_k1"] for m in models[:3]])
    (line,) = ranked.lines
    np.testing.assert_allclose(line.get_ydata(), np.sort(values.mean(axis=0))[::-1])
    with pytest.raises(ValueError, match="1 model"):
        plots.fig11_selectivity_distribution([summary(), {"classes": [0]}])
    other = summary()
    other["subclasses"]["id"] = list(range(10, 16))
    with pytest.raises(ValueError, match="different subclasses"):
        plots.fig11_selectivity_distribution([summary(), other])
