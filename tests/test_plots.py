"""The figure functions of intraclass.plots on small synthetic data: panels, artists, values, errors, writing."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure

from intraclass import plots
from intraclass.kendall import granulated_kendall, kendall_tau_a

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
        "layer_names": [f"layer{i}" for i in range(n_layers)],
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
            "layer": ["layer1"] * n_sub,
            "neuron_in_layer": [2] * n_sub,
            "c1_topk": [1.0] * n_sub,
            "c2_topk": [0.5] * n_sub,
        },
    }


def scatter_counts(fig: Figure) -> list[int]:
    return [len(c.get_offsets()) for ax in fig.axes for c in ax.collections if isinstance(c, PathCollection)]


# --------------------------------------------------------------------------------------------------------------
# save_figure


def test_save_figure_writes_pdf_and_png_atomically(tmp_path):
    fig = plots.fig8_accuracy_histogram(study(1))
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
    assert plots.top_ratio_neuron(layers, labels) == (1, 1, 2)
    fig = plots.fig2_neuron_histogram(layers, labels, 1, 1, 2, layer_names=["a", "b"], bins=20)
    (ax,) = fig.axes
    assert len(ax.containers) == 2
    whole, cls = ax.containers
    assert len(whole.patches) == 20 and len(cls.patches) == 20
    x = np.asarray(layers[1][:, 1], dtype=float)
    ratio = x[labels == 2].std() / x.std()
    assert f"{ratio:.2f}" in ax.get_title() and ax.get_title().startswith("b, neuron 1, class 2")


def test_fig2_errors():
    layers, labels = layered_data()
    with pytest.raises(ValueError, match="layer_index"):
        plots.fig2_neuron_histogram(layers, labels, 2, 0, 0)
    with pytest.raises(ValueError, match="neuron 3"):
        plots.fig2_neuron_histogram(layers, labels, 1, 3, 0)
    with pytest.raises(ValueError, match="no samples"):
        plots.fig2_neuron_histogram(layers, labels, 1, 0, 7)


# --------------------------------------------------------------------------------------------------------------
# Fig. 3


def test_fig3_panels_points_and_tau():
    df = study(2)
    measures = ["c1", "c2", "c3", "c4", "inv_sigma_p"]
    fig = plots.fig3_measure_vs_accuracy(df, measures)
    assert len(fig.axes) == 2 * 5
    # vgg / cifar10 has no subclasses: its c1, c2 panels say so and hold no points
    assert scatter_counts(fig) == [8] * 5 + [8] * 3
    experiments = sorted({(d, a) for d, a in zip(df.dataset, df.arch, strict=False)})
    assert experiments[0] == ("cifar10", "vgg")
    assert not fig.axes[0].axison and not fig.axes[1].axison
    rows = df[df.dataset == "cifar100-coarse"]
    for ax, m in zip(fig.axes[5:], measures, strict=False):
        sign = -1 if m == "inv_sigma_p" else 1
        tau = kendall_tau_a(sign * rows[m], rows.test_acc)
        assert f"= {tau:.2f} (8 models)" in ax.get_title()
    # sharpness is plotted negated: x = -(1 - acc) ranks exactly like the accuracy
    ax = fig.axes[9]
    xy = ax.collections[0].get_offsets()
    np.testing.assert_allclose(xy[:, 0], -rows["inv_sigma_p"].to_numpy())
    np.testing.assert_allclose(xy[:, 1], 100 * rows["test_acc"].to_numpy())
    assert "= 1.00" in ax.get_title()


def test_fig3_errors():
    df = study(1)
    with pytest.raises(ValueError, match="not in the measures table"):
        plots.fig3_measure_vs_accuracy(df, ["inv_alpha_p"])
    with pytest.raises(ValueError, match="at least one"):
        plots.fig3_measure_vs_accuracy(df, [])
    with pytest.raises(ValueError, match="no experiment has 2 models"):
        plots.fig3_measure_vs_accuracy(df.iloc[:1], ["c3"])


# --------------------------------------------------------------------------------------------------------------
# Fig. 4


def test_kendall_over_k_replaces_the_measure_per_k():
    df = study(1, with_sharpness=False)
    # run i's k curve: at k=1 it ranks like the accuracy, at k=2 against it, at k=3 constant
    summaries = {}
    for run_id, acc in zip(df.run_id, df.test_acc, strict=False):
        summaries[run_id] = {"k_curve": {"c3": [acc, -acc, 1.0]}}
    ks, totals = plots.kendall_over_k(df, summaries, "c3", [3, 1, 2, 1])
    assert ks.tolist() == [1, 2, 3]
    np.testing.assert_allclose(totals, [1.0, -1.0, 0.0])
    expected = granulated_kendall(df.assign(c3=-df.test_acc), "c3")["total"]
    assert totals[1] == pytest.approx(expected)
    with pytest.raises(ValueError, match="only 3 neurons"):
        plots.kendall_over_k(df, summaries, "c3", [4])
    with pytest.raises(ValueError, match="no measure summary"):
        plots.kendall_over_k(df, dict(list(summaries.items())[1:]), "c3", [1])
    with pytest.raises(ValueError, match="no k curve"):
        plots.kendall_over_k(df, summaries, "c1", [1])


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
    assert plots.subclasses_per_class([summary(n_classes=4, per_class=5)] * 2) == 5
    assert plots.subclasses_per_class({"a": summary(per_class=2), "b": {"classes": [0]}}) == 2
    with pytest.raises(ValueError, match="disagree"):
        plots.subclasses_per_class([summary(per_class=2), summary(per_class=3)])
    with pytest.raises(ValueError, match="no summary has subclasses"):
        plots.subclasses_per_class([{"classes": [0, 1]}])
    grid = plots.log_k_grid(1000, 10)
    assert grid[0] == 1 and grid[-1] == 1000 and np.all(np.diff(grid) > 0) and len(grid) == 10
    assert plots.log_k_grid(1).tolist() == [1]


# --------------------------------------------------------------------------------------------------------------
# Fig. 5


def test_fig5_mean_per_layer():
    models = [summary(offset=0.0), summary(offset=2.0, seed=1)]
    del models[1]["per_layer"]["c2"]  # c2 only where every model has it
    fig = plots.fig5_measures_per_layer({"a": models[0], "b": models[1]}, "resnet, depth x1")
    assert len(fig.axes) == 3
    for ax, i in zip(fig.axes, [0, 2, 3], strict=False):
        (line,) = ax.lines
        np.testing.assert_allclose(line.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_allclose(line.get_ydata(), 1.0 + np.arange(4) + i / 10)  # mean of offsets 0 and 2
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 1  # the std band
    assert "2 model(s)" in fig.get_suptitle()


def test_fig5_errors():
    with pytest.raises(ValueError, match="no models"):
        plots.fig5_measures_per_layer([], "x")
    with pytest.raises(ValueError, match="different numbers of layers"):
        plots.fig5_measures_per_layer([summary(n_layers=4), summary(n_layers=6)], "x")
    bare = summary()
    bare["per_layer"] = {}
    with pytest.raises(ValueError, match="no measure"):
        plots.fig5_measures_per_layer([bare], "x")


# --------------------------------------------------------------------------------------------------------------
# Fig. 6 / 7 and the choice of their models


def test_fig6_lines_per_model():
    epochs = [1, 2, 5, 50]
    series = {
        label: pd.DataFrame(
            {
                "epoch": epochs,
                "c1": np.arange(4) + i,
                "c3": np.arange(4) * i,
                "c4": np.ones(4),
                "test_acc": [0.2, 0.4, 0.6, 0.8],
            }
        )
        for i, label in enumerate(["high", "mid", "low"])
    }
    series["low"] = series["low"].drop(columns=["c1"])
    fig = plots.fig6_measures_over_epochs(series)
    assert [ax.get_title() for ax in fig.axes] == ["$c_1$", "$c_3$", "$c_4$", "test accuracy (%)"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 3, 3, 3]
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), [1, 2, 3, 4])
    np.testing.assert_allclose(fig.axes[3].lines[0].get_ydata(), [20, 40, 60, 80])
    assert fig.axes[0].get_xscale() == "symlog"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["high", "mid"]
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
    assert plots.selective_subclasses(s) == {"max": 2, "median": 3}  # sorted 1, 2, 3, 5 -> lower median 2.0
    s["subclasses"]["selectivity_k1"] = [2.0, 2.0, 5.0]
    s["subclasses"]["id"] = [7, 4, 9]
    # tie at 2.0 broken by id: order id 4, id 7, id 9 -> the median is id 7, at position 0
    assert plots.selective_subclasses(s) == {"max": 2, "median": 0}
    with pytest.raises(ValueError, match="no subclasses"):
        plots.selective_subclasses({"c3": 1.0})

    labels = np.array([0, 0, 0, 1, 1, 1])
    sublabels = np.array([0, 0, 1, 2, 3, 3])
    layers = [np.zeros((6, 1)), np.arange(12, dtype=float).reshape(6, 2)]
    inside, rest = plots.neuron_distribution(layers, ["l0", "l1"], labels, sublabels, "l1", 1, 3, 1)
    assert inside.tolist() == [9.0, 11.0] and rest.tolist() == [7.0]
    with pytest.raises(ValueError, match="no layer"):
        plots.neuron_distribution(layers, ["l0", "l1"], labels, sublabels, "l2", 0, 3, 1)
    with pytest.raises(ValueError, match="empty"):
        plots.neuron_distribution(layers, ["l0", "l1"], labels, sublabels, "l1", 0, 5, 1)  # no subclass 5


def test_fig7_split_violins_per_epoch():
    rng = np.random.default_rng(0)
    dist = {
        "max": [(e, rng.normal(e, 1, 40), rng.normal(0, 1, 160)) for e in (10, 1, 5)],
        "median": [(1, rng.normal(0, 1, 40), np.full(3, 2.0)), (10, np.array([1.0]), rng.normal(0, 1, 100))],
    }
    fig = plots.fig7_selective_neuron_over_epochs(dist)
    assert len(fig.axes) == 2
    assert [len(ax.collections) for ax in fig.axes] == [6, 4]  # two halves per epoch
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1", "5", "10"]  # sorted by epoch
    assert [ax.get_title() for ax in fig.axes] == ["max", "median"]
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


def test_fig8_histogram_per_experiment():
    df = study(3)
    df.loc[0, "test_acc"] = np.nan
    fig = plots.fig8_accuracy_histogram(df, bins=5)
    assert len(fig.axes) == 3
    counts = [sum(p.get_height() for p in ax.patches) for ax in fig.axes]
    assert counts == [8, 7, 8]  # sorted experiments: cifar10/vgg, cifar100-coarse/resnet (one NaN), digits/vgg
    assert all(len(ax.patches) == 5 for ax in fig.axes)
    with pytest.raises(ValueError, match="finite test accuracy"):
        plots.fig8_accuracy_histogram(df.assign(test_acc=np.nan))


def test_fig11_selectivity():
    models = [summary(seed=s) for s in range(3)] + [{"per_layer": {}, "classes": [0]}]  # one without subclasses
    fig = plots.fig11_selectivity_distribution(models, bins=8)
    hist, ranked = fig.axes
    assert len(hist.patches) == 8 and sum(p.get_height() for p in hist.patches) == 3 * 6
    values = np.array([m["subclasses"]["selectivity_k1"] for m in models[:3]])
    (line,) = ranked.lines
    np.testing.assert_allclose(line.get_ydata(), np.sort(values.mean(axis=0))[::-1])
    with pytest.raises(ValueError, match="no model has subclasses"):
        plots.fig11_selectivity_distribution([{"classes": [0]}])
    other = summary()
    other["subclasses"]["id"] = list(range(10, 16))
    with pytest.raises(ValueError, match="different subclasses"):
        plots.fig11_selectivity_distribution([summary(), other])
