# Sweeps over cached pre-activations (SPEC §13): c1 and c3 over k, c4 over its activation percentile, recomputed
# from each run's stored pre-activations (never retraining or re-extracting), then ranked per swept value.


# A table and a figure from the runs' sweeps: seconds of work, not worth a cluster job.
localrules:
    sweep_tables,


rule sweeps:
    input:
        preactivations=f"{RUN_DIR}/preactivations.npz",
    output:
        sweeps=f"{RUN_DIR}/sweeps.json",
    log:
        f"{LOGS}/sweeps/{{run_id}}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        k_values=config["sweeps"]["k_values"],
        percentiles=config["sweeps"]["percentiles"],
        options=get_measure_options,  # k over layers, c4's transform: as the measures rule
    script:
        "../scripts/sweeps.py"


rule sweep_tables:
    input:
        runs=f"{RESULTS}/runs.csv",
        sweeps=get_kept_outputs("sweeps.json"),  # a diverged run has no pre-activations to sweep
        metrics=get_experiment_outputs("metrics.json"),  # each run's per-image test correctness
    output:
        **figure_files("sweeps", category="Sweeps"),
        table=report(
            f"{RESULTS}/sweeps/{{experiment}}.csv",
            caption=f"{CAPTIONS}/sweeps.rst",
            category="Sweeps",
            subcategory="{experiment}",
        ),
        markdown=f"{RESULTS}/sweeps/{{experiment}}.md",
        latex=f"{RESULTS}/sweeps/{{experiment}}.tex",
    log:
        f"{LOGS}/sweeps/{{experiment}}.log",
    conda:
        "../envs/torch.yaml"
    params:
        run_ids=get_kept_runs,
        ties=config["kendall"]["ties"],
        n_resamples=config["kendall"]["n_resamples"],
        seed=config["kendall"]["bootstrap_seed"],
        confidence=config["kendall"]["confidence"],
        dpi=config["plots"]["dpi"],
    script:
        "../scripts/sweep_tables.py"
