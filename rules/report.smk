# The report's front page (report/workflow.rst includes it): runs trained, kept and excluded with reasons, every
# Kendall table with its intervals, the top of each leaderboard, and each measure's verdict against its controls.


# A page of text from the study's tables: seconds of work, not worth a cluster job.
localrules:
    summary,


rule summary:
    input:
        runs=f"{RESULTS}/runs.csv",
        measures=f"{RESULTS}/measures.csv",
        tables=expand(f"{RESULTS}/kendall/{{experiment}}.csv", experiment=EXPERIMENTS),
        power=expand(f"{RESULTS}/power/{{experiment}}.csv", experiment=EXPERIMENTS),
        leaderboards=get_leaderboards,
    output:
        rst=f"{RESULTS}/summary.rst",
        markdown=f"{RESULTS}/summary.md",
    log:
        f"{LOGS}/summary.log",
    conda:
        "../envs/torch.yaml"
    params:
        study=STUDY,
        experiments=list(EXPERIMENTS),
        # sorted: a set's order differs between Snakemake processes, and changed params rerun the job
        facts={**STUDY_FACTS._asdict(), "with_subclasses": sorted(STUDY_FACTS.with_subclasses)},
    script:
        "../scripts/summary.py"
