# Pre-activations and the measures of the registry (intraclass/registry.py), one job per run for its final model
# and its untrained network (epoch 0, the control of SPEC §11), and one per followed run (Fig. 6, 7) for its other
# snapshots. The extract job also computes the model-stage measures (SPEC §14) from the two models it loads. A "model folder" is a run's folder or one of its snapshots' (runs/<run_id>[/snapshots/epoch_NNN]),
# laid out alike; the same scripts serve both rules of each pair.


# Collection runs on the submit host: seconds of work, not worth a cluster job.
localrules:
    collect_measures,
    pixel_controls,


rule extract:
    input:
        models=lambda wildcards: [f"{d}/model.pt" for d in model_dirs(wildcards.run_id, [None, UNTRAINED_EPOCH])],
        dataset=get_run_dataset,
        metrics=f"{RUN_DIR}/metrics.json",
    output:
        preactivations=[f"{d}/preactivations.npz" for d in model_dirs("{run_id}", [None, UNTRAINED_EPOCH])],
        complexity=f"{RUN_DIR}/complexity.json",
    log:
        f"{LOGS}/extract/{{run_id}}.log",
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


rule extract_snapshots:
    input:
        models=lambda wildcards: [f"{d}/model.pt" for d in model_dirs(wildcards.run_id, FOLLOWED_EPOCHS)],
        dataset=get_run_dataset,
    output:
        preactivations=[f"{d}/preactivations.npz" for d in model_dirs("{run_id}", FOLLOWED_EPOCHS)],
    log:
        f"{LOGS}/extract_snapshots/{{run_id}}.log",
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
        preactivations=[f"{d}/preactivations.npz" for d in model_dirs("{run_id}", [None, UNTRAINED_EPOCH])],
    output:
        measures=[f"{d}/measures.json" for d in model_dirs("{run_id}", [None, UNTRAINED_EPOCH])],
    log:
        f"{LOGS}/measures/{{run_id}}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        options=get_measure_options,
        shuffle_seed=lambda wildcards: RUNS[wildcards.run_id].seed,
    script:
        "../scripts/measures.py"


rule measures_snapshots:
    input:
        preactivations=[f"{d}/preactivations.npz" for d in model_dirs("{run_id}", FOLLOWED_EPOCHS)],
    output:
        measures=[f"{d}/measures.json" for d in model_dirs("{run_id}", FOLLOWED_EPOCHS)],
    log:
        f"{LOGS}/measures_snapshots/{{run_id}}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        options=get_measure_options,
        shuffle_seed=None,  # the shuffled-subclass control is computed on final models only
    script:
        "../scripts/measures.py"


# The raw-pixel control: every measure on the (normalized) input images as the only layer, once per dataset.
rule pixel_controls:
    input:
        dataset="resources/datasets/{dataset}.npz",
    output:
        measures=f"{RESULTS}/controls/{{dataset}}_pixels.json",
    log:
        f"{LOGS}/pixel_controls/{{dataset}}.log",
    conda:
        "../envs/torch.yaml"
    params:
        options={
            **{k: config["measures"][k] for k in ("k_neurons", "k_neurons_per_layer", "percentile")},
            "k_layers": 1,
        },
    script:
        "../scripts/pixel_controls.py"


rule collect_measures:
    input:
        runs=f"{RESULTS}/runs.csv",
        measures=run_outputs("measures.json"),
        untrained=run_outputs(f"{snapshot_dir(UNTRAINED_EPOCH)}/measures.json"),
        sharpness=run_outputs("sharpness.json"),
        complexity=run_outputs("complexity.json"),
        pixels=expand(f"{RESULTS}/controls/{{dataset}}_pixels.json", dataset=DATASETS),
    output:
        table=f"{RESULTS}/measures.csv",
    log:
        f"{LOGS}/collect_measures.log",
    conda:
        "../envs/torch.yaml"
    params:
        run_ids=list(RUNS),
        datasets=DATASETS,
    script:
        "../scripts/collect_measures.py"
