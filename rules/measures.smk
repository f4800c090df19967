# Pre-activations and the four intraclass-clustering measures, per final model and per snapshot: a "model
# folder" is a run's folder or one of its snapshots' (runs/<run_id>[/snapshots/epoch_NNN]), laid out alike.


# Collection runs on the submit host: seconds of work, not worth a cluster job.
localrules:
    collect_measures,


rule extract:
    input:
        model=f"{RESULTS}/{{model_dir}}/model.pt",
        dataset=model_dir_dataset,
    output:
        preactivations=f"{RESULTS}/{{model_dir}}/preactivations.npz",
    log:
        f"{LOGS}/extract/{{model_dir}}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        batch_size=config["measures"]["extract_batch_size"],
        device=config["device"],
    script:
        "../scripts/extract.py"


rule measures:
    input:
        preactivations=f"{RESULTS}/{{model_dir}}/preactivations.npz",
    output:
        measures=f"{RESULTS}/{{model_dir}}/measures.json",
    log:
        f"{LOGS}/measures/{{model_dir}}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        options=measure_options,
    script:
        "../scripts/measures.py"


rule collect_measures:
    input:
        runs=f"{RESULTS}/runs.csv",
        measures=run_outputs("measures.json"),
        sharpness=run_outputs("sharpness.json"),
    output:
        table=f"{RESULTS}/measures.csv",
    log:
        f"{LOGS}/collect_measures.log",
    conda:
        "../envs/torch.yaml"
    params:
        run_ids=list(RUNS),
    script:
        "../scripts/collect_measures.py"
