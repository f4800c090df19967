"""Rule fig7: over training, the pre-activations of the most selective neuron of the subclass with the maximum
and of the one with the median selectivity (final model of the best run), subclass against rest of superclass."""

from intraclass.logs import log_to_file
from intraclass.plots import fig7_selective_neuron_over_epochs, neuron_distribution, save_figure, selective_subclasses
from intraclass.preactivations import load_preactivations
from intraclass.storage import read_json

log_to_file(snakemake.log[0])
subclasses = read_json(snakemake.input.summary)["subclasses"]
chosen = selective_subclasses({"subclasses": subclasses})
snapshots = {epoch: load_preactivations(snakemake.input[f"high_{epoch}"]) for epoch in snakemake.params.epochs}
distributions = {}
for which, position in chosen.items():
    subclass, layer, neuron = (
        subclasses["id"][position],
        subclasses["layer"][position],
        subclasses["neuron_in_layer"][position],
    )
    label = f"{which} selectivity: subclass {subclass}, {layer} neuron {neuron}"
    distributions[label] = [
        (
            epoch,
            *neuron_distribution(
                layers, names, labels, sublabels, layer, neuron, subclass, subclasses["superclass"][position]
            ),
        )
        for epoch, (layers, names, labels, sublabels) in snapshots.items()
    ]
figure = fig7_selective_neuron_over_epochs(distributions)
save_figure(figure, snakemake.output.pdf, snakemake.output.png, dpi=snakemake.params.dpi)
