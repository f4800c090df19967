# The study's Tables 1-3 beside the paper's, cell by cell (SPEC §11); only for the paper's dataset-architecture pairs.
from intraclass.paper import paper_experiments


# Tables run on the submit host: seconds of work, not worth a cluster job.
localrules:
    paper_compare,


rule paper_compare:
    input:
        table=f"{RESULTS}/kendall/{{experiment}}.csv",
    output:
        table=report(
            f"{RESULTS}/kendall/{{experiment}}_vs_paper.csv",
            caption=f"{CAPTIONS}/paper.rst",
            category="Tables",
            subcategory="{experiment}",
        ),
        markdown=f"{RESULTS}/kendall/{{experiment}}_vs_paper.md",
        latex=f"{RESULTS}/kendall/{{experiment}}_vs_paper.tex",
    log:
        f"{LOGS}/kendall/{{experiment}}_vs_paper.log",
    wildcard_constraints:
        experiment="|".join(sorted(paper_experiments())),
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/paper_compare.py"
