# Config validation, the study's runs and experiments, and the input functions (get_*) the rules use. Which runs
# count (runs.csv's kept and reason columns), which runs Fig. 2, 6 and 7 follow and which tables and figures the
# study can have are decided in intraclass.selection.
import os
from dataclasses import asdict
from functools import cache

from snakemake.utils import min_version

import pandas as pd

from intraclass import selection
from intraclass.config import ConfigError, resolve_config
from intraclass.data import ARCHIVES, CUSTOM, FASHION_MNIST, DatasetError, dataset_name, installed_fashion_dir
from intraclass.data import study_datasets
from intraclass.grid import TrainingSettings, study_runs
from intraclass.paper import paper_experiments
from intraclass.paths import snapshot_dir

min_version("9.0")

try:  # the schema's defaults fill in what the study leaves out (in place: rules read this dict)
    config.update(resolve_config(config))
except ConfigError as error:
    raise WorkflowError(str(error)) from None
# Custom data set files are read and checked once, by the main process before any job; a job's re-parse of this
# file only lists each file's arrays (whether it has subclasses).
try:
    DATASET_INFO = study_datasets(config["experiments"], config["datasets"], validate=workflow.is_main_process)
except DatasetError as error:
    raise WorkflowError(f"config: {error}") from None

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
RUN_DIR = f"{RESULTS}/runs/{{run_id}}"
LOGS = f"{RESULTS}/logs"
FIGURES = f"{RESULTS}/figures"
CAPTIONS = "../report/captions"
RUNS = study_runs([{**e, "dataset": dataset_name(e["dataset"])} for e in config["experiments"]])
TRAINING = {k: v for k, v in config["training"].items() if k in TrainingSettings.__dataclass_fields__}
try:
    TrainingSettings(**TRAINING)
except ValueError as error:
    raise WorkflowError(f"config 'training': {error}") from None
# Epoch 0, the untrained network, is always kept: it is the control every measure is compared with (SPEC §11).
UNTRAINED_EPOCH = 0
SNAPSHOT_EPOCHS = sorted({UNTRAINED_EPOCH, *TRAINING["snapshot_epochs"]})
TRAINING["snapshot_epochs"] = SNAPSHOT_EPOCHS
FOLLOWED_EPOCHS = [e for e in SNAPSHOT_EPOCHS if e != UNTRAINED_EPOCH]  # extracted for the followed runs only
DATASETS = sorted({run.dataset for run in RUNS.values()})
EXPERIMENTS = {}
for _run_id, _run in RUNS.items():
    EXPERIMENTS.setdefault(_run.experiment, []).append(_run_id)
WITH_SUBCLASSES = [e for e, ids in EXPERIMENTS.items() if DATASET_INFO[RUNS[ids[0]].dataset].sublabel_key]
STUDY_FACTS = selection.StudyFacts(tuple(sorted(WITH_SUBCLASSES)), bool(FOLLOWED_EPOCHS))


wildcard_constraints:
    run_id=r"[^/]+",  # an alternation of every run id would be recompiled for each of thousands of jobs
    dataset="|".join(DATASETS) or "no-datasets",
    experiment="|".join(EXPERIMENTS) or "no-experiments",
    depth=r"1|1\.5",
    train_size=r"[1-9][0-9]*",


# --- paths ---------------------------------------------------------------------------------------------------


def model_dirs(run_id, epochs):
    """The model folders of a run: its final model (epoch None) and its snapshots, laid out alike."""
    run_dir = f"{RESULTS}/runs/{run_id}"
    return [run_dir if e is None else f"{run_dir}/{snapshot_dir(e)}" for e in epochs]


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
    """prepare_dataset's description of the data set, its training-subset size and its resolution (None: the
    whole split, the images' own)."""
    options = config["datasets"].get(wildcards.dataset, {})
    return {
        "info": asdict(DATASET_INFO[wildcards.dataset]),
        "train_subset": options.get("train_subset"),
        "resolution": options.get("resolution"),
    }


def run_outputs(name, run_ids=None):
    return expand(f"{RUN_DIR}/{name}", run_id=RUNS if run_ids is None else run_ids)


def figure_files(name, experiment=True, category=None):
    """A figure's PDF and PNG, both in the report under the figure's caption (report/captions/<name up to "_">.rst)
    and category (default: the paper's figure number, "Figure N" for "figN...")."""
    stem = f"{FIGURES}/{{experiment}}/{name}" if experiment else f"{FIGURES}/{name}"
    caption = f"{CAPTIONS}/{name.split('_')[0]}.rst"
    category = category or f"Figure {name.split('_')[0][3:]}"
    subcategory = "{experiment}" if experiment else None
    return {
        kind: report(f"{stem}.{kind}", caption=caption, category=category, subcategory=subcategory)
        for kind in ("pdf", "png")
    }


def depths(experiment):
    return sorted({f"{RUNS[i].depth:g}" for i in EXPERIMENTS[experiment]})


# --- input functions and parameters ---------------------------------------------------------------------------


def get_run_params(wildcards):
    """The hyperparameters and seed of one run, as the training script reads them."""
    return RUNS[wildcards.run_id].as_dict()


