"""The one table writer: number format, LaTeX escaping, Markdown and booktabs layout, the three files."""

import math
import os

import numpy as np
import pandas as pd
import pytest

from intraclass.tables import latex_table, latex_text, markdown_table, number, table_paths, write_table


def test_number_rounds_never_negative_zero_and_signs_differences():
    assert number(0.714) == "0.71" and number(0.715, 3) == "0.715" and number(-0.25) == "-0.25"
    assert number(-0.001) == "0.00" and number(-0.0) == "0.00"  # never "-0.00"
    assert number(0.05, sign=True) == "+0.05" and number(-0.75, sign=True) == "-0.75"
    assert number(-0.001, sign=True) == "+0.00" and number(0.0, sign=True) == "+0.00"
    assert number(math.nan) == "n/a" and number(None, missing="--") == "--" and number(pd.NA) == "n/a"
    assert number(np.float32(1.0), 1) == "1.0"


def test_latex_text_escapes_once_and_keeps_math():
    assert latex_text("a_b & 50% #1 \\x") == "a\\_b \\& 50\\% \\#1 \\textbackslash{}x"
    assert latex_text("$c_1$ & x") == "$c_1$ & x"  # holds "$": already LaTeX


def test_markdown_and_latex_layout():
    rows = [["c3", "0.71 [0.52, 0.86]", "lr"], ["1/σ'", "n/a (a)", "bs"]]
    md = markdown_table(["measure", "total", "set"], rows, legend=["n/a (a): no group."])
    assert md.splitlines() == [
        "| measure | total | set |",
        "|:--|--:|:--|",
        "| c3 | 0.71 [0.52, 0.86] | lr |",
        "| 1/σ' | n/a (a) | bs |",
        "",
        "n/a (a): no group.  ",
    ]
    tex = latex_table(["Measure", "data_augm."], [["$c_3$", "0.71"], ["$c_4$", "--"]], groups=[1, 2], legend=["5%"])
    assert tex.splitlines() == [
        "\\begin{tabular}{lr}",
        "\\toprule",
        "Measure & data\\_augm. \\\\",
        "\\midrule",
        "$c_3$ & 0.71 \\\\",
        "\\midrule",
        "$c_4$ & -- \\\\",
        "\\bottomrule",
        "\\end{tabular}",
        "",
        "\\par\\smallskip{\\footnotesize",
        "5\\%\\\\",
        "}",
    ]
    with pytest.raises(ValueError, match="table row 0 has 1 cells for 2 columns"):
        markdown_table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="1 group keys for 2 rows"):
        latex_table(["a"], [["x"], ["y"]], groups=[1])


def test_write_table_writes_three_files_atomically(tmp_path):
    stem = tmp_path / "sub" / "cifar10_vgg.v2"
    assert [p.name for p in table_paths(stem)] == ["cifar10_vgg.v2.csv", "cifar10_vgg.v2.md", "cifar10_vgg.v2.tex"]
    frame = pd.DataFrame({"total": [0.5, math.nan]}, index=pd.Index(["c3", "c4"], name="measure"))
    paths = write_table(stem, frame, "| md |", "tex")
    assert paths == table_paths(stem) and sorted(os.listdir(stem.parent)) == sorted(p.name for p in paths)
    assert paths[0].read_text() == "measure,total\nc3,0.5\nc4,\n"
    assert paths[1].read_text() == "| md |\n" and paths[2].read_text() == "tex\n"
    assert write_table(tmp_path / "plain", frame.reset_index(), "m\n", "t\n")[0].read_text().startswith("measure,")
    with pytest.raises(ValueError, match="write_table empty: needs a non-empty DataFrame"):
        write_table(tmp_path / "empty", frame.iloc[:0], "", "")
    assert not list(tmp_path.glob("empty*"))
