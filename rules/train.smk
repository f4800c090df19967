# Training, one job per configuration (GPU nodes on a cluster), and the study's runs.csv.


# Collection runs on the submit host: seconds of work, not worth a cluster job.
localrules:
    collect_runs,


# scripts/train.py restores a run that finished before (runs/<run_id>/finished/, not an output) in seconds: an
# interrupted Snakemake deletes a finished job's outputs as incomplete, and the rerun must not train it again.
rule train:
    input:
        dataset=get_run_dataset,
    output:
        model=f"{RUN_DIR}/model.pt",
        metrics=f"{RUN_DIR}/metrics.json",
        snapshots=[f"{RUN_DIR}/{snapshot_dir(epoch)}/model.pt" for epoch in SNAPSHOT_EPOCHS],
    log:
        f"{LOGS}/train/{{run_id}}.log",
    conda:
        "../envs/torch.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=config["training"]["mem_mb"],
        runtime=config["training"]["runtime_min"],
    params:
        run=get_run_params,
        training=TRAINING,
        device=config["device"],
    script:
        "../scripts/train.py"


# A checkpoint: which runs count (runs.csv's kept and reason columns), hence which tables and figures the study can
# have and which runs Fig. 2, 6 and 7 follow, is known only once runs.csv exists.
checkpoint collect_runs:
    input:
        metrics=run_outputs("metrics.json"),
    output:
        table=f"{RESULTS}/runs.csv",
    log:
        f"{LOGS}/collect_runs.log",
    conda:
        "../envs/torch.yaml"
    params:
        min_train_acc=config["kendall"]["min_train_acc"],  # read here only: runs.csv says which runs count
    script:
        "../scripts/collect_runs.py"
