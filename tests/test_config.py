import re

import numpy as np
import pytest
from conftest import ROOT, TINY_STUDY, copy_workflow, snakemake, write_config


def bad(tmp_path, changes):
    """Snakemake's output for the tiny study with ``changes`` (a study file stands alone: nothing comes from
    config.yaml)."""
    copy_workflow(tmp_path)
    write_config(tmp_path / "bad.yaml", {**TINY_STUDY, **changes})
    result = snakemake(tmp_path, "-n", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert not (tmp_path / "results").exists()
    return result.stdout + result.stderr


def test_own_data_is_validated_by_the_main_process_only(tmp_path):
    """A job's re-parse (Snakemake's subprocess mode) lists the .npz's arrays but does not validate them again."""
    copy_workflow(tmp_path)
    labels = np.full(30, -1)  # a label load_custom refuses
    np.savez(
        tmp_path / "own.npz",
        x_train=np.zeros((30, 8, 8), np.uint8),
        y_train=labels,
        x_test=np.zeros((6, 8, 8), np.uint8),
        y_test=labels[:6],
    )
    own = {**TINY_STUDY["experiments"][0], "dataset": {"name": "own", "path": str(tmp_path / "own.npz")}}
    write_config(tmp_path / "own.yaml", {**TINY_STUDY, "experiments": [own]})
    main = snakemake(tmp_path, "-n", "--configfile", "own.yaml", check=False)
    assert main.returncode != 0 and "'y_train' holds label -1" in main.stdout + main.stderr
    snakemake(tmp_path, "-n", "--configfile", "own.yaml", "--mode", "subprocess")


def experiment(**base_changes):
    return {**TINY_STUDY["experiments"][0], "base": {**TINY_STUDY["experiments"][0]["base"], **base_changes}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"trainig": {"epochs": 3}}, "'trainig' was unexpected"),
        ({"experiments": [{"dataset": "mnist", "arch": "vgg", "design": "paper"}]}, "'mnist' is not one of"),
        ({"experiments": [{"dataset": "digits", "arch": "lenet", "design": "paper"}]}, "'lenet' is not one of"),
        ({"experiments": [experiment(lr=-0.1)]}, r"experiments\[0\]\.base\.lr: -0.1 is less than or equal to the min"),
        ({"experiments": [experiment(lr=0)]}, r"experiments\[0\]\.base\.lr: 0 is less than or equal to the minimum"),
        ({"experiments": [experiment(width=2)]}, r"experiments\[0\]\.base\.width: 2 is not one of \[1, 1.5\]"),
        ({"experiments": [experiment(optimizer="rmsprop")]}, "'rmsprop' is not one of"),
        ({"training": {"epochs": 5, "snapshot_epochs": [9]}}, r"snapshot epochs \[9\] are outside 0..5"),
        ({"study": None}, r"study: None is not of type 'string'"),
    ],
)
def test_bad_config_stops_before_any_job_naming_key_and_value(tmp_path, config, message):
    output = bad(tmp_path, config)
    assert re.search(message, output, re.DOTALL), output


def test_paper_config_plans_exactly_528_training_jobs(tmp_path):
    copy_workflow(tmp_path)
    result = snakemake(tmp_path, "-n", "--configfile", "configs/paper.yaml", "--quiet", "rules")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, re.MULTILINE))
    assert counts["train"] == "528"
    assert counts["download_cifar"] == "2"


def test_default_config_is_the_digits_star_study():
    import yaml

    from intraclass.grid import study_runs

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    runs = study_runs(config["experiments"])
    assert {r.dataset for r in runs.values()} == {"digits-coarse"}
    assert {r.arch for r in runs.values()} == {"vgg"}
    # the base and each axis varied alone (VGG dropout stops at 0.2, A.1): 10 configurations, 2 seeds each
    assert len(runs) == 20 and {r.replicate for r in runs.values()} == {0, 1}
    assert {r.dropout for r in runs.values()} == {0.0, 0.2}


MINIMAL = {"study": "minimal", "experiments": [{"dataset": "digits", "arch": "vgg", "design": "paper"}]}


