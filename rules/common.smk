# Config validation, the study's runs, and the helpers the rules use for paths and parameters.
from dataclasses import asdict

from snakemake.utils import min_version, validate

import pandas as pd

from intraclass.data import ARCHIVES, CUSTOM, FASHION_MNIST, DatasetError, dataset_name, installed_fashion_dir
from intraclass.data import study_datasets
from intraclass.grid import study_runs
from intraclass.grid import TrainingSettings
from intraclass.paths import snapshot_dir

min_version("9.0")

validate(config, workflow.source_path("../schemas/config.schema.yaml"))
try:  # custom data set files are read and checked here, before any job
    DATASET_INFO = study_datasets(config["experiments"], config["datasets"])
except DatasetError as error:
    raise WorkflowError(f"config: {error}") from None

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
RUN_DIR = f"{RESULTS}/runs/{{run_id}}"
LOGS = f"{RESULTS}/logs"
RUNS = study_runs([{**e, "dataset": dataset_name(e["dataset"])} for e in config["experiments"]])
TRAINING = {k: v for k, v in config["training"].items() if k in TrainingSettings.__dataclass_fields__}
try:
    TrainingSettings(**TRAINING)
except ValueError as error:
    raise WorkflowError(f"config 'training': {error}") from None
SNAPSHOT_EPOCHS = sorted(set(TRAINING["snapshot_epochs"]))
DATASETS = sorted({run.dataset for run in RUNS.values()})
FIGURES = f"{RESULTS}/figures"
CAPTIONS = "../report/captions"


def experiment_name(run):
    """An experiment is a dataset-architecture pair: the unit of the Kendall tables and most figures."""
    return f"{run.dataset}_{run.arch}"


EXPERIMENTS = {}
for _run_id, _run in RUNS.items():
    EXPERIMENTS.setdefault(experiment_name(_run), []).append(_run_id)
WITH_SUBCLASSES = [e for e, ids in EXPERIMENTS.items() if DATASET_INFO[RUNS[ids[0]].dataset].sublabel_key]


wildcard_constraints:
    run_id=r"[^/]+",  # an alternation of every run id would be recompiled for each of thousands of jobs
    model_dir=r"runs/[^/]+(/snapshots/epoch_\d{3})?",
    dataset="|".join(DATASETS) or "no-datasets",
    experiment="|".join(EXPERIMENTS) or "no-experiments",
    depth=r"1|1\.5",


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
    options = config["measures"]
    arch = RUNS[wildcards.model_dir.split("/")[1]].arch
    return {
        "k_neurons": options["k_neurons"],
        "k_layers": options["k_layers"][arch],
        "k_neurons_per_layer": options["k_neurons_per_layer"],
        "percentile": options["percentile"],
        "min_active_neurons": options["min_active_neurons"],
    }


def get_dataset_source(wildcards):
    """What a data set is prepared from: CIFAR's configured archive or folder, else the official download;
    Fashion-MNIST's configured folder, else Debian's when installed, else the official download; a custom data set's
    .npz; nothing for digits (bundled with scikit-learn)."""
    info = DATASET_INFO[wildcards.dataset]
    if info.source in ARCHIVES:
        return config["cifar_sources"].get(info.source) or f"resources/downloads/{info.source}.tar.gz"
    if info.source == FASHION_MNIST:
        return config["fashion_source"] or installed_fashion_dir() or "resources/downloads/fashion-mnist"
    if info.source == CUSTOM:
        return info.path
    return []


def get_dataset_params(wildcards):
    """prepare_dataset's description of the data set and its training-subset size (None: the whole split)."""
    return {
        "info": asdict(DATASET_INFO[wildcards.dataset]),
        "train_subset": config["datasets"].get(wildcards.dataset, {}).get("train_subset"),
    }


def run_outputs(name, run_ids=None):
    return expand(f"{RUN_DIR}/{name}", run_id=RUNS if run_ids is None else run_ids)


def experiment_outputs(name):
    """A file of every run of the experiment named by the wildcards."""
    return lambda wildcards: run_outputs(name, EXPERIMENTS[wildcards.experiment])


