# Config validation, the study's runs, and the helpers the rules use for paths and parameters.
from dataclasses import asdict

from snakemake.utils import min_version, validate

from intraclass.data import dataset_info
from intraclass.grid import study_runs
from intraclass.training import TrainingSettings, snapshot_dir

min_version("9.0")

validate(config, workflow.source_path("../schemas/config.schema.yaml"))

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
RUN_DIR = f"{RESULTS}/runs/{{run_id}}"
LOGS = f"{RESULTS}/logs"
RUNS = study_runs(config["experiments"])
TRAINING = {k: v for k, v in config["training"].items() if k in TrainingSettings.__dataclass_fields__}
try:
    TrainingSettings(**TRAINING)
except ValueError as error:
    raise WorkflowError(f"config 'training': {error}") from None
SNAPSHOT_EPOCHS = sorted(set(TRAINING["snapshot_epochs"]))
DATASETS = sorted({run.dataset for run in RUNS.values()})


wildcard_constraints:
    run_id="|".join(RUNS) or "no-runs",
    model_dir=r"runs/[^/]+(/snapshots/epoch_\d{3})?",
    dataset="|".join(DATASETS) or "no-datasets",


def run_params(wildcards):
    """The hyperparameters and seed of one run, as the training script reads them."""
    return RUNS[wildcards.run_id].as_dict()


def dataset_file(run_id):
    return f"resources/datasets/{RUNS[run_id].dataset}.npz"


def run_dataset(wildcards):
    return dataset_file(wildcards.run_id)


def model_dir_dataset(wildcards):
    """The dataset of a model folder, runs/<run_id>[/snapshots/epoch_NNN]."""
    return dataset_file(wildcards.model_dir.split("/")[1])


def measure_options(wildcards):
    """measure_summary's options for one model folder; k over layers depends on the architecture."""
    options = dict(config["measures"])
    arch = RUNS[wildcards.model_dir.split("/")[1]].arch
    return {
        "k_neurons": options["k_neurons"],
        "k_layers": options["k_layers"][arch],
        "k_neurons_per_layer": options["k_neurons_per_layer"],
        "percentile": options["percentile"],
        "min_active_neurons": options["min_active_neurons"],
    }


def dataset_source(wildcards):
    """A CIFAR dataset's archive: the configured path on disk, else the downloaded official archive."""
    archive = dataset_info(wildcards.dataset).archive
    if archive is None:
        return []
    return config["cifar_sources"].get(archive.key) or f"resources/downloads/{archive.key}.tar.gz"


def run_outputs(name):
    return expand(f"{RUN_DIR}/{name}", run_id=RUNS)


def all_targets():
    return [f"{RESULTS}/runs.csv", f"{RESULTS}/measures.csv"]
