"""Rule fig7: over training (from the untrained network, epoch 0), the pre-activations of the most selective neuron
of the subclass with the maximum and of the one with the median selectivity (final model of the best run),
subclass against rest of superclass, standardised per epoch (see intraclass.plots.fig7_selective_neuron_over_epochs).
"""

from intraclass.figure_data import neuron_distribution, selective_subclasses
from intraclass.logs import log_to_file
from intraclass.plots import fig7_selective_neuron_over_epochs, layer_labels, run_label, save_figure
from intraclass.preactivations import load_preactivations
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
subclasses = read_json(snakemake.input.summary)["subclasses"]
metrics = read_json(snakemake.input.metrics)
chosen = selective_subclasses({"subclasses": subclasses})
snapshots = {0: load_preactivations(snakemake.input.untrained)}
snapshots |= {epoch: load_preactivations(snakemake.input[f"high_{epoch}"]) for epoch in snakemake.params.epochs}
_, site_names, _, _ = snapshots[0]
short_name = dict(zip(site_names, layer_labels(site_names), strict=True))  # "stages.18" -> "s2.b2"
distributions = {}
for which, position in chosen.items():
    subclass, layer, neuron = (
        subclasses["id"][position],
        subclasses["layer"][position],
        subclasses["neuron_in_layer"][position],
    )
    label = f"{which} selectivity: subclass {subclass}, {short_name[layer]} neuron {neuron}"
    distributions[label] = [
        (
            epoch,
            *neuron_distribution(
                layers, names, labels, sublabels, layer, neuron, subclass, subclasses["superclass"][position]
            ),
        )
        for epoch, (layers, names, labels, sublabels) in snapshots.items()
    ]
figure = fig7_selective_neuron_over_epochs(distributions, run=run_label(metrics["run_id"], metrics["test_acc"]))
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
