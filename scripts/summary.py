"""Rule summary: the report's front page (reStructuredText, included by report/workflow.rst) and its Markdown."""

from pathlib import Path

import pandas as pd

from intraclass.controls import control_verdicts
from intraclass.kendall import interval_cells, read_kendall_interval_table
from intraclass.logs import log_to_file
from intraclass.power import power_cells
from intraclass.selection import StudyFacts, plan_products, split_runs
from intraclass.storage import write_text
from intraclass.summary import front_page

log_to_file(snakemake.log[0])
runs = pd.read_csv(snakemake.input.runs)
kept, excluded = split_runs(runs)
skipped = [p for p in plan_products(runs, StudyFacts(**snakemake.params.facts)) if p.reason]
measures = pd.read_csv(snakemake.input.measures)
tables = {
    experiment: interval_cells(read_kendall_interval_table(path), digits=2, latex=False)
    for experiment, path in zip(snakemake.params.experiments, snakemake.input.tables, strict=True)
}
power = {
    experiment: power_cells(pd.read_csv(path, index_col="axis", keep_default_na=False, na_values=[""]))
    for experiment, path in zip(snakemake.params.experiments, snakemake.input.power, strict=True)
}
verdicts = {
    f"{dataset}_{arch}": control_verdicts(rows)
    for (dataset, arch), rows in measures[measures.run_id.isin(kept.run_id)].groupby(["dataset", "arch"])
}
leaderboards = {Path(path).stem: pd.read_csv(path, index_col="measure") for path in snakemake.input.leaderboards}
args = (snakemake.params.study, runs, excluded, tables, verdicts, skipped, power)
write_text(snakemake.output.rst, front_page(*args, leaderboards=leaderboards))
write_text(snakemake.output.markdown, front_page(*args, markup="md", leaderboards=leaderboards))
