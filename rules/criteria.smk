# The field's other criteria beside granulated Kendall (SPEC §12), one experiment each: conditional mutual
# information (Jiang et al. 2020) and robust sign-error with the CDF of its environments (Dziugaite et al. 2020).


# Tables and a figure from measures.csv run on the submit host: seconds of work, not worth a cluster job.
localrules:
    cmi,
    sign_error,
    sign_error_cdf,


rule cmi:
    input:
        measures=f"{RESULTS}/measures.csv",
    output:
        table=report(
            f"{RESULTS}/criteria/{{experiment}}_cmi.csv",
            caption=f"{CAPTIONS}/cmi.rst",
            category="Criteria",
            subcategory="{experiment}",
        ),
        markdown=f"{RESULTS}/criteria/{{experiment}}_cmi.md",
        latex=f"{RESULTS}/criteria/{{experiment}}_cmi.tex",
    log:
        f"{LOGS}/criteria/{{experiment}}_cmi.log",
    conda:
        "../envs/torch.yaml"
    params:
        run_ids=get_experiment_runs,
    script:
        "../scripts/cmi.py"


rule sign_error:
    input:
        measures=f"{RESULTS}/measures.csv",
    output:
        table=report(
            f"{RESULTS}/criteria/{{experiment}}_sign_error.csv",
            caption=f"{CAPTIONS}/sign_error.rst",
            category="Criteria",
            subcategory="{experiment}",
        ),
        markdown=f"{RESULTS}/criteria/{{experiment}}_sign_error.md",
        latex=f"{RESULTS}/criteria/{{experiment}}_sign_error.tex",
        environments=f"{RESULTS}/criteria/{{experiment}}_sign_error_environments.csv",
    log:
        f"{LOGS}/criteria/{{experiment}}_sign_error.log",
    conda:
        "../envs/torch.yaml"
    params:
        run_ids=get_experiment_runs,
    script:
        "../scripts/sign_error.py"


# The figure apart from the table, so that a plot option reruns the figure only (not the leaderboard that reads the
# table).
rule sign_error_cdf:
    input:
        environments=f"{RESULTS}/criteria/{{experiment}}_sign_error_environments.csv",
    output:
        pdf=report(
            f"{FIGURES}/{{experiment}}/sign_error_cdf.pdf",
            caption=f"{CAPTIONS}/sign_error.rst",
            category="Criteria",
            subcategory="{experiment}",
        ),
        png=report(
            f"{FIGURES}/{{experiment}}/sign_error_cdf.png",
            caption=f"{CAPTIONS}/sign_error.rst",
            category="Criteria",
            subcategory="{experiment}",
        ),
    log:
        f"{LOGS}/criteria/{{experiment}}_sign_error_cdf.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
    script:
        "../scripts/sign_error_cdf.py"