def test_resolve_config_fills_every_default_from_the_schema_and_keeps_what_the_study_sets():
    import dataclasses

    from intraclass.config import config_schema, resolve_config
    from intraclass.sharpness import SharpnessConfig

    study = {**MINIMAL, "measures": {"k_layers": {"vgg": 2}}, "training": {"epochs": 7}}
    resolved = resolve_config(study)
    assert study == {**MINIMAL, "measures": {"k_layers": {"vgg": 2}}, "training": {"epochs": 7}}  # not modified
    # the sharpness block is the dataclass's published constants, field by field
    assert resolved["sharpness"] == {f.name: f.default for f in dataclasses.fields(SharpnessConfig)}
    assert resolved["training"]["epochs"] == 7 and resolved["training"]["checkpoint_every"] == 5
    assert resolved["training"]["snapshot_epochs"] == [] and resolved["training"]["precision"] == "auto"
    assert resolved["measures"]["k_layers"] == {"vgg": 2, "resnet": 5}  # a nested block is completed, not replaced
    assert resolved["measures"]["k_neurons"] == 30 and resolved["kendall"]["min_train_acc"] == 0.99
    assert resolved["experiments"] == [{**MINIMAL["experiments"][0], "replicates": 1}]
    top_level = config_schema()["properties"]
    assert set(resolved) == set(MINIMAL) | {name for name, block in top_level.items() if "default" in block}
    # defaults are copies: changing one resolved config leaves the next one and the schema as they were
    resolved["sweeps"]["k_values"].append(1000)
    assert resolve_config(MINIMAL)["sweeps"]["k_values"] == [1, 3, 10, 30, 100]
    assert config_schema()["properties"]["sweeps"]["properties"]["k_values"]["default"] == [1, 3, 10, 30, 100]


def test_resolve_config_names_every_offending_key_and_value():
    from intraclass.config import ConfigError, resolve_config

    broken = {"experiments": [{**MINIMAL["experiments"][0], "arch": "lenet"}], "kendall": {"confidence": 1.5}}
    with pytest.raises(ConfigError) as caught:
        resolve_config(broken)
    lines = str(caught.value).splitlines()[1:]
    assert lines == [
        "  (top level): 'study' is a required property",
        "  experiments[0].arch: 'lenet' is not one of ['vgg', 'resnet']",
        "  kendall.confidence: 1.5 is greater than or equal to the maximum of 1",
    ]
    with pytest.raises(ConfigError, match=r"a mapping of keys to values, got list \[1\]"):
        resolve_config([1])


def test_the_study_configs_resolve_to_the_published_sharpness_constants():
    """configs/*.yaml no longer repeat the published constants: they take the schema's defaults."""
    import yaml

    from intraclass.config import resolve_config
    from intraclass.sharpness import SharpnessConfig

    for name in ("paper", "cifar-quick"):
        study = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
        assert "sharpness" not in study, name
        assert SharpnessConfig(**resolve_config(study)["sharpness"]) == SharpnessConfig(), name


# Snakemake's own config, as the workflow resolved it, written by a Snakefile that includes the workflow's.
PROBE = """include: "Snakefile"


with open("resolved.json", "w") as handle:
    json.dump(config, handle)
"""


@pytest.mark.slow
def test_a_study_file_resolves_the_same_whatever_the_default_study_says(tmp_path):
    """Through Snakemake itself: every configs/*.yaml resolves to the schema's defaults for what it leaves out, with a
    config.yaml whose default study changes what the configs leave out; without --configfile that config.yaml is
    the study (so the probe does see it), with --config overrides on top."""
    import json

    import yaml

    from intraclass.config import resolve_config

    copy_workflow(tmp_path)
    (tmp_path / "probe.smk").write_text("import json\n\n" + PROBE)
    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    altered = {
        **default,
        "study": "altered",
        "datasets": {"digits-coarse": {"train_subset": 500}},
        "training": {**default["training"], "epochs": 3, "snapshot_epochs": [1, 3], "precision": "bf16", "threads": 2},
        "measures": {"k_neurons": 7, "k_layers": {"resnet": 2}},
        "kendall": {"min_train_acc": 0.5, "n_resamples": 10},
        "sharpness": {**default["sharpness"], "subset_size": 64, "mc_draws": 1, "seed": 3},
    }
    write_config(tmp_path / "config.yaml", altered)

    def resolved(*args):
        snakemake(tmp_path, "-s", "probe.smk", *args)
        return json.loads((tmp_path / "resolved.json").read_text())

    for name in sorted(path.stem for path in (ROOT / "configs").glob("*.yaml")):
        study = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
        assert resolved("--list-rules", "--configfile", f"configs/{name}.yaml") == resolve_config(study), name
    # a real dry run of one study with that config.yaml: the schema's defaults still fill it in
    assert resolved("-n", "--configfile", "configs/cifar-quick.yaml")["sharpness"]["subset_size"] == 5000
    without = resolved("--list-rules", "--config", "study=renamed")
    assert without == resolve_config({**altered, "study": "renamed"})
