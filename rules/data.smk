# Datasets: CIFAR archives and Fashion-MNIST files fetched once on the submit host (compute nodes often have no
# internet) unless found on disk, then every dataset reduced to one compact .npz the training jobs read.


localrules:
    download_cifar,
    download_fashion,
    prepare_dataset,
    subset_dataset,


rule download_cifar:
    output:
        archive="resources/downloads/{archive}.tar.gz",
    log:
        "resources/logs/download_{archive}.log",
    conda:
        "../envs/torch.yaml"
    params:
        archive=lambda wildcards: wildcards.archive,
    script:
        "../scripts/download_cifar.py"


rule download_fashion:
    output:
        folder=directory("resources/downloads/fashion-mnist"),
    log:
        "resources/logs/download_fashion-mnist.log",
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/download_fashion.py"


rule prepare_dataset:
    input:
        source=get_dataset_source,
    output:
        dataset="resources/datasets/{dataset}.npz",
    log:
        "resources/logs/prepare_{dataset}.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        dataset=get_dataset_params,
    script:
        "../scripts/prepare_dataset.py"


# A run's train_size: one file per data set and size, read by all of the run's jobs (train, extract, sharpness).
rule subset_dataset:
    input:
        dataset="resources/datasets/{dataset}.npz",
    output:
        dataset="resources/datasets/{dataset}/train{train_size}.npz",
    log:
        "resources/logs/subset_{dataset}_train{train_size}.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        train_size=lambda wildcards: int(wildcards.train_size),
    script:
        "../scripts/subset_dataset.py"