def depth_outputs(name):
    """A file of every run of the experiment and depth factor named by the wildcards."""
    return lambda wildcards: run_outputs(
        name, [i for i in EXPERIMENTS[wildcards.experiment] if RUNS[i].depth == float(wildcards.depth)]
    )


def depths(experiment):
    return sorted({f"{RUNS[i].depth:g}" for i in EXPERIMENTS[experiment]})


def trained_runs(experiment):
    """runs.csv rows of the experiment (waits for the collect_runs checkpoint)."""
    runs = pd.read_csv(checkpoints.collect_runs.get().output.table)
    return runs[runs.run_id.isin(EXPERIMENTS[experiment])]


def followed_runs(experiment):
    """{"high", "mid", "low": run_id}: the fitted runs of Fig. 6 and 7, or {} when fewer than 3 runs fitted."""
    from intraclass.plots import select_epoch_runs

    try:
        return select_epoch_runs(trained_runs(experiment), config["kendall"]["min_train_acc"])
    except ValueError:
        return {}


def has_kendall_groups(experiment):
    """Whether any axis has a group of fitted runs to rank (else Fig. 4 would be empty)."""
    from intraclass.kendall import granulated_kendall, select_models

    kept, _ = select_models(trained_runs(experiment), config["kendall"]["min_train_acc"])
    return len(kept) > 1 and granulated_kendall(kept, "test_acc", orientation=1)["total"] is not None


def snapshot_outputs(name, label=None):
    """A file of every snapshot of the followed runs (or of one of them, by label) of the wildcards' experiment."""

    def files(wildcards):
        chosen = followed_runs(wildcards.experiment)
        labels = [label] if label else list(chosen)
        return {
            f"{l}_{e}": f"{RESULTS}/runs/{chosen[l]}/{snapshot_dir(e)}/{name}" for l in labels for e in SNAPSHOT_EPOCHS
        }

    return files


def followed_outputs(name, label):
    return lambda wildcards: f"{RESULTS}/runs/{followed_runs(wildcards.experiment)[label]}/{name}"


def figure_files(name, experiment=True):
    """A figure's PDF and PNG, both in the report under the figure's caption."""
    stem = f"{FIGURES}/{{experiment}}/{name}" if experiment else f"{FIGURES}/{name}"
    caption = f"{CAPTIONS}/{name.split('_')[0]}.rst"
    category = f"Figure {name.split('_')[0][3:]}"
    subcategory = "{experiment}" if experiment else None
    return {
        kind: report(f"{stem}.{kind}", caption=caption, category=category, subcategory=subcategory)
        for kind in ("pdf", "png")
    }


def planned_targets():
    """What the study makes that is known before training: tables, and the figures that need no followed run."""
    targets = [f"{RESULTS}/runs.csv", f"{RESULTS}/measures.csv", f"{FIGURES}/fig3.png", f"{FIGURES}/fig8.png"]
    for experiment in EXPERIMENTS:
        targets.append(f"{RESULTS}/kendall/{experiment}.md")
        targets += [f"{FIGURES}/{experiment}/fig5_depth{d}.png" for d in depths(experiment)]
        if experiment in WITH_SUBCLASSES:
            targets.append(f"{FIGURES}/{experiment}/fig11.png")
    return targets


def trained_targets(wildcards):
    """The figures that depend on how training went (waits for the collect_runs checkpoint): Fig. 4 where the
    fitted runs can be ranked, Fig. 2, 6 and 7 where 3 runs fitted. None is requested that would be drawn empty."""
    targets = []
    for experiment in EXPERIMENTS:
        if has_kendall_groups(experiment):
            targets.append(f"{FIGURES}/{experiment}/fig4.png")
        if not followed_runs(experiment):
            continue
        targets.append(f"{FIGURES}/{experiment}/fig2.png")
        if SNAPSHOT_EPOCHS:
            targets.append(f"{FIGURES}/{experiment}/fig6.png")
            if experiment in WITH_SUBCLASSES:
                targets.append(f"{FIGURES}/{experiment}/fig7.png")
    return targets
