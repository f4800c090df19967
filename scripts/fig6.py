"""Rule fig6: the measures over training epochs of the high / mid / low test-accuracy runs (their snapshots)."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig6_measures_over_epochs, save_figure
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
series = {}
for label, metrics_path in zip(snakemake.params.followed, snakemake.input.metrics, strict=True):
    test_acc = {h["epoch"]: h["test_acc"] for h in read_json(metrics_path)["history"]}
    rows = []
    for epoch in snakemake.params.epochs:
        summary = read_json(snakemake.input[f"{label}_{epoch}"])
        # An early-stopped run's later snapshots hold its final weights: its last recorded accuracy.
        accuracy = test_acc.get(epoch, test_acc[max(test_acc)])
        rows.append({"epoch": epoch, "test_acc": accuracy, **summary["measures"]})
    series[label] = pd.DataFrame(rows)
figure = fig6_measures_over_epochs(series)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
