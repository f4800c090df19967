# Granulated Kendall coefficients of every measure against test accuracy: Tables 1-3, one per experiment.


# Tables run on the submit host: seconds of work, not worth a cluster job.
localrules:
    kendall,


rule kendall:
    input:
        measures=f"{RESULTS}/measures.csv",
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
        run_ids=lambda wildcards: EXPERIMENTS[wildcards.experiment],
        min_train_acc=config["kendall"]["min_train_acc"],
    script:
        "../scripts/kendall.py"
