# Sharpness baselines of Jiang et al. (2020): 1/sigma', 1/sigma'', 1/alpha', 1/alpha'' per trained run (GPU nodes).


rule sharpness:
    input:
        model=f"{RUN_DIR}/model.pt",
        metrics=f"{RUN_DIR}/metrics.json",
        dataset=get_run_dataset,
        # Not read: it puts sharpness after the run's extract -> measures chain in the DAG, so that the SLURM
        # profile's `groups:` sends all three to the cluster as one job per model (only connected jobs group)
        # that runs them one after another (Snakemake sums the requests of a group's parallel jobs).
        measures=f"{RUN_DIR}/measures.json",
    output:
        sharpness=f"{RUN_DIR}/sharpness.json",
    log:
        f"{LOGS}/sharpness/{{run_id}}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=config["sharpness_runtime_min"],
    params:
        options=config["sharpness"],
        device=config["device"],
    script:
        "../scripts/sharpness.py"
