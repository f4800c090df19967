"""End-to-end tests on the real one-node SLURM cluster of tests/slurm/cluster.sh, through profiles/slurm (layered
with tests/slurm/profile, as tests/slurm/README.md describes) and the official snakemake-executor-plugin-slurm.

- the tiny study run on the cluster gives the same results as a local run;
- a training job hit mid-run by a failure -- ``scancel``, preemption (PreemptMode=REQUEUE and CANCEL), its time
  limit (TIMEOUT), its killed process (FAILED), its node going down -- never hangs the workflow: on both status
  paths (sacct, the plugin's default on this cluster with slurmdbd; squeue), the run ends with rc 0 within a
  bound, the training resumes from its checkpoint and ends with the weights of an uninterrupted run, and the
  study's other run is left alone.

Nothing puts ``profiles/slurm/bin`` on PATH here: the Snakefile does, so the plugin's status query goes through
its sacct/squeue wrappers as it does for a user.

Without a running cluster the tests are skipped, or fail when ``INTRACLASS_REQUIRE_SLURM=1`` (``.ci/run``).
The uninterrupted local reference runs start in the background (niced) as soon as the module's first test needs
them, so that they overlap the cluster runs, which mostly wait on the plugin's status polling.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from conftest import ROOT, TINY_BASE, TINY_STUDY, copy_workflow, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

CLUSTER_SH = ROOT / "tests/slurm/cluster.sh"
REQUIRE_ENV = "INTRACLASS_REQUIRE_SLURM"
# The real profile from the workflow copy, then the test cluster's overrides (not part of the copy).
# --jobs 4 (the tiny study's runs) rather than 2 (the node's CPUs): SLURM queues what does not fit, and Snakemake
# does not wait one status-poll cycle (~33 s) between two waves of training jobs.
PROFILE_ARGS = ("--profile", "profiles/slurm", "--profile", str(ROOT / "tests/slurm/profile"), "--jobs", "4")
SQUEUE_PROFILE = ("--profile", str(ROOT / "tests/slurm/squeue"))  # the plugin's other status path
# snakemake-executor-plugin-slurm 2.8: "Job 3 has been submitted with SLURM jobid 41 (log: /.../41.log)."
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")

TINY_TARGETS = ("results/tiny/runs.csv", "results/tiny/measures.csv")

# Two VGG runs of ~0.6 s per epoch on one CPU: long enough to cancel one mid-run, short enough for a test.
# min_loss 0: no early stop, so the preempted run certainly has epochs left after its first checkpoint.
PREEMPT_STUDY = {
    "study": "preempt",
    "experiments": [
        {
            "dataset": "digits-coarse",
            "arch": "vgg",
            "design": "lists",
            "base": TINY_BASE,
            "values": {"lr": [0.1, 0.032]},
        },
    ],
    "training": {"epochs": 20, "checkpoint_every": 1, "snapshot_epochs": [1, 20], "min_loss": 0},
}
KEPT = "digits-coarse_vgg_lr0.1_wd0_bs100_sgd_do0_aug0_w1_d1_r0"  # trained beforehand, must stay untouched
PREEMPTED = "digits-coarse_vgg_lr0.032_wd0_bs100_sgd_do0_aug0_w1_d1_r0"  # its job is cancelled mid-run
PREEMPT_RUNS = f"results/{PREEMPT_STUDY['study']}/runs"
PREEMPT_TARGETS = tuple(f"{PREEMPT_RUNS}/{run_id}/metrics.json" for run_id in (KEPT, PREEMPTED))

CLUSTER_RUN_TIMEOUT = 600  # seconds; a hung run (e.g. a job the cluster can never schedule) fails the test


# --------------------------------------------------------------------------------------------------- helpers


def snakemake_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


class ClusterRun:
    """Snakemake through the SLURM profiles, in the background; its whole output goes to ``output_file``.

    Leaving the ``with`` block stops a run still going with SIGINT (Snakemake then cancels its SLURM jobs), and
    cancels whatever is left of the run's jobs by their job name, the run's id (``SLURM run ID: ...``)."""

    def __init__(
        self,
        workdir: Path,
        targets: tuple[str, ...],
        output_file: Path,
        profiles: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ):
        self.output_file = output_file
        self.workdir = workdir
        self.started = time.monotonic()
        # SLURM's own view of the run's jobs, {job id: {"state", "comment", "workdir"}}, polled while waiting
        # (squeue forgets a job MinJobAge = 300 s after it ended).
        self.slurm_jobs: dict[str, dict[str, str]] = {}
        with open(output_file, "w") as out:
            self.process = subprocess.Popen(
                command or snakemake_command(*PROFILE_ARGS, *profiles, "--", *targets),
                cwd=workdir,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.output_file.read_text()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def run_id(self) -> str | None:
        """The plugin's id of this run, which it gives every job as its name."""
        found = re.search(r"SLURM run ID: (\S+)", self.output)
        return found.group(1) if found else None

    def poll_slurm(self) -> None:
        if self.run_id is None:
            return
        out = subprocess.run(
            ["squeue", "--states=all", "--noheader", "--name", self.run_id, "--format=%i|%T|%k|%Z"],
            capture_output=True,
            text=True,
        ).stdout
        for line in out.splitlines():
            job_id, state, comment, workdir = line.strip().split("|", 3)
            self.slurm_jobs[job_id] = {"state": state, "comment": comment, "workdir": workdir}

    def wait(self, timeout: float = CLUSTER_RUN_TIMEOUT, succeed: bool = True) -> str:
        """The output of the finished run; fails the test if it did not end within ``timeout`` or, unless
        ``succeed`` is False, if it failed."""
        while self.process.poll() is None:
            if self.elapsed > timeout:
                self.stop()
                pytest.fail(f"snakemake on SLURM did not finish within {timeout} s:\n{self.output}", pytrace=False)
            self.poll_slurm()
            time.sleep(2)
        self.poll_slurm()
        if succeed:
            assert self.process.returncode == 0, f"snakemake on SLURM failed:\n{self.output}"
        return self.output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.run_id:
            subprocess.run(["scancel", "--name", self.run_id], capture_output=True)

    def __enter__(self) -> ClusterRun:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def submissions(output: str) -> list[tuple[str, str, str]]:
    """(snakemake job id, SLURM job id, SLURM log path) of every submission the plugin reported."""
    return SUBMITTED.findall(output)


