import re

import pytest
from conftest import ROOT, TINY_STUDY, copy_workflow, snakemake, write_config


def bad(tmp_path, config):
    copy_workflow(tmp_path)
    write_config(tmp_path / "bad.yaml", config)
    result = snakemake(tmp_path, "-n", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert not (tmp_path / "results").exists()
    return result.stdout + result.stderr


def experiment(**base_changes):
    return {**TINY_STUDY["experiments"][0], "base": {**TINY_STUDY["experiments"][0]["base"], **base_changes}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"trainig": {"epochs": 3}}, "'trainig' was unexpected"),
        ({"experiments": [{"dataset": "mnist", "arch": "vgg", "design": "paper"}]}, "'mnist' is not one of"),
        ({"experiments": [{"dataset": "digits", "arch": "lenet", "design": "paper"}]}, "'lenet' is not one of"),
        ({"experiments": [experiment(lr=-0.1)]}, r"-0.1 is less than or equal to the minimum of 0.*'lr'"),
        ({"experiments": [experiment(lr=0)]}, r"0 is less than or equal to the minimum of 0.*'lr'"),
        ({"experiments": [experiment(width=2)]}, r"2 is not one of \[1, 1.5\].*'width'"),
        ({"experiments": [experiment(optimizer="rmsprop")]}, "'rmsprop' is not one of"),
        ({"training": {"epochs": 5, "snapshot_epochs": [9]}}, r"snapshot epochs \[9\] are outside 0..5"),
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