def get_run_dataset(wildcards):
    """The data set a run trains on, and its extraction and sharpness read: the prepared one, or its stratified
    subset of the run's train_size images (rule subset_dataset), so that every job of the run sees the same images."""
    run = RUNS[wildcards.run_id]
    if run.train_size is None:
        return f"resources/datasets/{run.dataset}.npz"
    return f"resources/datasets/{run.dataset}/train{run.train_size}.npz"


def measure_options(k_layers):
    """measure_summary's options from the config, with k over layers given (it depends on the architecture)."""
    options = config["measures"]
    names = ("k_neurons", "k_neurons_per_layer", "percentile", "min_active_neurons", "c4_pairs")
    return {"k_layers": k_layers, **{name: options[name] for name in names}}


def get_measure_options(wildcards):
    return measure_options(config["measures"]["k_layers"][RUNS[wildcards.run_id].arch])


def get_experiment_outputs(name):
    """A file of every run of the experiment named by the wildcards."""
    return lambda wildcards: run_outputs(name, EXPERIMENTS[wildcards.experiment])


def get_depth_runs(wildcards):
    """The runs of the experiment and depth factor named by the wildcards."""
    return [i for i in EXPERIMENTS[wildcards.experiment] if RUNS[i].depth == float(wildcards.depth)]


def get_depth_outputs(name):
    """A file of every run of the experiment and depth factor named by the wildcards."""
    return lambda wildcards: run_outputs(name, get_depth_runs(wildcards))


def get_experiment_runs(wildcards):
    return EXPERIMENTS[wildcards.experiment]


def study_runs_table():
    """runs.csv with its kept and reason columns (waits for the collect_runs checkpoint); read once per change."""
    path = checkpoints.collect_runs.get().output.table
    return _read_runs(path, os.stat(path).st_mtime_ns)


@cache
def _read_runs(path, mtime_ns):
    return pd.read_csv(path)


def get_followed_runs(wildcards):
    """{"high", "mid", "low": run_id} of the experiment, or {} (intraclass.selection.followed_runs)."""
    runs = study_runs_table()
    return selection.followed_runs(runs[runs.run_id.isin(EXPERIMENTS[wildcards.experiment])])


def get_kept_runs(wildcards):
    """The experiment's kept runs (runs.csv's kept column; waits for the collect_runs checkpoint)."""
    runs = study_runs_table()
    kept = runs[runs.run_id.isin(EXPERIMENTS[wildcards.experiment]) & selection.as_bool(runs.kept)]
    return list(kept.run_id)


def get_kept_outputs(name):
    """A file of every kept run of the experiment named by the wildcards."""
    return lambda wildcards: run_outputs(name, get_kept_runs(wildcards))


def get_snapshot_outputs(name, label=None):
    """A file of every followed snapshot of the followed runs (or of one of them, by label), keyed label_epoch."""

    def files(wildcards):
        chosen = get_followed_runs(wildcards)
        labels = [label] if label else list(chosen)
        return {
            f"{l}_{e}": f"{RESULTS}/runs/{chosen[l]}/{snapshot_dir(e)}/{name}" for l in labels for e in FOLLOWED_EPOCHS
        }

    return files


def get_followed_output(name, label):
    return lambda wildcards: f"{RESULTS}/runs/{get_followed_runs(wildcards)[label]}/{name}"


def get_followed_untrained(name):
    """A file of the untrained snapshot (epoch 0) of every followed run."""
    return lambda wildcards: [
        f"{RESULTS}/runs/{r}/{snapshot_dir(UNTRAINED_EPOCH)}/{name}" for r in get_followed_runs(wildcards).values()
    ]


def get_experiment_pixels(wildcards):
    """The raw-pixel control of the experiment's dataset."""
    return f"{RESULTS}/controls/{RUNS[EXPERIMENTS[wildcards.experiment][0]].dataset}_pixels.json"


def get_followed_metrics(wildcards):
    return [f"{RESULTS}/runs/{r}/metrics.json" for r in get_followed_runs(wildcards).values()]


# --- targets -------------------------------------------------------------------------------------------------


def planned_targets():
    """What the study makes whatever training gives: the summary and the Kendall tables (every cell n/a when no
    run can be ranked)."""
    targets = [f"{RESULTS}/summary.rst"]
    targets += [f"{RESULTS}/kendall/{experiment}.md" for experiment in EXPERIMENTS]
    targets += [f"{RESULTS}/kendall/{experiment}_vs_paper.md" for experiment in paper_experiments() & set(EXPERIMENTS)]
    return targets


def trained_targets(wildcards):
    """The tables and figures the trained runs can support (intraclass.selection.plan_products; the summary lists
    the others with the reason)."""
    return [f"{RESULTS}/{product.target}" for product in _made_products()]


def get_leaderboards(wildcards):
    """The leaderboards (CSV) of the experiments the trained runs can rank; the summary shows their top rows."""
    made = _made_products()
    return [f"{RESULTS}/{p.target.removesuffix('.md')}.csv" for p in made if p.kind == "leaderboard"]


def _made_products():
    path = checkpoints.collect_runs.get().output.table
    return _planned(os.stat(path).st_mtime_ns)


@cache
def _planned(mtime_ns):
    return [p for p in selection.plan_products(study_runs_table(), STUDY_FACTS) if not p.reason]
