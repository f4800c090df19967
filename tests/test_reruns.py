"""Only what is stale reruns: after a full run of the tiny study, each kind of change reruns exactly its part."""

import re
import shutil

import pytest
import yaml
from conftest import TINY_STUDY, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.slow

FIGURE_RULES = {"fig2", "fig3", "fig3_sharpness", "fig4", "fig5", "fig6", "fig7", "fig8", "fig11", "sign_error_cdf"}
FIGURE_RULES |= {"sweep_tables"}  # a table and its figure in one job: the figure's options rerun it


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The tiny study run to the end once; each test works on a copy (mtimes and metadata kept)."""
    workdir = tmp_path_factory.mktemp("finished")
    copy_workflow(workdir)
    write_config(workdir / "config.yaml", TINY_STUDY)
    snakemake(workdir)
    return workdir


@pytest.fixture
def copy(finished, tmp_path):
    target = tmp_path / "workflow"
    shutil.copytree(finished, target, symlinks=True)
    return target


def planned_jobs(workdir) -> dict[str, int]:
    """Jobs per rule that a dry run plans."""
    result = snakemake(workdir, "-n", "--quiet", "rules")
    output = result.stdout + result.stderr
    if "Nothing to be done" in output:
        return {}
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", output, re.MULTILINE) if rule != "total"}


def edit_config(workdir, change):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    change(config)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_full_run_produces_every_supported_output(finished):
    results = finished / "results/tiny"
    assert (results / "kendall/digits-coarse_vgg.md").exists() and (
        results / "kendall/digits-coarse_resnet.tex"
    ).exists()
    figures = sorted(p.relative_to(results / "figures").as_posix() for p in (results / "figures").rglob("*.png"))
    assert figures == [
        "digits-coarse_vgg/fig11.png",
        "digits-coarse_vgg/fig2.png",
        "digits-coarse_vgg/fig4.png",
        "digits-coarse_vgg/fig5_depth1.png",
        "digits-coarse_vgg/fig6.png",
        "digits-coarse_vgg/fig7.png",
        "digits-coarse_vgg/sign_error_cdf.png",
        "digits-coarse_vgg/sweeps.png",
        "fig3.png",
        "fig3_sharpness.png",
        "fig8.png",
    ]  # the resnet experiment has one run: nothing to draw from fewer than 2 models, rank, or follow over training


def test_second_call_has_nothing_to_do(copy):
    assert planned_jobs(copy) == {}


def test_editing_a_figure_script_reruns_that_figure_only(copy):
    with open(copy / "scripts/fig8.py", "a") as script:
        script.write("# edited\n")
    assert planned_jobs(copy) == {"fig8": 1, "all": 1}


def test_changing_k_reruns_measures_and_what_follows_never_extraction_or_training(copy):
    edit_config(copy, lambda c: c.setdefault("measures", {}).update(k_neurons=10))
    jobs = planned_jobs(copy)
    # a job per run for its final and untrained models, one per followed vgg run for its other snapshots (Fig. 6)
    assert jobs["measures"] == 4 and jobs["measures_snapshots"] == 3 and jobs["pixel_controls"] == 1
    assert jobs["collect_measures"] == 1 and jobs["kendall"] == 2
    assert {"train", "extract", "extract_snapshots", "prepare_dataset", "collect_runs"}.isdisjoint(jobs)


def test_changing_a_plot_option_reruns_plots_only(copy):
    edit_config(copy, lambda c: c.setdefault("plots", {}).update(dpi=72))
    jobs = planned_jobs(copy)
    assert set(jobs) - {"all"} == FIGURE_RULES


def test_report_is_one_offline_html_with_tables_figures_and_captions(copy):
    snakemake(copy, "--report", "results/report.html")
    html = (copy / "results/report.html").read_text()
    assert len(html) > 100_000
    for text in ("fig3.png", "fig11.png", "digits-coarse_vgg.csv", "Figure 4", "4 runs trained, 4 kept, 0 excluded"):
        assert text in html, text


def test_changing_the_swept_values_reruns_only_the_sweeps(copy):
    edit_config(copy, lambda c: c.setdefault("sweeps", {}).update(k_values=[2, 5], percentiles=[60]))
    jobs = planned_jobs(copy)
    assert jobs == {"sweeps": 3, "sweep_tables": 1, "all": 1}  # the 3 vgg runs: the one experiment ranked
