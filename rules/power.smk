# Power (SPEC §14): can the study's design rank its models at all? From runs.csv and each run's per-image test
# correctness only, never a measure, so `snakemake --cores 2 power` pilots a design before any measure is paid for.


# A table from runs.csv: seconds of work, not worth a cluster job.
localrules:
    power_table,
    power,


POWER_TABLES = expand(f"{RESULTS}/power/{{experiment}}.md", experiment=EXPERIMENTS)


rule power_table:
    input:
        runs=f"{RESULTS}/runs.csv",
        metrics=get_experiment_outputs("metrics.json"),  # each run's per-image test correctness
    output:
        table=report(
            f"{RESULTS}/power/{{experiment}}.csv",
            caption=f"{CAPTIONS}/power.rst",
            category="Power",
            subcategory="{experiment}",
        ),
        markdown=f"{RESULTS}/power/{{experiment}}.md",
        latex=f"{RESULTS}/power/{{experiment}}.tex",
    log:
        f"{LOGS}/power/{{experiment}}.log",
    conda:
        "../envs/torch.yaml"
    params:
        run_ids=get_experiment_runs,
        ties=config["kendall"]["ties"],
        pairs=config["kendall"]["pairs"],
        n_resamples=config["kendall"]["n_resamples"],
        seed=config["kendall"]["bootstrap_seed"],
        confidence=config["kendall"]["confidence"],
    script:
        "../scripts/power.py"


# Train and report power, nothing else: no measure, no sharpness.
rule power:
    input:
        POWER_TABLES,
