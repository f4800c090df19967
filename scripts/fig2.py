"""Rule fig2: the pre-activation histogram of one neuron on one class against the whole data set (c3's ratio),
for the neuron and class with the largest ratio in the experiment's best fitted run."""

from intraclass.figure_data import neuron_by_class, top_ratio_neuron
from intraclass.logs import log_to_file
from intraclass.plots import fig2_neuron_histogram, layer_labels, run_label, save_figure
from intraclass.preactivations import load_preactivations
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
metrics = read_json(snakemake.input.metrics)
layers, names, labels, _ = load_preactivations(snakemake.input.preactivations)
layer, neuron, class_id = top_ratio_neuron(layers, labels)
figure = fig2_neuron_histogram(
    neuron_by_class(layers, labels, layer, neuron, class_id, layer_names=layer_labels(names)),
    run=run_label(metrics["run_id"], metrics["test_acc"]),
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