def submitted_rule(log_path: str) -> str:
    """rule_<name> or group_<name> of a submission, from its SLURM log: .../slurm_logs/rule_train/<wildcards>/41.log."""
    parts = Path(log_path).parts
    return parts[parts.index("slurm_logs") + 1]


def snakemake_log(workdir: Path) -> str:
    """The newest Snakemake run log of ``workdir`` (.snakemake/log/*.snakemake.log)."""
    logs = sorted((workdir / ".snakemake/log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
    assert logs, f"no Snakemake log in {workdir}"
    return logs[-1].read_text()


def state_dicts(model_file: Path) -> dict[str, torch.Tensor]:
    return torch.load(model_file, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_weights(actual: Path, expected: Path) -> None:
    a, b = state_dicts(actual), state_dicts(expected)
    assert a.keys() == b.keys(), actual
    different = [name for name in a if not torch.equal(a[name], b[name])]
    assert not different, f"{actual} differs from {expected} in {different}"


def deterministic_table(path: Path) -> pd.DataFrame:
    """A results table without its wall-clock column, rows in run order."""
    return pd.read_csv(path).drop(columns=["wall_s"]).sort_values("run_id").reset_index(drop=True)


def file_mtimes(*roots: Path) -> dict[str, int]:
    files = [p for root in roots for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    return {str(p): p.stat().st_mtime_ns for p in files}


def show(capsys: pytest.CaptureFixture, title: str, lines: list[str]) -> None:
    """Print to the terminal even under pytest's capture, so that the job ids appear in the CI log."""
    with capsys.disabled():
        print(f"\n[{title}]")
        for line in lines:
            print(f"  {line}")


class LocalRuns:
    """Local ``--cores 2`` runs started at once in the background, at the lowest CPU priority (nice 19): the
    cluster's jobs share these CPUs and come first; the results do not depend on it (fixed thread counts)."""

    def __init__(self, runs: list[tuple[Path, tuple[str, ...]]]):
        self._results: dict[Path, subprocess.CompletedProcess] = {}
        self._processes = {}
        for workdir, targets in runs:
            with open(self._output_file(workdir), "w") as out:  # a file, not a pipe nobody reads yet
                self._processes[workdir] = subprocess.Popen(
                    ["nice", "-n", "19", *snakemake_command("--cores", "2", "--", *targets)],
                    cwd=workdir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,
                )
        self._started = time.monotonic()

    @staticmethod
    def _output_file(workdir: Path) -> Path:
        return workdir.parent / f"{workdir.name}.local.out"

    def wait(self, workdir: Path, timeout: float = CLUSTER_RUN_TIMEOUT) -> subprocess.CompletedProcess:
        if workdir not in self._results:
            process = self._processes[workdir]
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the local run in {workdir} did not finish within {timeout} s", pytrace=False)
            output = self._output_file(workdir).read_text()
            result = subprocess.CompletedProcess(process.args, process.returncode, output)
            result.wall_s = time.monotonic() - self._started
            self._results[workdir] = result
        result = self._results[workdir]
        assert result.returncode == 0, f"local snakemake run in {workdir} failed:\n{result.stdout}"
        return result

    def stop(self) -> None:
        """Ends the runs still going: their process groups (Snakemake and its jobs) only."""
        for process in self._processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


# -------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def slurm_cluster() -> str:
    """The test cluster accepts jobs; otherwise skip (or fail when INTRACLASS_REQUIRE_SLURM=1)."""
    try:
        status = subprocess.run(["bash", str(CLUSTER_SH), "status"], capture_output=True, text=True, timeout=60)
        up, detail = status.returncode == 0, (status.stdout + status.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        up, detail = False, str(error)
    if not up:
        reason = (
            f"the SLURM test cluster is not up ({detail or 'no output'}); "
            "start it: tests/slurm/cluster.sh install && tests/slurm/cluster.sh start"
        )
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return detail


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory, slurm_cluster) -> dict[str, Path]:
    """Workflow copies: the tiny study for the local reference and for the cluster, and the preemption study."""
    dirs = {}
    for name, study in (("tiny_local", TINY_STUDY), ("tiny_slurm", TINY_STUDY), ("preempt", PREEMPT_STUDY)):
        dirs[name] = copy_workflow(tmp_path_factory.mktemp(name))
        write_config(dirs[name] / "config.yaml", study)
    return dirs


@pytest.fixture(scope="module")
def local_runs(workdirs):
    """The uninterrupted local runs: the tiny study's reference, and both runs of the preemption study."""
    runs = LocalRuns([(workdirs["tiny_local"], TINY_TARGETS), (workdirs["preempt"], PREEMPT_TARGETS)])
    yield runs
    runs.stop()


# ----------------------------------------------------------------------------------------------------- tests


def test_tiny_study_on_slurm_equals_local_run(workdirs, local_runs, capsys, tmp_path):
    work, reference = workdirs["tiny_slurm"], workdirs["tiny_local"]
    with ClusterRun(work, TINY_TARGETS, tmp_path / "snakemake.out") as run:
        output = run.wait()
        cluster_s = run.elapsed

    # The plugin reported every submission with its SLURM job id, in the output and in the run's log.
    submitted = submissions(output)
    assert submitted, f"no 'has been submitted with SLURM jobid' line in the output:\n{output}"
    run_log = snakemake_log(work)
    for _, slurm_id, _ in submitted:
        assert f"has been submitted with SLURM jobid {slurm_id} " in run_log
    show(capsys, f"tiny study on SLURM ({cluster_s:.0f} s)", [m.group(0) for m in SUBMITTED.finditer(output)])

    # Every training run was a SLURM job of its own, and SLURM itself saw it complete in this workflow copy.
    runs = pd.read_csv(work / "results/tiny/runs.csv")
    train_jobs = {
        Path(log).parent.name: slurm_id for _, slurm_id, log in submitted if submitted_rule(log) == "rule_train"
    }
    assert sorted(train_jobs) == sorted(runs.run_id)
    for run_id, slurm_id in train_jobs.items():
        job = run.slurm_jobs[slurm_id]
        assert job["state"] == "COMPLETED", job
        assert job["comment"] == f"rule_train_wildcards_{run_id}", job
        assert Path(job["workdir"]).resolve() == work.resolve(), job
    assert sorted(run.slurm_jobs) == sorted(slurm_id for _, slurm_id, _ in submitted)
    assert {job["state"] for job in run.slurm_jobs.values()} == {"COMPLETED"}

    # With the profile's grouping, a model's extract, measures and sharpness went to the cluster as one job.
    profile = yaml.safe_load((work / "profiles/slurm/config.yaml").read_text())
    rules = [submitted_rule(log) for _, _, log in submitted]
    per_model = {"extract", "measures", "sharpness", "extract_snapshots", "measures_snapshots"}
    assert set(profile["groups"]) == per_model and set(profile["groups"].values()) == {"models"}
    group_jobs = [rule for rule in rules if rule.startswith("group_")]
    assert not {"rule_extract", "rule_measures", "rule_sharpness"} & set(rules), rules
    assert 1 <= len(group_jobs) <= len(runs), rules

    # Same results as the local run: tables (but wall time) and every model's weights.
    local = local_runs.wait(reference)
    show(
        capsys,
        "tiny study, local reference",
        [f"--cores 2, done after {local.wall_s:.0f} s (in the background, nice 19)"],
    )
    for table in TINY_TARGETS:
        pd.testing.assert_frame_equal(
            deterministic_table(work / table), deterministic_table(reference / table), check_exact=True
        )
    run_dirs = reference / "results/tiny/runs"
    models = sorted([*run_dirs.glob("*/model.pt"), *run_dirs.glob("*/snapshots/*/model.pt")])  # not finished/'s links
    # the final model, the configured snapshots and epoch 0 (the untrained control, always kept)
    assert len(models) == len(runs) * (2 + len(TINY_STUDY["training"]["snapshot_epochs"]))
    for model in models:
        assert_same_weights(work / model.relative_to(reference), model)


# ------------------------------------------------------------------------------------------- fault injection

NODE = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
# SLURM holds a requeued job for 120 s (Reason=BeginTime) before it may start again; the tests shorten that.


def squeue_state(job_id: str) -> str:
    return subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T|%r"], capture_output=True, text=True).stdout.strip()


def job_steps_alive(job_id: str) -> bool:
    """Any slurmstepd of ``job_id`` still running on this (the only) node."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().startswith(f"slurmstepd: [{job_id}.".encode()):
                return True
        except OSError:  # the process ended meanwhile
            continue
    return False


def release_requeued(run: ClusterRun, job_id: str) -> None:
    """Wait until SLURM requeued ``job_id`` (PENDING, held until its BeginTime) and its stopped instance is gone
    from the node, then let it start 10 s later instead of 120 s. (Started while slurmd still winds the old
    instance up -- it does so for a moment after its last slurmstepd exited -- slurmd refuses the "second copy"
    and SLURM drains the node: Reason "Duplicate jobid".)"""
    while squeue_state(job_id) != "PENDING|BeginTime" or job_steps_alive(job_id):
        assert run.process.poll() is None, f"snakemake ended before {job_id} was requeued:\n{run.output}"
        assert run.elapsed < CLUSTER_RUN_TIMEOUT, f"{job_id} not requeued: {squeue_state(job_id)}\n{run.output}"
        time.sleep(0.2)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now+10"], check=True)


def training_pids(job_id: str) -> list[int]:
    """The job's training process: the Python process running Snakemake's copy of scripts/train.py."""
    listed = subprocess.run(["scontrol", "listpids", job_id], capture_output=True, text=True).stdout.split("\n")[1:]
    pids = [int(line.split()[0]) for line in listed if line.strip()]
    return [pid for pid in pids if "train.py" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]


def preempt(run: ClusterRun, job_id: str) -> None:
    """A job in the high-priority partition 'urgent' that needs the whole node preempts the training job."""
    cpus = subprocess.run(["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True).stdout.split()[0]
    subprocess.run(
        ["sbatch", "-p", "urgent", "-c", cpus, "--mem", "100", "-J", f"urgent-{job_id}", "-o", "/dev/null"]
        + ["--wrap", "sleep 2"],
        check=True,
        capture_output=True,
    )


def preempt_requeued(run: ClusterRun, job_id: str) -> None:
    preempt(run, job_id)
    release_requeued(run, job_id)


def time_out(run: ClusterRun, job_id: str) -> None:
    """The training process stops (SIGSTOP) until SLURM ends the job at its 1-minute limit (the fault profile)."""
    for pid in training_pids(job_id):
        os.kill(pid, signal.SIGSTOP)


def kill_process(run: ClusterRun, job_id: str) -> None:
    pids = training_pids(job_id)
    assert pids, f"no training process in SLURM job {job_id}"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def orphaned_job_steps(workdir: Path) -> list[int]:
    """Snakemake job-step processes of ``workdir`` left behind by their killed SLURM step (adopted by init)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            orphan = "\nPPid:\t1\n" in status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended meanwhile
            continue
        if orphan and b"--target-jobs" in cmdline and str(workdir / "Snakefile").encode() in cmdline:
            pids.append(int(status.parent.name))
    return pids


def node_down(run: ClusterRun, job_id: str) -> None:
    """The job's node goes down (SLURM kills and requeues the job), and comes back."""
    subprocess.run(["scontrol", "update", f"NodeName={NODE}", "State=DOWN", "Reason=fault-test"], check=True)
    try:
        release_requeued(run, job_id)
        # Without cgroups (proctrack/linuxproc) the killed step's Snakemake can outlive it, asleep and childless;
        # on a real node failure it dies with the node.
        for pid in orphaned_job_steps(run.workdir):
            os.kill(pid, signal.SIGKILL)
    finally:
        # ReturnToService=2 brings the node back by itself once slurmd answers; RESUME if it is still down/drained
        state = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True).stdout
        if "down" in state or "drain" in state:
            subprocess.run(["scontrol", "update", f"NodeName={NODE}", "State=RESUME"], capture_output=True)


# mode: (inject the fault into the running training job, SLURM's final state of that job, who reruns it:
# "snakemake" retries with a new job (profile: retries: 2), "slurm" requeues the same job (slurm-requeue: true))
FAULTS = {
    "scancel": (lambda run, job_id: subprocess.run(["scancel", job_id], check=True), "CANCELLED", "snakemake"),
    "preempt-requeue": (preempt_requeued, None, "slurm"),
    "preempt-cancel": (preempt, "PREEMPTED", "snakemake"),
    "timeout": (time_out, "TIMEOUT", "snakemake"),
    "failed": (kill_process, "FAILED", "snakemake"),
    "node-down": (node_down, None, "slurm"),
}
# The fault's environment: the CANCEL-mode partition for preempt-cancel (the profile reads the partition from it).
FAULT_ENV = {"preempt-cancel": {"SNAKEMAKE_SLURM_PARTITION": "cancelable"}}
# Status paths: sacct (the default) for every mode, squeue where its view differs (cancel, preemption, node loss).
FAULT_CASES = [(mode, "sacct") for mode in FAULTS] + [
    (mode, "squeue") for mode in ("scancel", "preempt-requeue", "preempt-cancel", "node-down")
]
FAULT_RUN_TIMEOUT = 300  # seconds: the bound on each fault run (the slowest, a TIMEOUT, ends in ~2 min)


@pytest.fixture
def fault_profile(tmp_path) -> tuple[str, ...]:
    """A 1-minute time limit for train (for the TIMEOUT case; the other runs end long before it)."""
    overlay = yaml.safe_load((ROOT / "tests/slurm/profile/config.yaml").read_text())
    overlay["set-resources"]["train"]["runtime"] = 1
    profile = tmp_path / "fault-profile"
    profile.mkdir()
    write_config(profile / "config.yaml", overlay)
    return ("--profile", str(profile))


def forget_training(run_dir):
    """Delete a trained run's outputs and its finished training (which a rerun would restore, not retrain)."""
    for path in (run_dir / "model.pt", run_dir / "metrics.json", run_dir / "snapshots", run_dir / "finished"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.mark.parametrize(("mode", "status_command"), FAULT_CASES, ids=[f"{m}-{c}" for m, c in FAULT_CASES])
def test_failed_training_job_resumes_from_its_checkpoint(
    mode, status_command, workdirs, local_runs, fault_profile, capsys, tmp_path
):
    inject, final_state, rerun_by = FAULTS[mode]
    reference = workdirs["preempt"]
    local_runs.wait(reference)  # both runs trained locally, uninterrupted
    work = tmp_path / "work"
    shutil.copytree(reference, work, symlinks=True)
    kept, preempted = work / PREEMPT_RUNS / KEPT, work / PREEMPT_RUNS / PREEMPTED
    expected = reference / PREEMPT_RUNS / PREEMPTED
    # Only the hit run is retrained: its outputs go.
    expected_metrics = json.loads((expected / "metrics.json").read_text())
    forget_training(preempted)
    kept_log = work / f"results/{PREEMPT_STUDY['study']}/logs/train/{KEPT}.log"
    kept_before = file_mtimes(kept, kept_log)

    profiles = fault_profile + (SQUEUE_PROFILE if status_command == "squeue" else ())
    with ClusterRun(work, PREEMPT_TARGETS, tmp_path / "snakemake.out", profiles, FAULT_ENV.get(mode)) as run:
        # Wait for the training job's first checkpoint, then hit that job.
        checkpoint, job_id = preempted / "checkpoint.pt", None
        while job_id is None:
            assert run.process.poll() is None, f"snakemake ended before the fault:\n{run.output}"
            assert run.elapsed < 180, f"no checkpoint of {PREEMPTED} after 180 s:\n{run.output}"
            if checkpoint.exists():
                ids = [s for _, s, log in submissions(run.output) if f"/rule_train/{PREEMPTED}/" in log]
                job_id = ids[0] if ids else None
            time.sleep(0.1)
        assert squeue_state(job_id).startswith("RUNNING|"), squeue_state(job_id)
        inject(run, job_id)
        fault_at = run.elapsed
        output = run.wait(FAULT_RUN_TIMEOUT)
        total_s = run.elapsed

    submitted = submissions(output)
    assert all(f"/rule_train/{PREEMPTED}/" in log for _, _, log in submitted), submitted
    if rerun_by == "snakemake":  # the plugin saw the failure and Snakemake submitted the job again
        assert f"SLURM-job '{job_id}' failed" in output, output
        assert [slurm_id for _, slurm_id, _ in submitted][:1] == [job_id] and len(submitted) == 2, submitted
        assert run.slurm_jobs[job_id]["state"] == final_state, run.slurm_jobs
        assert run.slurm_jobs[submitted[1][1]]["state"] == "COMPLETED", run.slurm_jobs
    else:  # SLURM requeued and reran the same job, the plugin waited for it
        assert [slurm_id for _, slurm_id, _ in submitted] == [job_id], submitted
        assert run.slurm_jobs[job_id]["state"] == "COMPLETED", run.slurm_jobs
    show(
        capsys,
        f"{mode} on SLURM via {status_command} ({total_s:.0f} s; fault in job {job_id} at {fault_at:.0f} s)",
        [m.group(0) for m in SUBMITTED.finditer(output)]
        + [line.strip() for line in output.splitlines() if "SLURM-job" in line],
    )

    # The rerun resumed from the checkpoint, not from scratch ...
    log = (work / f"results/{PREEMPT_STUDY['study']}/logs/train/{PREEMPTED}.log").read_text()
    checkpoint_file = f"results/{PREEMPT_STUDY['study']}/runs/{PREEMPTED}/checkpoint.pt"
    resumed = re.search(rf"resumed from {re.escape(checkpoint_file)} at epoch (\d+)", log)
    assert resumed, log
    epochs = PREEMPT_STUDY["training"]["epochs"]
    assert 1 <= int(resumed.group(1)) < epochs
    assert f"epoch {int(resumed.group(1)) + 1}/{epochs}" in log
    assert not checkpoint.exists()

    # ... and ended exactly where the uninterrupted run did.
    assert_same_weights(preempted / "model.pt", expected / "model.pt")
    for epoch in PREEMPT_STUDY["training"]["snapshot_epochs"]:
        snapshot = f"snapshots/epoch_{epoch:03d}/model.pt"
        assert_same_weights(preempted / snapshot, expected / snapshot)
    metrics = json.loads((preempted / "metrics.json").read_text())
    assert {**metrics, "wall_s": None} == {**expected_metrics, "wall_s": None}

    # Only that run was recomputed: the other run's files were not touched.
    assert file_mtimes(kept, kept_log) == kept_before


# ------------------------------------------------------------------------------ the whole study, as the README says

README_STUDY = "my-study.yaml"  # the study file the README's test-cluster command names


def readme_test_cluster_command() -> list[str]:
    """The snakemake line of the README's test-cluster block (section "On a SLURM cluster"), as written."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## On a SLURM cluster") :]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    lines = [line for block in blocks for line in block.splitlines() if "tests/slurm/profile" in line]
    assert len(lines) == 1, f"expected one snakemake line with tests/slurm/profile in the README: {lines}"
    words = lines[0].split("#")[0].split()
    assert words[0] == "snakemake" and words[-2:] == ["--configfile", README_STUDY], words
    return snakemake_command(*words[1:])


def node_capacity() -> tuple[int, int]:
    """CPUs and memory (MB) of the test cluster's node."""
    listing = subprocess.run(["sinfo", "-h", "-N", "-o", "%c %m"], capture_output=True, text=True).stdout
    cpus, memory = listing.splitlines()[0].split()  # one line per partition of the node
    return int(cpus), int(memory)


def requested(job_id: str) -> dict[str, str]:
    """What a job asked SLURM for, from accounting: CPUs, memory, time limit."""
    line = subprocess.run(
        ["sacct", "-j", job_id, "-X", "-n", "-P", "-o", "ReqCPUS,ReqMem,Timelimit"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cpus, memory, limit = line.split("|")
    return {"cpus": cpus, "mem": memory, "time": limit}


def test_whole_study_on_slurm_as_the_readme_says(capsys, tmp_path_factory, slurm_cluster):
    """`all` (tables, figures, criteria, sweeps, summary) of the tiny study through the profile, with the README's
    command: a training job is cancelled mid-run (retried), the group jobs ask no more than one rule of theirs
    does (and no more than the node has), every job goes to SLURM once, and a second run does nothing."""
    work = copy_workflow(tmp_path_factory.mktemp("readme"))
    shutil.copytree(ROOT / "tests/slurm", work / "tests/slurm")  # a checkout has it; the workflow copy does not
    write_config(work / README_STUDY, TINY_STUDY)
    command = readme_test_cluster_command()
    out = tmp_path_factory.mktemp("readme-out")
    with ClusterRun(work, (), out / "first.out", command=command) as run:
        cancelled = None
        while cancelled is None:
            assert run.process.poll() is None, f"snakemake ended before a training job ran:\n{run.output}"
            assert run.elapsed < CLUSTER_RUN_TIMEOUT, f"no training job running:\n{run.output}"
            trains = [s for _, s, log in submissions(run.output) if "/rule_train/" in log]
            cancelled = next((s for s in trains if squeue_state(s).startswith("RUNNING|")), None)
            time.sleep(0.5)
        subprocess.run(["scancel", cancelled], check=True)
        output = run.wait()
        first_s = run.elapsed

    results = work / "results" / TINY_STUDY["study"]
    assert (results / "summary.rst").is_file()
    assert list((results / "figures").glob("*/sweeps.png")), sorted((results / "figures").rglob("*"))
    submitted = submissions(output)
    assert f"SLURM-job '{cancelled}' failed" in output, output
    # every job went to SLURM once, but the cancelled training, which went twice (same Snakemake job id)
    jobs = [job for job, _, _ in submitted]
    (retried,) = [job for job, slurm_id, _ in submitted if slurm_id == cancelled]
    assert [job for job in jobs if jobs.count(job) > 1] == [retried, retried], submitted
    counts = Counter(submitted_rule(log) for log in {job: log for job, _, log in submitted}.values())
    n_runs = len(pd.read_csv(results / "runs.csv"))
    # one group per run, one per followed run (the 3 of the 3-run experiment) for its snapshots, and a sweeps job
    # per run of a rankable experiment
    assert counts == {
        "rule_train": n_runs,
        "rule_sweeps": len(list(results.glob("runs/*/sweeps.json"))),
        "group_models_extract_measures_sharpness": n_runs,
        "group_models_extract_snapshots_measures_snapshots": 3,
    }, counts

    # A group job runs its rules one after another: it asks what its largest rule asks, for the sum of the
    # rules' runtimes (extract 60 + measures 30 + sharpness, config's sharpness_runtime_min, in minutes).
    node_cpus, node_mb = node_capacity()
    sharpness_min = yaml.safe_load((ROOT / "intraclass/schemas/config.schema.yaml").read_text())["properties"][
        "sharpness_runtime_min"
    ]["default"]
    runtimes = {
        "group_models_extract_measures_sharpness": 60 + 30 + sharpness_min,
        "group_models_extract_snapshots_measures_snapshots": 60 + 30,
    }
    requests = {s: (submitted_rule(log), requested(s)) for _, s, log in submitted if submitted_rule(log) in runtimes}
    for job_id, (group, request) in requests.items():
        assert int(request["cpus"]) == 1 <= node_cpus, (job_id, request)
        assert request["mem"] == "8000M" and 8000 <= node_mb, (job_id, request)
        hours, minutes, _ = map(int, request["time"].split(":"))
        assert hours * 60 + minutes == runtimes[group], (job_id, group, request)
    show(
        capsys,
        f"the README's command on the tiny study, `all` ({first_s:.0f} s, SLURM job {cancelled} cancelled)",
        [f"SLURM jobs: {len(submitted)} ({counts})"] + [f"group job {s}: {r}" for s, r in requests.items()],
    )

    with ClusterRun(work, (), out / "second.out", command=command) as rerun:
        output = rerun.wait()
    assert not submissions(output) and "Nothing to be done" in output, output


def test_job_slurm_can_never_start_is_reported_failed(tmp_path, slurm_cluster):
    """A training job that asks more CPUs than any node has stays PENDING (PartitionConfig) for SLURM; the status
    query reports it FAILED and cancels it, and the run ends (failed) instead of polling forever."""
    node_cpus, _ = node_capacity()
    overlay = yaml.safe_load((ROOT / "tests/slurm/profile/config.yaml").read_text())
    overlay["set-resources"]["train"]["cpus_per_task"] = node_cpus + 1
    profile = tmp_path / "too-big"
    profile.mkdir()
    write_config(profile / "config.yaml", overlay)
    work = tmp_path / "work"
    work.mkdir()
    copy_workflow(work)
    write_config(work / "config.yaml", PREEMPT_STUDY)
    options = ("--profile", str(profile), "--retries", "0")
    with ClusterRun(work, PREEMPT_TARGETS[:1], tmp_path / "snakemake.out", options) as run:
        output = run.wait(timeout=240, succeed=False)
    assert run.process.returncode != 0, output
    (job_id,) = [s for _, s, _ in submissions(output)]
    assert f"SLURM-job '{job_id}' failed" in output, output
    assert run.slurm_jobs[job_id]["state"] == "CANCELLED", run.slurm_jobs


def test_accounting_outage_is_survived(workdirs, local_runs, tmp_path):
    """slurmdbd stops for 60 s while a training runs (sacct fails: the status query is answered by squeue): the
    run completes, with one SLURM job per training."""
    local_runs.wait(workdirs["preempt"])
    work = tmp_path / "work"
    shutil.copytree(workdirs["preempt"], work, symlinks=True)
    run_dir = work / PREEMPT_RUNS / PREEMPTED
    forget_training(run_dir)
    dbd_pid = Path("/run/slurm-test/slurmdbd.pid")
    with ClusterRun(work, PREEMPT_TARGETS, tmp_path / "snakemake.out") as run:
        while not (run_dir / "checkpoint.pt").exists():
            assert run.process.poll() is None, f"snakemake ended before the outage:\n{run.output}"
            assert run.elapsed < 180, f"no checkpoint after 180 s:\n{run.output}"
            time.sleep(0.1)
        os.kill(int(dbd_pid.read_text()), signal.SIGTERM)
        try:
            time.sleep(60)
            assert subprocess.run(["sacct", "-n", "-X", "-j", "1"], capture_output=True).returncode != 0
        finally:
            subprocess.run(["bash", str(CLUSTER_SH), "start"], check=True, capture_output=True)
        output = run.wait(FAULT_RUN_TIMEOUT)
    assert len(submissions(output)) == 1, output
    assert (run_dir / "metrics.json").is_file()


def test_sigterm_ends_the_run_after_its_running_jobs(workdirs, local_runs, tmp_path):
    """SIGTERM (Snakemake's graceful stop) while a training runs: nothing new is submitted, the training finishes
    and is kept, and Snakemake exits."""
    local_runs.wait(workdirs["preempt"])
    work = tmp_path / "work"
    shutil.copytree(workdirs["preempt"], work, symlinks=True)
    run_dir = work / PREEMPT_RUNS / PREEMPTED
    forget_training(run_dir)
    targets = (*PREEMPT_TARGETS, f"{PREEMPT_RUNS}/{PREEMPTED}/measures.json")  # more work after the training
    with ClusterRun(work, targets, tmp_path / "snakemake.out") as run:
        while not (run_dir / "checkpoint.pt").exists():
            assert run.process.poll() is None, f"snakemake ended before SIGTERM:\n{run.output}"
            assert run.elapsed < 180, f"no checkpoint after 180 s:\n{run.output}"
            time.sleep(0.1)
        run.process.send_signal(signal.SIGTERM)
        output = run.wait(FAULT_RUN_TIMEOUT, succeed=False)
    assert [submitted_rule(log) for _, _, log in submissions(output)] == ["rule_train"], output
    assert "Will exit after finishing currently running jobs" in output, output
    assert (run_dir / "metrics.json").is_file() and not (run_dir / "measures.json").exists()
    assert_same_weights(run_dir / "model.pt", workdirs["preempt"] / PREEMPT_RUNS / PREEMPTED / "model.pt")
