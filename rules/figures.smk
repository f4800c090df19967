# The paper's figures, one rule and one script each (SPEC §9); planned_targets() and trained_targets() in
# rules/common.smk request only those the study supports (subclasses, snapshots, at least 3 fitted runs to follow).


# Figures run on the submit host: seconds of work each, not worth a cluster job.
localrules:
    fig2,
    fig3,
    fig3_sharpness,
    fig4,
    fig5,
    fig6,
    fig7,
    fig8,
    fig11,


rule fig2:
    input:
        preactivations=get_followed_output("preactivations.npz", "high"),
        metrics=get_followed_output("metrics.json", "high"),
    output:
        **figure_files("fig2"),
    log:
        f"{LOGS}/figures/{{experiment}}/fig2.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
    script:
        "../scripts/fig2.py"


rule fig3:
    input:
        measures=f"{RESULTS}/measures.csv",
        kendall=expand(f"{RESULTS}/kendall/{{experiment}}.csv", experiment=EXPERIMENTS),
    output:
        **figure_files("fig3", experiment=False),
    log:
        f"{LOGS}/figures/fig3.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
        experiments=list(EXPERIMENTS),
    script:
        "../scripts/fig3.py"


rule fig3_sharpness:
    input:
        measures=f"{RESULTS}/measures.csv",
        kendall=expand(f"{RESULTS}/kendall/{{experiment}}.csv", experiment=EXPERIMENTS),
    output:
        **figure_files("fig3_sharpness", experiment=False),
    log:
        f"{LOGS}/figures/fig3_sharpness.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
        experiments=list(EXPERIMENTS),
    script:
        "../scripts/fig3_sharpness.py"


rule fig4:
    input:
        measures=f"{RESULTS}/measures.csv",
        summaries=get_experiment_outputs("measures.json"),
    output:
        **figure_files("fig4"),
    log:
        f"{LOGS}/figures/{{experiment}}/fig4.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
        points=config["plots"]["fig4_points"],
        run_ids=get_experiment_runs,
    script:
        "../scripts/fig4.py"


rule fig5:
    input:
        runs=f"{RESULTS}/runs.csv",
        summaries=get_depth_outputs("measures.json"),
        untrained=get_depth_outputs(f"{snapshot_dir(UNTRAINED_EPOCH)}/measures.json"),
    output:
        **figure_files("fig5_depth{depth}"),
    log:
        f"{LOGS}/figures/{{experiment}}/fig5_depth{{depth}}.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
        run_ids=get_depth_runs,
    script:
        "../scripts/fig5.py"


rule fig6:
    input:
        unpack(get_snapshot_outputs("measures.json")),
        metrics=get_followed_metrics,
        untrained=get_followed_untrained("measures.json"),
        pixels=get_experiment_pixels,
    output:
        **figure_files("fig6"),
    log:
        f"{LOGS}/figures/{{experiment}}/fig6.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
        followed=get_followed_runs,
        epochs=FOLLOWED_EPOCHS,
    script:
        "../scripts/fig6.py"


rule fig7:
    input:
        unpack(get_snapshot_outputs("preactivations.npz", "high")),
        untrained=get_followed_output(f"{snapshot_dir(UNTRAINED_EPOCH)}/preactivations.npz", "high"),
        summary=get_followed_output("measures.json", "high"),
        metrics=get_followed_output("metrics.json", "high"),
    output:
        **figure_files("fig7"),
    log:
        f"{LOGS}/figures/{{experiment}}/fig7.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
        epochs=FOLLOWED_EPOCHS,
    script:
        "../scripts/fig7.py"


rule fig8:
    input:
        runs=f"{RESULTS}/runs.csv",
    output:
        **figure_files("fig8", experiment=False),
    log:
        f"{LOGS}/figures/fig8.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
    script:
        "../scripts/fig8.py"


rule fig11:
    input:
        runs=f"{RESULTS}/runs.csv",
        summaries=get_experiment_outputs("measures.json"),
    output:
        **figure_files("fig11"),
    log:
        f"{LOGS}/figures/{{experiment}}/fig11.log",
    conda:
        "../envs/torch.yaml"
    params:
        dpi=config["plots"]["dpi"],
        run_ids=get_experiment_runs,
    script:
        "../scripts/fig11.py"
