# Granulated Kendall coefficients of every registered measure against test accuracy, with 95% bootstrap intervals
# over the test images and the seeds (SPEC §11): Tables 1-3, one per experiment.


# Tables run on the submit host: seconds of work, not worth a cluster job.
localrules:
    kendall,


rule kendall:
    input:
        measures=f"{RESULTS}/measures.csv",
        metrics=get_experiment_outputs("metrics.json"),  # each run's per-image test correctness
    output:
        table=report(
            f"{RESULTS}/kendall/{{experiment}}.csv",
            caption=f"{CAPTIONS}/kendall.rst",
            category="Tables",
            subcategory="{experiment}",
        ),
        markdown=f"{RESULTS}/kendall/{{experiment}}.md",
        latex=f"{RESULTS}/kendall/{{experiment}}.tex",
        excluded=f"{RESULTS}/kendall/{{experiment}}_excluded.csv",
    log:
        f"{LOGS}/kendall/{{experiment}}.log",
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
        "../scripts/kendall.py"
