# The leaderboard of each experiment (SPEC §14): every measure ranked by its granulated Kendall total, beside its
# interval, CMI K and mean robust sign-error, from the tables of rules kendall and criteria.


# A table from three tables: seconds of work, not worth a cluster job.
localrules:
    leaderboard,


rule leaderboard:
    input:
        kendall=f"{RESULTS}/kendall/{{experiment}}.csv",
        cmi=f"{RESULTS}/criteria/{{experiment}}_cmi.csv",
        sign_error=f"{RESULTS}/criteria/{{experiment}}_sign_error.csv",
    output:
        table=report(
            f"{RESULTS}/leaderboard/{{experiment}}.csv",
            caption=f"{CAPTIONS}/leaderboard.rst",
            category="Leaderboard",
            subcategory="{experiment}",
        ),
        markdown=f"{RESULTS}/leaderboard/{{experiment}}.md",
        latex=f"{RESULTS}/leaderboard/{{experiment}}.tex",
    log:
        f"{LOGS}/leaderboard/{{experiment}}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        experiment="{experiment}",
    script:
        "../scripts/leaderboard.py"
