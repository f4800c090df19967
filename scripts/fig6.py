"""Rule fig6: the measures over training of the high / mid / low test-accuracy runs, from their untrained network
(epoch 0) through their snapshots, with the input pixels' values as references."""

import pandas as pd

from intraclass.logs import log_to_file
from intraclass.plots import fig6_measures_over_epochs, run_label, save_figure
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
followed = snakemake.params.followed  # {"high": run_id, "mid": ..., "low": ...}, in the order of the inputs
series = {}
for (label, run_id), metrics_path, untrained_path in zip(
    followed.items(), snakemake.input.metrics, snakemake.input.untrained, strict=True
):
    metrics = read_json(metrics_path)
    test_acc = {h["epoch"]: h["test_acc"] for h in metrics["history"] if "test_acc" in h}  # test_every
    rows = [{"epoch": 0, **read_json(untrained_path)["measures"]}]  # no test accuracy is recorded before training
    for epoch in snakemake.params.epochs:
        summary = read_json(snakemake.input[f"{label}_{epoch}"])
        # An early-stopped run's later snapshots hold its final weights: its last recorded accuracy.
        accuracy = test_acc.get(epoch, test_acc[max(test_acc)])
        rows.append({"epoch": epoch, "test_acc": accuracy, **summary["measures"]})
    series[f"{label}: {run_label(run_id, metrics['test_acc'])}"] = pd.DataFrame(rows)
figure = fig6_measures_over_epochs(series, pixels=read_json(snakemake.input.pixels)["measures"])
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
