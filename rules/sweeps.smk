# Sweeps over cached pre-activations (SPEC §13): c1 and c3 over k, c4 over its activation percentile, recomputed
# from each run's stored pre-activations (never retraining or re-extracting), then ranked per swept value.


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
        options=get_measure_options,
    script:
        "../scripts/sweeps.py"
