"""The paper's Tables 1-3 as data, and a table beside them."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from intraclass.kendall import AXIS_NAMES
from intraclass.paper import (
    COLUMNS,
    PAPER_AXIS_NAMES,
    PAPER_COLUMNS,
    paper_experiments,
    paper_table,
    paper_tables,
    side_by_side,
    side_by_side_latex,
    side_by_side_markdown,
    write_side_by_side,
)
from intraclass.registry import MEASURES

SHARPNESS = ["inv_sigma_p", "inv_sigma_pp", "inv_alpha_p", "inv_alpha_pp"]
# The paper prints its columns in this order (learning rate, batch size, weight decay, optim., dropout rate,
# data augm., width, depth, total score); the package's axes put weight decay before batch size.
PAPER_COLUMN_ORDER = [
    "learning_rate",
    "batch_size",
    "weight_decay",
    "optimizer",
    "dropout",
    "augment",
    "width",
    "depth",
    "total",
]
# Rows copied verbatim (tab-separated) from the paper's text, /work/shared/paper/intraclass-clustering-iclr2021.txt.
PAPER_ROWS = [
    ("cifar100-coarse_resnet", "c1", "c_1\t0.88\t0.31\t0.38\t0.67\t0.96\t1.0\t0.81\t0.69\t0.71"),  # Table 1
    ("cifar100-coarse_resnet", "inv_alpha_p", "$1 / \\alpha'$\t0.88\t0.94\t0.29\t0.26\t0.6\t0.08\t-0.03\t-0.09\t0.37"),
    ("cifar100_resnet", "c3", "c_3\t0.94\t0.65\t0.62\t0.58\t1.0\t1.0\t1.0\t0.78\t0.82"),  # Table 2
    ("cifar100_resnet", "inv_sigma_pp", "$1 / \\sigma''$\t0.92\t0.61\t0.12\t0.35\t-0.06\t0.31\t0.94\t0.53\t0.47"),
    ("cifar10_vgg", "c4", "c_4\t0.86\t0.75\t0.33\t0.29\t0.92\t1.0\t0.54\t0.92\t0.7"),  # Table 3
    ("cifar10_vgg", "inv_sigma_p", "$1 / \\sigma'$\t0.86\t0.62\t-0.25\t0.6\t-0.04\t-0.27\t1.0\t0.85\t0.42"),
]


def test_paper_tables_hold_tables_1_to_3():
    tables = paper_tables()
    assert list(tables.columns) == ["experiment", "table", "measure", *PAPER_AXIS_NAMES, "total"]
    assert list(PAPER_AXIS_NAMES) == [a for a in AXIS_NAMES if a != "train_size"]  # the paper's 8 axes
    assert tables.groupby("table").experiment.unique().map(list).to_dict() == {
        1: ["cifar100-coarse_resnet"],
        2: ["cifar100_resnet"],
        3: ["cifar10_vgg"],
    }
    measures = tables.groupby("table").measure.apply(list).to_dict()
    assert measures == {
        1: ["c1", "c2", "c3", "c4", *SHARPNESS],
        2: ["c3", "c4", *SHARPNESS],
        3: ["c3", "c4", *SHARPNESS],
    }
    values = tables[list(PAPER_COLUMNS)].to_numpy()
    assert values.shape == (20, 9) and np.isfinite(values).all()
    assert values.min() == -0.62 and values.max() == 1.0  # 1/sigma' on data augmentation, Table 2
    assert paper_experiments() == {"cifar100-coarse_resnet", "cifar100_resnet", "cifar10_vgg"}


@pytest.mark.parametrize(("experiment", "measure", "printed"), PAPER_ROWS, ids=[f"{e}-{m}" for e, m, _ in PAPER_ROWS])
def test_cells_are_the_papers(experiment, measure, printed):
    label, *numbers = printed.split("\t")
    expected = dict(zip(PAPER_COLUMN_ORDER, map(float, numbers), strict=True))
    assert paper_table(experiment).loc[measure].to_dict() == expected


def test_paper_totals_are_the_means_of_their_axes():
    # the printed total is the mean of the 8 printed axes up to rounding (each of the 9 numbers within 0.005):
    # a mistyped digit shows here
    tables = paper_tables()
    gap = (tables[list(PAPER_AXIS_NAMES)].mean(axis=1) - tables.total).abs()
    assert gap.max() <= 0.01


def test_paper_orientation_matches_its_text():
    # "intraclass clustering measures surpass the sharpness-based measures variants by a large margin across all
    # dataset-architecture pairs"; "1/alpha' performs remarkably well when the batch size parameter is varied"
    for _, table in paper_tables().groupby("table"):
        intraclass = table[table.measure.str.match(r"c\d")].total
        sharpness = table[table.measure.isin(SHARPNESS)].total
        assert intraclass.min() > sharpness.max() > sharpness.min() > 0
    assert paper_table("cifar100-coarse_resnet").loc["inv_alpha_p", "batch_size"] == 0.94


def test_paper_table_has_kendall_tables_shape():
    table = paper_table("cifar10_vgg")
    assert table.index.name == "measure" and list(table.columns) == list(PAPER_COLUMNS)
    assert list(table.index) == ["c3", "c4", *SHARPNESS]
    assert table.loc["c3", "total"] == 0.84 and table.loc["inv_alpha_pp", "depth"] == -0.15
    assert paper_table("digits-coarse_vgg") is None
    with pytest.raises(TypeError, match="int"):
        paper_table(3)


def test_paper_tables_ship_with_the_package():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    data_files = {p.name for p in (ROOT / "intraclass").iterdir() if p.is_file() and p.suffix not in (".py", ".pyc")}
    assert data_files == {"paper_tables.csv"} <= set(package_data["intraclass"])


def table(rows: dict[str, list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(PAPER_COLUMNS))
    frame.index.name = "measure"
    return frame


def test_side_by_side_pairs_cells_and_differences_exactly():
    ours = table(
        {
            "inv_alpha_p": [0.5] * 9,  # only ours
            "c1": [math.nan] * 9,  # nothing on either side: left out
            "c3": [0.75] * 6 + [math.nan, 0.75, 0.75],  # width missing
            "c4": [-0.25] + [math.nan] * 8,
        }
    ).assign(total_lo=0.0)  # other columns are ignored
    paper = table({"c3": [0.5] * 9, "c4": [0.125] * 9, "inv_sigma_p": [-1.0] * 9})
    comparison = side_by_side(ours, paper)
    assert list(comparison.columns) == ["ours", "paper", "difference"]
    assert comparison.index.names == ["measure", "axis"]
    assert list(comparison.index.get_level_values("measure").unique()) == ["c3", "c4", "inv_sigma_p", "inv_alpha_p"]
    assert list(comparison.loc["c3"].index) == list(COLUMNS)
    c3 = comparison.loc["c3"]
    assert c3.difference.drop(["width", "train_size"]).tolist() == [0.25] * 8
    assert c3.loc["train_size"].isna().all()  # neither table has the axis the paper never varied
    assert (
        np.isnan(c3.loc["width", "ours"])
        and c3.loc["width", "paper"] == 0.5
        and np.isnan(c3.loc["width", "difference"])
    )
    assert comparison.loc[("c4", "learning_rate")].tolist() == [-0.25, 0.125, -0.375]
    assert comparison.loc["c4"].ours.isna().sum() == 9 and comparison.loc["c4"].difference.isna().sum() == 9
    sigma, alpha = comparison.loc["inv_sigma_p"], comparison.loc["inv_alpha_p"]
    assert sigma.ours.isna().all() and (sigma.paper.drop("train_size") == -1).all()
    assert alpha.paper.isna().all() and (alpha.ours.drop("train_size") == 0.5).all()


def test_side_by_side_rejects_bad_tables():
    paper = paper_table("cifar10_vgg")
    with pytest.raises(ValueError, match="ours lacks column.*'total'"):
        side_by_side(paper.drop(columns="total"), paper)
    with pytest.raises(TypeError, match="paper must be a pandas DataFrame, got dict"):
        side_by_side(paper, {})
    with pytest.raises(ValueError, match=r"ours\['c4', 'depth'\] = 'high' is not a number"):
        side_by_side(paper.astype(object).assign(depth=[0.5, "high", 0, 0, 0, 0]), paper)
    with pytest.raises(ValueError, match=r"\['c3'\] more than once"):
        side_by_side(pd.concat([paper, paper.loc[["c3"]]]), paper)


def markdown_cells(markdown: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("|")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[2:]}


def test_cells_read_ours_slash_paper_and_signed_difference():
    ours = table({"c3": [0.71, 0.6600001, 0.6599999, -0.25, math.nan, 0.75, 0.0, 1.0, 0.5]})
    paper = table({"c3": [0.66, 0.66, 0.66, 0.5, 0.5, math.nan, 0.0, -1.0, 0.5]})
    cells = markdown_cells(side_by_side_markdown(side_by_side(ours, paper)))
    assert cells == {
        "c3": [
            "0.71 / 0.66 (+0.05)",
            "0.66 / 0.66 (+0.00)",
            "0.66 / 0.66 (+0.00)",  # never "-0.00"
            "-0.25 / 0.50 (-0.75)",
            "n/a / 0.50",
            "0.75 / n/a",
            "0.00 / 0.00 (+0.00)",
            "1.00 / -1.00 (+2.00)",
            "n/a",  # train size: the paper never varies it
            "0.50 / 0.50 (+0.00)",
        ]
    }
    latex = side_by_side_latex(side_by_side(ours, paper))
    assert "$c_3$ & 0.71 / 0.66 (+0.05) & " in latex and "& -- / 0.50 &" in latex and "& 0.75 / -- &" in latex


def test_writer_writes_csv_markdown_latex(tmp_path):
    paper = paper_table("cifar100-coarse_resnet")
    comparison = side_by_side(paper + 0.25, paper)
    paths = write_side_by_side(comparison, tmp_path / "cifar100-coarse_resnet_vs_paper", "cifar100-coarse_resnet")
    assert [p.name for p in paths] == [f"cifar100-coarse_resnet_vs_paper.{ext}" for ext in ("csv", "md", "tex")]
    csv = pd.read_csv(paths[0])
    assert list(csv.columns) == ["measure", "axis", "ours", "paper", "difference"]
    assert len(csv) == 8 * 10  # 8 measures; 9 axes and the total
    pd.testing.assert_frame_equal(csv.set_index(["measure", "axis"]), comparison)
    markdown = paths[1].read_text()
    assert markdown.startswith("cifar100-coarse_resnet: granulated Kendall coefficients, ours / the paper's Table 1")
    cells = markdown_cells(markdown)
    assert list(cells) == [MEASURES[m].markdown for m in paper.index]
    assert cells["1/α'"][2] == "1.19 / 0.94 (+0.25)"  # batch size
    latex = paths[2].read_text().splitlines()
    assert latex[0].startswith("% cifar100-coarse_resnet") and latex.count("\\midrule") == 2  # header; c / sharpness
    with pytest.raises(ValueError, match="no table for experiment 'digits_vgg'"):
        write_side_by_side(comparison, tmp_path / "x", "digits_vgg")
    assert not list(tmp_path.glob("x*"))
