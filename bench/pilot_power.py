"""Pilot a study's design without Snakemake: train its runs (on a GPU when there is one) and print its power tables,
never a measure (SPEC §14). For a machine that has PyTorch but not the workflow's dependencies, e.g. a GPU node
lent for minutes; on a machine with the workflow, `snakemake --cores N power --configfile STUDY` does the same.

    python bench/pilot_power.py configs/fashion.yaml --fashion-dir /usr/share/datasets/fashion-mnist \
        --out results/pilot --jobs 4 [--set training.epochs=40 --set datasets.fashion-coarse.train_subset=6000]

Each run is trained by intraclass.training.train exactly as the workflow's rule train does; runs.csv is written by
intraclass.results.runs_table and intraclass.selection.mark_runs as rule collect_runs does; the power tables by
intraclass.power as rule power_table does. Prints one line per run (train and test accuracy, epochs, seconds) and
the power table of every experiment.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from intraclass.config import resolve_config  # noqa: E402
from intraclass.data import DatasetArrays, build_dataset, dataset_name, stratified_subset, study_datasets  # noqa: E402
from intraclass.grid import RunConfig, TrainingSettings, study_runs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configfile")
    parser.add_argument("--set", action="append", default=[], help="dotted.key=yaml-value, applied to the study")
    parser.add_argument("--fashion-dir", default=None, help="folder of the 4 Fashion-MNIST .gz files")
    parser.add_argument("--out", default="results/pilot")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    study = yaml.safe_load(Path(args.configfile).read_text())
    for assignment in args.set:
        key, value = assignment.split("=", 1)
        *parents, last = key.split(".")
        node = study
        for parent in parents:
            node = node.setdefault(parent, {})
        node[last] = yaml.safe_load(value)
    config = resolve_config(study)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))

    infos = study_datasets(config["experiments"], config["datasets"])
    runs = study_runs([{**e, "dataset": dataset_name(e["dataset"])} for e in config["experiments"]])
    data_paths = {}
    for name, info in infos.items():
        options = config["datasets"].get(name, {})
        data = build_dataset(info, args.fashion_dir, options.get("train_subset"), options.get("resolution"))
        data_paths[name] = out / f"{name}.npz"
        data.save(data_paths[name])
    fields = TrainingSettings.__dataclass_fields__
    training = {k: v for k, v in config["training"].items() if k in fields}
    training["snapshot_epochs"] = sorted({0, *training.get("snapshot_epochs", ())})

    started = time.perf_counter()
    for run in runs.values():  # a run's train_size cut, as rule subset_dataset makes it
        if run.train_size is not None and (run.dataset, run.train_size) not in data_paths:
            cut = stratified_subset(DatasetArrays.load(data_paths[run.dataset]), run.train_size, option="train_size")
            data_paths[run.dataset, run.train_size] = out / f"{run.dataset}_train{run.train_size}.npz"
            cut.save(data_paths[run.dataset, run.train_size])
    jobs = [
        (
            run.as_dict(),
            str(data_paths.get((run.dataset, run.train_size), data_paths[run.dataset])),
            training,
            str(out / "runs" / rid),
            args.device,
        )
        for rid, run in runs.items()
    ]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        metrics = list(pool.map(_train, *zip(*jobs, strict=True)))
    wall = time.perf_counter() - started

    import numpy as np

    from intraclass.correctness import correctness_matrix
    from intraclass.power import power_cells, power_table, write_power_tables
    from intraclass.results import runs_table
    from intraclass.selection import mark_runs, split_runs
    from intraclass.tables import markdown_table

    table = mark_runs(runs_table(metrics), config["kendall"]["min_train_acc"])
    table.to_csv(out / "runs.csv", index=False)
    print(f"{len(metrics)} runs in {wall:.0f} s wall ({args.jobs} at once)")
    for row in table.itertuples():
        print(
            f"{row.run_id}: train {row.train_acc:.4f} test {row.test_acc:.4f} epochs {row.epochs_run} "
            f"{row.wall_s:.0f} s {row.reason}"
        )
    by_id = {m["run_id"]: m for m in metrics}
    for experiment in sorted({run.experiment for run in runs.values()}):
        ids = [rid for rid, run in runs.items() if run.experiment == experiment]
        kept = split_runs(table, ids).kept
        correct = correctness_matrix([by_id[r] for r in kept.run_id]) if len(kept) else np.zeros((0, 0), dtype=bool)
        k = config["kendall"]
        power = power_table(
            kept, correct, k["n_resamples"], k["bootstrap_seed"], k["confidence"], k["ties"], k["pairs"]
        )
        write_power_tables(power, out / "power" / experiment)
        print(f"\n## {experiment}\n")
        print(markdown_table(*power_cells(power)))


def _train(run: dict, data_path: str, training: dict, run_dir: str, device: str) -> dict:
    import torch

    from intraclass.data import DatasetArrays
    from intraclass.training import pick_device, train

    torch.set_num_threads(1)
    metrics = train(
        RunConfig.from_dict(copy.deepcopy(run)),
        DatasetArrays.load(data_path),
        TrainingSettings(**training),
        run_dir,
        pick_device(device),
    )
    return metrics


if __name__ == "__main__":
    main()
